"""The quality metrics of ``audiotok eval`` on signals whose answers are known, and against the reference packages."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from audiotok.codecs.demo_tools import synthetic_audio
from audiotok.errors import AudiotokError
from audiotok.evaluation.metrics import (
    METRICS,
    UNAVAILABLE,
    MetricUnavailable,
    mel_distance,
    pesq_wb,
    score,
    si_sdr,
    stft_distance,
    stoi,
    visqol,
)
from audiotok.evaluation.specs import parse_spec

RATE = 16_000


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def noise(seconds: float = 1.0, seed: int = 0, level: float = 0.1) -> np.ndarray:
    return level * np.random.default_rng(seed).standard_normal(int(seconds * RATE))


def speech(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    return synthetic_audio(seconds, RATE, seed=seed)[0].astype(np.float64)


def orthogonal_noise(reference: np.ndarray, snr_db: float, seed: int = 1) -> np.ndarray:
    """Zero-mean noise orthogonal to the zero-mean ``reference`` with |ref|^2 / |noise|^2 = 10^(snr/10) exactly."""
    ref = reference - reference.mean()
    n = np.random.default_rng(seed).standard_normal(ref.size)
    n -= n.mean()
    n -= (n @ ref) / (ref @ ref) * ref
    n -= n.mean()  # ref has zero mean, so this keeps n orthogonal to it
    return n * math.sqrt((ref @ ref) / (n @ n) / 10 ** (snr_db / 10))


def test_identical_signals_score_perfectly() -> None:
    x = speech()
    values, problems = score(x, x.copy(), RATE)
    assert problems == {}
    assert values["si_sdr"] > 100
    assert values["mel_distance"] == 0 and values["stft_distance"] == 0
    assert values["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert values["pesq_wb"] > 4.6  # the top of the wide-band MOS-LQO scale is 4.64


@pytest.mark.parametrize("snr", [-5.0, 0.0, 10.0, 30.0])
def test_si_sdr_of_noise_at_a_known_snr_is_that_snr(snr: float) -> None:
    x = speech()
    x -= x.mean()
    assert si_sdr(x, x + orthogonal_noise(x, snr)) == pytest.approx(snr, abs=1e-6)


def test_si_sdr_of_independent_white_noise_is_near_the_snr() -> None:
    x = noise(4.0, seed=3)
    n = noise(4.0, seed=4) * 10 ** (-10 / 20)  # same level as x, minus 10 dB: SNR 10 dB in expectation
    assert si_sdr(x, x + n) == pytest.approx(10.0, abs=0.3)


@pytest.mark.parametrize("gain", [0.25, 3.0, -1.0])
def test_si_sdr_is_scale_invariant(gain: float) -> None:
    x = speech()
    y = x + orthogonal_noise(x - x.mean(), 12.0)
    assert si_sdr(x, gain * y) == pytest.approx(si_sdr(x, y), abs=1e-9)


@pytest.mark.parametrize("delay", [1, 3, 7])
def test_si_sdr_of_a_delayed_sinusoid_is_cot_squared(delay: int) -> None:
    """est = sin(w(t - d)) = cos(wd) sin(wt) - sin(wd) cos(wt): projection cos(wd), residual sin(wd) cos(wt),
    both over whole periods, so SI-SDR = 20 log10 |cot(wd)|."""
    frequency = 250.0  # 64 samples a period; one second holds 250 whole periods
    t = np.arange(RATE) / RATE
    x = np.sin(2 * np.pi * frequency * t)
    y = np.roll(x, delay)  # periodic, so the shift is an exact delay
    expected = 20 * math.log10(abs(1 / math.tan(2 * math.pi * frequency * delay / RATE)))
    assert si_sdr(x, y) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("gain", [0.5, 2.0, 10.0])
def test_mel_distance_of_a_scaled_copy_is_four_log10_gain(gain: float) -> None:
    """log10(M^2) moves by 2 log10 g in every bin at each of the two resolutions."""
    x = noise()
    assert mel_distance(x, gain * x, RATE) == pytest.approx(4 * abs(math.log10(gain)), rel=1e-9)


def test_mel_distance_hardly_sees_a_one_sample_delay_but_sees_other_noise() -> None:
    x = speech()
    delayed = mel_distance(x, np.roll(x, 1), RATE)
    other = mel_distance(x, speech(seed=5), RATE)
    assert 0 < delayed < other / 20


@pytest.mark.parametrize("gain", [0.5, 2.0])
def test_stft_distance_of_a_scaled_copy_is_convergence_plus_log_magnitude(gain: float) -> None:
    """Spectral convergence |g - 1| plus mean |ln g|, the same at each resolution."""
    x = noise()
    assert stft_distance(x, gain * x) == pytest.approx(abs(gain - 1) + abs(math.log(gain)), rel=1e-5)


def test_pesq_matches_torchmetrics_and_reads_reference_first() -> None:
    from torchmetrics.functional.audio import perceptual_evaluation_speech_quality

    x = speech(3.0)
    y = x + orthogonal_noise(x - x.mean(), 40.0)  # PESQ-WB rates white noise on this signal harshly: ~1.7
    ours = pesq_wb(x, y, RATE)
    theirs = float(perceptual_evaluation_speech_quality(torch.from_numpy(y), torch.from_numpy(x), RATE, "wb"))
    assert ours == pytest.approx(theirs, abs=1e-4)
    assert abs(pesq_wb(y, x, RATE) - ours) > 0.3  # the order matters, so the comparison above checks it
    assert 1.0 < pesq_wb(x, x + orthogonal_noise(x - x.mean(), 30.0), RATE) < ours < pesq_wb(x, x.copy(), RATE) < 4.65


def test_stoi_matches_torchmetrics_and_falls_with_noise() -> None:
    from torchmetrics.functional.audio import short_time_objective_intelligibility

    x = speech(3.0)
    y = x + orthogonal_noise(x - x.mean(), 0.0)
    ours = stoi(x, y, RATE)
    theirs = float(short_time_objective_intelligibility(torch.from_numpy(y), torch.from_numpy(x), RATE))
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert 0 < ours < stoi(x, x + orthogonal_noise(x - x.mean(), 20.0), RATE) < 1


def test_pesq_and_stoi_resample_to_16khz() -> None:
    import librosa

    x24 = synthetic_audio(3.0, 24_000, seed=2)[0].astype(np.float64)
    y24 = x24 + 0.05 * np.random.default_rng(0).standard_normal(x24.size)
    x16, y16 = (librosa.resample(s, orig_sr=24_000, target_sr=RATE) for s in (x24, y24))
    assert pesq_wb(x24, y24, 24_000) == pytest.approx(pesq_wb(x16, y16, RATE), abs=1e-6)
    assert stoi(x24, y24, 24_000) == pytest.approx(stoi(x16, y16, RATE), abs=1e-9)


def test_silence_has_no_pesq_and_says_why() -> None:
    silence = np.zeros(RATE)
    with pytest.raises(MetricUnavailable, match="PESQ"):
        pesq_wb(silence, silence, RATE)
    values, problems = score(silence, silence, RATE)
    assert values["pesq_wb"] is None and "PESQ" in problems["pesq_wb"]


def test_visqol_is_reported_unavailable_not_faked() -> None:
    with pytest.raises(MetricUnavailable, match="ViSQOL"):
        visqol(noise(), noise(), RATE)
    assert "visqol" in UNAVAILABLE and "visqol" not in METRICS


def test_unequal_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        score(noise(1.0), noise(0.5), RATE)


def test_model_specs() -> None:
    spec = parse_spec("facebook/encodec_24khz:codebooks=4:layout=delayed:label=E4")
    assert (spec.name, spec.title) == ("facebook/encodec_24khz", "E4")
    assert spec.changes == {"num_codebooks": 4, "layout": "delayed"}
    assert parse_spec("/data/my:dir/bpe").name == "/data/my:dir/bpe"  # a part without '=' belongs to the name
    assert parse_spec("demo:bandwidth=6").changes == {"bandwidth": 6.0}
    bad_specs = [("demo:rate=3", "unknown option"), ("demo:codebooks=four", "not a int"), (":codebooks=2", "no model")]
    for bad, message in bad_specs:
        with pytest.raises(AudiotokError, match=message):
            parse_spec(bad)
