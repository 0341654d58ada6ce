"""``evaluate``: round-trip every clip of a corpus through each tokenizer configuration (via ids) and score it.

The reference is each file as read, at its own sampling rate, converted to the codec's channel count;
the decoded audio is resampled to that rate and both are cut to the shorter length (codecs pad to
whole frames). Metrics are computed per channel and averaged. ids per second are measured: audio ids
(without <|audio_start|>/<|audio_end|>) over the clip's seconds, so a BPE vocabulary's shorter
sequences count as they are. A configuration with an acoustic BPE is labelled ``+BPE(N)`` (N merged tokens);
BPE is lossless, so its quality equals that of the same configuration without it, at fewer ids per second.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import __version__
from ..audio import convert_channels, read_audio_file, resample
from ..errors import AudiotokError, ConfigError
from .metrics import METRICS, UNAVAILABLE, check_packages, score
from .specs import ModelSpec, parse_spec

UNTRAINED_WARNING = (
    "UNTRAINED demo/fixture codecs are marked untrained: their numbers only show the pipeline works, "
    "not how good any real codec is"
)


@dataclass(frozen=True)
class Clip:
    """A corpus file as read: ``wave`` float32 ``[C, L]`` at ``rate`` Hz."""

    path: str
    wave: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        return self.wave.shape[-1] / self.rate


def read_corpus(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[Clip], list[dict[str, str]]]:
    """The readable clips, and ``{"path", "reason"}`` for each file that could not be read."""
    clips: list[Clip] = []
    skipped: list[dict[str, str]] = []
    for path in paths:
        try:
            wave, rate = read_audio_file(path)
            if wave.shape[-1] == 0:
                raise AudiotokError(f"{path}: no samples")
        except (AudiotokError, OSError) as error:
            skipped.append({"path": str(path), "reason": str(error).removeprefix(f"{path}: ")})
            continue
        clips.append(Clip(str(path), wave, rate))
    return clips, skipped


Scores = tuple[dict[str, float | None], dict[str, str]]


def score_clip(reference: np.ndarray, estimate: np.ndarray, rate: int) -> Scores:
    """Metrics of ``estimate`` against ``reference`` (both ``[C, L]`` at ``rate``; cut to the shorter), averaged
    over channels; a metric that fails on any channel is None with its reason."""
    length = min(reference.shape[-1], estimate.shape[-1])
    if length == 0:
        raise AudiotokError("the decoded audio is empty")
    per_channel = [score(r[:length], e[:length], rate) for r, e in zip(reference, estimate)]
    problems = {name: why for _, channel in per_channel for name, why in channel.items()}
    values: dict[str, float | None] = {}
    for name in METRICS:
        got = [channel[name] for channel, _ in per_channel]
        values[name] = None if name in problems else float(np.mean([v for v in got if v is not None]))
    return values, problems


def _summary(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Mean of each metric over the clips that have it (None if none)."""
    summary: dict[str, float | None] = {}
    for name in METRICS:
        got = [row[name] for row in rows if row.get(name) is not None]
        summary[name] = float(np.mean(got)) if got else None
    return summary


def load_tokenizer(spec: ModelSpec, device: str | None = None) -> Any:
    """The ``AudioTokenizer`` of ``spec``: its model with the config changes, then its ``bpe=`` applied (or dropped)."""
    from ..config import TokenizerConfig
    from ..tokenizer import AudioTokenizer

    if not spec.bpe:
        return AudioTokenizer.from_pretrained(spec.name, device=device, **spec.changes)
    tokenizer = AudioTokenizer.from_pretrained(spec.name, device=device, **{**spec.changes, "bpe": None})
    if spec.bpe.lower() == "none":
        return tokenizer
    bpe = TokenizerConfig.from_pretrained(spec.bpe).bpe_model
    if bpe is None:
        raise ConfigError(f"bpe={spec.bpe}: that tokenizer has no acoustic BPE; train one with `audiotok bpe train`")
    return AudioTokenizer(tokenizer.config.with_bpe(bpe), tokenizer.codec)


def evaluate_model(
    spec: ModelSpec, clips: Sequence[Clip], device: str | None = None, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """One configuration over ``clips``: its description, per-clip rows, overall means and failures."""
    from ..codecs.demo_tools import demo_note

    tokenizer = load_tokenizer(spec, device)
    config, codec = tokenizer.config, tokenizer.codec
    untrained = bool(codec.is_demo)
    waves, good, failed = [], [], []
    for clip in clips:
        try:
            waves.append(tokenizer.load(clip.wave, clip.rate))
            good.append(clip)
        except AudiotokError as error:
            failed.append({"path": clip.path, "reason": str(error)})
    ids = tokenizer.encode_batch(waves, codec.sampling_rate, add_special_tokens=False) if waves else []
    decoded = tokenizer.decode_batch(ids) if ids else []
    rows: list[dict[str, Any]] = []
    for clip, clip_ids, wave in zip(good, ids, decoded):
        reference = convert_channels(clip.wave, codec.channels, clip.path)
        estimate = resample(np.asarray(wave, dtype=np.float32), codec.output_sampling_rate, clip.rate)
        try:
            values, problems = score_clip(reference, estimate, clip.rate)
        except AudiotokError as error:
            failed.append({"path": clip.path, "reason": str(error)})
            continue
        row = {"path": clip.path, "seconds": clip.seconds, "ids": len(clip_ids)}
        row["ids_per_second"] = len(clip_ids) / clip.seconds
        rows.append({**row, **values, **({"problems": problems} if problems else {})})
        if progress:
            progress(f"{spec.title}: {clip.path}")
    seconds = sum(row["seconds"] for row in rows)
    return {
        "spec": spec.text,
        "label": spec.title + (f" +BPE({config.num_bpe_tokens})" if config.bpe else "") + (" [untrained]" * untrained),
        "codec": config.codec,
        "family": config.codec_family,
        "num_codebooks": config.num_codebooks,
        "layout": config.layout,
        "bpe": dict(config.bpe) if config.bpe else None,
        "untrained": untrained,
        "note": demo_note(config.codec_family) if untrained else "",
        "nominal_ids_per_second": getattr(config, "tokens_per_second", None),
        "ids_per_second": sum(row["ids"] for row in rows) / seconds if seconds else None,
        "overall": _summary(rows),
        "clips": rows,
        "failed": failed,
    }


def evaluate(
    corpus: Sequence[str | os.PathLike[str]],
    models: Sequence[str | ModelSpec],
    *,
    device: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Round-trips ``corpus`` (audio file paths) through each of ``models`` (specs or ``ModelSpec``) via ids.

    Returns the results as a plain-JSON dict: corpus (clips, seconds, skipped files with reasons),
    metric definitions, unavailable metrics, and per model: its config, whether it is an untrained demo
    or fixture codec, measured and nominal ids per second, overall means, per-clip rows and failures.
    A model that cannot be loaded is listed under ``failed_models`` and the others are evaluated.

    Raises:
        AudiotokError: a metric package missing, no models, a malformed spec, no files, or no readable clip.
    """
    check_packages()
    specs = [m if isinstance(m, ModelSpec) else parse_spec(m) for m in models]
    if not specs:
        raise AudiotokError("no models to evaluate; give at least one model spec")
    if not corpus:
        raise AudiotokError("the corpus is empty: give audio files")
    clips, skipped = read_corpus(corpus)
    if not clips:
        reasons = "; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:3])
        raise AudiotokError(f"no readable clip in the corpus ({reasons})")
    results: list[dict[str, Any]] = []
    failed_models: list[dict[str, str]] = []
    for spec in specs:
        try:
            results.append(evaluate_model(spec, clips, device, progress))
        except (AudiotokError, OSError) as error:
            failed_models.append({"spec": spec.text, "reason": str(error)})
    untrained = [r["label"] for r in results if r["untrained"]]
    return {
        "audiotok_version": __version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "warning": UNTRAINED_WARNING if untrained else "",
        "untrained_models": untrained,
        "corpus": {"clips": len(clips), "seconds": sum(c.seconds for c in clips), "skipped": skipped},
        "metrics": {
            name: {"label": m.label, "higher_is_better": m.higher_is_better, "definition": m.definition}
            for name, m in METRICS.items()
        },
        "unavailable_metrics": dict(UNAVAILABLE),
        "models": results,
        "failed_models": failed_models,
    }
