"""Checkpoint loading says which case failed and fails fast offline; unavailable devices are named up front."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from transformers import EncodecModel

from audiotok import AudioTokenizer
from audiotok.codecs.encodec.codec import EncodecCodec
from audiotok.codecs.encodec.demo import small_encodec_config
from audiotok.codecs.loading import CodecLoadError
from audiotok.codecs.registry import load_codec
from audiotok.errors import AudiotokError

FAST_S = 3.0  # a failure must come back well within this (the hub client's retries took 23 s)


# -- devices ---------------------------------------------------------------------------------------------
@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_names_the_available_devices(codec_dir: Path) -> None:
    with pytest.raises(AudiotokError, match=r"device 'cuda' is not available .*available here: cpu") as error:
        load_codec(codec_dir, device="cuda")
    assert "\n" not in str(error.value)
    with pytest.raises(AudiotokError, match="device 'cuda' is not available"):
        AudioTokenizer.from_pretrained(codec_dir, device=torch.device("cuda"))


@pytest.mark.skipif(torch.cuda.device_count() > 3, reason="this machine has a cuda:3")
def test_missing_gpu_index_is_refused(codec_dir: Path) -> None:
    with pytest.raises(AudiotokError, match=r"device 'cuda:3' is not available.*available here: cpu"):
        load_codec(codec_dir, device="cuda:3")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="MPS is available here")
def test_mps_without_mps_is_refused(codec_dir: Path) -> None:
    with pytest.raises(AudiotokError, match=r"device 'mps' is not available \(MPS needs"):
        load_codec(codec_dir, device="mps")


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "cuda:-1", ""])
def test_malformed_device_is_refused(codec_dir: Path, device: str) -> None:
    with pytest.raises(AudiotokError, match=r"not a device name .*available here: cpu"):
        load_codec(codec_dir, device=device)


def test_unsupported_device_type_is_refused() -> None:
    with pytest.raises(AudiotokError, match=r"does not run on 'meta' devices"):
        EncodecCodec(EncodecModel(small_encodec_config()), device="meta")


def test_cpu_is_accepted() -> None:
    assert EncodecCodec(EncodecModel(small_encodec_config()), device="cpu:0").device == torch.device("cpu:0")


def test_cli_device_cuda_is_a_one_line_error(codec_dir: Path, tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    wav = tmp_path / "a.wav"
    import soundfile as sf

    from audiotok.codecs.encodec.demo import synthetic_audio

    sf.write(wav, synthetic_audio(0.2, 24000, seed=1)[0], 24000)
    done = subprocess.run(
        [sys.executable, "-m", "audiotok.cli", "encode", str(wav), "--model", str(codec_dir), "--device", "cuda"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "device 'cuda' is not available" in done.stderr


# -- local paths and the offline hub (HF_HUB_OFFLINE=1 here, set by conftest) --------------------------------
@pytest.mark.parametrize("name", ["./no-such-codec-dir", "~/no-such-codec-dir-audiotok", "models/en/codec", "ABS"])
def test_missing_local_directory_is_no_such_directory(name: str, tmp_path: Path) -> None:
    name = str(tmp_path / "gone") if name == "ABS" else name
    with pytest.raises(CodecLoadError) as error:
        load_codec(name, device="cpu")
    assert str(error.value).startswith(f"could not load the codec checkpoint {name!r}: no such directory")
    assert "hf download" not in str(error.value)


def test_a_file_is_not_a_checkpoint_directory(codec_dir: Path) -> None:
    with pytest.raises(CodecLoadError, match="it is a file; pass the checkpoint's directory"):
        load_codec(codec_dir / "config.json", device="cpu")


def test_uncached_hub_id_offline_fails_fast_and_says_so() -> None:
    start = time.perf_counter()
    with pytest.raises(CodecLoadError) as error:
        load_codec("audiotok-tests/not-a-cached-codec", device="cpu")
    assert time.perf_counter() - start < FAST_S
    message = str(error.value)
    assert message.startswith("could not load the codec checkpoint 'audiotok-tests/not-a-cached-codec': ")
    assert "not in the local cache and the hub is offline (HF_HUB_OFFLINE=1)" in message
    assert "hf download audiotok-tests/not-a-cached-codec --local-dir DIR" in message


# -- no env var, no network: one subprocess per fake hub (the hub client reads its settings at import) ----------
LOAD_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from audiotok.codecs.registry import load_codec
    import audiotok.codecs.encodec, transformers  # imported before timing: the clock measures waiting, not imports

    results = {}
    for name in sys.argv[1:]:
        start = time.perf_counter()
        try:
            codec = load_codec(name, device="cpu")
            outcome = "loaded " + codec.name
        except Exception as error:
            outcome = f"{type(error).__name__}: {error}"
        results[name] = {"seconds": time.perf_counter() - start, "outcome": outcome}
    print(json.dumps(results))
    """
)


def load_in_subprocess(endpoint: str, hf_home: Path, *names: str) -> dict[str, dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(hf_home), PYTHONPATH=str(Path(__file__).parents[1]))
    done = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, *names], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once it is closed: connection refused


def cache_hub_model(hf_home: Path, repo_id: str, codec_dir: Path) -> None:
    """Lays out a checkpoint in the hub cache as ``hf download`` leaves it (refs/main -> snapshots/<commit>)."""
    repo = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    commit = "0" * 40
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for file in codec_dir.iterdir():
        (snapshot / file.name).write_bytes(file.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)


def test_unreachable_hub_fails_fast_or_uses_the_cache(codec_dir: Path, tmp_path: Path) -> None:
    cache_hub_model(tmp_path, "audiotok-tests/cached-codec", codec_dir)
    results = load_in_subprocess(
        f"http://127.0.0.1:{closed_port()}", tmp_path, "audiotok-tests/not-cached", "audiotok-tests/cached-codec"
    )
    missing, cached = results["audiotok-tests/not-cached"], results["audiotok-tests/cached-codec"]
    assert missing["seconds"] < FAST_S, missing
    expected = "'audiotok-tests/not-cached': hub id not in the local cache and the hub is offline (no network"
    assert expected in missing["outcome"], missing
    assert cached["outcome"] == "loaded audiotok-tests/cached-codec", cached
    assert cached["seconds"] < FAST_S + 5, cached  # loading itself takes a moment


class _NoSuchRepo(BaseHTTPRequestHandler):
    """The hub's answer for a repository that does not exist."""

    def _answer(self) -> None:
        self.send_response(404)
        self.send_header("X-Error-Code", "RepoNotFound")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_hub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoSuchRepo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_hub_id_that_does_not_exist_says_so(fake_hub: str, tmp_path: Path) -> None:
    result = load_in_subprocess(fake_hub, tmp_path, "audiotok-tests/no-such-codec")["audiotok-tests/no-such-codec"]
    expected = (
        "CodecLoadError: could not load the codec checkpoint 'audiotok-tests/no-such-codec': the hub has no model"
    )
    assert result["outcome"].startswith(expected), result
    assert result["seconds"] < FAST_S, result
