"""The main job (`make demo`) runs offline on the labelled demo codec, and every script in scripts/ starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.name for p in (ROOT / "scripts").glob("*.py"))


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def test_the_main_job_falls_back_to_the_labelled_demo_codec_offline(tmp_path: Path) -> None:
    done = _run("scripts/demo.py", "--model", "facebook/encodec_24khz", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Falling back to the untrained demo codec" in done.stderr
    assert "NOTE: untrained demo codec" in done.stdout
    ids = np.load(tmp_path / "speech_ids.npy")
    assert ids[0] == 8192 and ids[-1] == 8193 and len(ids) > 100  # <|audio_start|> ... <|audio_end|> at 8 x 1024
    assert (tmp_path / "speech_decoded.wav").stat().st_size > 0


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_starts(script: str) -> None:
    done = _run(f"scripts/{script}", "--help", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
