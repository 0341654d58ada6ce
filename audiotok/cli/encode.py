"""audiotok encode: audio files and folders -> id files (--out) or ids printed.

With --out, data/sub/a.wav becomes OUT/sub/a.npy (the path under the named folder is kept; a
file named directly goes to OUT/<name>), beside one audiotok_config.json that describes them all.
Two inputs that would get the same output name, and an OUT whose config differs from this run's, are
refused before anything is encoded.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from ..config import CONFIG_NAME, TokenizerConfig
from ..errors import AudiotokError
from ..idfiles import write_id_file
from ..sources import AUDIO_SUFFIXES
from .common import EXIT_OK, EXIT_SKIPPED, add_model_options, check_distinct, find_inputs, load_tokenizer, report_skip

FILES_PER_BATCH = 16
T = TypeVar("T")


def add_command(subparsers: Any) -> None:
    encode = subparsers.add_parser("encode", help="audio files or folders -> ids (.npy or .json)", description=__doc__)
    encode.add_argument("inputs", nargs="+", help="audio files and/or folders (searched recursively)")
    encode.add_argument(
        "--out", help="folder for the id files (+ the config), sub-folders kept; without it the ids are printed"
    )
    encode.add_argument("--format", choices=["npy", "json"], default="npy")
    encode.add_argument("--no-special-tokens", action="store_true", help="omit <|audio_start|>/<|audio_end|>")
    encode.add_argument("--batch-seconds", type=float, default=64.0, help="padded audio per encoder batch")
    add_model_options(encode)
    encode.set_defaults(run=run_encode)


def run_encode(args: argparse.Namespace) -> int:
    inputs = find_inputs(args.inputs, AUDIO_SUFFIXES, "audio files")
    out = Path(args.out) if args.out else None
    targets = [(path, out / name.with_suffix(f".{args.format}")) for path, name in inputs] if out else []
    check_distinct(targets)
    tokenizer = load_tokenizer(args.model, args)
    if out:
        _check_out_config(out, tokenizer.config)
        tokenizer.config.save_pretrained(out)
    target_of = dict(targets)
    written = failures = 0
    files = [path for path, _ in inputs]
    with tqdm(total=len(files), unit="file", disable=len(files) < 2 or not out) as bar:
        for group in _chunks(files, FILES_PER_BATCH):
            loaded, waves = [], []
            for path in group:
                try:
                    waves.append(tokenizer.load(path))
                    loaded.append(path)
                except (AudiotokError, OSError) as error:
                    failures += 1
                    report_skip(path, error)
            codes = tokenizer.codec.encode_batch(waves, tokenizer.config.num_codebooks, args.batch_seconds)
            for path, clip_codes in zip(loaded, codes):
                ids = tokenizer.codes_to_ids(clip_codes, add_special_tokens=not args.no_special_tokens)
                if out is None:
                    print(f"{path}: {len(ids)} ids ({clip_codes.num_frames / tokenizer.config.frame_rate:.2f} s)")
                    print(" ".join(map(str, ids.tolist())))
                    continue
                try:
                    write_id_file(target_of[path], ids, args.format, str(path), tokenizer.config.layout)
                    written += 1
                except OSError as error:
                    failures += 1
                    report_skip(path, f"cannot write {target_of[path]}: {error}")
            bar.update(len(group))
    if out:
        print(f"wrote {written} id files and {CONFIG_NAME} to {out}")
    return EXIT_SKIPPED if failures else EXIT_OK


def _check_out_config(out: Path, config: TokenizerConfig) -> None:
    """Refuses an ``out`` whose ids were made with other settings (one config must describe every id file)."""
    path = out / CONFIG_NAME
    if not path.exists():
        return
    existing = TokenizerConfig.from_pretrained(path).to_dict(derived=False)
    wanted = config.to_dict(derived=False)
    changed = sorted(key for key in wanted if existing.get(key) != wanted[key])
    if changed:
        details = ", ".join(f"{key} {existing.get(key)!r} there, {wanted[key]!r} now" for key in changed)
        raise AudiotokError(
            f"{out} holds ids made with other settings ({details}); encode with the same settings to add "
            "files, or choose a new --out"
        )


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
