"""What ``evaluate`` returns, written out: results.json, a text table and a plot of quality against ids per second.

Untrained demo and fixture codecs are marked in every output (the label's ``[untrained]``, the table's
warning line, the plot's title), since their figures say nothing about any real codec.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .metrics import METRICS, UNAVAILABLE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RESULTS_NAME = "results.json"
TABLE_NAME = "table.md"
PLOT_NAME = "quality_vs_ids_per_second.png"


def _cell(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def format_table(results: dict[str, Any]) -> str:
    """A markdown table: one row per model (overall means), ids per second first; then warnings and skips."""
    arrows = {name: ("higher better" if m.higher_is_better else "lower better") for name, m in METRICS.items()}
    header = ["model", "ids/s", *(f"{m.label} ({arrows[n]})" for n, m in METRICS.items()), "ViSQOL"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model in results["models"]:
        cells = [model["label"], _cell(model["ids_per_second"], 1)]
        cells += [_cell(model["overall"][name]) for name in METRICS]
        cells.append("n/a")
        lines.append("| " + " | ".join(cells) + " |")
    corpus = results["corpus"]
    lines.append("")
    lines.append(f"{corpus['clips']} clips, {corpus['seconds']:.1f} s; ids/s measured (audio ids per second of audio).")
    if results.get("warning"):
        lines.append(f"WARNING: {results['warning']}: {', '.join(results['untrained_models'])}.")
    if any(model.get("bpe") for model in results["models"]):
        lines.append("+BPE(N): acoustic BPE of N merged tokens; lossless, so quality as without it, at fewer ids/s.")
    for name, why in UNAVAILABLE.items():
        lines.append(f"{name}: {why}.")
    for skipped in corpus["skipped"]:
        lines.append(f"skipped {skipped['path']}: {skipped['reason']}")
    for model in results["models"]:
        for failed in model["failed"]:
            lines.append(f"{model['label']}: failed {failed['path']}: {failed['reason']}")
    for failed in results.get("failed_models", []):
        lines.append(f"model {failed['spec']} not evaluated: {failed['reason']}")
    return "\n".join(lines) + "\n"


def plot_quality(results: dict[str, Any]) -> Figure:
    """One panel per metric: each model's overall mean against its measured ids per second (log axis)."""
    from ..plot import _figure_class

    models = [m for m in results["models"] if m["ids_per_second"]]
    columns = 3
    rows = -(-(len(METRICS) + 1) // columns)
    figure = _figure_class()(figsize=(5.0 * columns, 4.0 * rows), layout="constrained")
    axes = list(figure.subplots(rows, columns, squeeze=False).flat)
    notes = axes[len(METRICS)]
    notes.axis("off")
    lines = [f"{m['label']}: {m['ids_per_second']:.1f} ids/s" for m in models]
    lines += [f"{name}: not computed" for name in UNAVAILABLE] + ["x = untrained demo/fixture codec"]
    notes.text(0, 1, "\n".join(lines), va="top", fontsize=8, wrap=True)
    for extra in axes[len(METRICS) + 1 :]:
        extra.axis("off")
    for ax, (name, metric) in zip(axes, METRICS.items()):
        for model in models:
            value = model["overall"][name]
            if value is None:
                continue
            marker = "x" if model["untrained"] else "o"
            ax.scatter(model["ids_per_second"], value, marker=marker)
            ax.annotate(
                model["label"], (model["ids_per_second"], value), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
        ax.set_xscale("log")
        ax.set_xlabel("ids per second")
        ax.set_title(f"{metric.label} ({'higher' if metric.higher_is_better else 'lower'} is better)", fontsize=9)
        ax.grid(alpha=0.3)
    title = "Reconstruction quality against ids per second"
    if results.get("untrained_models"):
        title += "\nUNTRAINED demo/fixture codecs (x): figures show the pipeline, not real codec quality"
    figure.suptitle(title, fontsize=10)
    return figure


def write_report(results: dict[str, Any], directory: str | Path, plot: bool = True) -> dict[str, Path]:
    """Writes results.json, table.md and (with ``plot``) the plot into ``directory``; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"results": directory / RESULTS_NAME, "table": directory / TABLE_NAME}
    paths["results"].write_text(json.dumps(results, indent=2) + "\n")
    paths["table"].write_text(format_table(results))
    if plot:
        paths["plot"] = directory / PLOT_NAME
        plot_quality(results).savefig(paths["plot"], dpi=120)
    return paths
