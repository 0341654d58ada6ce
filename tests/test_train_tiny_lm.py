"""scripts/train_tiny_lm.py at toy size: the loss falls and every generated span decodes in strict mode."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiotok import TokenizerConfig

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["one tone", "two tones", "a low hum", "a high beep"]


def _script():
    spec = importlib.util.spec_from_file_location("train_tiny_lm", ROOT / "scripts" / "train_tiny_lm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _corpus(folder: Path) -> None:
    """Eight 0.2 s clips of tones at 24 kHz, each with a transcript, as an audiofolder."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(8):
        t = np.arange(4800) / 24000
        wave = 0.3 * np.sin(2 * np.pi * (200 + 150 * (i % 4)) * t) + 0.01 * rng.standard_normal(t.size)
        sf.write(folder / f"clip{i}.wav", wave.astype(np.float32), 24000)
        rows.append({"file_name": f"clip{i}.wav", "text": WORDS[i % 4]})
    (folder / "metadata.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_train_tiny_lm_learns_and_every_generated_span_decodes(tmp_path: Path, codec_dir: Path) -> None:
    pytest.importorskip("accelerate", reason="transformers' Trainer needs accelerate (pip install -e '.[train]')")
    _corpus(tmp_path / "data")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        summary = _script().main(
            [str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--model", str(codec_dir), "--codebooks", "2",
             "--steps", "40", "--hidden", "32", "--max-frames", "20", "--lr", "1e-2"]
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    losses = summary["losses"]
    assert len(losses) >= 4 and np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2]), losses
    assert len(summary["wavs"]) == 4  # one span per prompt, each decoded in strict mode and written
    config = TokenizerConfig.from_pretrained(Path(summary["model"]) / "audiotok_config.json")
    for wav in summary["wavs"]:
        audio, rate = sf.read(wav["path"])
        assert rate == config.output_sampling_rate and 0 < len(audio) <= 20 * 320
