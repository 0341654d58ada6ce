"""`audiotok eval` with an acoustic BPE: a BPE tokenizer directory as the model, and ``bpe=DIR`` / ``bpe=none``.

BPE is lossless, so the oracle is exact: the same quality as without it, at ids per second lower by the
compression counted here from ``encode`` with and without the BPE.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from audiotok.bpe_training import train_bpe
from audiotok.cli import main
from audiotok.config import TokenizerConfig
from audiotok.evaluation.report import plot_quality
from audiotok.tokenizer import AudioTokenizer

from conftest import clip_of

NUM_CODEBOOKS = 2


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(2):
        wave = clip_of(24000, seed=30 + i)  # 1 s at 24 kHz
        wave[:, 8000:14000] = 0  # a silent stretch, as real corpora have: repeated codes for the BPE to merge
        sf.write(folder / f"c{i}.wav", wave[0], 24000)
    return folder


def ids_count(tokenizer: AudioTokenizer, files: list[Path]) -> int:
    return sum(len(tokenizer.encode(str(f), add_special_tokens=False)) for f in files)


def test_eval_of_a_bpe_tokenizer(codec_dir: Path, corpus: Path, tmp_path: Path, capsys) -> None:
    bpe_dir = tmp_path / "bpe"
    train_bpe(corpus, 2200, model=codec_dir, num_codebooks=NUM_CODEBOOKS, out=bpe_dir)
    num_tokens = TokenizerConfig.from_pretrained(bpe_dir).num_bpe_tokens
    assert num_tokens > 0
    plain_dir = AudioTokenizer.from_pretrained(codec_dir, device="cpu", num_codebooks=NUM_CODEBOOKS).save_pretrained(
        tmp_path / "plain"
    )
    out = tmp_path / "eval"
    models = [
        f"{codec_dir}:codebooks={NUM_CODEBOOKS}:label=plain",
        str(bpe_dir),  # a BPE tokenizer directory as the model
        f"{bpe_dir}:bpe=none",  # the same tokenizer without its BPE
        f"{codec_dir}:codebooks={NUM_CODEBOOKS}:bpe={bpe_dir}:label=applied",  # a BPE applied to another model
        f"{codec_dir}:codebooks=4:bpe={bpe_dir}",  # trained for 2 codebooks: not evaluated
        f"{codec_dir}:bpe={plain_dir}",  # no BPE there: not evaluated
    ]
    args = ["eval", str(corpus), *(a for m in models for a in ("--model", m)), "--out", str(out), "--no-plot"]
    assert main([*args, "--device", "cpu"]) == 1  # two models skipped
    captured = capsys.readouterr()

    results = json.loads((out / "results.json").read_text())
    plain, bpe, dropped, applied = results["models"]
    too_many, no_bpe = results["failed_models"]
    assert "trained on 2 codebooks" in too_many["reason"]
    assert "has no acoustic BPE" in no_bpe["reason"]

    # lossless: every metric of every clip equals the configuration's without the BPE, exactly
    for model in (bpe, dropped, applied):
        assert model["overall"] == plain["overall"]
        for row, reference in zip(model["clips"], plain["clips"], strict=True):
            assert {k: v for k, v in row.items() if k not in ("ids", "ids_per_second")} == {
                k: v for k, v in reference.items() if k not in ("ids", "ids_per_second")
            }
    # ids per second: lower by the compression counted independently with encode
    files = sorted(corpus.glob("*.wav"))
    with_bpe = ids_count(AudioTokenizer.from_pretrained(bpe_dir, device="cpu"), files)
    without = ids_count(AudioTokenizer.from_pretrained(plain_dir, device="cpu"), files)
    assert with_bpe < without
    assert plain["ids_per_second"] == pytest.approx(without / 2.0)  # two 1 s clips
    assert dropped["ids_per_second"] == plain["ids_per_second"]
    for model in (bpe, applied):
        assert model["ids_per_second"] < plain["ids_per_second"]
        assert model["ids_per_second"] / plain["ids_per_second"] == pytest.approx(with_bpe / without, rel=1e-12)

    # every output says which configurations use a BPE
    assert bpe["label"] == f"{bpe_dir} +BPE({num_tokens})" and applied["label"] == f"applied +BPE({num_tokens})"
    assert plain["label"] == "plain" and dropped["label"] == f"{bpe_dir}:bpe=none"
    assert bpe["bpe"]["num_tokens"] == num_tokens and plain["bpe"] is None and dropped["bpe"] is None
    table = (out / "table.md").read_text()
    assert f"| {bpe['label']} |" in table and "+BPE(N): acoustic BPE" in table and table in captured.out
    annotations = {text.get_text() for text in plot_quality(results).axes[0].texts}
    assert {bpe["label"], applied["label"], "plain"} <= annotations


def test_bpe_option_needs_a_value(codec_dir: Path, corpus: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", str(corpus), "--model", f"{codec_dir}:bpe=", "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "bpe= needs a tokenizer directory" in capsys.readouterr().err
