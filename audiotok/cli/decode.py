"""audiotok decode: id files and folders of them -> .wav files.

OUT/sub/a.wav for ids/sub/a.npy when decode ids/ --out OUT (the path under the named folder is
kept); without --out each wav is written beside its id file. Each id file is read with the nearest
audiotok_config.json (its folder or a folder above it) unless --model is given. A file that cannot
be read or decoded is skipped with its reason and the others are written (exit 1).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import soundfile as sf
from tqdm import tqdm

from ..config import CONFIG_NAME
from ..errors import AudiotokError
from ..idfiles import ID_SUFFIXES, read_id_file
from ..tokenizer import AudioTokenizer
from .common import (
    EXIT_OK,
    EXIT_SKIPPED,
    add_model_options,
    check_distinct,
    find_inputs,
    load_tokenizer,
    nearest_config,
    report_skip,
)


def add_command(subparsers: Any) -> None:
    decode = subparsers.add_parser(
        "decode", help="id files (.npy/.json) or folders of them -> .wav", description=__doc__
    )
    decode.add_argument(
        "inputs",
        nargs="+",
        help="id files (.npy/.json as `audiotok encode` writes them, or a text file of integers) and/or folders "
        "of .npy/.json files (searched recursively)",
    )
    decode.add_argument("--out", help="folder for the wav files, sub-folders kept (default: beside each id file)")
    decode.add_argument(
        "--errors", choices=["strict", "lenient"], default="strict", help="malformed ids: skip the file or repair"
    )
    add_model_options(decode)
    decode.set_defaults(model=None, run=run_decode)


def run_decode(args: argparse.Namespace) -> int:
    inputs = find_inputs(args.inputs, ID_SUFFIXES, "id files")
    out = Path(args.out) if args.out else None
    targets = [(path, (out / name if out else path).with_suffix(".wav")) for path, name in inputs]
    check_distinct(targets)
    failures = written = 0
    todo: list[tuple[Path, Path, str]] = []
    for path, target in targets:
        model = args.model or nearest_config(path)
        if model is None:
            failures += 1
            report_skip(path, f"no {CONFIG_NAME} in its folder or above; pass --model (the one used to encode)")
        else:
            todo.append((path, target, str(model)))
    tokenizers = {model: load_tokenizer(model, args) for model in dict.fromkeys(model for *_, model in todo)}
    for path, target, model in tqdm(todo, unit="file", disable=len(todo) < 2):
        try:
            ids, layout = read_id_file(path)
            tokenizer = tokenizers[model]
            if layout is not None and args.layout is None and layout != tokenizer.config.layout:
                tokenizer = AudioTokenizer(tokenizer.config.replace(layout=layout), tokenizer.codec)  # the file's
            wave = tokenizer.decode(ids, errors=args.errors)
            target.parent.mkdir(parents=True, exist_ok=True)
            sf.write(target, wave.T, tokenizer.config.output_sampling_rate, subtype="FLOAT")
        except (AudiotokError, OSError, sf.SoundFileError) as error:
            failures += 1
            report_skip(path, error)
            continue
        written += 1
        tqdm.write(f"{path} -> {target} ({wave.shape[-1] / tokenizer.config.output_sampling_rate:.2f} s)")
    print(f"wrote {written} wav files" + (f", skipped {failures}" if failures else ""))
    return EXIT_SKIPPED if failures else EXIT_OK
