"""The `audiotok` command loses no file: output names, config refusal, skip-and-report, config-only info."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import tomllib

from audiotok.cli import main
from audiotok.codecs.encodec.demo import encodec_48khz_config
from audiotok.config import CONFIG_NAME
from audiotok.tokenizer import AudioTokenizer

from conftest import SAMPLING_RATE, clip_of

ROOT = Path(__file__).resolve().parents[1]
CPU = ["--device", "cpu"]


def _exit_code(argv: list[str]) -> int:
    """main's exit code, whether returned (0, 1) or raised (2)."""
    try:
        return main(argv)
    except SystemExit as exited:
        return int(exited.code or 0)


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("loaded codec weights")


@pytest.fixture()
def no_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to load codec weights fails the test."""
    monkeypatch.setattr("audiotok.codecs.registry.load_codec", _refuse)
    monkeypatch.setattr("transformers.EncodecModel.from_pretrained", _refuse)


@pytest.fixture()
def id_folder(codec_dir: Path, tmp_path: Path) -> Path:
    """ids/ with audiotok_config.json (6 kbps, 8 codebooks) and good.npy: 5 frames of random codes."""
    tokenizer = AudioTokenizer.from_pretrained(codec_dir, device="cpu")
    folder = tmp_path / "ids"
    tokenizer.config.save_pretrained(folder)
    codes = np.random.default_rng(0).integers(0, 1024, size=(8, 5))
    np.save(folder / "good.npy", tokenizer.codes_to_ids(codes))
    return folder


# -- encode: output names and the count ------------------------------------------------------------------


def test_same_names_in_sub_folders_stay_apart(codec_dir: Path, tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    for sub, samples in (("sub1", 2400), ("sub2", 4800)):  # 0.1 s and 0.2 s
        (data / sub).mkdir(parents=True)
        sf.write(data / sub / "same.wav", clip_of(samples, seed=len(sub) + samples)[0], SAMPLING_RATE)
    out = tmp_path / "ids"
    assert main(["encode", str(data), "--model", str(codec_dir), "--out", str(out), *CPU]) == 0
    assert len(np.load(out / "sub1" / "same.npy")) == 8 * 8 + 2  # 0.1 s = 7.5 -> 8 frames of 8 codebooks
    assert len(np.load(out / "sub2" / "same.npy")) == 8 * 15 + 2
    assert f"wrote 2 id files and {CONFIG_NAME}" in capsys.readouterr().out

    assert main(["decode", str(out), "--out", str(tmp_path / "wav"), *CPU]) == 0  # a folder of id files
    assert sf.info(tmp_path / "wav" / "sub1" / "same.wav").frames == 8 * 320
    assert sf.info(tmp_path / "wav" / "sub2" / "same.wav").frames == 15 * 320
    assert "wrote 2 wav files" in capsys.readouterr().out


def test_two_inputs_for_one_output_name_are_refused(codec_dir: Path, tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    data.mkdir()
    sf.write(data / "a.wav", clip_of(2400, seed=1)[0], SAMPLING_RATE)
    sf.write(data / "a.flac", clip_of(4800, seed=2)[0], SAMPLING_RATE)
    out = tmp_path / "ids"
    assert _exit_code(["encode", str(data), "--model", str(codec_dir), "--out", str(out), *CPU]) == 2
    err = capsys.readouterr().err
    assert err.startswith("audiotok: error: ") and "a.flac" in err and "a.wav" in err and str(out / "a.npy") in err
    assert not out.exists()  # refused before anything was written


def test_encode_reads_every_suffix_preprocess_reads(codec_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    sf.write(tmp_path / "data" / "voice.opus", clip_of(4800)[0], 48000, format="OGG", subtype="OPUS")
    out = tmp_path / "ids"
    assert main(["encode", str(tmp_path / "data"), "--model", str(codec_dir), "--out", str(out), *CPU]) == 0
    assert (out / "voice.npy").exists()


def test_encode_refuses_an_out_made_with_other_settings(codec_dir: Path, tmp_path: Path, capsys) -> None:
    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, clip_of(2400, seed=len(name))[0], SAMPLING_RATE)
    out = tmp_path / "ids"
    encode = ["encode", "--model", str(codec_dir), "--out", str(out), *CPU]
    assert main([*encode, str(tmp_path / "a.wav"), "--bandwidth", "1.5"]) == 0
    config_text = (out / CONFIG_NAME).read_text()
    capsys.readouterr()

    assert _exit_code([*encode, str(tmp_path / "b.wav"), "--bandwidth", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("audiotok: error: ") and "num_codebooks 2 there, 4 now" in err
    assert len(err.strip().splitlines()) == 1
    assert (out / CONFIG_NAME).read_text() == config_text and not (out / "b.npy").exists()

    assert main([*encode, str(tmp_path / "b.wav"), "--bandwidth", "1.5"]) == 0  # same settings: adds the file
    assert len(np.load(out / "a.npy")) == len(np.load(out / "b.npy")) == 2 * 8 + 2  # 2 codebooks at 1.5 kbps


# -- decode: skip and report, folders, where the wavs go ----------------------------------------------------


def _malformed_files(folder: Path) -> list[Path]:
    """Id files that are broken in the ways a user meets: each must be skipped with its reason."""
    pickled = folder / "pickled.npy"
    np.save(pickled, np.array([1, "x"], dtype=object), allow_pickle=True)
    (folder / "empty.json").write_text("")
    (folder / "no_ids.json").write_text(json.dumps({"source": "x.wav", "layout": "interleaved"}))
    (folder / "words.json").write_text(json.dumps({"ids": ["one", "two"]}))
    (folder / "truncated.npy").write_bytes((folder / "good.npy").read_bytes()[:90])
    archive = io.BytesIO()
    np.savez(archive, ids=np.arange(3))
    (folder / "archive.npy").write_bytes(archive.getvalue())
    (folder / "pickle.npy").write_bytes(pickle.dumps([1, 2, 3]))
    names = ("empty.json", "no_ids.json", "words.json", "truncated.npy", "archive.npy", "pickle.npy")
    return [pickled, *(folder / name for name in names)]


def test_decode_skips_malformed_files_and_writes_the_rest(id_folder: Path, tmp_path: Path, capsys) -> None:
    bad = _malformed_files(id_folder)
    (id_folder / "good2.json").write_text(json.dumps({"ids": np.load(id_folder / "good.npy").tolist()}))
    wav = tmp_path / "wav"
    files = [*map(str, bad), str(id_folder / "good.npy"), str(id_folder / "good2.json")]
    assert _exit_code(["decode", *files, "--out", str(wav), *CPU]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    for path in bad:
        assert f"audiotok: skipped {path}: " in captured.err
    assert captured.err.count("audiotok: ") == len(bad)
    assert sf.info(wav / "good.wav").frames == sf.info(wav / "good2.wav").frames == 5 * 320
    assert f"wrote 2 wav files, skipped {len(bad)}" in captured.out

    (id_folder / "good.json").write_text((id_folder / "good2.json").read_text())
    assert _exit_code(["decode", str(id_folder), "--out", str(tmp_path / "all"), *CPU]) == 2  # good.npy, good.json
    assert "would both be written to" in capsys.readouterr().err and not (tmp_path / "all").exists()


def test_decode_without_out_writes_beside_each_id_file(
    id_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["decode", str(id_folder / "good.npy"), *CPU]) == 0
    assert sf.info(id_folder / "good.wav").frames == 5 * 320 and list(elsewhere.iterdir()) == []

    (id_folder / "sub").mkdir()
    (id_folder / "good.npy").rename(id_folder / "sub" / "clip.npy")  # the config is one folder up
    assert main(["decode", str(id_folder / "sub" / "clip.npy"), *CPU]) == 0
    assert sf.info(id_folder / "sub" / "clip.wav").frames == 5 * 320 and list(elsewhere.iterdir()) == []


def test_decode_skips_a_file_without_config(id_folder: Path, tmp_path: Path, capsys) -> None:
    lone = tmp_path / "lone"
    lone.mkdir()
    (id_folder / "good.npy").rename(lone / "clip.npy")
    np.save(id_folder / "ok.npy", np.load(lone / "clip.npy"))
    assert _exit_code(["decode", str(lone / "clip.npy"), str(id_folder / "ok.npy"), *CPU]) == 1
    err = capsys.readouterr().err
    assert f"audiotok: skipped {lone / 'clip.npy'}: no {CONFIG_NAME}" in err and "--model" in err
    assert (id_folder / "ok.wav").exists()


# -- inspect reads with the same reader --------------------------------------------------------------------


def test_inspect_rejects_binary_and_archive_files_in_one_line(tmp_path: Path, capsys) -> None:
    sf.write(tmp_path / "clip.wav", clip_of(2400)[0], SAMPLING_RATE)
    archive = io.BytesIO()
    np.savez(archive, ids=np.arange(3))
    (tmp_path / "archive.npy").write_bytes(archive.getvalue())
    for path in (tmp_path / "clip.wav", tmp_path / "archive.npy"):
        assert _exit_code(["inspect", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"audiotok: error: {path}: ") and len(err.strip().splitlines()) == 1


# -- info, --version -----------------------------------------------------------------------------------------


def _rate_rows(text: str) -> dict[float, list[int]]:
    """kbps -> [codebooks, ids/s per layout] from info's table (columns: codebooks, kbps, one per layout)."""
    table = text.split("ids per second of audio")[1].splitlines()[2:]
    rows = [row.split() for row in table if row.strip()]
    return {float(cols[1]): [int(cols[0]), *(int(float(v)) for v in cols[2:])] for cols in rows}


def test_info_reads_the_config_alone(no_weights: None, codec_dir: Path, capsys) -> None:
    # EnCodec 24 kHz: 75 frames/s of 10-bit codes, so b kbps use b * 1000 / 750 codebooks
    known = {1.5: 2, 3.0: 4, 6.0: 8, 12.0: 16, 24.0: 32}
    assert main(["info", "--model", str(ROOT / "configs" / "encodec_24khz_3kbps.json")]) == 0
    text = capsys.readouterr().out
    assert "4 codebooks (3 kbps)" in text
    # layouts in LAYOUTS order: interleaved, flattened, delayed use every codebook; first_codebook one
    assert _rate_rows(text) == {b: [k, 75 * k, 75 * k, 75 * k, 75] for b, k in known.items()}

    assert main(["info", "--model", str(codec_dir)]) == 0  # an EnCodec directory: its config.json only
    assert _rate_rows(capsys.readouterr().out)[24.0][:2] == [32, 2400]


def test_info_for_a_hub_id_reads_only_its_config(no_weights: None, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    asked = []

    def config_only(name: str, *args: object, **kwargs: object) -> object:
        asked.append(name)
        return encodec_48khz_config().to_dict(), {}

    monkeypatch.setattr("transformers.PretrainedConfig.get_config_dict", config_only)
    monkeypatch.setattr("audiotok.codecs.registry.checkpoint_source", lambda name: (name, {}))  # as if online
    assert main(["info", "--model", "facebook/encodec_48khz"]) == 0
    rows = _rate_rows(capsys.readouterr().out)
    assert asked == ["facebook/encodec_48khz"]
    assert {b: row[0] for b, row in rows.items()} == {3.0: 2, 6.0: 4, 12.0: 8, 24.0: 16}  # 150 frames/s x 10 bits


def test_version(capsys) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.strip() == f"audiotok {version}"


def test_decode_reads_a_json_file_in_the_layout_it_records(id_folder: Path, capsys) -> None:
    config = json.loads((id_folder / CONFIG_NAME).read_text())
    assert config["layout"] == "interleaved" and config["vocab_offset"] == 0
    start, end = config["special_token_ids"]["audio_start"], config["special_token_ids"]["audio_end"]
    # first_codebook: one codebook-0 code (ids 0..1023) per frame; 5 ids are no whole interleaved frame of 8
    record = {"layout": "first_codebook", "ids": [start, 1, 2, 3, 4, 5, end]}
    (id_folder / "coarse.json").write_text(json.dumps(record))
    assert main(["decode", str(id_folder / "coarse.json"), *CPU]) == 0
    assert sf.info(id_folder / "coarse.wav").frames == 5 * 320
