"""Token shards on disk: atomic Parquet writes, and reading them back as training data.

A shard is a Parquet file of clips with columns ``key``, ``error`` (null unless the clip failed),
``skipped`` (null unless a duration filter left the clip out: the reason), ``duration`` (s),
``num_frames``, ``codes`` (``list<list<uint16>>``, K x T), ``scales`` and ``chunk_frames`` (48 kHz
only), optionally ``ids`` (int32 LM ids in the layout the job was run with) and the input columns
the user kept. Codes, not ids, are the record: any layout, offset or lower codebook count (fewer
codebooks) can be chosen when the shards are read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .config import CONFIG_NAME, TokenizerConfig
from .errors import ConfigError
from .ids.codes import AudioCodes

SHARD_GLOB = "shard-*.parquet"
LEGACY_SHARD_GLOB = "rank*-shard*.parquet"  # folders written before shards were named by a global block id
STORAGE_COLUMNS = ("error", "skipped", "duration", "num_frames", "codes", "scales", "chunk_frames", "ids")


def shard_table(rows: list[dict[str, Any]]) -> pa.Table:
    """A shard's records as an Arrow table with the shard schema (codes as ``list<list<uint16>>``)."""
    return pa.Table.from_pylist(rows, schema=_schema(rows))


def write_shard(path: Path, rows: list[dict[str, Any]]) -> None:
    """Writes ``rows`` to ``path`` atomically: a reader (or a resumed run) sees the whole shard or none."""
    table = shard_table(rows)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    pq.write_table(table, partial)
    os.replace(partial, path)


def _schema(rows: list[dict[str, Any]]) -> pa.Schema:
    fixed = {
        "key": pa.string(),
        "error": pa.string(),
        "skipped": pa.string(),
        "duration": pa.float32(),
        "num_frames": pa.int32(),
        "codes": pa.list_(pa.list_(pa.uint16())),
        "scales": pa.list_(pa.float32()),
        "chunk_frames": pa.list_(pa.int32()),
        "ids": pa.list_(pa.int32()),
    }
    names = list(dict.fromkeys(name for row in rows for name in row))
    inferred = pa.Table.from_pylist(rows).schema if rows else pa.schema([])
    return pa.schema([(name, fixed.get(name) or inferred.field(name).type) for name in names])


def shard_files(directory: str | os.PathLike[str]) -> list[Path]:
    return sorted(Path(directory).glob(SHARD_GLOB)) + sorted(Path(directory).glob(LEGACY_SHARD_GLOB))


def read_shards(directory: str | os.PathLike[str], include_failures: bool = False) -> datasets.Dataset:
    """All shards of a preprocessing output as one ``datasets.Dataset``.

    By default only the encoded clips; ``include_failures`` also returns the failed and skipped ones.
    """
    files = shard_files(directory)
    if not files:
        raise ConfigError(f"{directory}: no shards ({SHARD_GLOB}); run `audiotok preprocess` first")
    table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
    if not include_failures:
        encoded = pc.is_null(table["error"])
        if "skipped" in table.column_names:
            encoded = pc.and_(encoded, pc.is_null(table["skipped"]))
        table = table.filter(encoded)
    return datasets.Dataset(table)


def load_token_dataset(
    directory: str | os.PathLike[str],
    *,
    layout: str | None = None,
    vocab_offset: int | None = None,
    num_codebooks: int | None = None,
    text_column: str | None = None,
    text_tokenizer: Any = None,
    order: str = "text_first",
    add_special_tokens: bool = True,
    bpe: str | os.PathLike[str] | None = None,
) -> datasets.Dataset:
    """Shards -> a ``datasets.Dataset`` with ``input_ids`` built at load time from the stored codes.

    Args:
        directory: a ``audiotok preprocess`` output folder (shards + ``audiotok_config.json``).
        layout: the layout of the ids (default: the config's).
        vocab_offset: first audio id in the LLM vocabulary (default: the config's).
        num_codebooks: keep the first K' codebooks only (RVQ levels are nested).
        text_column: a kept input column (e.g. the transcript) to put beside the audio span.
        text_tokenizer: a Hugging Face tokenizer for ``text_column``. Its ids must lie below the audio
            range: pass ``vocab_offset=len(text_tokenizer)`` (or more) unless the shards' config already
            places the audio there, or the tokenizer was extended with this config's audio tokens.
        order: ``"text_first"`` (TTS-style: transcript, then audio) or ``"audio_first"`` (ASR-style).
        add_special_tokens: frame each audio span with <|audio_start|>/<|audio_end|>.
        bpe: a tokenizer directory (or config file) whose acoustic BPE to apply (``audiotok bpe train``); shards
            written with a BPE tokenizer use theirs without it.

    Returns:
        The clips with ``key``, ``input_ids`` (int32), the input columns kept by the job and, with a text
        column, ``audio_mask`` (1 on audio ids) so training code can weight or mask either part.
    """
    config = TokenizerConfig.from_pretrained(Path(directory) / CONFIG_NAME)
    changes: dict[str, Any] = {}
    if layout is not None:
        changes["layout"] = layout
    if vocab_offset is not None:
        changes["vocab_offset"] = vocab_offset
        changes["base_vocab_size"] = min(config.base_vocab_size, vocab_offset)
    if num_codebooks is not None:
        allowed = [k for k in config.codebook_counts if k <= config.num_codebooks]
        if num_codebooks not in allowed:
            raise ConfigError(
                f"num_codebooks must be one of {allowed} (counts the codec supports, up to the {config.num_codebooks} "
                "the shards hold)"
            )
        changes["num_codebooks"] = num_codebooks
    if bpe is not None:
        changes["bpe"] = None
    config = config.replace(**changes) if changes else config
    if bpe is not None:
        config = config.with_bpe(TokenizerConfig.from_pretrained(bpe).bpe_model)
    if text_column is not None and text_tokenizer is None:
        raise ConfigError("text_column needs a text_tokenizer (a Hugging Face tokenizer) to turn the text into ids")
    if text_tokenizer is not None:
        _check_text_below_audio(text_tokenizer, config)
    if order not in ("text_first", "audio_first"):
        raise ConfigError(f"order must be 'text_first' or 'audio_first', got {order!r}")
    to_ids = _span_builder(config, add_special_tokens)
    dataset = read_shards(directory)

    def build(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        spans = [
            to_ids(codes, scales, chunk_frames)
            for codes, scales, chunk_frames in zip(batch["codes"], batch["scales"], batch["chunk_frames"])
        ]
        if text_column is None:
            return {"input_ids": spans}
        texts = text_tokenizer(batch[text_column], add_special_tokens=False)["input_ids"]
        inputs, masks = [], []
        for text, span in zip(texts, spans):
            parts = [np.asarray(text, np.int32), span] if order == "text_first" else [span, np.asarray(text, np.int32)]
            flags = [np.zeros(len(p), np.int8) if p is not span else np.ones(len(p), np.int8) for p in parts]
            inputs.append(np.concatenate(parts))
            masks.append(np.concatenate(flags))
        return {"input_ids": inputs, "audio_mask": masks}

    drop = [c for c in dataset.column_names if c in STORAGE_COLUMNS]
    return dataset.map(build, batched=True, remove_columns=drop)


def _check_text_below_audio(text_tokenizer: Any, config: TokenizerConfig) -> None:
    """Refuses a text tokenizer whose ids reach into the audio range: text and audio ids would collide."""
    size = len(text_tokenizer)
    if size <= config.vocab_offset:
        return
    strings = config.token_strings  # a tokenizer extended for this config gives its audio strings the audio ids
    if text_tokenizer.convert_tokens_to_ids(strings) == list(range(config.vocab_offset, config.total_vocab_size)):
        return
    raise ConfigError(
        f"the text tokenizer has {size} ids (0..{size - 1}) but the audio ids start at vocab_offset="
        f"{config.vocab_offset}: text and audio ids would overlap; pass vocab_offset={size} (len(text_tokenizer)) "
        "or more to load_token_dataset"
    )


def _span_builder(config: TokenizerConfig, add_special_tokens: bool) -> Callable[[Any, Any, Any], np.ndarray]:
    """codes (+ scales, chunk frames) as stored -> one clip's audio ids (int32)."""
    id_format = config.id_format

    def to_ids(codes: Sequence[Sequence[int]], scales: Any, chunk_frames: Any) -> np.ndarray:
        stored = AudioCodes(np.asarray(codes, dtype=np.int64)[: config.num_codebooks], scales, chunk_frames)
        return id_format.codes_to_ids(stored, add_special_tokens).astype(np.int32)

    return to_ids
