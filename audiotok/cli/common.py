"""What the ``audiotok`` sub-commands share: exit codes, messages, input discovery, output names, model options.

Exit codes: 0 = all done; 1 = some inputs failed (each reported as ``audiotok: skipped PATH: reason``, the
others written); 2 = a usage or fatal error (``audiotok: error: ...``), raised as AudiotokError and reported
by ``main``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..codecs.demo_tools import demo_note
from ..codecs.registry import DEMO_PREFIX
from ..config import CONFIG_NAME, DEFAULT_CODEC
from ..errors import AudiotokError
from ..ids.layouts import LAYOUTS
from ..tokenizer import AudioTokenizer

EXIT_OK = 0
EXIT_SKIPPED = 1
EXIT_ERROR = 2


def report_error(message: str) -> None:
    print(f"audiotok: error: {message}", file=sys.stderr)


def report_skip(path: Path, reason: object) -> None:
    """``audiotok: skipped PATH: reason`` on stderr (through tqdm, so a progress bar stays intact)."""
    message = str(reason).removeprefix(f"{path}: ")  # library errors often name the file already
    tqdm.write(f"audiotok: skipped {path}: {message}", file=sys.stderr)


def note_demo(is_demo: bool, family: str) -> None:
    if is_demo:
        print(f"audiotok: NOTE: {demo_note(family)}", file=sys.stderr)


def find_inputs(inputs: Sequence[str], suffixes: Iterable[str], what: str) -> list[tuple[Path, Path]]:
    """``(file, name)`` for each file named directly and each file with one of ``suffixes`` in named folders.

    ``name`` is the path relative to the named folder (``sub/a.wav``), or the file name for a file named
    directly: outputs keep it, so files of the same name in different sub-folders stay apart. Folders are
    searched recursively, in sorted order; a file reached twice counts once; ``audiotok_config.json`` is
    never an input. A named path that does not exist is a usage error (nothing is done).
    """
    wanted = {suffix.lower() for suffix in suffixes}
    found: list[tuple[Path, Path]] = []
    missing = [name for name in inputs if not Path(name).exists()]
    if missing:
        raise AudiotokError(f"{', '.join(missing)}: no such file or folder")
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in wanted and p.is_file())
            found.extend((p, p.relative_to(path)) for p in files if p.name != CONFIG_NAME)
        else:
            found.append((path, Path(path.name)))
    seen: set[Path] = set()
    unique = []
    for path, relative in found:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append((path, relative))
    if not unique:
        raise AudiotokError(f"no {what} ({', '.join(sorted(wanted))}) in {', '.join(inputs)}")
    return unique


def nearest_config(path: Path) -> Path | None:
    """The ``audiotok_config.json`` in the folder of ``path`` or the nearest folder above it (None if none)."""
    folder = path.absolute().parent
    return next((d / CONFIG_NAME for d in (folder, *folder.parents) if (d / CONFIG_NAME).is_file()), None)


def check_distinct(targets: Sequence[tuple[Path, Path]]) -> None:
    """Refuses (before any work) when two inputs would be written to one output file: ``(input, target)`` pairs."""
    first: dict[Path, Path] = {}
    for source, target in targets:
        other = first.setdefault(target, source)
        if other != source:
            raise AudiotokError(
                f"{other} and {source} would both be written to {target}; rename one, or give them to "
                "separate runs with different --out folders"
            )


def add_model_options(parser: argparse.ArgumentParser, device: bool = True) -> None:
    parser.add_argument(
        "--model",
        default=DEFAULT_CODEC,
        help=f"codec hub id or directory of any family (EnCodec, DAC, Mimi, WavTokenizer, X-codec, X-codec2, "
        f"NeuCodec), saved tokenizer directory, audiotok config JSON, or '{DEMO_PREFIX}' / "
        f"'{DEMO_PREFIX}-<family>' (untrained local codecs for trying things offline); default {DEFAULT_CODEC}",
    )
    parser.add_argument(
        "--codebooks", dest="num_codebooks", type=int, help="codebooks per frame, one count the codec supports"
    )
    parser.add_argument(
        "--bandwidth",
        type=float,
        help="EnCodec and X-codec: kbps naming a codebook count (EnCodec 24 kHz: 1.5 3 6 12 24)",
    )
    parser.add_argument("--layout", choices=sorted(LAYOUTS))
    parser.add_argument("--vocab-offset", type=int, help="first id of the audio range in the LLM vocabulary")
    if device:
        parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when present)")


def config_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields ``--codebooks``, ``--bandwidth``, ``--layout`` and ``--vocab-offset`` set."""
    values = (
        ("num_codebooks", args.num_codebooks),
        ("bandwidth", args.bandwidth),
        ("layout", args.layout),
        ("vocab_offset", args.vocab_offset),
    )
    return {key: value for key, value in values if value is not None}


def load_tokenizer(model: str, args: argparse.Namespace) -> AudioTokenizer:
    """The tokenizer ``model`` names, with the command line's config changes; says so when it is the demo codec."""
    tokenizer = AudioTokenizer.from_pretrained(model, device=args.device, **config_changes(args))
    note_demo(tokenizer.codec.is_demo, tokenizer.config.codec_family)
    return tokenizer
