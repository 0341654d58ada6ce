"""Benchmark: acoustic BPE compression against vocabulary size, beside codec-bpe 1.4.1 on the same codes.

A benchmark, not a test. It encodes a speech corpus (espeak-ng sentences, else speech-like synthetic audio)
and a music corpus (synthesized chords with harmonics and note envelopes) with the full-size EnCodec 24 kHz
architecture (random weights + fitted codebooks, ``build_demo_codec``: the codes of an UNTRAINED codec, so
the ratios are not those of a real checkpoint), splits each into train and held-out clips, and for each
layout (``interleaved`` at ``--codebooks``, ``first_codebook``) and each ``--vocab-sizes`` size:

* trains audiotok's BPE (``train_bpe_from_ids``, merges within ``--max-frames`` frames) and codec-bpe's
  ``Trainer`` (``max_token_codebook_ngrams=--max-frames``) on the same train codes, timing both;
* reports the compression ratio on the held-out clips (ids per second before / after), the ratio on the
  train clips, and BPE encode and decode speed in ids per second (audiotok; codec-bpe encodes through its
  ``PreTrainedTokenizerFast``);
* and, once, the same BPE trained with sentencepiece (the other library considered).

Finally the cost beside the preprocessing job: codec encoding time per clip against BPE encode + decode time.
Prints a markdown report for docs/BENCHMARKS.md.

    nice -n 10 .venv/bin/python scripts/bench_bpe.py --minutes 4
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from audiotok.bpe_training import train_bpe_from_ids
from audiotok.codecs.encodec.demo import build_demo_codec, synthetic_audio
from audiotok.codecs.registry import load_codec
from audiotok.config import TokenizerConfig
from audiotok.ids.bpe import BpeUnits

RATE = 24000
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Audio tokens let a language model listen and speak.",
    "She sells sea shells by the sea shore on sunny days.",
    "A journey of a thousand miles begins with a single step.",
    "Numbers like forty two and seven hundred appear in speech.",
    "Please call me back tomorrow morning after the meeting.",
    "Rain in the mountains turns to snow when the night comes.",
    "Every codec writes its frames as a grid of integer codes.",
]


def speech(seconds: float, seed: int) -> tuple[list[np.ndarray], str]:
    """Clips of espeak-ng speech (voices, speeds and pitches varied), else synthetic speech-like audio."""
    import soundfile as sf

    from audiotok.audio import load_audio

    rng = np.random.default_rng(seed)
    if shutil.which("espeak-ng") is None:
        count = int(seconds // 4)
        clips = [synthetic_audio(float(rng.uniform(2, 6)), RATE, seed=seed * 1000 + i) for i in range(count)]
        return clips, "synthetic speech-like audio (espeak-ng missing)"
    clips, total = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        while total < seconds:
            words = " ".join(rng.choice(SENTENCES, size=int(rng.integers(1, 3))))
            path = Path(tmp) / "s.wav"
            voice = str(rng.choice(["en", "en-us", "en+f3", "en+m3", "en-gb"]))
            speed, pitch = str(int(rng.integers(130, 190))), str(int(rng.integers(30, 70)))
            command = ["espeak-ng", "-v", voice, "-s", speed, "-p", pitch, "-w", str(path), words]
            subprocess.run(command, check=True, capture_output=True)
            data, file_rate = sf.read(path, dtype="float32")
            wave = load_audio(data[None], file_rate, RATE, 1)
            clips.append(wave)
            total += wave.shape[1] / RATE
    return clips, "espeak-ng speech (5 voices, varied speed and pitch)"


def music(seconds: float, seed: int) -> list[np.ndarray]:
    """Chord progressions: 3-4 notes with harmonics, attack/decay envelopes, a bass line and noise hats."""
    rng = np.random.default_rng(seed)
    clips, total = [], 0.0
    while total < seconds:
        length = float(rng.uniform(4, 8))
        t = np.arange(int(length * RATE)) / RATE
        wave = np.zeros_like(t)
        beat = float(rng.uniform(0.3, 0.6))
        root = float(rng.uniform(100, 300))
        for start in np.arange(0, length, beat * 2):
            chord = root * 2 ** (rng.choice([0, 3, 4, 5, 7, 9, 12], size=int(rng.integers(3, 5)), replace=False) / 12)
            mask = (t >= start) & (t < start + beat * 2)
            env = np.exp(-(t[mask] - start) * rng.uniform(1, 5))
            for f in chord:
                for h in range(1, 4):
                    wave[mask] += env * np.sin(2 * np.pi * f * h * t[mask]) / (h * len(chord))
            wave[mask] += 0.5 * env * np.sin(2 * np.pi * root / 2 * t[mask])
        hats = (np.floor(t / (beat / 2)) % 2 == 0) & ((t % (beat / 2)) < 0.03)
        wave += hats * rng.normal(0, 0.1, t.size)
        clips.append((0.3 * wave / np.abs(wave).max()).astype(np.float32)[None])
        total += length
    return clips


def codec_bpe_run(train: list[np.ndarray], test: list[np.ndarray], k: int, vocab_size: int, frames: int) -> dict:
    from codec_bpe.core.converter import codes_to_chars
    from codec_bpe.core.trainer import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        for i, codes in enumerate(train):
            np.save(Path(tmp) / f"clip{i:05d}_c0.npy", codes[:k])
        trainer = Trainer(k, 1024, vocab_size=vocab_size, max_token_codebook_ngrams=frames, eos_token="</s>")
        start = time.perf_counter()
        import contextlib

        with contextlib.redirect_stderr(io.StringIO()):
            tokenizer = trainer.train(tmp)
        seconds = time.perf_counter() - start
    texts = [codes_to_chars(c[:k], 1024) for c in test]
    start = time.perf_counter()
    encoded = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    encode_s = time.perf_counter() - start
    return {"train_s": seconds, "ids": sum(len(e) for e in encoded), "encode_s": encode_s,
            "merges": len(tokenizer) - k * 1024 - 1}  # fmt: skip


def audiotok_run(train: list[np.ndarray], test: list[np.ndarray], config: TokenizerConfig, vocab_size: int,
                 frames: int) -> dict:  # fmt: skip
    fmt = config.id_format
    train, test = [c[: config.num_codebooks] for c in train], [c[: config.num_codebooks] for c in test]
    units = BpeUnits(config.num_codebooks, config.codebook_size, config.layout, frames)
    start = time.perf_counter()
    bpe = train_bpe_from_ids((fmt.codes_to_ids(c, False) for c in train), config.vocab, units, vocab_size)
    seconds = time.perf_counter() - start
    with_bpe = config.with_bpe(bpe)
    plain = [fmt.codes_to_ids(c, False) for c in test]
    start = time.perf_counter()
    encoded = [bpe.encode(ids, config.vocab) for ids in plain]
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decoded = [bpe.decode(ids, config.vocab)[0] for ids in encoded]
    decode_s = time.perf_counter() - start
    assert all(np.array_equal(a, b) for a, b in zip(plain, decoded, strict=True)), "lossless"
    train_ids = sum(len(bpe.encode(fmt.codes_to_ids(c, False), config.vocab)) for c in train)
    return {"train_s": seconds, "ids": sum(len(e) for e in encoded), "plain": sum(len(p) for p in plain),
            "encode_s": encode_s, "decode_s": decode_s, "merges": bpe.num_tokens, "train_ids": train_ids,
            "train_plain": sum(len(fmt.codes_to_ids(c, False)) for c in train), "config": with_bpe}  # fmt: skip


def sentencepiece_run(train: list[np.ndarray], test: list[np.ndarray], config: TokenizerConfig, vocab_size: int,
                      frames: int, bpe: object) -> dict:  # fmt: skip
    """The same words (runs cut into max-frames words) as sentencepiece BPE sentences."""
    import sentencepiece as spm

    from audiotok.ids.bpe import run_texts

    units = BpeUnits(config.num_codebooks, config.codebook_size, config.layout, frames)
    width = units.word_length
    fmt = config.id_format
    train, test = [c[: config.num_codebooks] for c in train], [c[: config.num_codebooks] for c in test]

    def words(clips: list[np.ndarray]) -> list[str]:
        out = []
        for c in clips:
            for text in run_texts(fmt.codes_to_ids(c, False), config.vocab, units):
                out.extend(text[i : i + width] for i in range(0, len(text), width))
        return out

    model = io.BytesIO()
    alphabet = "".join(chr(0x10000 + u) for u in range(units.num_units))
    start = time.perf_counter()
    try:
        spm.SentencePieceTrainer.train(sentence_iterator=iter(words(train)), model_writer=model, model_type="bpe",
                                       vocab_size=vocab_size, character_coverage=1.0, user_defined_symbols=[],
                                       required_chars=alphabet, max_sentencepiece_length=width, add_dummy_prefix=False,
                                       normalization_rule_name="identity", split_by_unicode_script=False,
                                       minloglevel=2, unk_id=0, bos_id=-1, eos_id=-1,
                                       hard_vocab_limit=False)  # fmt: skip
    except RuntimeError as error:
        return {"error": str(error).splitlines()[0][:120]}
    seconds = time.perf_counter() - start
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    test_words = words(test)
    start = time.perf_counter()
    ids = processor.encode(test_words)
    encode_s = time.perf_counter() - start
    library = bpe._library  # the same words through the tokenizers model audiotok trained
    start = time.perf_counter()
    theirs = library.encode_batch_fast(test_words, add_special_tokens=False)
    tokenizers_s = time.perf_counter() - start
    return {"train_s": seconds, "ids": sum(len(i) for i in ids), "encode_s": encode_s,
            "pieces": processor.get_piece_size() - units.num_units - 1, "tokenizers_encode_s": tokenizers_s,
            "tokenizers_ids": sum(len(e.ids) for e in theirs), "words": sum(len(w) for w in test_words)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="audio per corpus (train + held out)")
    parser.add_argument("--held-out", type=float, default=0.25, help="share of each corpus held out")
    parser.add_argument("--codebooks", type=int, default=2, help="codebooks of the interleaved layout")
    parser.add_argument("--vocab-sizes", default="+256,+1024,4096,16384,65536", help="'+N': the base units + N")
    parser.add_argument("--max-frames", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    sizes = args.vocab_sizes.split(",")

    from transformers import EncodecConfig

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        fit = [synthetic_audio(1.0, RATE, seed=10_000 + i) for i in range(2)]
        build_demo_codec(EncodecConfig(), fit_audio=fit, seed=args.seed).save_pretrained(tmp)
        codec = load_codec(tmp, device="cpu")
        build_s = time.perf_counter() - started
    spec = codec.spec
    corpora: dict[str, list[np.ndarray]] = {}
    speech_clips, speech_source = speech(args.minutes * 60, args.seed)
    corpora["speech"] = speech_clips
    corpora["music"] = music(args.minutes * 60, args.seed + 1)
    codes: dict[str, list[np.ndarray]] = {}
    encode_s: dict[str, float] = {}
    for name, clips in corpora.items():
        start = time.perf_counter()
        codes[name] = [codec.encode(c, 8).codes.numpy() for c in clips]
        encode_s[name] = time.perf_counter() - start

    lines = [
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads {args.threads}; "
        f"date {datetime.date.today()}; python {platform.python_version()}",
        f"command: `{' '.join(['nice -n 10', '.venv/bin/python', *sys.argv])}`",
        "codec: full-size EnCodec 24 kHz architecture, RANDOM WEIGHTS + fitted codebooks (build_demo_codec, "
        f"built in {build_s:.0f} s): codes of an untrained codec; real checkpoints compress differently",
        f"corpora: speech = {speech_source}; music = synthesized chords, bass and noise hats; "
        + ", ".join(f"{n} {sum(c.shape[1] for c in codes[n]) / 75:.0f} s in {len(codes[n])} clips" for n in codes)
        + f"; {args.held_out:.0%} of each held out (by clip); merges within {args.max_frames} frames",
        "",
        "| corpus | layout | vocab | merges (audiotok / codec-bpe) | held-out ratio audiotok | held-out ratio "
        "codec-bpe | train ratio audiotok | train s audiotok / codec-bpe | encode ids/s audiotok / codec-bpe "
        "| decode ids/s audiotok |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    cost_rows = []
    spm_line = ""
    for name, all_codes in codes.items():
        cut = max(1, int(len(all_codes) * (1 - args.held_out)))
        train, test = all_codes[:cut], all_codes[cut:]
        for layout, k in (("interleaved", args.codebooks), ("first_codebook", 8)):
            config = TokenizerConfig.for_codec("bench", spec, num_codebooks=k, layout=layout)
            cb_k = 1 if layout == "first_codebook" else k
            base = config.codebook_size * cb_k
            for text in sizes:
                size = base + int(text[1:]) if text.startswith("+") else int(text)
                if size <= base:
                    continue
                ours = audiotok_run(train, test, config, size, args.max_frames)
                theirs = codec_bpe_run(train, test, cb_k, size + 1, args.max_frames)  # +1: codec-bpe's </s>
                ratio = ours["plain"] / ours["ids"]
                their_ratio = ours["plain"] / theirs["ids"]
                lines.append(
                    f"| {name} | {layout} ({k if layout == 'interleaved' else 1} cb) | {size} | {ours['merges']} / "
                    f"{theirs['merges']} | {ratio:.3f} | {their_ratio:.3f} | "
                    f"{ours['train_plain'] / ours['train_ids']:.3f} | {ours['train_s']:.2f} / {theirs['train_s']:.2f} "
                    f"| {ours['plain'] / ours['encode_s']:,.0f} / {ours['plain'] / theirs['encode_s']:,.0f} | "
                    f"{ours['ids'] / ours['decode_s']:,.0f} |"
                )
                if name == "speech" and layout == "interleaved" and text == sizes[-1]:
                    sp = sentencepiece_run(train, test, config, size, args.max_frames, ours["config"].bpe_model)
                    if "error" in sp:
                        spm_line = f"sentencepiece BPE at {size}: failed: {sp['error']}"
                    else:
                        spm_line = (
                            f"sentencepiece BPE on the same words (speech, interleaved, vocab {size}, whole train set "
                            f"held in memory): {sp['pieces']} merged pieces (tokenizers: {ours['merges']}), train "
                            f"{sp['train_s']:.2f} s (tokenizers {ours['train_s']:.2f} s), held-out ratio "
                            f"{sp['words'] / sp['ids']:.3f} (tokenizers {sp['words'] / sp['tokenizers_ids']:.3f}); "
                            f"library encode of the same word list {sp['words'] / sp['encode_s']:,.0f} ids/s "
                            f"(tokenizers {sp['words'] / sp['tokenizers_encode_s']:,.0f})"
                        )
                if text in (sizes[0], sizes[-1]):
                    clips = len(test)
                    per_clip_bpe = (ours["encode_s"] + ours["decode_s"]) / clips
                    per_clip_codec = encode_s[name] / len(all_codes)
                    cost_rows.append(
                        f"| {name} | {layout} | {size} | {per_clip_codec * 1000:.0f} ms | "
                        f"{per_clip_bpe * 1000:.2f} ms | {per_clip_bpe / per_clip_codec:.2%} |"
                    )
    lines += ["", spm_line, "", "BPE encode + decode per clip beside the codec's encoding of the clip (8 codebooks, "
              "1 torch thread):", "", "| corpus | layout | vocab | codec encode / clip | BPE encode + decode / clip "
              "| share |", "|---|---|---|---|---|---|", *cost_rows]  # fmt: skip
    print("\n".join(lines))
    print(json.dumps({"codec_encode_s": encode_s}), file=sys.stderr)


if __name__ == "__main__":
    main()
