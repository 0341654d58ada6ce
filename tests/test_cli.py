"""The `audiotok` command: encode files and folders, decode to wav, info; clear errors, no tracebacks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiotok.cli import main

from conftest import clip_of


@pytest.fixture()
def audio_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "audio"
    (folder / "nested").mkdir(parents=True)
    sf.write(folder / "a.wav", clip_of(24000, seed=1)[0], 24000)
    sf.write(folder / "nested" / "b.flac", clip_of(32000, seed=2)[0], 16000)  # 2 s, resampled to 24 kHz
    return folder


def test_encode_folder_then_decode(codec_dir: Path, audio_folder: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "ids"
    assert main(["encode", str(audio_folder), "--model", str(codec_dir), "--out", str(out), "--device", "cpu"]) == 0
    a, b = np.load(out / "a.npy"), np.load(out / "nested" / "b.npy")  # the path under the folder is kept
    assert len(a) == 8 * 75 + 2 and len(b) == 8 * 150 + 2  # 1 s and 2 s at 75 frames/s
    assert (out / "audiotok_config.json").exists()
    assert main(["decode", str(out / "a.npy"), "--out", str(tmp_path / "wav"), "--device", "cpu"]) == 0
    wave, rate = sf.read(tmp_path / "wav" / "a.wav")
    assert rate == 24000 and len(wave) == 24000


def test_encode_json_and_layout_options(codec_dir: Path, audio_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "json"
    args = [
        "encode",
        str(audio_folder / "a.wav"),
        "--model",
        str(codec_dir),
        "--out",
        str(out),
        "--format",
        "json",
        "--layout",
        "first_codebook",
        "--bandwidth",
        "1.5",
        "--vocab-offset",
        "1000",
        "--device",
        "cpu",
    ]
    assert main(args) == 0
    record = json.loads((out / "a.json").read_text())
    assert record["layout"] == "first_codebook" and len(record["ids"]) == 75 + 2
    assert min(record["ids"]) >= 1000


def test_encode_prints_ids_without_out(codec_dir: Path, audio_folder: Path, capsys) -> None:
    assert main(["encode", str(audio_folder / "a.wav"), "--model", str(codec_dir), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "602 ids" in printed[0]
    assert len(printed[1].split()) == 602


def test_corrupt_file_is_skipped_and_reported(codec_dir: Path, audio_folder: Path, tmp_path: Path, capsys) -> None:
    (audio_folder / "broken.wav").write_bytes(b"RIFF\x00\x00not really a wav")
    out = tmp_path / "ids"
    assert main(["encode", str(audio_folder), "--model", str(codec_dir), "--out", str(out), "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert f"audiotok: skipped {audio_folder / 'broken.wav'}: " in captured.err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy")) == ["a.npy", "nested/b.npy"]
    assert "wrote 2 id files" in captured.out


def test_info_lists_ranges_and_rates(codec_dir: Path, capsys) -> None:
    assert main(["info", "--model", str(codec_dir), "--vocab-offset", "32000"]) == 0
    text = capsys.readouterr().out
    assert "codebook  7: 39168..40191" in text
    assert "<|audio_start|>: 40192" in text
    assert re.search(r"^ +32 +24 +2400 +2400 +2400 +75$", text, re.MULTILINE)  # codebooks, kbps, ids/s per layout


def test_errors_are_one_line_messages_not_tracebacks(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    missing = subprocess.run(
        [sys.executable, "-m", "audiotok.cli", "encode", str(tmp_path / "nope.wav")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    sf.write(tmp_path / "x.wav", clip_of(2400)[0], 24000)
    offline = subprocess.run(
        [sys.executable, "-m", "audiotok.cli", "encode", str(tmp_path / "x.wav")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert offline.returncode == 2 and "Traceback" not in offline.stderr
    assert "--local-dir" in offline.stderr and "'demo'" in offline.stderr
