"""Benchmark: acoustic BPE compression against vocabulary size, beside codec-bpe 1.4.1 on the same codes.

A benchmark, not a test. It builds a speech corpus (espeak-ng, with accents, voice variants, speed, pitch and
gaps drawn per clip, reading sentences of the Python standard library's docstrings) and a music corpus
(synthesized pieces: timbres, chords, bass, melody, drums, tempo, echo, noise drawn per piece), and holds out a
share of each from DIFFERENT texts (the held-out sentences come from other modules) and different pieces. It
encodes them with the full-size EnCodec 24 kHz architecture (random weights + fitted codebooks,
``build_demo_codec``: the codes of an UNTRAINED codec, so the ratios are not those of a real checkpoint); with
``--cache`` the codes are kept on disk and a rerun goes straight to the BPE side. For each layout
(``interleaved`` at ``--codebooks``, ``first_codebook``) and each ``--vocab-sizes`` size:

* trains audiotok's BPE (``train_bpe_from_ids``, merges within ``--max-frames`` frames) and codec-bpe's
  ``Trainer`` (``max_token_codebook_ngrams=--max-frames``) on the same train codes, timing both;
* reports the compression ratio on the held-out clips (ids per second before / after), the ratio on the
  train clips, and BPE encode and decode speed in ids per second (audiotok; codec-bpe encodes through its
  ``PreTrainedTokenizerFast``);
* and, once, the same BPE trained with sentencepiece (the other library considered).

Finally the cost beside the preprocessing job: codec encoding time per clip against BPE encode + decode time.
Prints a markdown report for docs/BENCHMARKS.md.

    nice -n 10 .venv/bin/python scripts/bench_bpe.py --minutes 30 --cache /tmp/bpecache
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
# stdlib modules whose docstrings give the speech texts: English prose, the same for a given Python
TEXT_MODULES = (
    "argparse asyncio base64 bisect calendar codecs collections concurrent.futures configparser contextlib copy "
    "csv dataclasses datetime decimal difflib email enum fractions ftplib functools getopt gettext glob gzip "
    "hashlib heapq hmac html http.client http.server imaplib inspect io ipaddress itertools json logging mailbox "
    "math mimetypes multiprocessing numbers operator optparse os pathlib pickle pkgutil platform poplib pprint "
    "queue random re sched secrets selectors shelve shlex shutil signal smtplib socket socketserver sqlite3 ssl "
    "statistics string struct subprocess tarfile tempfile textwrap threading timeit tkinter tokenize trace "
    "traceback turtle unittest urllib.parse urllib.request uuid warnings wave weakref xml.dom.minidom zipfile"
)
ACCENTS = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("", "f1", "f2", "f3", "f4", "f5", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "klatt", "klatt2",
            "klatt3", "croak", "grandma", "grandpa", "whisper", "Andy", "Annie", "belinda", "david")  # fmt: skip


def module_sentences(name: str) -> list[str]:
    """Plain-English sentences (6-30 words, letters and punctuation only) of one module's docstrings."""
    import importlib
    import inspect
    import re
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            module = importlib.import_module(name)
        except Exception:
            return []
        docs = [module.__doc__]
        for _, obj in sorted(vars(module).items()):
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", "") == module.__name__:
                docs.append(obj.__doc__)
                if inspect.isclass(obj):
                    docs += [m.__doc__ for _, m in sorted(vars(obj).items()) if inspect.isfunction(m)]
    out: list[str] = []
    for doc in (d for d in docs if isinstance(d, str)):
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(doc.split())):
            plain = re.fullmatch(r"[A-Za-z][A-Za-z ,;:'()\-]*[.!?]", sentence)
            if 6 <= len(sentence.split()) <= 30 and plain and sentence not in out:
                out.append(sentence)
    return out


def text_pools(held_out: float, seed: int) -> tuple[list[str], list[str], int, int]:
    """Train and held-out sentences from DIFFERENT modules' docstrings (no text in both); module counts."""
    rng = np.random.default_rng(seed)
    names = TEXT_MODULES.split()
    rng.shuffle(names)
    train: list[str] = []
    test: list[str] = []
    counts = [0, 0]
    for name in names:
        sentences = module_sentences(name)
        if not sentences:
            continue
        words_test, words_all = sum(len(t.split()) for t in test), sum(len(t.split()) for t in train + test)
        side = 1 if words_test < held_out * (words_all + 1) else 0
        (test if side else train).extend(sentences)
        counts[side] += 1
    seen = set(train)  # a sentence some modules share stays in train only
    test = [t for t in test if t not in seen]
    return train, test, counts[0], counts[1]


def speech(seconds: float, pool: list[str], seed: int) -> list[np.ndarray]:
    """espeak-ng reading ``pool`` in order (1-3 sentences a clip), voice, variant, speed, pitch and gaps drawn."""
    import soundfile as sf

    from audiotok.audio import load_audio

    rng = np.random.default_rng(seed)
    clips, total, cursor = [], 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        while total < seconds:
            count = int(rng.integers(1, 4))
            words = " ".join(pool[(cursor + i) % len(pool)] for i in range(count))
            cursor += count
            variant = str(rng.choice(VARIANTS))
            voice = str(rng.choice(ACCENTS)) + (f"+{variant}" if variant else "")
            path = Path(tmp) / "s.wav"
            command = ["espeak-ng", "-v", voice, "-s", str(int(rng.integers(100, 231))), "-p",
                       str(int(rng.integers(15, 86))), "-g", str(int(rng.integers(0, 8))), "-a",
                       str(int(rng.integers(60, 180))), "-w", str(path), words]  # fmt: skip
            if subprocess.run(command, capture_output=True).returncode != 0 or not path.is_file():
                continue
            data, file_rate = sf.read(path, dtype="float32")
            if data.size < file_rate // 2:
                continue
            wave = load_audio(data[None] if data.ndim == 1 else data.T, file_rate, RATE, 1)
            clips.append(wave)
            total += wave.shape[1] / RATE
            path.unlink()
    return clips


def _note(kind: str, f: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """One note of ``n`` samples at ``f`` Hz in one of the synthetic timbres."""
    t = np.arange(n) / RATE
    top = max(1, min(24, int(RATE / 2.2 / f)))
    if kind == "bell":  # FM: inharmonic partials, decaying brightness
        index = 4 * np.exp(-t * 3)
        return np.sin(2 * np.pi * f * t + index * np.sin(2 * np.pi * f * 1.4 * t)) * np.exp(-t * 2.5)
    if kind == "noise_pad":  # breathy: band-limited noise around the pitch plus the tone
        noise = np.convolve(rng.normal(0, 1, n), np.hanning(32) / 16, mode="same")
        return (0.5 * np.sin(2 * np.pi * f * t) + 0.3 * noise * np.sin(2 * np.pi * f * t)) * np.minimum(1, t * 4)
    h = np.arange(1, top + 1)[:, None]
    if kind == "saw":
        amps, decay = 1 / h, np.zeros_like(h, dtype=float) + 0.5
    elif kind == "square":
        amps, decay = (h % 2) / h, np.zeros_like(h, dtype=float) + 0.8
    elif kind == "organ":
        amps, decay = np.isin(h, [1, 2, 3, 4, 6, 8]) / np.sqrt(h), np.zeros_like(h, dtype=float)
    elif kind == "pluck":
        amps, decay = 1 / h**1.2, 2 + 1.5 * h
    elif kind == "piano":
        amps, decay = 1 / h**1.5, 1 + 0.6 * h
    else:  # sine
        amps, decay = (h <= 2) / h**2, np.zeros_like(h, dtype=float) + 0.3
    stretch = np.sqrt(1 + 0.0004 * h**2) if kind in ("piano", "pluck") else 1.0  # piano-like inharmonicity
    wave = (amps * np.exp(-decay * t) * np.sin(2 * np.pi * f * h * stretch * t + rng.uniform(0, 6.3, (top, 1)))).sum(0)
    attack = np.minimum(1, t / (0.005 if kind in ("pluck", "piano") else float(rng.uniform(0.01, 0.15))))
    release = np.minimum(1, (n - np.arange(n)) / (0.02 * RATE))
    return wave * attack * release


INSTRUMENTS = ("saw", "square", "organ", "pluck", "piano", "sine", "bell", "noise_pad")


def music(seconds: float, seed: int) -> list[np.ndarray]:
    """Pieces, each drawn anew: key, mode, tempo, progression, instruments for chords, bass and melody, a drum
    pattern (kick, snare, hats) or none, echo and background noise."""
    rng = np.random.default_rng(seed)
    clips, total = [], 0.0
    while total < seconds:
        length = float(rng.uniform(8, 20))
        n = int(length * RATE)
        wave = np.zeros(n)
        beat = 60 / float(rng.uniform(60, 180))
        root = 110 * 2 ** (int(rng.integers(0, 12)) / 12)
        scale = np.array([0, 2, 4, 5, 7, 9, 11] if rng.random() < 0.5 else [0, 2, 3, 5, 7, 8, 10])
        chord_kind, bass_kind, melody_kind = (str(k) for k in rng.choice(INSTRUMENTS, 3))
        progression = rng.integers(0, 7, 4)
        bar = beat * int(rng.choice([3, 4]))
        for b, start in enumerate(np.arange(0, length, bar)):
            degree = int(progression[b % 4])
            a, z = int(start * RATE), min(n, int((start + bar) * RATE))
            size = int(rng.integers(3, 5))
            for i in range(size):  # chord: stacked thirds of the scale
                step = degree + 2 * i
                f = root * 2 ** ((scale[step % 7] + 12 * (step // 7)) / 12)
                wave[a:z] += 0.25 / size * _note(chord_kind, f, z - a, rng)
            for s in np.arange(start, min(length, start + bar), beat):  # bass on the beats
                a2, z2 = int(s * RATE), min(n, int((s + beat) * RATE))
                wave[a2:z2] += 0.3 * _note(bass_kind, root / 2 * 2 ** (scale[degree] / 12), z2 - a2, rng)
        if rng.random() < 0.8:  # melody: scale notes in eighths and quarters
            s = 0.0
            while s < length:
                d = beat * float(rng.choice([0.5, 1, 1, 2]))
                a, z = int(s * RATE), min(n, int((s + d) * RATE))
                step = int(rng.integers(0, 10))
                f = 2 * root * 2 ** ((scale[step % 7] + 12 * (step // 7)) / 12)
                if rng.random() < 0.85 and z > a:
                    wave[a:z] += 0.3 * _note(melody_kind, f, z - a, rng)
                s += d
        if rng.random() < 0.7:  # drums
            t = np.arange(int(0.3 * RATE)) / RATE
            kick = np.sin(2 * np.pi * (50 * t + 100 * (1 - np.exp(-t * 30)) / 30)) * np.exp(-t * 12)
            snare = (rng.normal(0, 0.5, t.size) + 0.3 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t * 20)
            hat = np.diff(rng.normal(0, 0.3, t.size + 1)) * np.exp(-t * 60)
            pattern = rng.random((3, 8)) < [[0.5], [0.3], [0.7]]
            pattern[0, 0], pattern[1, 4] = True, True
            for i, s in enumerate(np.arange(0, length, beat / 2)):
                a = int(s * RATE)
                for hit, sound in zip(pattern[:, i % 8], (kick, snare, hat), strict=True):
                    if hit:
                        m = min(n - a, sound.size)
                        wave[a : a + m] += 0.5 * sound[:m]
        if rng.random() < 0.5:  # echo
            delay = int(float(rng.uniform(0.08, 0.4)) * RATE)
            wave[delay:] += float(rng.uniform(0.2, 0.5)) * wave[:-delay]
        wave /= np.abs(wave).max() + 1e-9
        wave += float(rng.choice([0, 0, 0.003, 0.02])) * rng.normal(0, 1, n)  # background noise
        clips.append((float(rng.uniform(0.1, 0.6)) * wave / (np.abs(wave).max() + 1e-9)).astype(np.float32)[None])
        total += length
    return clips


def corpus_codes(codec: object, args: argparse.Namespace) -> dict:
    """Encoded corpora ``{name: {"train": [...], "test": [...], "encode_s", "seconds", "source"}}``, cached on disk.

    The cache (``--cache``) holds the codes of every clip, so the BPE side reruns without encoding again."""
    key = f"m{args.minutes:g}_h{args.held_out:g}_k{args.codebooks}_s{args.seed}"
    cache = Path(args.cache) / key if args.cache else None
    if cache is not None and (cache / "meta.json").is_file():
        meta = json.loads((cache / "meta.json").read_text())
        out = {}
        for name, info in meta.items():
            data = np.load(cache / f"{name}.npz")
            clips = np.split(data["codes"], np.cumsum(data["lengths"])[:-1], axis=1)
            split = data["split"]
            out[name] = {**info, "train": [c for c, s in zip(clips, split, strict=True) if s == 0],
                         "test": [c for c, s in zip(clips, split, strict=True) if s == 1], "cached": True}  # fmt: skip
        return out
    seconds = args.minutes * 60
    train_texts, test_texts, train_modules, test_modules = text_pools(args.held_out, args.seed)
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is needed for the speech corpus")
    audio = {
        "speech": (
            speech(seconds * (1 - args.held_out), train_texts, args.seed),
            speech(seconds * args.held_out, test_texts, args.seed + 1),
        ),  # fmt: skip
        "music": (music(seconds * (1 - args.held_out), args.seed + 2), music(seconds * args.held_out, args.seed + 3)),
    }
    sources = {
        "speech": f"espeak-ng ({len(ACCENTS)} English accents x {len(VARIANTS)} voice variants, speed 100-230 wpm, "
        f"pitch 15-85, word gaps, amplitude drawn per clip) reading docstring sentences of the Python "
        f"{platform.python_version()} standard library: train from {train_modules} modules "
        f"({len(train_texts)} sentences), held out from {test_modules} OTHER modules ({len(test_texts)} sentences)",
        "music": f"synthesized pieces ({len(INSTRUMENTS)} timbres: {', '.join(INSTRUMENTS)}; chords, bass, melody, "
        "drums, tempo 60-180 bpm, major/minor, echo, background noise, drawn per piece); train and held-out pieces "
        "from different seeds",
    }
    out = {}
    for name, (train, test) in audio.items():
        start = time.perf_counter()
        codes = []
        for i, clip in enumerate(train + test):
            codes.append(codec.encode(clip, args.codebooks).codes.numpy().astype(np.int16))  # type: ignore[attr-defined]
            if i % 50 == 0:
                print(f"{name}: {i}/{len(train + test)} clips, {time.perf_counter() - start:.0f} s", file=sys.stderr)
        info = {"encode_s": time.perf_counter() - start, "source": sources[name],
                "audio_s": [sum(c.shape[1] for c in train) / RATE, sum(c.shape[1] for c in test) / RATE]}  # fmt: skip
        out[name] = {**info, "train": codes[: len(train)], "test": codes[len(train) :], "cached": False}
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
            np.savez(cache / f"{name}.npz", codes=np.concatenate(codes, axis=1),
                     lengths=np.array([c.shape[1] for c in codes]),
                     split=np.array([0] * len(train) + [1] * len(test)))  # fmt: skip
            meta = json.loads((cache / "meta.part.json").read_text()) if (cache / "meta.part.json").is_file() else {}
            meta[name] = info
            (cache / "meta.part.json").write_text(json.dumps(meta))
    if cache is not None:
        (cache / "meta.part.json").rename(cache / "meta.json")
    return out


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
    parser.add_argument("--codebooks", type=int, default=2, help="codebooks encoded (and of the interleaved layout)")
    parser.add_argument("--vocab-sizes", default="+256,+1024,4096,16384,65536", help="'+N': the base units + N")
    parser.add_argument("--max-frames", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None, help="folder caching the codes: a rerun skips audio and encoding")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    sizes = args.vocab_sizes.split(",")
    load_before = os.getloadavg()
    began = time.perf_counter()

    from transformers import EncodecConfig

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        fit = [synthetic_audio(1.0, RATE, seed=10_000 + i) for i in range(2)]
        build_demo_codec(EncodecConfig(), fit_audio=fit, seed=args.seed).save_pretrained(tmp)
        codec = load_codec(tmp, device="cpu")
        build_s = time.perf_counter() - started
    spec = codec.spec
    corpora = corpus_codes(codec, args)
    codes = {name: [c.astype(np.int64) for c in info["train"] + info["test"]] for name, info in corpora.items()}
    splits = {name: ([c.astype(np.int64) for c in info["train"]], [c.astype(np.int64) for c in info["test"]])
              for name, info in corpora.items()}  # fmt: skip
    encode_s = {name: info["encode_s"] for name, info in corpora.items()}
    cached = any(info["cached"] for info in corpora.values())
    corpus_line = "; ".join(
        f"{name}: {sum(info['audio_s']) / 60:.1f} min in {len(codes[name])} clips (train {info['audio_s'][0] / 60:.1f} "
        f"min / {len(info['train'])} clips, held out {info['audio_s'][1] / 60:.1f} min / {len(info['test'])} clips), "
        f"encoded in {info['encode_s']:.0f} s ({sum(info['audio_s']) / info['encode_s']:.1f}x real time)"
        for name, info in corpora.items()
    )
    lines = [
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads {args.threads}; "
        f"date {datetime.date.today()}; python {platform.python_version()}; load average at start "
        f"{' '.join(f'{x:.2f}' for x in load_before)}",
        f"command: `{' '.join(['nice -n 10', '.venv/bin/python', *sys.argv])}`",
        "codec: full-size EnCodec 24 kHz architecture, RANDOM WEIGHTS + fitted codebooks (build_demo_codec, "
        f"built in {build_s:.0f} s): codes of an untrained codec; real checkpoints compress differently",
        f"codes: {args.codebooks} codebooks encoded" + (" (read from the --cache of an earlier run)" if cached else ""),
        *(f"{name} corpus: {info['source']}" for name, info in corpora.items()),
        f"corpora: {corpus_line}; merges within {args.max_frames} frames, min_frequency 2",
        "",
        "| corpus | layout | vocab | merges (audiotok / codec-bpe) | held-out ratio audiotok | held-out ratio "
        "codec-bpe | train ratio audiotok | train s audiotok / codec-bpe | encode ids/s audiotok / codec-bpe "
        "| decode ids/s audiotok |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    cost_rows = []
    spm_line = ""
    for name, all_codes in codes.items():
        train, test = splits[name]
        for layout, k in (("interleaved", args.codebooks), ("first_codebook", args.codebooks)):
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
    lines += ["", spm_line, "", "BPE encode + decode per clip beside the codec's encoding of the clip "
              f"({args.codebooks} codebooks, 1 torch thread):", "", "| corpus | layout | vocab | codec encode / clip "
              "| BPE encode + decode / clip | share |", "|---|---|---|---|---|---|", *cost_rows]  # fmt: skip
    lines.append(
        f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; whole run "
        f"{time.perf_counter() - began:.0f} s"
    )
    print("\n".join(lines))
    print(json.dumps({"codec_encode_s": encode_s}), file=sys.stderr)


if __name__ == "__main__":
    main()
