"""Tests for audiotok.audio: every documented conversion and every input error.

Expected values are hand-computed literals or analytic signals (a 440 Hz sine), never the
output of the library calls that audio.py itself makes.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from audiotok.audio import (
    convert_channels,
    load_audio,
    read_audio_file,
    resample,
    to_channels_first,
    to_float32,
    validate_wave,
)
from audiotok.errors import AudioInputError

CODEC_RATE = 24000


def sine(rate: int, seconds: float = 1.0, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(rate * seconds))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# ---------------------------------------------------------------- sample types


def test_int16_pcm_scaled_by_32768() -> None:
    pcm = np.array([-32768, -16384, 0, 1, 16384, 32767], dtype=np.int16)
    out = to_float32(pcm)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [-1.0, -0.5, 0.0, 2.0**-15, 0.5, 0.999969482421875])


def test_int32_pcm_scaled_by_2_pow_31() -> None:
    pcm = np.array([-(2**31), -(2**29), 0, 1, 2**30], dtype=np.int32)
    out = to_float32(pcm)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [-1.0, -0.25, 0.0, 4.656612873077393e-10, 0.5])


def test_uint8_pcm_centred_at_128() -> None:
    out = to_float32(np.array([0, 64, 128, 192, 255], dtype=np.uint8))
    np.testing.assert_array_equal(out, [-1.0, -0.5, 0.0, 0.5, 0.9921875])


def test_int8_pcm_scaled_by_128() -> None:
    out = to_float32(np.array([-128, -64, 0, 64, 127], dtype=np.int8))
    np.testing.assert_array_equal(out, [-1.0, -0.5, 0.0, 0.5, 0.9921875])


def test_big_endian_int16_is_pcm_too() -> None:
    out = to_float32(np.array([-32768, 16384], dtype=">i2"))
    np.testing.assert_array_equal(out, [-1.0, 0.5])


def test_float64_becomes_float32_unchanged() -> None:
    out = to_float32(np.array([0.25, -0.75, 1.5]))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [0.25, -0.75, 1.5])


@pytest.mark.parametrize(
    "array",
    [
        np.array([True, False]),
        np.array([1 + 1j, 0j]),
        np.array([0.1, "a"], dtype=object),
        np.array([1, 2, 3], dtype=np.int64),
        np.array([1, 2], dtype=np.uint16),
    ],
    ids=["bool", "complex", "object", "int64", "uint16"],
)
def test_non_audio_sample_types_raise(array: np.ndarray) -> None:
    with pytest.raises(AudioInputError, match=str(array.dtype)):
        to_float32(array)


@settings(max_examples=50, deadline=None)
@given(arrays(np.int16, st.integers(1, 64)))
def test_int16_scaling_is_exact_and_in_range(pcm: np.ndarray) -> None:
    out = to_float32(pcm)
    assert np.all(out >= -1.0) and np.all(out < 1.0)
    np.testing.assert_array_equal(out.astype(np.float64) * 32768, pcm.astype(np.float64))


# ---------------------------------------------------------------- layout


def test_1d_is_mono_row() -> None:
    out = to_channels_first(np.array([1.0, 2.0, 3.0]))
    assert out.shape == (1, 3)
    np.testing.assert_array_equal(out[0], [1.0, 2.0, 3.0])


def test_samples_by_channels_is_transposed() -> None:
    left = np.array([0.1, 0.2, 0.3, 0.4, 0.5], dtype=np.float32)
    right = -left
    out = to_channels_first(np.stack([left, right], axis=1))  # [L=5, C=2], soundfile's order
    assert out.shape == (2, 5)
    np.testing.assert_array_equal(out[0], left)
    np.testing.assert_array_equal(out[1], right)


def test_channels_first_kept() -> None:
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    np.testing.assert_array_equal(to_channels_first(x), x)


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_tiny_ambiguous_shape_read_as_channels_first(shape: tuple[int, int]) -> None:
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    np.testing.assert_array_equal(to_channels_first(x), x)


def test_batch_of_one_squeezed() -> None:
    x = np.arange(12, dtype=np.float32).reshape(1, 2, 6)
    np.testing.assert_array_equal(to_channels_first(x), x[0])


@pytest.mark.parametrize(("shape", "channels", "axis"), [((3, 100), 3, 0), ((6, 48000), 6, 0), ((100, 5), 5, 1)])
def test_more_than_two_channels_raises(shape: tuple[int, int], channels: int, axis: int) -> None:
    with pytest.raises(AudioInputError, match=rf"{channels} channels.*mono or stereo.*mean\(axis={axis}\)"):
        to_channels_first(np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize("shape", [(2, 2, 100), (1, 1, 2, 100), ()])
def test_unsupported_rank_raises(shape: tuple[int, ...]) -> None:
    with pytest.raises(AudioInputError, match="shape"):
        to_channels_first(np.zeros(shape, dtype=np.float32))


# ---------------------------------------------------------------- channels


def test_stereo_to_mono_is_mean() -> None:
    x = np.array([[1.0, 3.0, -1.0], [0.5, -1.0, -1.0]], dtype=np.float32)
    out = convert_channels(x, 1)
    assert out.shape == (1, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0.75, 1.0, -1.0]])


def test_mono_to_stereo_duplicates() -> None:
    x = np.array([[0.25, -0.5, 0.125]], dtype=np.float32)
    out = convert_channels(x, 2)
    np.testing.assert_array_equal(out, [[0.25, -0.5, 0.125], [0.25, -0.5, 0.125]])


@pytest.mark.parametrize("channels", [1, 2])
def test_same_channel_count_returned_as_is(channels: int) -> None:
    x = np.ones((channels, 4), dtype=np.float32)
    assert convert_channels(x, channels) is x


def test_bad_target_channel_count_raises() -> None:
    with pytest.raises(ValueError, match="channels must be 1"):
        convert_channels(np.ones((1, 4), dtype=np.float32), 3)


# ---------------------------------------------------------------- validation


def test_nan_and_inf_named_with_first_index_channel_and_count() -> None:
    x = np.zeros((2, 20), dtype=np.float32)
    x[1, 7] = np.nan
    x[0, 9] = np.inf
    x[1, 15] = -np.inf
    with pytest.raises(AudioInputError, match=r"clip has 3 non-finite.*NaN at sample 7 of channel 1"):
        validate_wave(x, "clip")


def test_inf_alone_reported_as_inf() -> None:
    x = np.zeros((1, 10), dtype=np.float32)
    x[0, 4] = -np.inf
    with pytest.raises(AudioInputError, match=r"1 non-finite.*Inf at sample 4 of channel 0"):
        validate_wave(x)


@pytest.mark.parametrize("shape", [(1, 0), (2, 0)])
def test_empty_wave_raises(shape: tuple[int, int]) -> None:
    with pytest.raises(AudioInputError, match="empty"):
        validate_wave(np.zeros(shape, dtype=np.float32))


def test_finite_wave_passes() -> None:
    validate_wave(np.zeros((2, 3), dtype=np.float32))


@pytest.mark.parametrize("source", [np.array([], dtype=np.float32), np.zeros((1, 0)), []])
def test_load_audio_rejects_empty(source: object) -> None:
    with pytest.raises(AudioInputError, match="empty"):
        load_audio(source, CODEC_RATE, CODEC_RATE, 1)  # type: ignore[arg-type]


def test_load_audio_names_the_bad_clip() -> None:
    x = np.zeros(100, dtype=np.float32)
    x[42] = np.nan
    with pytest.raises(AudioInputError, match=r"row 17 has 1 non-finite.*sample 42 of channel 0"):
        load_audio(x, CODEC_RATE, CODEC_RATE, 1, name="row 17")


# ---------------------------------------------------------------- resampling


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000, 96000])
def test_resampled_sine_stays_440_hz(rate: int) -> None:
    x = sine(rate)[None, :]  # one second
    out = resample(x, rate, CODEC_RATE)
    assert out.dtype == np.float32 and out.shape[0] == 1
    assert abs(out.shape[1] - CODEC_RATE) <= 1  # length ratio 24000 / rate
    spectrum = np.abs(np.fft.rfft(out[0, :CODEC_RATE]))  # 1 Hz per bin
    assert int(spectrum.argmax()) == 440
    # Away from the edges the output is the same analytic sine sampled at 24 kHz (no delay, no gain).
    expected = sine(CODEC_RATE)[: out.shape[1]]
    middle = slice(1200, CODEC_RATE - 1200)
    np.testing.assert_allclose(out[0, middle], expected[middle], atol=1e-3)


def test_resample_keeps_channels_apart() -> None:
    x = np.stack([sine(48000, freq=440.0), sine(48000, freq=1000.0)])
    out = resample(x, 48000, CODEC_RATE)
    assert out.shape == (2, CODEC_RATE)
    assert [int(np.abs(np.fft.rfft(ch)).argmax()) for ch in out] == [440, 1000]


def test_equal_rates_is_a_no_op() -> None:
    x = sine(CODEC_RATE)[None, :]
    assert resample(x, CODEC_RATE, CODEC_RATE) is x


@pytest.mark.parametrize("bad", [0, -16000, -16000.0, 44100.5, float("nan"), float("inf"), "16000", True, None])
def test_bad_rates_raise(bad: object) -> None:
    x = np.zeros((1, 10), dtype=np.float32)
    with pytest.raises(AudioInputError, match="positive int"):
        resample(x, bad, CODEC_RATE)  # type: ignore[arg-type]
    with pytest.raises(AudioInputError, match="positive int"):
        resample(x, CODEC_RATE, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", [16000.0, np.float32(16000.0), np.float64(16000.0), np.int32(16000)])
def test_integral_float_rates_are_accepted(rate: object) -> None:
    x = sine(16000, seconds=0.5)
    expected = load_audio(x, 16000, CODEC_RATE, 1)
    np.testing.assert_array_equal(load_audio(x, rate, CODEC_RATE, 1), expected)  # type: ignore[arg-type]
    np.testing.assert_array_equal(resample(x[None, :], rate, CODEC_RATE), expected)  # type: ignore[arg-type]


def test_fractional_rate_is_refused_clearly() -> None:
    with pytest.raises(
        AudioInputError, match=r"^sampling_rate must be a positive int in Hz \(e\.g\. 16000\), got 16000\.5$"
    ):
        load_audio(sine(16000, seconds=0.1), 16000.5, CODEC_RATE, 1)  # type: ignore[arg-type]


def test_integral_float_rate_matches_a_file(tmp_path) -> None:
    path = tmp_path / "a.wav"
    soundfile.write(path, sine(16000, seconds=0.2), 16000)
    np.testing.assert_array_equal(load_audio(path, 16000.0, CODEC_RATE, 1), load_audio(path, None, CODEC_RATE, 1))  # type: ignore[arg-type]
    with pytest.raises(AudioInputError, match="got 16000.5"):
        load_audio(path, 16000.5, CODEC_RATE, 1)  # type: ignore[arg-type]


def test_load_audio_resamples_to_codec_rate() -> None:
    out = load_audio(sine(16000, seconds=0.5), 16000, CODEC_RATE, 1)
    assert out.shape == (1, 12000)
    assert int(np.abs(np.fft.rfft(out[0])).argmax()) == 220  # 440 Hz at 2 Hz per bin


# ---------------------------------------------------------------- in-memory sources


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_torch_tensor_input(dtype: torch.dtype) -> None:
    # values exactly representable in every dtype above
    t = torch.tensor([[0.5, -0.25, 0.0, 1.0], [0.25, 0.25, -1.0, 0.0]], dtype=dtype, requires_grad=True)
    out = load_audio(t, CODEC_RATE, CODEC_RATE, 2)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, [[0.5, -0.25, 0.0, 1.0], [0.25, 0.25, -1.0, 0.0]])
    mono = load_audio(t, CODEC_RATE, CODEC_RATE, 1)
    np.testing.assert_array_equal(mono, [[0.375, 0.0, -0.5, 0.5]])


def test_int16_tensor_is_pcm() -> None:
    t = torch.tensor([-32768, 16384, 0], dtype=torch.int16)
    np.testing.assert_array_equal(load_audio(t, CODEC_RATE, CODEC_RATE, 1), [[-1.0, 0.5, 0.0]])


def test_list_input() -> None:
    out = load_audio([0.0, 0.5, -0.5, 1], CODEC_RATE, CODEC_RATE, 1)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0.0, 0.5, -0.5, 1.0]])


def test_list_of_channel_lists_to_stereo() -> None:
    out = load_audio([[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]], CODEC_RATE, CODEC_RATE, 2)
    np.testing.assert_array_equal(out, [[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]])


def test_samples_by_channels_array_loaded_as_stereo() -> None:
    x = np.array([[0.125, -0.5], [0.25, -0.25], [0.375, 0.0], [0.5, 0.25]], dtype=np.float32)  # [L=4, C=2]
    out = load_audio(x, CODEC_RATE, CODEC_RATE, 2)
    np.testing.assert_array_equal(out, [[0.125, 0.25, 0.375, 0.5], [-0.5, -0.25, 0.0, 0.25]])


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ([[0.0, 1.0], [0.5]], "not a list of numbers"),
        (["a", "b"], "not a list of numbers"),
        (b"RIFF....", "raw bytes"),
        ({"array": [0.0], "sampling_rate": 16000}, "row\\['array'\\]"),
        (3.5, "float"),
    ],
    ids=["ragged", "strings", "bytes", "dict", "scalar"],
)
def test_unsupported_sources_raise(source: object, match: str) -> None:
    with pytest.raises(AudioInputError, match=match):
        load_audio(source, CODEC_RATE, CODEC_RATE, 1)  # type: ignore[arg-type]


def test_missing_sampling_rate_for_array_warns_and_assumes_codec_rate() -> None:
    x = sine(CODEC_RATE, seconds=0.1)
    with pytest.warns(UserWarning, match="sampling_rate not given; assuming the codec's 24000 Hz"):
        out = load_audio(x, None, CODEC_RATE, 1)
    np.testing.assert_array_equal(out[0], x)  # not resampled


def test_three_channel_array_raises_in_load_audio() -> None:
    with pytest.raises(AudioInputError, match="3 channels"):
        load_audio(np.zeros((3, 1000), dtype=np.float32), CODEC_RATE, CODEC_RATE, 1)


@settings(max_examples=25, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(3, 50), st.just(2)), elements=st.floats(-1, 1, width=32)))
def test_channel_order_does_not_matter(samples_by_channels: np.ndarray) -> None:
    a = load_audio(samples_by_channels, 16000, 16000, 2)
    b = load_audio(np.ascontiguousarray(samples_by_channels.T), 16000, 16000, 2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, samples_by_channels.T)


# ---------------------------------------------------------------- files


def test_int16_mono_wav(tmp_path) -> None:
    path = tmp_path / "mono16.wav"
    pcm = np.array([0, 16384, -32768, 8192, -16384], dtype=np.int16)
    soundfile.write(path, pcm, 24000, subtype="PCM_16")
    wave, rate = read_audio_file(path)
    assert rate == 24000 and wave.dtype == np.float32
    np.testing.assert_array_equal(wave, [[0.0, 0.5, -1.0, 0.25, -0.5]])
    np.testing.assert_array_equal(load_audio(path, None, 24000, 2), [[0.0, 0.5, -1.0, 0.25, -0.5]] * 2)


def test_float_stereo_wav_to_mono(tmp_path) -> None:
    path = tmp_path / "stereo.wav"
    data = np.array([[0.5, 0.25], [-0.5, 0.0], [1.0, -1.0]], dtype=np.float32)  # soundfile's [L, C]
    soundfile.write(path, data, 24000, subtype="FLOAT")
    wave, rate = read_audio_file(path)
    assert (wave.shape, rate) == ((2, 3), 24000)
    np.testing.assert_array_equal(wave, [[0.5, -0.5, 1.0], [0.25, 0.0, -1.0]])
    np.testing.assert_array_equal(load_audio(str(path), None, 24000, 1), [[0.375, -0.25, 0.0]])


def test_int16_stereo_wav_at_48k_resampled(tmp_path) -> None:
    path = tmp_path / "stereo48.wav"
    left, right = sine(48000, seconds=0.5), sine(48000, seconds=0.5, freq=1000.0, amp=0.25)
    soundfile.write(path, np.stack([left, right], axis=1), 48000, subtype="PCM_16")
    out = load_audio(path, 48000, CODEC_RATE, 2)
    assert out.shape == (2, 12000)
    assert [int(np.abs(np.fft.rfft(ch)).argmax()) for ch in out] == [220, 500]  # 2 Hz per bin


def test_flac_file(tmp_path) -> None:
    path = tmp_path / "tone.flac"
    soundfile.write(path, sine(16000), 16000, subtype="PCM_16", format="FLAC")
    wave, rate = read_audio_file(path)
    assert rate == 16000 and wave.shape == (1, 16000)
    np.testing.assert_allclose(wave[0], sine(16000), atol=1 / 32768)
    out = load_audio(path, None, CODEC_RATE, 1)
    assert out.shape == (1, CODEC_RATE)
    assert int(np.abs(np.fft.rfft(out[0])).argmax()) == 440


def test_rate_argument_must_match_file(tmp_path) -> None:
    path = tmp_path / "sr16k.wav"
    soundfile.write(path, sine(16000, seconds=0.1), 16000)
    with pytest.raises(AudioInputError, match=r"sampling_rate=44100.*16000 Hz"):
        load_audio(path, 44100, CODEC_RATE, 1)
    assert load_audio(path, 16000, CODEC_RATE, 1).shape == (1, 2400)  # a matching rate is fine


def test_multichannel_file_raises(tmp_path) -> None:
    path = tmp_path / "six.wav"
    soundfile.write(path, np.zeros((100, 6), dtype=np.float32), 24000)
    with pytest.raises(AudioInputError, match=r"six\.wav has 6 channels"):
        load_audio(path, None, CODEC_RATE, 2)


def test_empty_file_raises(tmp_path) -> None:
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros((0, 1), dtype=np.float32), 24000)
    with pytest.raises(AudioInputError, match=r"empty\.wav is empty"):
        load_audio(path, None, CODEC_RATE, 1)


def test_missing_file_raises_file_not_found(tmp_path) -> None:
    path = tmp_path / "nope.wav"
    with pytest.raises(FileNotFoundError, match="nope.wav") as error:
        load_audio(path, None, CODEC_RATE, 1)
    assert str(error.value) == f"[Errno 2] audio file not found: {str(path)!r}"  # the path once


def test_random_bytes_wav_raises_naming_path(tmp_path) -> None:
    path = tmp_path / "noise_bytes.wav"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(AudioInputError, match=r"cannot decode audio file .*noise_bytes\.wav"):
        read_audio_file(path)


def test_truncated_header_raises_naming_path(tmp_path) -> None:
    good = tmp_path / "good.wav"
    soundfile.write(good, sine(16000, seconds=0.1), 16000, subtype="PCM_16")
    bad = tmp_path / "truncated.wav"
    bad.write_bytes(good.read_bytes()[:20])  # cut inside the 'fmt ' chunk
    with pytest.raises(AudioInputError, match=r"truncated\.wav.*Malformed 'fmt ' chunk"):
        load_audio(bad, None, CODEC_RATE, 1)


def test_directory_raises(tmp_path) -> None:
    with pytest.raises(AudioInputError, match="directory"):
        read_audio_file(tmp_path)
