"""The job's options, its fingerprint, the run file that makes a resumed run repeat the same job, and the
tokenizer config (with its BPE file) saved beside the shards.

The fingerprint holds what changes the shards' content (the codec, the codebooks, filters, the block
size, the source's rows), never how the job runs: the engine, the number of workers, encoders, ranks or
GPUs and the device may all differ between two runs of one job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, field
from typing import Any

import datasets

from ..config import CONFIG_NAME, DEFAULT_CODEC, TokenizerConfig
from ..errors import AudiotokError
from ..ids.bpe import BPE_NAME
from ..sources import open_source
from .output import Output

RUN_FILE = "run.json"
ENGINES = ("local", "ray")
_HOW_NOT_WHAT = {"out", "batch_seconds", "num_workers", "encoders", "threads", "device", "engine", "ray_address"}


@dataclass
class Options:
    """Everything that determines a job's output (and, outside the fingerprint, how it runs)."""

    source: str | list[str]
    out: str
    model: str = DEFAULT_CODEC
    config_name: str | None = None
    split: str = "train"
    revision: str | None = None
    streaming: bool = False
    audio_column: str = "audio"
    num_codebooks: int | None = None
    bandwidth: float | None = None
    layout: str | None = None
    vocab_offset: int | None = None
    write_ids: bool = False
    min_duration: float = 0.0
    max_duration: float | None = None
    keep_columns: list[str] = field(default_factory=list)
    shard_size: int = 256
    batch_seconds: float | None = None
    num_workers: int | None = None
    encoders: int | None = None
    threads: int | None = None
    device: str | None = None
    limit: int | None = None
    engine: str = "local"
    ray_address: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        """The settings that change what is written (not how fast, nor on which engine or how many machines)."""
        return {k: v for k, v in asdict(self).items() if k not in _HOW_NOT_WHAT}

    def tokenizer_changes(self) -> dict[str, Any]:
        """The codec settings to pass to ``AudioTokenizer.from_pretrained``."""
        given = {
            "num_codebooks": self.num_codebooks,
            "bandwidth": self.bandwidth,
            "layout": self.layout,
            "vocab_offset": self.vocab_offset,
        }
        return {k: v for k, v in given.items() if v is not None}


def check_options(options: Options) -> None:
    """Refuses options no engine can run (an unknown engine, a block size below 1) before anything loads."""
    if options.engine not in ENGINES:
        raise AudiotokError(f"unknown engine {options.engine!r}; choose one of {', '.join(ENGINES)}")
    if options.shard_size < 1:
        raise AudiotokError(f"--shard-size must be at least 1, got {options.shard_size}")


def open_rows(options: Options) -> datasets.Dataset:
    """The job's input rows (undecoded), with ``--limit`` applied and ``--keep-columns`` checked."""
    if not isinstance(options.source, str):
        raise AudiotokError("several sources are read only as a stream of tar shards (.tar, .tar.gz, .tgz)")
    rows = open_source(
        options.source,
        config_name=options.config_name,
        split=options.split,
        audio_column=options.audio_column,
        revision=options.revision,
    )
    if options.limit is not None:
        rows = rows.select(range(min(options.limit, len(rows))))
    missing = [c for c in options.keep_columns if c not in rows.column_names]
    if missing:
        raise AudiotokError(f"--keep-columns {missing} not in the source; its columns are {rows.column_names}")
    return rows


def source_identity(rows: datasets.Dataset) -> dict[str, Any]:
    """What a resumed run checks the input against: the row count and a SHA-256 of the keys in order."""
    digest = hashlib.sha256()
    keys = rows.select_columns(["key"])  # never reads the audio column
    for start in range(0, len(keys), 65536):
        for key in keys[start : start + 65536]["key"]:
            digest.update(str(key).encode() + b"\0")
    return {"source_rows": len(rows), "source_keys_sha256": digest.hexdigest()}


def check_run_file(output: Output, options: Options, source: dict[str, Any], write: bool = True) -> None:
    """Refuses to resume with other settings or another input: shards would mix two jobs, or rows would be lost.

    ``world_size``, recorded by earlier versions, is ignored: the number of ranks no longer matters.
    """
    wanted = {**options.fingerprint(), **source}
    text = output.read_text(RUN_FILE)
    if text is None:
        if write:
            output.write_text(RUN_FILE, json.dumps(wanted, indent=2))
        return
    recorded = {k: v for k, v in json.loads(text).items() if k != "world_size"}
    changed = sorted(k for k in set(recorded) | set(wanted) if recorded.get(k, _absent(k)) != wanted.get(k))
    settings = [k for k in changed if k not in source]
    if settings:
        raise AudiotokError(
            f"{output} holds a job run with other settings ({', '.join(settings)} differ); rerun with the same "
            "arguments to resume, or choose a new --out"
        )
    if changed and "source_stream" in source:
        raise AudiotokError(
            f"the source changed since the job in {output} started (other files, sizes or dataset than {RUN_FILE} "
            "records): the shards written would no longer match its samples; restore the source as it was to "
            "resume, or start over with a new --out"
        )
    if changed:
        before, now = recorded.get("source_rows"), source["source_rows"]
        what = f"{before} rows then, {now} now" if before != now else f"the same {now} rows, but other keys"
        if "source_rows" not in recorded:
            what = f"{RUN_FILE} does not record which source it was"
        raise AudiotokError(
            f"the source changed since the job in {output} started ({what}): the shards written would no longer "
            "match its rows; restore the source as it was to resume, or start over with a new --out"
        )


def _absent(name: str) -> Any:
    """A setting that run files written before it existed do not hold, read as its default."""
    found = Options.__dataclass_fields__.get(name)
    return None if found is None or found.default is MISSING else found.default


def save_config(output: Output, config: TokenizerConfig) -> None:
    """Writes the tokenizer config beside the shards (and its BPE file, so the output loads as a tokenizer's ids)."""
    files = {CONFIG_NAME: config.to_json()}
    if config.bpe_model is not None:
        files[BPE_NAME] = config.bpe_model.to_json()
    for name, text in files.items():
        if output.read_text(name) != text:
            output.write_text(name, text)
