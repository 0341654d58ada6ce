"""Statistics of a corpus of codes: ids per second per layout (with and without a BPE), per-codebook usage and
entropy, the most frequent merged tokens and the share of ids spent on silence. Shards are read clip by clip."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bpe_training import shard_codes
from .config import TokenizerConfig
from .ids.layouts import LAYOUTS


@dataclass
class MergeCount:
    """One merged token: its id, how often it occurs, the frames it spans and its codes (token strings)."""

    token_id: int
    count: int
    frames: int
    codes: str


@dataclass
class CorpusStats:
    """What ``corpus_stats`` measured; ``ids_per_second`` maps ``layout`` or ``layout+bpe`` to a rate."""

    clips: int
    seconds: float
    ids_per_second: dict[str, float]
    codebook_usage: list[float]  # share of each codebook's codes that occur
    codebook_entropy: list[float]  # bits per code, each codebook
    top_merges: list[MergeCount] = field(default_factory=list)
    silence_share: dict[str, float] = field(default_factory=dict)  # share of ids that only hold silence codes

    @property
    def compression(self) -> float | None:
        """Ids per second without the BPE over ids per second with it (its layout), None without a BPE."""
        with_bpe = [key for key in self.ids_per_second if key.endswith("+bpe")]
        if not with_bpe:
            return None
        return self.ids_per_second[with_bpe[0].removesuffix("+bpe")] / self.ids_per_second[with_bpe[0]]


def corpus_stats(
    directory: str | os.PathLike[str],
    config: TokenizerConfig | None = None,
    *,
    layouts: Sequence[str] = tuple(LAYOUTS),
    silence_codes: Sequence[int] | np.ndarray | None = None,
    top: int = 20,
) -> CorpusStats:
    """Statistics of the encoded clips of a preprocessing output.

    Args:
        directory: a ``audiotok preprocess`` output folder.
        config: the codebook count and BPE to measure (default: the shards' config); its layout is the BPE's.
        layouts: layouts whose plain ids per second to report.
        silence_codes: each codebook's code for silence (e.g. the codec's codes of an all-zero input); an id
            is spent on silence when every code it holds is its codebook's silence code.
        top: how many of the most frequent merged tokens to list.
    """
    config = config or TokenizerConfig.from_pretrained(directory)
    plain = config.with_bpe(None)
    bpe = config.bpe_model
    vocab = config.vocab
    size, k = config.codebook_size, config.num_codebooks
    histogram = np.zeros((k, size), dtype=np.int64)
    lengths = dict.fromkeys(layouts, 0)
    bpe_ids = 0
    merged_counts = np.zeros(bpe.num_tokens if bpe else 0, dtype=np.int64)
    silent_plain = silent_bpe = plain_codes = 0
    silence = None if silence_codes is None else np.asarray(silence_codes, dtype=np.int64)[:k]
    frames = clips = 0
    for item in shard_codes(directory, k):
        clips += 1
        codes = np.asarray(item.codes)
        frames += codes.shape[1]
        np.add.at(histogram, (np.repeat(np.arange(k), codes.shape[1]), codes.reshape(-1)), 1)
        for name in layouts:
            lengths[name] += LAYOUTS[name].num_ids(k, codes.shape[1])
        if silence is not None:
            used = LAYOUTS[config.layout].codebooks_used(k)
            plain_codes += used * codes.shape[1]
            silent_plain += int((codes[:used] == silence[:used, None]).sum())
        if bpe is not None:
            ids = bpe.encode(plain.id_format.codes_to_ids(item, add_special_tokens=False), vocab)
            bpe_ids += ids.size
            merged = bpe.is_merged(ids, vocab)
            merged_counts += np.bincount(ids[merged] - vocab.end, minlength=bpe.num_tokens)
            if silence is not None:
                silent_bpe += _silent_ids(ids, bpe, vocab, silence)
    seconds = frames / config.frame_rate
    rate = {name: lengths[name] / seconds if seconds else 0.0 for name in layouts}
    if bpe is not None:
        rate[f"{config.layout}+bpe"] = bpe_ids / seconds if seconds else 0.0
        if config.layout not in rate:
            rate[config.layout] = LAYOUTS[config.layout].num_ids(k, frames) / seconds if seconds else 0.0
    share = histogram / np.maximum(histogram.sum(axis=1, keepdims=True), 1)
    entropy = -(share * np.log2(np.where(share > 0, share, 1))).sum(axis=1)
    stats = CorpusStats(clips, seconds, rate, (histogram > 0).mean(axis=1).tolist(), entropy.tolist(), silence_share={})
    if silence is not None and plain_codes:
        stats.silence_share[config.layout] = silent_plain / plain_codes
        if bpe is not None and bpe_ids:
            stats.silence_share[f"{config.layout}+bpe"] = silent_bpe / bpe_ids
    if bpe is not None:
        for j in np.argsort(-merged_counts, kind="stable")[:top]:
            if merged_counts[j]:
                codes_text = bpe.describe(vocab.end + int(j), vocab).split(" = ", 1)[1]
                stats.top_merges.append(
                    MergeCount(vocab.end + int(j), int(merged_counts[j]), bpe.token_frames(int(j)), codes_text)
                )
    return stats


def _silent_ids(ids: np.ndarray, bpe: Any, vocab: Any, silence: np.ndarray) -> int:
    """How many ids (base or merged) hold only silence codes."""
    expanded, origin = bpe.decode(ids, vocab)
    codebook = vocab.codebook_of(expanded)
    is_code = codebook >= 0
    silent = is_code & (vocab.code_of(expanded) == silence[np.maximum(codebook, 0)])
    not_silent = np.bincount(origin[~silent], minlength=ids.size)
    return int((not_silent == 0).sum())


def plot_stats(stats: CorpusStats) -> Any:
    """A figure: ids per second per layout (with the BPE), and each codebook's entropy."""
    from .plot import _figure_class

    figure = _figure_class()(figsize=(10, 3.5), layout="constrained")
    rates, entropy = figure.subplots(1, 2)
    names = list(stats.ids_per_second)
    rates.barh(names, [stats.ids_per_second[n] for n in names], color="tab:blue")
    rates.set_xlabel("ids per second of audio")
    rates.set_title(f"{stats.clips} clips, {stats.seconds:.1f} s")
    entropy.bar(range(len(stats.codebook_entropy)), stats.codebook_entropy, color="tab:orange")
    entropy.set_xlabel("codebook")
    entropy.set_ylabel("entropy (bits per code)")
    entropy.set_title("per-codebook entropy")
    return figure
