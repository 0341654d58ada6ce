"""Shared fixtures: small EnCodec models of the real shapes, with fitted codebooks, saved and loaded back."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import importlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import EncodecModel

from audiotok.codecs.encodec.codec import EncodecCodec
from audiotok.codecs.encodec.demo import build_demo_codec, small_encodec_config, synthetic_audio
from audiotok.codecs.registry import load_codec

SAMPLING_RATE = 24000


@pytest.fixture(scope="session")
def codec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small 24 kHz-shaped EnCodec (hop 320, 32 x 1024 codebooks), fitted, saved with save_pretrained."""
    directory = tmp_path_factory.mktemp("encodec_small")
    build_demo_codec(small_encodec_config(), seed=0).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def codec(codec_dir: Path) -> EncodecCodec:
    return load_codec(codec_dir, device="cpu")


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


def zero_padded(wave: np.ndarray) -> np.ndarray:
    frames = -(-wave.shape[-1] // 320)
    return np.pad(wave, ((0, 0), (0, frames * 320 - wave.shape[-1])))


def is_near_tie(model: EncodecModel, wave: np.ndarray, frame: int, codebook: int, codes: tuple[int, int]) -> bool:
    """Whether two codes are equally near the level-``codebook`` residual of ``frame``, up to rounding.

    Batch size changes the encoder's float32 rounding by up to ~1e-5 of an embedding's norm here, so
    a distance gap below 1e-4 of that norm is a tie that rounding can flip.
    """
    with torch.no_grad():
        embedding = model.encoder(torch.from_numpy(zero_padded(wave))[None])[0, :, frame]
        residual = embedding
        for layer in model.quantizer.layers[:codebook]:
            book = layer.codebook.embed
            residual = residual - book[(residual - book).norm(dim=1).argmin()]
        book = model.quantizer.layers[codebook].codebook.embed
        near = [float((residual - book[c]).norm()) for c in codes]
    return abs(near[0] - near[1]) < 1e-4 * float(embedding.norm())


def assert_same_codes_up_to_ties(model, wave: np.ndarray, got: torch.Tensor, expected: torch.Tensor) -> None:
    """Codes [K, T] equal, except frames whose first differing code is a proven float near-tie."""
    got, expected = torch.as_tensor(np.asarray(got)), torch.as_tensor(np.asarray(expected))
    assert got.shape == expected.shape
    for t in torch.nonzero((got != expected).any(dim=0)).flatten().tolist():
        k = int(torch.nonzero(got[:, t] != expected[:, t])[0])
        assert is_near_tie(model, wave, t, k, (int(got[k, t]), int(expected[k, t]))), f"frame {t} differs"


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def codec48_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small EnCodec of the 48 kHz shape (stereo, 1 s chunks, 10 ms overlap, per-chunk RMS scales)."""
    from audiotok.codecs.encodec.demo import ENCODEC_48KHZ_ARCHITECTURE

    directory = tmp_path_factory.mktemp("encodec48_small")
    fit = [synthetic_audio(1.0, 48000, channels=2, seed=i) for i in range(3)]
    build_demo_codec(small_encodec_config(**ENCODEC_48KHZ_ARCHITECTURE), fit_audio=fit).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def codec48(codec48_dir: Path) -> EncodecCodec:
    return load_codec(codec48_dir, device="cpu")


def stereo_clip_of(num_samples: int, seed: int = 0, gain: float = 1.0) -> np.ndarray:
    """A stereo 48 kHz clip of exactly ``num_samples`` samples."""
    return gain * synthetic_audio(num_samples / 48000 + 0.01, 48000, channels=2, seed=seed)[:, :num_samples]


def saved_demo(factory: pytest.TempPathFactory, family: str, name: str, seed: int) -> Path:
    """A family's small fitted demo model, built with ``seed`` and saved with ``save_pretrained``."""
    build = importlib.import_module(f"audiotok.codecs.{family}.demo").build_demo_codec
    directory = factory.mktemp(name)
    build(seed=seed).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def dac_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small DAC of descript/dac_16khz's rate, strides and 12 x 1024 codebooks, fitted, saved."""
    return saved_demo(tmp_path_factory, "dac", "dac_small", seed=1)


@pytest.fixture(scope="session")
def mimi_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Mimi of kyutai/mimi's hop (1920), 12.5 frames/s and 32 x 2048 codebooks, fitted, saved."""
    return saved_demo(tmp_path_factory, "mimi", "mimi_small", seed=2)


@pytest.fixture(scope="session")
def wavtokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small WavTokenizer of the 40-frames/s shape (24 kHz, hop 600, one 4096-entry codebook), fitted, saved."""
    return saved_demo(tmp_path_factory, "wavtokenizer", "wavtokenizer_small", seed=3)


@pytest.fixture(scope="session")
def xcodec2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small X-codec2 of the published hop (320), 16 kHz and 65,536-entry FSQ codebook, fitted, saved."""
    return saved_demo(tmp_path_factory, "xcodec2", "xcodec2_small", seed=3)


@pytest.fixture(scope="session")
def xcodec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small X-codec of the published shape (16 kHz, hop 320, 8 x 1024 codebooks, HuBERT semantic model), fitted."""
    return saved_demo(tmp_path_factory, "xcodec", "xcodec_small", seed=4)


@pytest.fixture(scope="session")
def neucodec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small NeuCodec of the published hop (320 in, 480 out), 16/24 kHz and FSQ codebook, fitted, saved."""
    return saved_demo(tmp_path_factory, "neucodec", "neucodec_small", seed=4)


FAMILY_FIXTURES = {
    "encodec": "codec_dir",
    "dac": "dac_dir",
    "mimi": "mimi_dir",
    "wavtokenizer": "wavtokenizer_dir",
    "xcodec": "xcodec_dir",
    "xcodec2": "xcodec2_dir",
    "neucodec": "neucodec_dir",
}


@pytest.fixture(scope="session", params=list(FAMILY_FIXTURES))
def family_dir(request: pytest.FixtureRequest) -> Path:
    """Each codec family's small fitted checkpoint directory, in turn (the contract suite runs on each)."""
    return request.getfixturevalue(FAMILY_FIXTURES[request.param])
