"""Blocks: the job's unit of work and of resumption, numbered over the whole source.

Block ``b`` is rows ``[b * shard_size, (b + 1) * shard_size)`` of the source and becomes the shard file
``shard-{b:06d}.parquet``. The blocks done are the shard files present, whoever wrote them: any engine,
any number of ranks, workers or GPUs finishes the same set of shards.

Folders written before blocks were global named shards after a rank (``rank{r:03d}-shard{b:06d}.parquet``,
block b of rank r's contiguous share). With one rank those are the global blocks, renamed on resume; with
several the mapping depends on how the rows were split, so such a folder is refused with what to do.
"""

from __future__ import annotations

import json
import re

from ..errors import AudiotokError
from .output import Output

SHARD_NAME = re.compile(r"^shard-(\d{6,})\.parquet$")
LEGACY_NAME = re.compile(r"^rank(\d{3,})-shard(\d{6,})\.parquet$")


def shard_name(block: int) -> str:
    return f"shard-{block:06d}.parquet"


def block_count(rows: int, shard_size: int) -> int:
    return -(-rows // shard_size)


def block_rows(block: int, shard_size: int, rows: int) -> range:
    """The source rows of ``block``."""
    return range(block * shard_size, min((block + 1) * shard_size, rows))


def finished_blocks(output: Output) -> set[int]:
    """The blocks whose shard exists."""
    return {int(m.group(1)) for m in map(SHARD_NAME.match, output.names()) if m}


def todo_blocks(output: Output, blocks: int) -> list[int]:
    """The blocks still to do, in order."""
    done = finished_blocks(output)
    return [b for b in range(blocks) if b not in done]


def adopt_legacy_shards(output: Output, run_file: str) -> int:
    """Renames a one-rank folder's ``rank000-shardB`` files to ``shard-B``; refuses a several-rank one.

    Returns how many files were renamed.
    """
    legacy = [(name, m) for name, m in ((n, LEGACY_NAME.match(n)) for n in output.names()) if m]
    if not legacy:
        return 0
    text = output.read_text(run_file)
    world = int(json.loads(text).get("world_size", 1)) if text else 1
    ranks = {int(m.group(1)) for _, m in legacy}
    if world != 1 or ranks != {0}:
        raise AudiotokError(
            f"{output} was written by an earlier audiotok with {world} ranks (rank*-shard*.parquet): its shards "
            "cover other rows than this version's blocks. Its finished shards load as they are "
            "(load_token_dataset); to finish it, rerun it with the earlier version and the same number of ranks, "
            "or start over with a new --out"
        )
    for name, m in legacy:
        output.rename(name, shard_name(int(m.group(2))))
    return len(legacy)
