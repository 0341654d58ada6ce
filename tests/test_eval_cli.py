"""`audiotok eval` on a tiny corpus with two fixture codecs: results.json, the table and the plot; bad input."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from audiotok.cli import main
from audiotok.tokenizer import AudioTokenizer

from conftest import clip_of


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    (folder / "nested").mkdir(parents=True)
    sf.write(folder / "a.wav", clip_of(24000, seed=1)[0], 24000)  # 1 s at 24 kHz
    sf.write(folder / "nested" / "b.flac", clip_of(16000, seed=2)[0], 16000)  # 1 s at 16 kHz
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00not really a wav")
    return folder


def test_eval_writes_results_table_and_plot(
    codec_dir: Path, dac_dir: Path, corpus: Path, tmp_path: Path, capsys
) -> None:
    saved = AudioTokenizer.from_pretrained(codec_dir, device="cpu", num_codebooks=4).save_pretrained(tmp_path / "tok")
    demo = shutil.copytree(dac_dir, tmp_path / "dac_demo")  # labelled as the registry labels its demo codecs
    config = json.loads((demo / "config.json").read_text())
    (demo / "config.json").write_text(json.dumps({**config, "audiotok_note": "untrained demo codec"}))
    out = tmp_path / "eval"
    models = ["--model", f"{saved}:label=encodec-4", "--model", f"{demo}:codebooks=2"]
    assert main(["eval", str(corpus), *models, "--out", str(out), "--device", "cpu"]) == 1  # broken.wav skipped
    captured = capsys.readouterr()
    assert f"audiotok: skipped {corpus / 'broken.wav'}: " in captured.err

    results = json.loads((out / "results.json").read_text())
    assert results["corpus"]["clips"] == 2 and [s["path"] for s in results["corpus"]["skipped"]] == [
        str(corpus / "broken.wav")
    ]
    encodec, dac = results["models"]
    assert (encodec["num_codebooks"], dac["num_codebooks"]) == (4, 2)
    # measured ids per second: 4 codebooks x EnCodec's 75 frames/s, 2 x DAC 16 kHz's 50 frames/s (1 s clips)
    assert encodec["ids_per_second"] == pytest.approx(4 * 75) and dac["ids_per_second"] == pytest.approx(2 * 50)
    assert not encodec["untrained"] and encodec["label"] == "encodec-4" and not encodec["note"]  # unlabelled checkpoint
    assert dac["untrained"] and dac["label"].endswith("[untrained]") and "untrained demo codec" in dac["note"]
    assert results["untrained_models"] == [dac["label"]]
    for model in results["models"]:
        assert len(model["clips"]) == 2 and not model["failed"]
        for row in model["clips"]:
            for name in results["metrics"]:
                assert (row[name] is not None and math.isfinite(row[name])) or name in row["problems"]
    assert "UNTRAINED" in results["warning"] and "visqol" in results["unavailable_metrics"]

    table = (out / "table.md").read_text()
    assert table in captured.out
    assert "| model | ids/s |" in table and f"| {dac['label']} |" in table and "WARNING: UNTRAINED" in table
    assert (out / "quality_vs_ids_per_second.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def run_error(args: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("audiotok: error: ") and err.count("\n") == 1
    return err


def test_bad_input_is_one_clear_error(codec_dir: Path, corpus: Path, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = str(tmp_path / "out")
    assert "no audio files" in run_error(["eval", str(empty), "--model", str(codec_dir), "--out", out], capsys)
    bad_option = ["eval", str(corpus), "--model", f"{codec_dir}:rate=2", "--out", out]
    assert "unknown option 'rate'" in run_error(bad_option, capsys)
    unknown = ["eval", str(corpus), "--model", str(tmp_path / "no_such_model"), "--out", out]
    assert "no model could be evaluated" in run_error(unknown, capsys)
    broken_only = ["eval", str(corpus / "broken.wav"), "--model", str(codec_dir), "--out", out]
    assert "no readable clip" in run_error(broken_only, capsys)
    assert not Path(out).exists()  # nothing written for a run that could not start


def test_a_missing_metric_package_names_the_extra(
    codec_dir: Path, corpus: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from audiotok.evaluation import metrics

    monkeypatch.setattr(metrics, "PACKAGES", (*metrics.PACKAGES, "no_such_metric_package"))
    message = run_error(["eval", str(corpus), "--model", str(codec_dir), "--out", str(tmp_path / "o")], capsys)
    assert "no_such_metric_package" in message and "pip install 'audiotok[eval]'" in message
