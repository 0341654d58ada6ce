"""Training an acoustic BPE on a user's own codes: token shards or an audio folder, streamed clip by clip.

The Hugging Face ``tokenizers`` trainer counts distinct words as it reads (``train_from_iterator``),
so the corpus is never held in memory at once: shards are read one Parquet record batch at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .config import CONFIG_NAME, DEFAULT_CODEC, TokenizerConfig
from .errors import ConfigError
from .ids.bpe import DEFAULT_MAX_FRAMES, UNIT_BASE, AcousticBPE, BpeUnits, run_texts
from .ids.codes import AudioCodes
from .ids.vocab import AudioVocab
from .sources import AUDIO_SUFFIXES

_READ_COLUMNS = ("codes", "scales", "chunk_frames", "error", "skipped")


def train_bpe_from_ids(
    sequences: Iterable[Any],
    vocab: AudioVocab,
    units: BpeUnits,
    vocab_size: int,
    min_frequency: int = 2,
) -> AcousticBPE:
    """Learns merges over layout id sequences (each a clip's ids, markers allowed), read once, in order.

    Args:
        sequences: id sequences in ``vocab`` (e.g. ``IdFormat.codes_to_ids`` output), any iterable.
        vocab: the audio id range of the sequences.
        units: the alphabet (codebooks, codebook size, layout) and the merge limit in frames.
        vocab_size: size of the BPE vocabulary, base units included (> ``units.num_units``); training
            stops earlier when no pair occurs ``min_frequency`` times.
        min_frequency: fewest occurrences a pair needs to be merged.
    """
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    if vocab_size <= units.num_units:
        raise ConfigError(
            f"vocab_size={vocab_size} leaves no room for merges: the base alphabet already has {units.num_units} "
            f"units ({units.codebooks_used} codebooks x {units.codebook_size} codes"
            + (" + the pad" if units.has_pad else "")
            + f"); choose vocab_size > {units.num_units}"
        )
    tokenizer = Tokenizer(models.BPE())
    # words of at most max_frames frames: no merged token can be longer or cross a word
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(f".{{1,{units.word_length}}}"), behavior="isolated")
    alphabet = [chr(UNIT_BASE + u) for u in range(units.num_units)]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        show_progress=False,
        initial_alphabet=alphabet,
        limit_alphabet=units.num_units,
    )

    def texts() -> Iterator[str]:
        for ids in sequences:
            yield from run_texts(ids, vocab, units)

    tokenizer.train_from_iterator(texts(), trainer)
    return AcousticBPE(units, tokenizer.to_str())


def shard_codes(directory: str | os.PathLike[str], num_codebooks: int) -> Iterator[AudioCodes]:
    """The codes (first ``num_codebooks``) of every encoded clip of a preprocessing output, one batch in memory."""
    import pyarrow.parquet as pq

    from .shards import shard_files

    files = shard_files(directory)
    if not files:
        raise ConfigError(f"{directory}: no shards; run `audiotok preprocess` first")
    for file in files:
        parquet = pq.ParquetFile(file)
        columns = [c for c in _READ_COLUMNS if c in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(columns=columns, batch_size=64):
            rows = batch.to_pydict()
            for i, codes in enumerate(rows["codes"]):
                failed = any(rows[c][i] is not None for c in ("error", "skipped") if c in rows)
                if failed or codes is None:
                    continue
                array = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)[:num_codebooks]
                scales = rows["scales"][i] if "scales" in rows else None
                chunk_frames = rows["chunk_frames"][i] if "chunk_frames" in rows else None
                yield AudioCodes(array, scales, chunk_frames)


def shard_sequences(directory: str | os.PathLike[str], config: TokenizerConfig) -> Iterator[np.ndarray]:
    """Layout ids (no markers, no BPE) of every encoded clip of a preprocessing output, one batch in memory."""
    id_format = config.with_bpe(None).id_format
    for codes in shard_codes(directory, config.num_codebooks):
        yield id_format.codes_to_ids(codes, add_special_tokens=False)


def audio_sequences(directory: str | os.PathLike[str], tokenizer: Any) -> Iterator[np.ndarray]:
    """Layout ids of every audio file under ``directory``, encoded one by one with ``tokenizer``."""
    files = sorted(p for p in Path(directory).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise ConfigError(f"{directory}: no audio files ({', '.join(AUDIO_SUFFIXES)}) and no shards")
    id_format = tokenizer.config.with_bpe(None).id_format
    for file in files:
        codes = tokenizer.encode_codes_batch([file])[0]
        yield id_format.codes_to_ids(codes, add_special_tokens=False)


def train_bpe(
    source: str | os.PathLike[str],
    vocab_size: int,
    *,
    model: str | os.PathLike[str] | None = None,
    layout: str | None = None,
    num_codebooks: int | None = None,
    max_frames: int = DEFAULT_MAX_FRAMES,
    min_frequency: int = 2,
    out: str | os.PathLike[str] | None = None,
) -> TokenizerConfig:
    """Trains a BPE on the codes of ``source``; returns the config that uses it (and saves it to ``out``).

    Args:
        source: a ``audiotok preprocess`` output folder (shards + config), or a folder of audio files,
            which ``model`` encodes (a codec or tokenizer directory, a hub id or ``demo``).
        vocab_size: BPE vocabulary size, base units included (see ``train_bpe_from_ids``).
        model: the tokenizer for an audio folder (ignored for shards, whose config names the codec).
        layout, num_codebooks: the layout and codebook count of the ids (default: the source's config).
        max_frames: most frames (``delayed``: steps) a merged token spans.
        min_frequency: fewest occurrences a pair needs to be merged.
        out: a directory to write the tokenizer config and BPE file to; ``AudioTokenizer.from_pretrained(out)``
            then loads the codec the config names, and the BPE.
    """
    source = Path(source)
    changes: dict[str, Any] = {"bpe": None}
    if layout is not None:
        changes["layout"] = layout
    if num_codebooks is not None:
        changes["num_codebooks"] = num_codebooks
    sequences: Iterable[np.ndarray]
    if (source / CONFIG_NAME).is_file():
        config = TokenizerConfig.from_pretrained(source).replace(**changes)
        sequences = shard_sequences(source, config)
    elif source.is_dir():
        from .tokenizer import AudioTokenizer

        tokenizer = AudioTokenizer.from_pretrained(model or DEFAULT_CODEC, **changes)
        config = tokenizer.config
        sequences = audio_sequences(source, tokenizer)
    else:
        raise ConfigError(f"{source}: not a folder of shards (no {CONFIG_NAME}) nor of audio files")
    units = BpeUnits(config.num_codebooks, config.codebook_size, config.layout, max_frames)
    bpe = train_bpe_from_ids(sequences, config.vocab, units, vocab_size, min_frequency)
    placed = config.with_bpe(bpe)
    if out is not None:
        placed.save_pretrained(out)
    return placed
