"""``audiotok inspect``: prints ``audiotok.inspect.format_report`` for an id file or ids on the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..config import CONFIG_NAME, TokenizerConfig
from ..errors import AudiotokError
from ..idfiles import parse_id_text, read_id_file
from ..ids.layouts import LAYOUTS
from ..inspect import format_report, inspect_ids
from .common import EXIT_OK, EXIT_SKIPPED, nearest_config


def add_command(subparsers: Any) -> None:
    """Registers ``inspect`` on an ``argparse`` sub-parser collection (``parser.add_subparsers()``)."""
    inspect = subparsers.add_parser(
        "inspect",
        help="a readable summary of a token file or id list: spans, frames, text, malformed spots",
        description="Shows the spans, frames, duration, layout, text segments and every malformed spot of "
        "a token sequence, without loading the codec. Exit status 1 when strict decoding would fail "
        "(0 with --errors lenient).",
    )
    inspect.add_argument(
        "file",
        nargs="?",
        help="ids: .npy or .json (as `audiotok encode` writes), or a text file of integers; - = stdin",
    )
    inspect.add_argument("--ids", help="the ids on the command line instead of a file, e.g. --ids '1 2 3'")
    inspect.add_argument(
        "--config",
        help=f"audiotok config JSON or a directory holding one (default: the nearest {CONFIG_NAME} in FILE's "
        "folder or above)",
    )
    inspect.add_argument("--layout", choices=sorted(LAYOUTS), help="override the config's layout")
    inspect.add_argument("--codebooks", dest="num_codebooks", type=int, help="override the config's codebook count")
    inspect.add_argument("--bandwidth", type=float, help="EnCodec and X-codec: override the config's bandwidth (kbps)")
    inspect.add_argument("--vocab-offset", type=int, help="override the config's vocab_offset")
    inspect.add_argument(
        "--errors",
        choices=["strict", "lenient"],
        default="strict",
        help="strict (default): exit 1 when strict decoding would fail; lenient: exit 0 since lenient never fails",
    )
    inspect.set_defaults(run=run_inspect)


def load_config(config: str | None, beside: Path | None, notes: list[str]) -> TokenizerConfig:
    """``--config`` (a JSON file or a directory holding one), else the nearest config above the id file, else the
    default; ``notes`` says which."""
    if config is not None:
        notes.append(f"config {config}")
        return TokenizerConfig.from_pretrained(config)
    found = nearest_config(beside) if beside is not None else None
    if found is not None:
        notes.append(f"config {found}")
        return TokenizerConfig.from_pretrained(found)
    where = f"no {CONFIG_NAME} in the folder of {beside} or above" if beside is not None else "no --config given"
    notes.append(
        f"{where}: assuming the default config (facebook/encodec_24khz, 6 kbps, interleaved, offset 0); "
        "pass --config to read the ids with the config that made them"
    )
    return TokenizerConfig()


def run_inspect(args: argparse.Namespace) -> int:
    """The ``audiotok inspect`` handler: prints the report; exit 1 if the ids fail under ``--errors``."""
    if (args.file is None) == (args.ids is None):
        raise AudiotokError("give either FILE or --ids '1 2 3' (one of them)")
    notes: list[str] = []
    file_layout = None
    if args.file == "-":
        ids, source = parse_id_text(sys.stdin.read(), "-"), "-"
        config = load_config(args.config, None, notes)
    elif args.file is not None:
        path = Path(args.file)
        if not path.is_file():
            raise AudiotokError(f"{path}: no such file")
        ids, file_layout = read_id_file(path)
        source = str(path)
        config = load_config(args.config, path, notes)
    else:
        ids, source = parse_id_text(args.ids, "--ids"), "--ids"
        config = load_config(args.config, None, notes)
    changes = {
        key: value
        for key, value in (
            ("layout", args.layout),
            ("num_codebooks", args.num_codebooks),
            ("bandwidth", args.bandwidth),
            ("vocab_offset", args.vocab_offset),
        )
        if value is not None
    }
    if file_layout is not None and "layout" not in changes and file_layout != config.layout:
        notes.append(f"{source} records layout {file_layout!r}, the config says {config.layout!r}: using the file's")
        changes["layout"] = file_layout
    if changes:
        config = config.replace(**changes)
    report = inspect_ids(ids, config, notes=tuple(notes))
    print(format_report(report, source))
    return EXIT_OK if report.ok or args.errors == "lenient" else EXIT_SKIPPED
