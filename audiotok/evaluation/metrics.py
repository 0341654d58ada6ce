"""Reconstruction quality of a decoded clip against its reference: one function per metric.

Every function takes mono float arrays ``[L]`` (reference first, then the estimate, of equal length)
and, where the metric depends on it, their sampling rate in Hz. The names and settings follow
Codec-SUPERB where it defines the metric (mel distance, PESQ wide band, STOI, SI-SDR with mean
removal); the multi-resolution STFT distance is auraloss' ``MultiResolutionSTFTLoss``. Each wraps
the maintained package (torchmetrics, auraloss, pesq, pystoi, librosa); nothing here is a
re-implementation of a published metric except the mel distance, which Codec-SUPERB defines as a
loss over audiotools' mel spectrograms (a package not installed here).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import MissingDependencyError

PERCEPTUAL_RATE = 16_000
"""PESQ (wide band) and STOI are computed on both signals resampled to this rate."""

MEL_RESOLUTIONS: tuple[tuple[int, int], ...] = ((2048, 150), (512, 80))
"""(window length, mel bands) of the mel distance, Codec-SUPERB's; the hop is a quarter window."""

MEL_FLOOR = 1e-5


PACKAGES = ("torchmetrics", "auraloss", "pesq", "pystoi")
"""What the metrics are computed with: the ``eval`` extra (``pip install 'audiotok[eval]'``)."""


def check_packages() -> None:
    """Raises a one-line error naming the extra when a metric package is missing, before any codec loads."""
    missing = [name for name in PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingDependencyError(f"the metrics need {', '.join(missing)}: pip install 'audiotok[eval]'")


class MetricUnavailable(RuntimeError):
    """A metric whose package is missing or cannot run offline here; the message says why."""


def _mono(wave: Any, what: str) -> np.ndarray:
    array = np.asarray(wave, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{what} must be mono [samples], got shape {array.shape}")
    return array


def _pair(reference: Any, estimate: Any) -> tuple[np.ndarray, np.ndarray]:
    ref, est = _mono(reference, "reference"), _mono(estimate, "estimate")
    if ref.shape != est.shape:
        raise ValueError(f"reference and estimate must have the same length, got {ref.size} and {est.size}")
    if ref.size == 0:
        raise ValueError("empty signals have no quality")
    return ref, est


def si_sdr(reference: Any, estimate: Any) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (higher is better; Le Roux et al. 2019).

    Both signals lose their mean; ``a = <est, ref> / <ref, ref>`` and SI-SDR = 10 log10(|a ref|^2 /
    |est - a ref|^2). Scaling the estimate changes nothing; noise orthogonal to the reference at
    SNR x dB gives x dB. Computed by ``torchmetrics``' ``scale_invariant_signal_distortion_ratio``
    (``zero_mean=True``, as Codec-SUPERB and DAC do), in float64.
    """
    import torch
    from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

    ref, est = _pair(reference, estimate)
    value = scale_invariant_signal_distortion_ratio(torch.from_numpy(est), torch.from_numpy(ref), zero_mean=True)
    return float(value)


def mel_distance(reference: Any, estimate: Any, sampling_rate: int) -> float:
    """Mel distance: L1 between log mel spectrograms, summed over two resolutions (lower is better; 0 = same).

    For each (window, bands) of ``MEL_RESOLUTIONS`` (2048 with 150 bands, 512 with 80; Codec-SUPERB's):
    magnitude STFT (Hann window, hop window/4, centred, reflect-padded), a librosa (Slaney) mel
    filter bank from 0 Hz to Nyquist on the magnitudes, then mean |log10(max(M_est, 1e-5)^2) -
    log10(max(M_ref, 1e-5)^2)|. Codec-SUPERB's loss also adds an L1 of the linear mel magnitudes;
    that term grows with loudness, so it is left out here: a copy scaled by g scores 4 |log10 g|.
    """
    import librosa
    import torch

    ref, est = _pair(reference, estimate)
    total = 0.0
    for window, bands in MEL_RESOLUTIONS:
        pad = max(0, window - ref.size)  # reflect padding needs more than half a window
        signals = torch.from_numpy(np.stack([np.pad(ref, (0, pad)), np.pad(est, (0, pad))]))
        spectrum = torch.stft(
            signals,
            n_fft=window,
            hop_length=window // 4,
            window=torch.hann_window(window, dtype=torch.float64),
            center=True,
            pad_mode="reflect",
            return_complex=True,
        ).abs()
        bank = torch.from_numpy(librosa.filters.mel(sr=sampling_rate, n_fft=window, n_mels=bands, dtype=np.float64))
        log_mel = (bank @ spectrum).clamp(min=MEL_FLOOR).pow(2).log10()
        total += float((log_mel[1] - log_mel[0]).abs().mean())
    return total


def stft_distance(reference: Any, estimate: Any) -> float:
    """Multi-resolution STFT distance (lower is better; 0 = same): auraloss' ``MultiResolutionSTFTLoss`` defaults.

    For FFT sizes 1024, 2048, 512 (hops 120, 240, 50; windows 600, 1200, 240; Hann): spectral
    convergence ``|M_ref - M_est|_F / |M_ref|_F`` plus mean ``|ln M_est - ln M_ref|``, averaged over
    the three resolutions (Yamamoto et al. 2020). A copy scaled by g scores ``|g - 1| + |ln g|``.
    """
    import torch
    from auraloss.freq import MultiResolutionSTFTLoss

    ref, est = _pair(reference, estimate)
    pad = max(0, 2048 - ref.size)
    as_batch = lambda x: torch.from_numpy(np.pad(x, (0, pad))).view(1, 1, -1)  # noqa: E731
    return float(MultiResolutionSTFTLoss()(as_batch(est), as_batch(ref)))


def to_perceptual_rate(wave: np.ndarray, sampling_rate: int) -> np.ndarray:
    """``wave`` resampled to 16 kHz (librosa's default resampler) for PESQ and STOI."""
    import librosa

    if sampling_rate == PERCEPTUAL_RATE:
        return wave
    return np.asarray(librosa.resample(wave, orig_sr=sampling_rate, target_sr=PERCEPTUAL_RATE))


def pesq_wb(reference: Any, estimate: Any, sampling_rate: int) -> float:
    """PESQ, wide band (ITU-T P.862.2), MOS-LQO from about 1.04 to 4.64 (higher is better).

    Both signals are resampled to 16 kHz and scored by the ``pesq`` package (``pesq(16000, ref,
    est, "wb")``). Raises ``MetricUnavailable`` when PESQ finds no speech (silence, very short clips).
    """
    from pesq import PesqError, pesq

    ref, est = _pair(reference, estimate)
    ref, est = to_perceptual_rate(ref, sampling_rate), to_perceptual_rate(est, sampling_rate)
    try:
        return float(pesq(PERCEPTUAL_RATE, ref, est, "wb"))
    except PesqError as error:
        raise MetricUnavailable(f"PESQ: {type(error).__name__}: {error}") from None


def stoi(reference: Any, estimate: Any, sampling_rate: int) -> float:
    """Short-time objective intelligibility (Taal et al. 2011), about 0 to 1 (higher is better).

    Both signals are resampled to 16 kHz and scored by ``pystoi.stoi`` (classic STOI, not extended),
    which resamples to 10 kHz and drops silent frames itself.
    """
    from pystoi import stoi as pystoi_stoi

    ref, est = _pair(reference, estimate)
    ref, est = to_perceptual_rate(ref, sampling_rate), to_perceptual_rate(est, sampling_rate)
    return float(pystoi_stoi(ref, est, PERCEPTUAL_RATE, extended=False))


VISQOL_UNAVAILABLE = (
    "ViSQOL is not computed: no pip package of it installs and runs offline here (Google's visqol builds with "
    "Bazel); compute it separately on the decoded wavs if needed"
)


def visqol(reference: Any, estimate: Any, sampling_rate: int) -> float:
    """ViSQOL (Hines et al. 2015): not available; raises ``MetricUnavailable`` (see ``VISQOL_UNAVAILABLE``)."""
    raise MetricUnavailable(VISQOL_UNAVAILABLE)


@dataclass(frozen=True)
class Metric:
    """A metric's name, table label, direction and function (``(reference, estimate[, sampling_rate]) -> float``)."""

    name: str
    label: str
    higher_is_better: bool
    function: Callable[..., float]
    needs_rate: bool = True

    def __call__(self, reference: np.ndarray, estimate: np.ndarray, sampling_rate: int) -> float:
        if self.needs_rate:
            return self.function(reference, estimate, sampling_rate)
        return self.function(reference, estimate)

    @property
    def definition(self) -> str:
        """The function's docstring, on one line (what reports quote)."""
        return " ".join((self.function.__doc__ or "").split())


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("si_sdr", "SI-SDR dB", True, si_sdr, needs_rate=False),
        Metric("mel_distance", "mel dist", False, mel_distance),
        Metric("stft_distance", "MR-STFT", False, stft_distance, needs_rate=False),
        Metric("pesq_wb", "PESQ-WB", True, pesq_wb),
        Metric("stoi", "STOI", True, stoi),
    )
}
"""The metrics ``score`` computes, in report order (ViSQOL is reported as unavailable)."""

UNAVAILABLE: dict[str, str] = {"visqol": VISQOL_UNAVAILABLE}
"""Metrics the issue asks for that cannot be computed here, with the reason every report shows."""


def score(reference: Any, estimate: Any, sampling_rate: int) -> tuple[dict[str, float | None], dict[str, str]]:
    """Every metric of ``METRICS`` on one (mono) pair: values (None where a metric could not be computed)
    and, for those, the reason."""
    values: dict[str, float | None] = {}
    problems: dict[str, str] = {}
    ref, est = _pair(reference, estimate)
    for name, metric in METRICS.items():
        try:
            values[name] = metric(ref, est, sampling_rate)
        except MetricUnavailable as error:
            values[name], problems[name] = None, str(error)
    return values, problems
