"""audiotok eval: round-trip a corpus through tokenizer configurations; quality against ids per second.

Each --model is NAME[:key=value...] (NAME: hub id, codec or tokenizer directory, config JSON or demo name;
options codebooks=, bandwidth=, layout=, bpe=DIR (apply a BPE tokenizer directory's acoustic BPE; bpe=none
drops a BPE tokenizer's own), label=; a configuration with a BPE is labelled +BPE(N)). Writes OUT/results.json,
OUT/table.md and the plot OUT/quality_vs_ids_per_second.png, and prints the table. Untrained demo codecs are
marked in every output. A file that cannot be read, or a model that cannot be loaded, is skipped with its
reason (exit 1).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import AudiotokError
from ..evaluation.report import format_table, write_report
from ..evaluation.runner import evaluate
from ..evaluation.specs import parse_spec
from ..sources import AUDIO_SUFFIXES
from .common import EXIT_OK, EXIT_SKIPPED, find_inputs, report_skip


def add_command(subparsers: Any) -> None:
    command = subparsers.add_parser(
        "eval", help="quality (SI-SDR, mel, STFT, PESQ, STOI) against ids per second", description=__doc__
    )
    command.add_argument("corpus", nargs="+", help="audio files and/or folders of them (searched recursively)")
    command.add_argument(
        "--model",
        action="append",
        required=True,
        dest="models",
        help="a configuration to evaluate, repeatable: e.g. demo-dac, facebook/encodec_24khz:codebooks=4, "
        "mydir:layout=delayed:label=mine, my_bpe_dir, demo:codebooks=2:bpe=my_bpe_dir",
    )
    command.add_argument("--out", required=True, help="folder for results.json, table.md and the plot")
    command.add_argument("--no-plot", action="store_true", help="skip the plot (no matplotlib needed)")
    command.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when present)")
    command.set_defaults(run=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    specs = [parse_spec(text) for text in args.models]  # every spec checked before any work
    files = [path for path, _ in find_inputs(args.corpus, AUDIO_SUFFIXES, "audio files")]
    results = evaluate(files, specs, device=args.device)
    if not results["models"]:
        reasons = "; ".join(f"{m['spec']}: {m['reason']}" for m in results["failed_models"])
        raise AudiotokError(f"no model could be evaluated ({reasons})")
    for skipped in results["corpus"]["skipped"]:
        report_skip(skipped["path"], skipped["reason"])
    for failed in results["failed_models"]:
        print(f"audiotok: skipped model {failed['spec']}: {failed['reason']}", file=sys.stderr)
    for model in results["models"]:
        for failed in model["failed"]:
            print(f"audiotok: {model['label']}: skipped {failed['path']}: {failed['reason']}", file=sys.stderr)
    paths = write_report(results, args.out, plot=not args.no_plot)
    print(format_table(results), end="")
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    problems = results["corpus"]["skipped"] or results["failed_models"] or any(m["failed"] for m in results["models"])
    return EXIT_SKIPPED if problems else EXIT_OK
