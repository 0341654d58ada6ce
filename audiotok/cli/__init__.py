"""The ``audiotok`` command: encode audio to ids, decode ids to wav, show a config's id layout, and more.

Every sub-command lives in its own module here; this one builds the parser and turns errors into exit codes:
0 = all done, 1 = some inputs failed (each reported as ``audiotok: skipped PATH: reason``, the rest written),
2 = usage or fatal error (``audiotok: error: ...``, one line, no traceback).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from transformers.utils import logging as transformers_logging

from .. import __version__
from ..errors import AudiotokError
from . import bpe, decode, encode, eval, info, inspect, stats, vocab
from .common import EXIT_ERROR, report_error
from .preprocess import add_arguments as add_preprocess_arguments
from .preprocess import run_from_args as run_preprocess

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audiotok", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"audiotok {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    encode.add_command(commands)
    decode.add_command(commands)
    info.add_command(commands)

    preprocess = commands.add_parser(
        "preprocess", help="a corpus -> token shards (resumable; torchrun or Ray for many GPUs)"
    )
    add_preprocess_arguments(preprocess)
    preprocess.add_argument(
        "--merge-only", action="store_true", help="only rebuild manifest.json from the shards of --out"
    )
    preprocess.set_defaults(run=run_preprocess)

    vocab.add_command(commands)
    inspect.add_command(commands)
    eval.add_command(commands)
    bpe.add_command(commands)
    stats.add_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; returns its exit code (0 or 1), or raises SystemExit(2) after a one-line error."""
    args = build_parser().parse_args(argv)
    transformers_logging.disable_progress_bar()
    try:
        return int(args.run(args))
    except (AudiotokError, OSError) as error:
        report_error(str(error))
        raise SystemExit(EXIT_ERROR) from None
