"""Plots for listening sessions: waveforms, log-mel spectrograms, side-by-side comparisons, codebook usage.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot (no global figure state, no
``plt.show``): display it in a notebook with ``IPython.display.display(fig)`` or save it with
``fig.savefig("x.png")``. Pass ``ax=`` to draw into an existing axes instead. matplotlib is an optional
dependency: ``pip install audiotok[plot]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import MissingDependencyError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Clips = Mapping[str, Any] | Sequence[tuple[str, Any]]


def _figure_class() -> type[Figure]:
    """matplotlib's ``Figure``, imported on first use, with an install hint when it is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise MissingDependencyError("audiotok.plot needs matplotlib: pip install 'audiotok[plot]'") from error
    return Figure


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    return _figure_class()(figsize=figsize, layout="constrained").add_subplot()


def _figure_of(ax: Axes) -> Figure:
    """The top-level figure of ``ax`` (climbing out of a subfigure)."""
    figure: Any = ax.figure
    return figure if isinstance(figure, _figure_class()) else figure.figure


def as_mono(wave: Any) -> np.ndarray:
    """Audio ``[L]``, ``[C, L]`` (numpy or torch) -> float32 ``[L]``; several channels are averaged."""
    array = np.asarray(wave.detach().cpu() if hasattr(wave, "detach") else wave, dtype=np.float32)
    if array.ndim == 2:
        array = array.mean(axis=0)
    if array.ndim != 1:
        raise ValueError(f"expected audio [samples] or [channels, samples], got shape {array.shape}")
    return array


def log_mel(wave: Any, sampling_rate: int, n_mels: int = 80, n_fft: int = 1024, hop_length: int = 256) -> np.ndarray:
    """Log-mel spectrogram ``[n_mels, frames]`` in dB (reference power 1, floored at -100 dB).

    Args:
        wave: audio ``[L]`` or ``[C, L]`` (channels averaged).
        sampling_rate: its rate in Hz.
    """
    import librosa

    samples = as_mono(wave)
    if samples.size < n_fft:  # librosa pads short clips; keep the frame count meaningful
        samples = np.pad(samples, (0, n_fft - samples.size))
    power = librosa.feature.melspectrogram(
        y=samples, sr=sampling_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, power=2.0
    )
    return np.asarray(librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=None)).clip(min=-100.0)


def plot_waveform(
    wave: Any,
    sampling_rate: int,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    ylim: float | None = None,
) -> Figure:
    """Amplitude against time (seconds).

    Args:
        wave: audio ``[L]`` or ``[C, L]`` (channels averaged).
        sampling_rate: its rate in Hz.
        title: axes title.
        ax: draw here instead of a new figure.
        ylim: symmetric amplitude limit; the clip's peak by default.
    """
    samples = as_mono(wave)
    ax = _new_axes(ax, (8, 2.5))
    time = np.arange(samples.size) / sampling_rate
    ax.plot(time, samples, linewidth=0.5, color="tab:blue")
    peak = ylim if ylim is not None else float(np.abs(samples).max(initial=0.0)) or 1.0
    ax.set_ylim(-1.05 * peak, 1.05 * peak)
    ax.set_xlim(0, max(samples.size / sampling_rate, 1 / sampling_rate))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    if title:
        ax.set_title(title)
    return _figure_of(ax)


def plot_spectrogram(
    wave: Any,
    sampling_rate: int,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    n_mels: int = 80,
    hop_length: int = 256,
) -> Figure:
    """Log-mel spectrogram (dB) against time; ``vmin``/``vmax`` fix the colour scale (for comparisons)."""
    mel = log_mel(wave, sampling_rate, n_mels=n_mels, hop_length=hop_length)
    ax = _new_axes(ax, (8, 3))
    seconds = as_mono(wave).size / sampling_rate
    image = ax.imshow(
        mel,
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(0.0, max(seconds, 1 / sampling_rate), 0.0, float(n_mels)),
        vmin=vmin if vmin is not None else float(mel.max()) - 80.0,
        vmax=vmax if vmax is not None else float(mel.max()),
        interpolation="nearest",
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mel bin")
    if title:
        ax.set_title(title)
    figure = _figure_of(ax)
    figure.colorbar(image, ax=ax, label="dB", pad=0.01)
    return figure


def plot_comparison(clips: Clips, sampling_rate: int, *, share_amplitude: bool = False, top_db: float = 80.0) -> Figure:
    """One row per clip: waveform (left) and log-mel spectrogram (right).

    Args:
        clips: name -> audio ``[L]`` or ``[C, L]``, as a mapping or a list of pairs, in display order.
        sampling_rate: the clips' rate in Hz.
        share_amplitude: one amplitude range for every waveform (else each row fits its own peak; the
            titles give each clip's RMS either way).
        top_db: dynamic range of the spectrograms' colour scale, which all rows share so that a louder
            or noisier reconstruction looks it.

    Returns:
        A figure of ``len(clips)`` x 2 axes.
    """
    items = list(clips.items()) if isinstance(clips, Mapping) else list(clips)
    if not items:
        raise ValueError("plot_comparison needs at least one clip")
    waves = [(name, as_mono(wave)) for name, wave in items]
    peak = max(float(np.abs(wave).max(initial=0.0)) for _, wave in waves) or 1.0
    loudest = max(float(log_mel(wave, sampling_rate).max()) for _, wave in waves)
    figure = _figure_class()(figsize=(13, 2.4 * len(waves)), layout="constrained")
    axes = figure.subplots(len(waves), 2, squeeze=False, width_ratios=(1, 1.25))
    for row, (name, wave) in enumerate(waves):
        rms = float(np.sqrt(np.mean(np.square(wave, dtype=np.float64)))) if wave.size else 0.0
        plot_waveform(
            wave,
            sampling_rate,
            title=f"{name}: waveform (RMS {rms:.3g})",
            ax=axes[row, 0],
            ylim=peak if share_amplitude else None,
        )
        plot_spectrogram(
            wave, sampling_rate, title=f"{name}: log-mel", ax=axes[row, 1], vmin=loudest - top_db, vmax=loudest
        )
    return figure


def codebook_counts(codes: Any, codebook_size: int) -> np.ndarray:
    """How often each code occurs in each codebook: codes ``[K, T]`` -> counts ``[K, codebook_size]``."""
    array = np.asarray(codes.detach().cpu() if hasattr(codes, "detach") else codes, dtype=np.int64)
    if array.ndim != 2:
        raise ValueError(f"expected codes [codebooks, frames], got shape {array.shape}")
    if array.size and (array.min() < 0 or array.max() >= codebook_size):
        raise ValueError(f"codes must lie in [0, {codebook_size})")
    offsets = np.arange(array.shape[0])[:, None] * codebook_size
    flat = np.bincount((array + offsets).ravel(), minlength=array.shape[0] * codebook_size)
    return flat.reshape(array.shape[0], codebook_size)


def plot_codebook_usage(codes: Any, codebook_size: int, *, bins: int = 64, title: str | None = None) -> Figure:
    """How the codes of each codebook are used.

    Left: a histogram per codebook (rows) over its code values, in ``bins`` bins of equal width, counts
    in colour on a log scale (white = no code of the bin used). Right: distinct codes used per codebook
    and the perplexity (2 ** entropy) of its code distribution, the number of equally likely codes that
    would carry as much information.

    Args:
        codes: ``[K, T]`` codes (numpy or torch).
        codebook_size: codes per codebook.
        bins: histogram bins per codebook (at most ``codebook_size``; it must divide it).
        title: figure title (a summary by default).
    """
    from matplotlib.colors import LogNorm

    counts = codebook_counts(codes, codebook_size)
    bins = min(bins, codebook_size)
    if codebook_size % bins:
        raise ValueError(f"bins ({bins}) must divide codebook_size ({codebook_size})")
    num_codebooks, frames = counts.shape[0], int(counts[0].sum()) if counts.size else 0
    probabilities = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(probabilities > 0, probabilities * np.log2(probabilities), 0.0).sum(axis=1)
    perplexity = 2.0**entropy
    distinct = (counts > 0).sum(axis=1)
    binned = counts.reshape(num_codebooks, bins, codebook_size // bins).sum(axis=2)

    figure = _figure_class()(figsize=(13, max(2.8, 1.6 + 0.3 * num_codebooks)), layout="constrained")
    left, right = figure.subplots(1, 2, width_ratios=(3, 1))
    image = left.imshow(
        np.ma.masked_equal(binned, 0),
        aspect="auto",
        interpolation="nearest",
        cmap="viridis",
        norm=LogNorm(vmin=1, vmax=max(int(binned.max(initial=1)), 2)),
        extent=(0, codebook_size, num_codebooks - 0.5, -0.5),
    )
    left.set_xlabel(f"code (bins of {codebook_size // bins})")
    left.set_ylabel("codebook")
    left.set_title(f"code histogram per codebook ({frames} frames)")
    figure.colorbar(image, ax=left, label="count", pad=0.01).minorticks_off()
    rows = np.arange(num_codebooks)
    for ax in (left, right):
        ax.set_yticks(rows[:: -(-num_codebooks // 16)])
    right.barh(rows - 0.2, distinct, height=0.4, label="distinct codes", color="tab:blue")
    right.barh(rows + 0.2, perplexity, height=0.4, label="perplexity", color="tab:orange")
    right.set_ylim(num_codebooks - 0.5, -0.5)
    right.set_xlabel(f"codes (of {codebook_size})")
    right.set_title("usage per codebook")
    figure.legend(loc="outside lower right", ncol=2, frameon=False)
    mean_perplexity = float(perplexity.mean()) if num_codebooks else 0.0
    summary = (
        f"{num_codebooks} codebook{'s' if num_codebooks != 1 else ''}: {int(distinct.sum())} distinct codes in use"
    )
    figure.suptitle(title or f"{summary}, mean perplexity {mean_perplexity:.0f}")
    return figure
