"""The ``audiotok`` command: encode audio files to ids, decode ids to wav, show a config's id layout."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import soundfile as sf
from tqdm import tqdm
from transformers.utils import logging as transformers_logging

from .cli_vocab import add_vocab_command
from .config import CONFIG_NAME, DEFAULT_CODEC
from .demo_codec import DEMO_MODEL_NAME, DEMO_NOTE
from .errors import AudiotokError
from .ids.layouts import LAYOUTS
from .inspect import add_inspect_command
from .preprocess import add_arguments as add_preprocess_arguments
from .preprocess import run_from_args as run_preprocess
from .tokenizer import AudioTokenizer

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au"}
FILES_PER_BATCH = 16


def _fail(message: str) -> NoReturn:
    print(f"audiotok: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _audio_files(inputs: Sequence[str]) -> list[Path]:
    """Files named directly, plus the audio files found (recursively, sorted) in named folders."""
    files: list[Path] = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES))
        elif path.exists():
            files.append(path)
        else:
            _fail(f"{name}: no such file or folder")
    if not files:
        _fail(f"no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) in {list(inputs)}")
    return files


def _chunks(items: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load_tokenizer(args: argparse.Namespace) -> AudioTokenizer:
    changes = {
        key: value
        for key, value in (
            ("bandwidth", getattr(args, "bandwidth", None)),
            ("layout", getattr(args, "layout", None)),
            ("vocab_offset", getattr(args, "vocab_offset", None)),
        )
        if value is not None
    }
    tokenizer = AudioTokenizer.from_pretrained(args.model, device=getattr(args, "device", None), **changes)
    if tokenizer.codec.is_demo:
        print(f"audiotok: NOTE: {DEMO_NOTE}", file=sys.stderr)
    return tokenizer


def _add_model_options(parser: argparse.ArgumentParser, with_overrides: bool = True) -> None:
    parser.add_argument(
        "--model",
        default=DEFAULT_CODEC,
        help=f"hub id, EnCodec directory, saved tokenizer directory, audiotok config JSON, or '{DEMO_MODEL_NAME}' "
        f"(an untrained local codec for trying things offline); default {DEFAULT_CODEC}",
    )
    if with_overrides:
        parser.add_argument("--bandwidth", type=float, help="kbps, one the codec supports (e.g. 1.5 3 6 12 24)")
        parser.add_argument("--layout", choices=sorted(LAYOUTS))
        parser.add_argument("--vocab-offset", type=int, help="first id of the audio range in the LLM vocabulary")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when present)")


def _encode(args: argparse.Namespace) -> int:
    files = _audio_files(args.inputs)
    tokenizer = _load_tokenizer(args)
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
        tokenizer.config.save_pretrained(out)
    failures = 0
    with tqdm(total=len(files), unit="file", disable=len(files) < 2 or not out) as bar:
        for group in _chunks(files, FILES_PER_BATCH):
            loaded, waves = [], []
            for path in group:
                try:
                    waves.append(tokenizer.load(path))
                    loaded.append(path)
                except (AudiotokError, OSError) as error:
                    failures += 1
                    tqdm.write(f"audiotok: skipped {path}: {error}", file=sys.stderr)
            codes = tokenizer.codec.encode_batch(waves, tokenizer.config.bandwidth, args.batch_seconds)
            for path, clip_codes in zip(loaded, codes):
                ids = tokenizer.codes_to_ids(clip_codes, add_special_tokens=not args.no_special_tokens)
                _emit(path, ids, clip_codes.num_frames / tokenizer.config.frame_rate, out, args.format, tokenizer)
            bar.update(len(group))
    if out:
        print(f"wrote {len(files) - failures} id files and {CONFIG_NAME} to {out}")
    return 1 if failures else 0


def _emit(path: Path, ids: np.ndarray, seconds: float, out: Path | None, fmt: str, tokenizer: AudioTokenizer) -> None:
    """Prints the ids (no ``out``) or writes them to ``out/<stem>.<fmt>``."""
    if out is None:
        print(f"{path}: {len(ids)} ids ({seconds:.2f} s of frames)")
        print(" ".join(map(str, ids.tolist())))
        return
    target = out / f"{path.stem}.{fmt}"
    if fmt == "npy":
        np.save(target, ids.astype(np.int64))
    else:
        target.write_text(json.dumps({"source": str(path), "layout": tokenizer.config.layout, "ids": ids.tolist()}))


def _read_ids(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix == ".json":
        values: Any = json.loads(path.read_text())
        return np.asarray(values["ids"] if isinstance(values, dict) else values, dtype=np.int64)
    _fail(f"{path}: expected a .npy or .json id file")


def _decode(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.inputs]
    for path in files:
        if not path.exists():
            _fail(f"{path}: no such file")
    if args.model is None:
        beside = files[0].parent / CONFIG_NAME
        if not beside.exists():
            _fail(f"no --model given and no {CONFIG_NAME} beside {files[0]}; pass --model (the one used to encode)")
        args.model = str(beside)
    tokenizer = _load_tokenizer(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in tqdm(files, unit="file", disable=len(files) < 2):
        wave = tokenizer.decode(_read_ids(path), errors=args.errors)
        target = out / f"{path.stem}.wav"
        sf.write(target, wave.T, tokenizer.config.sampling_rate, subtype="FLOAT")
        print(f"{path} -> {target} ({wave.shape[-1] / tokenizer.config.sampling_rate:.2f} s)")
    return 0


def _info(args: argparse.Namespace) -> int:
    tokenizer = _load_tokenizer(args)
    config, vocab = tokenizer.config, tokenizer.vocab
    print(tokenizer)
    print(json.dumps(config.to_dict(), indent=2))
    print("\nid ranges:")
    for k in range(config.num_codebooks):
        ids = vocab.codebook_range(k)
        print(f"  codebook {k:2d}: {ids.start}..{ids.stop - 1}")
    for name, token_id in vocab.special_ids.items():
        print(f"  {config.special_tokens[name]}: {token_id}")
    print(f"  audio vocab size {vocab.size}; LLM vocabulary needs >= {vocab.end} ids")
    print("\ntokens per second (frame rate x codebooks in the layout):")
    print("  kbps  codebooks  " + "  ".join(f"{name:>14}" for name in LAYOUTS))
    for bandwidth in config.codec_bandwidths:
        k = tokenizer.codec.num_codebooks(bandwidth)
        rates = "  ".join(f"{config.frame_rate * LAYOUTS[n].codebooks_used(k):>14}" for n in LAYOUTS)
        print(f"  {bandwidth:>4g}  {k:>9}  {rates}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audiotok", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    encode = commands.add_parser("encode", help="audio files or folders -> ids (.npy or .json)")
    encode.add_argument("inputs", nargs="+", help="audio files and/or folders (searched recursively)")
    encode.add_argument("--out", help="folder for the id files (+ the config); without it ids are printed")
    encode.add_argument("--format", choices=["npy", "json"], default="npy")
    encode.add_argument("--no-special-tokens", action="store_true", help="omit <|audio_start|>/<|audio_end|>")
    encode.add_argument("--batch-seconds", type=float, default=64.0, help="padded audio per encoder batch")
    _add_model_options(encode)
    encode.set_defaults(run=_encode)

    decode = commands.add_parser("decode", help="id files (.npy/.json) -> .wav")
    decode.add_argument("inputs", nargs="+", help="id files written by `audiotok encode`")
    decode.add_argument("--out", default=".", help="folder for the wav files")
    decode.add_argument(
        "--errors", choices=["strict", "lenient"], default="strict", help="malformed ids: raise or repair"
    )
    _add_model_options(decode)
    decode.set_defaults(model=None, run=_decode)

    info = commands.add_parser("info", help="a config's id ranges and tokens per second")
    _add_model_options(info)
    info.set_defaults(run=_info)

    preprocess = commands.add_parser("preprocess", help="a corpus -> token shards (resumable; torchrun for many GPUs)")
    add_preprocess_arguments(preprocess)
    preprocess.add_argument("--merge-only", action="store_true", help="only merge the rank manifests of --out")
    preprocess.set_defaults(run=run_preprocess)

    add_vocab_command(commands)
    add_inspect_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    transformers_logging.disable_progress_bar()
    try:
        return int(args.run(args))
    except (AudiotokError, OSError) as error:
        _fail(str(error))


if __name__ == "__main__":
    sys.exit(main())
