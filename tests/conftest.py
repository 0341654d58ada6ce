"""Shared fixtures: small EnCodec models of the real shapes, with fitted codebooks, saved and loaded back."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from audiotok.codec import Codec  # noqa: E402
from audiotok.demo_codec import build_demo_codec, small_encodec_config, synthetic_audio  # noqa: E402

SAMPLING_RATE = 24000


@pytest.fixture(scope="session")
def codec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small 24 kHz-shaped EnCodec (hop 320, 32 x 1024 codebooks), fitted, saved with save_pretrained."""
    directory = tmp_path_factory.mktemp("encodec_small")
    build_demo_codec(small_encodec_config(), seed=0).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def codec(codec_dir: Path) -> Codec:
    return Codec.from_pretrained(codec_dir, device="cpu")


@pytest.fixture(scope="session")
def clip() -> np.ndarray:
    """3 s of speech-like audio ``[1, 72000]`` (not the audio the codebooks were fitted on)."""
    return synthetic_audio(3.0, SAMPLING_RATE, seed=11)


def clip_of(num_samples: int, seed: int = 0) -> np.ndarray:
    """A mono clip of exactly ``num_samples`` samples."""
    return synthetic_audio(num_samples / SAMPLING_RATE + 0.01, SAMPLING_RATE, seed=seed)[:, :num_samples]


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real speech from espeak-ng (installed by .ci/run); skips where it is missing."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    text = "The quick brown fox jumps over the lazy dog while audio tokens stream by."
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return path


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def codec48_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small EnCodec of the 48 kHz shape (stereo, 1 s chunks, 10 ms overlap, per-chunk RMS scales)."""
    from audiotok.demo_codec import ENCODEC_48KHZ_ARCHITECTURE

    directory = tmp_path_factory.mktemp("encodec48_small")
    fit = [synthetic_audio(1.0, 48000, channels=2, seed=i) for i in range(3)]
    build_demo_codec(small_encodec_config(**ENCODEC_48KHZ_ARCHITECTURE), fit_audio=fit).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def codec48(codec48_dir: Path) -> Codec:
    return Codec.from_pretrained(codec48_dir, device="cpu")


def stereo_clip_of(num_samples: int, seed: int = 0, gain: float = 1.0) -> np.ndarray:
    """A stereo 48 kHz clip of exactly ``num_samples`` samples."""
    return gain * synthetic_audio(num_samples / 48000 + 0.01, 48000, channels=2, seed=seed)[:, :num_samples]
