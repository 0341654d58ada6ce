"""``manifest.json``: what the output holds, built from the shards on disk (so it is right after any resume)."""

from __future__ import annotations

import json
import os
from typing import Any

from ..config import CONFIG_NAME
from ..errors import AudiotokError
from .blocks import block_count, finished_blocks, shard_name, todo_blocks
from .options import RUN_FILE
from .output import Output
from .unit import SUMMARY_COLUMNS

MANIFEST = "manifest.json"


def write_manifest(output: Output, blocks: int, this_run: dict[str, Any] | None) -> dict[str, Any]:
    """Sums shards 0..blocks-1 into ``manifest.json`` (every failure and skip with its reason) and returns it."""
    encoded, seconds, rows = 0, 0.0, 0
    failures, skips = [], []
    for block in range(blocks):
        for record in output.read_table(shard_name(block), SUMMARY_COLUMNS).to_pylist():
            rows += 1
            if record["error"] is not None:
                failures.append({"key": record["key"], "error": record["error"]})
            elif record.get("skipped") is not None:
                skips.append({"key": record["key"], "reason": record["skipped"]})
            else:
                encoded += 1
                seconds += record["duration"]
    manifest: dict[str, Any] = {
        "rows": rows,
        "shards": blocks,
        "encoded": encoded,
        "failed": len(failures),
        "skipped": len(skips),
        "audio_hours": seconds / 3600,
        "failures": failures,
        "skips": skips,
        "config": CONFIG_NAME,
    }
    if this_run is not None:
        manifest["this_run"] = this_run
    output.write_text(MANIFEST, json.dumps(manifest, indent=2))
    return manifest


def merge_manifests(out: str | os.PathLike[str]) -> dict[str, Any]:
    """Rebuilds ``manifest.json`` from the shards of a finished job (e.g. after machines finished separately)."""
    output = Output(out)
    text = output.read_text(RUN_FILE)
    if text is None:
        raise AudiotokError(f"{out}: no {RUN_FILE}: run the job first")
    run = json.loads(text)
    if "source_stream" in run:  # a stream's length is not recorded: its blocks are the shards present, 0..n-1
        present = finished_blocks(output)
        blocks = max(present) + 1 if present else 0
        missing = todo_blocks(output, blocks)
        if missing or not blocks:
            raise AudiotokError(f"{out}: {len(missing)} of {blocks} shards missing: the job is unfinished; rerun it")
        return write_manifest(output, blocks, None)
    if "source_rows" not in run:
        raise AudiotokError(f"{out}: {RUN_FILE} does not record the source's rows; rerun the job to finish it")
    blocks = block_count(run["source_rows"], run["shard_size"])
    missing = todo_blocks(output, blocks)
    if missing:
        raise AudiotokError(f"{out}: {len(missing)} of {blocks} shards missing: the job is unfinished; rerun it")
    return write_manifest(output, blocks, None)
