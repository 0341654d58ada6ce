"""Audio input: turn a path, array, tensor or list into float32 ``[channels, samples]`` at the codec's rate.

Every conversion is explicit, and anything that cannot be converted raises
:class:`~audiotok.errors.AudioInputError` (a ``ValueError``) saying what is wrong and what to do.

Conversions, in the order :func:`load_audio` applies them:

* **Files** are read with ``soundfile`` (WAV, FLAC, OGG, MP3, AIFF, ...), with
  ``librosa.load`` as a fallback for formats libsndfile lacks. The rate comes from the
  file; a ``sampling_rate`` that disagrees with it is an error, never a silent resample.
* **Tensors** go through ``.detach().cpu().numpy()``; float16/bfloat16 are upcast first.
  **Lists** of numbers (or of per-channel lists) are read as float values.
* **Sample type**: floats become float32 as they are. Integer PCM is scaled to ``[-1, 1]``:
  int8 / 128, int16 / 32768, int32 / 2**31, uint8 as ``(x - 128) / 128`` (so int16 -32768 is
  -1.0 and 16384 is 0.5). Other integer types (int64, uint16, ...) are ambiguous and raise,
  as do bool, complex and object arrays.
* **Layout**: ``[L]`` is mono ``[1, L]``. A 2-D array is ``[C, L]`` when ``shape[0] <= 2 <
  shape[1]`` and ``[L, C]`` (soundfile's order) when ``shape[1] <= 2 < shape[0]``, which is
  transposed; a ``[1|2, 1|2]`` array is read as ``[C, L]``. A leading batch axis of size 1 is
  dropped. More than 2 channels raises: downmix first.
* **Validation**: empty audio (0 samples) and NaN/Inf samples raise; the message names the
  first bad sample's index and channel and how many samples are bad.
* **Channels**: stereo -> mono is the mean of the two channels; mono -> stereo duplicates it.
* **Rate**: any positive whole rate in Hz (8 kHz to 96 kHz and beyond; an int, or a float of integral
  value such as 16000.0; 16000.5 raises) is resampled to the codec's
  rate with ``librosa.resample`` (its default, ``soxr_hq``); equal rates are left untouched.
* **Missing rate**: an array without ``sampling_rate`` warns (``UserWarning``) and is assumed
  to be at the codec's rate already.
"""

from __future__ import annotations

import errno
import io
import os
import warnings
from collections.abc import Sequence
from typing import TypeAlias

import librosa
import numpy as np
import soundfile
import torch

from audiotok.errors import AudioInputError

AudioSource: TypeAlias = (
    str | os.PathLike[str] | np.ndarray | torch.Tensor | Sequence[float] | Sequence[Sequence[float]]
)

# Integer PCM: (dtype kind, bytes) -> (offset, scale); float = (x - offset) / scale. Any byte order.
_PCM_SCALES: dict[tuple[str, int], tuple[int, float]] = {
    ("i", 1): (0, 2.0**7),  # int8
    ("i", 2): (0, 2.0**15),  # int16
    ("i", 4): (0, 2.0**31),  # int32
    ("u", 1): (128, 2.0**7),  # uint8
}


def read_audio_file(path: str | os.PathLike | io.BytesIO, name: str | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file (a path, or its bytes in a ``BytesIO``) at its native rate: the one decoder the API,
    the CLI and the dataset job use.

    Args:
        path: a file soundfile can read (WAV, FLAC, OGG, MP3, ...) or, failing that, librosa.
        name: how errors name the audio (default: the path).

    Returns:
        ``(wave, rate)``: float32 ``[C, L]`` samples in ``[-1, 1]`` and the file's rate in Hz.

    Raises:
        FileNotFoundError: the path does not exist.
        AudioInputError: the file exists but cannot be decoded (the message names the reason).
    """
    source: str | io.BytesIO
    if isinstance(path, io.BytesIO):
        source, name = path, name or "audio bytes"
    else:
        source = os.fspath(path)
        name = name or source
        if not os.path.exists(source):
            raise FileNotFoundError(errno.ENOENT, "audio file not found", source)  # str(): "... not found: 'x'"
        if os.path.isdir(source):
            raise AudioInputError(f"{source!r} is a directory, not an audio file; pass one file at a time")
    try:
        data, rate = soundfile.read(source, dtype="float32", always_2d=True)  # [L, C]
        return np.ascontiguousarray(data.T), int(rate)
    except (soundfile.SoundFileError, RuntimeError) as sf_error:
        first_reason = _reason(sf_error)
    try:
        with warnings.catch_warnings():
            # librosa announces its own fallback to audioread; we already know soundfile failed.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            if isinstance(source, io.BytesIO):
                source.seek(0)
            wave, rate = librosa.load(source, sr=None, mono=False)
    except Exception as fallback_error:
        raise AudioInputError(
            f"cannot decode audio file {name!r}: soundfile: {first_reason}; "
            f"librosa/audioread: {_reason(fallback_error)}. Check that the file is a complete audio "
            "file, or convert it to WAV/FLAC (e.g. with ffmpeg)"
        ) from fallback_error
    wave = np.atleast_2d(np.asarray(wave, dtype=np.float32))
    return np.ascontiguousarray(wave), int(rate)


def to_float32(array: np.ndarray, name: str = "audio") -> np.ndarray:
    """Convert samples to float32; integer PCM is scaled to ``[-1, 1]`` (int16 -32768 -> -1.0, 16384 -> 0.5).

    int8 / 128, int16 / 32768, int32 / 2**31 (its largest values round to 1.0 in float32),
    uint8 as (x - 128) / 128. Other integer types, bool, complex and object raise.

    Args:
        array: samples of any shape; float, or int8/int16/int32/uint8 PCM.
        name: what to call the audio in error messages.

    Returns:
        float32 array of the same shape.
    """
    dtype = array.dtype
    pcm = _PCM_SCALES.get((dtype.kind, dtype.itemsize))
    if pcm is not None:
        offset, scale = pcm
        return ((array.astype(np.float64) - offset) / scale).astype(np.float32)
    if np.issubdtype(dtype, np.floating):
        return array.astype(np.float32, copy=False)
    if np.issubdtype(dtype, np.integer):
        raise AudioInputError(
            f"{name} has {dtype} samples, which is not a PCM sample type: pass floats in [-1, 1] "
            "or int8/int16/int32/uint8 PCM (e.g. x.astype(np.int16) if the values are 16-bit)"
        )
    raise AudioInputError(
        f"{name} has {dtype} samples; audio must be real numbers: pass floats in [-1, 1] "
        "or integer PCM (int8/int16/int32/uint8)"
    )


def to_channels_first(array: np.ndarray, name: str = "audio") -> np.ndarray:
    """Arrange samples as ``[C, L]`` with ``C`` in {1, 2}.

    ``[L]`` -> ``[1, L]``; ``[C, L]`` when ``shape[0] <= 2 < shape[1]``; ``[L, C]`` when
    ``shape[1] <= 2 < shape[0]`` is transposed; ``[1|2, 1|2]`` is read as ``[C, L]``;
    ``[1, C, L]`` (a batch of one) is squeezed first.

    Args:
        array: 1-D, 2-D, or 3-D with a leading axis of size 1.
        name: what to call the audio in error messages.

    Returns:
        ``[C, L]`` array (a view where possible).
    """
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 1:
        return array[np.newaxis, :]
    if array.ndim != 2:
        hint = (
            f"a batch of {array.shape[0]} clips: pass one clip at a time"
            if array.ndim == 3
            else "pass [samples], [channels, samples] or [samples, channels]"
        )
        raise AudioInputError(f"{name} has shape {tuple(array.shape)}; {hint}")
    rows, cols = array.shape
    if rows <= 2:
        return array
    if cols <= 2:
        return array.T
    channel_axis = 0 if rows <= cols else 1
    raise _too_many_channels(name, array.shape[channel_axis], channel_axis, array.shape)


def convert_channels(wave: np.ndarray, channels: int, name: str = "audio") -> np.ndarray:
    """Match the codec's channel count: stereo -> mono is the mean, mono -> stereo duplicates.

    Args:
        wave: ``[C, L]`` with ``C`` in {1, 2}.
        channels: the codec's channel count, 1 or 2.
        name: what to call the audio in error messages.

    Returns:
        ``[channels, L]``; ``wave`` itself when it already has ``channels`` channels.
    """
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 (mono) or 2 (stereo), got {channels!r}")
    have = wave.shape[0]
    if have == channels:
        return wave
    if have == 2 and channels == 1:
        return wave.mean(axis=0, keepdims=True, dtype=np.float32)
    if have == 1 and channels == 2:
        return np.repeat(wave, 2, axis=0)
    raise _too_many_channels(name, have, 0, wave.shape)


def resample(wave: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample along the last axis with ``librosa.resample`` (soxr_hq).

    Args:
        wave: ``[..., L]`` float samples.
        orig_rate: the rate of ``wave`` in Hz, a positive int (or integral float).
        target_rate: the wanted rate in Hz, a positive int (or integral float).

    Returns:
        float32 ``[..., L']`` with ``L'`` = ``L * target_rate / orig_rate`` rounded up (librosa's
        rounding can add one sample, e.g. 22050 -> 24000 Hz); ``wave`` itself when the rates are equal.
    """
    orig_rate = _check_rate(orig_rate, "sampling_rate")
    target_rate = _check_rate(target_rate, "target rate")
    if orig_rate == target_rate:
        return wave
    out = librosa.resample(wave, orig_sr=int(orig_rate), target_sr=int(target_rate), axis=-1)
    return out.astype(np.float32, copy=False)


def validate_wave(wave: np.ndarray, name: str = "audio") -> None:
    """Raise :class:`AudioInputError` unless ``wave`` is a non-empty, finite ``[C, L]`` array.

    The NaN/Inf message names the first bad sample (earliest in time), its channel, and the count.
    """
    if wave.ndim != 2:
        raise AudioInputError(f"{name} must be [channels, samples], got shape {tuple(wave.shape)}")
    if wave.size == 0:
        raise AudioInputError(f"{name} is empty (shape {tuple(wave.shape)}, 0 samples); pass at least one sample")
    finite = np.isfinite(wave)
    if finite.all():
        return
    bad = ~finite
    count = int(bad.sum())
    sample = int(bad.any(axis=0).argmax())
    channel = int(bad[:, sample].argmax())
    kind = "NaN" if np.isnan(wave[channel, sample]) else "Inf"
    raise AudioInputError(
        f"{name} has {count} non-finite sample(s) (NaN or Inf); the first is {kind} at sample {sample} "
        f"of channel {channel}. Fix the source, or replace them, e.g. np.nan_to_num(x, posinf=0, neginf=0)"
    )


def load_audio(
    source: AudioSource,
    sampling_rate: int | None,
    target_rate: int,
    channels: int,
    name: str | None = None,
) -> np.ndarray:
    """Load and convert any supported audio input for the codec.

    Args:
        source: a file path, a numpy array, a torch tensor, or a list of floats; arrays may be
            ``[L]``, ``[C, L]``, ``[L, C]`` or ``[1, C, L]``.
        sampling_rate: the rate of an array/tensor/list in Hz. For a path it is read from the file
            and, if also given, must match. ``None`` for an array warns and assumes ``target_rate``.
        target_rate: the codec's rate in Hz.
        channels: the codec's channel count, 1 or 2.
        name: what to call the audio in error messages (default: the path, or "audio").

    Returns:
        C-contiguous float32 ``[channels, L']`` at ``target_rate``.
    """
    if sampling_rate is not None:
        sampling_rate = _check_rate(sampling_rate, "sampling_rate")
    if isinstance(source, (str, os.PathLike)):
        name = name or os.fspath(source)
        wave, file_rate = read_audio_file(source)
        if sampling_rate is not None and sampling_rate != file_rate:
            raise AudioInputError(
                f"{name}: sampling_rate={sampling_rate} was given but the file is {file_rate} Hz; "
                "leave sampling_rate out for files (it is read from the file)"
            )
        rate = file_rate
        if wave.shape[0] > 2:
            raise _too_many_channels(name, wave.shape[0], 0, wave.shape)
    else:
        name = name or "audio"
        wave = to_channels_first(to_float32(_as_numpy(source, name), name), name)
        if sampling_rate is None:
            warnings.warn(
                f"sampling_rate not given; assuming the codec's {target_rate} Hz; pass sampling_rate=... "
                "(a wrong rate silently changes pitch and speed)",
                UserWarning,
                stacklevel=2,
            )
            sampling_rate = target_rate
        rate = sampling_rate
    rate = _check_rate(rate, "sampling_rate")
    validate_wave(wave, name)
    wave = convert_channels(wave, channels, name)
    wave = resample(wave, rate, target_rate)
    return np.ascontiguousarray(wave, dtype=np.float32)


def _as_numpy(source: object, name: str) -> np.ndarray:
    """A numpy view of a tensor, array or list of numbers (no dtype change except half -> float32)."""
    if isinstance(source, torch.Tensor):
        tensor = source.detach()
        if tensor.dtype in (torch.float16, torch.bfloat16):
            tensor = tensor.float()
        return tensor.cpu().numpy()
    if isinstance(source, np.ndarray):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        raise AudioInputError(
            f"{name} is raw bytes; decode them first, e.g. soundfile.read(io.BytesIO(data)), "
            "or write them to a file and pass the path"
        )
    if isinstance(source, dict):
        raise AudioInputError(
            f"{name} is a dict; for a datasets row pass row['array'] with sampling_rate=row['sampling_rate']"
        )
    if isinstance(source, Sequence):
        try:
            return np.asarray(source, dtype=np.float64)
        except (ValueError, TypeError) as error:
            raise AudioInputError(
                f"{name} is a {type(source).__name__} that is not a list of numbers (or of equal-length "
                f"per-channel lists): {error}"
            ) from error
    raise AudioInputError(
        f"{name} is a {type(source).__name__}; pass a file path, a numpy array, a torch tensor or a list of floats"
    )


def _check_rate(rate: object, what: str) -> int:
    """A rate in Hz as an int: a positive int, or a float of integral value (16000.0, as configs often hold)."""
    whole = rate
    if isinstance(rate, (float, np.floating)) and float(rate).is_integer():
        whole = int(rate)
    if isinstance(whole, bool) or not isinstance(whole, (int, np.integer)) or whole <= 0:
        raise AudioInputError(f"{what} must be a positive int in Hz (e.g. 16000), got {rate!r}")
    return int(whole)


def _too_many_channels(name: str, count: int, channel_axis: int, shape: tuple[int, ...]) -> AudioInputError:
    return AudioInputError(
        f"{name} has {count} channels (shape {tuple(shape)}); audiotok handles mono or stereo: "
        f"downmix first, e.g. x.mean(axis={channel_axis})"
    )


def _reason(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
