"""Streamed sources: WebDataset tar shards and streaming Hugging Face datasets, resumed, with bad input."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from test_preprocess import job_arguments as folder_job_arguments

from audiotok import stream_sources
from audiotok.cli.preprocess import main as preprocess_main
from audiotok.cli.preprocess import options_from_args
from audiotok.job import Options, run
from audiotok.job import streamed as streamed_module
from audiotok.shards import read_shards, shard_files

from conftest import clip_of

RATES = (16000, 24000, 44100)


def job_arguments(source: Path | str, out: Path, codec_dir: Path, *extra: str) -> list[str]:
    """A small CPU run in one process (one encoder: no processes to start)."""
    return folder_job_arguments(source, out, codec_dir, "--encoders", "1", "--threads", "1", *extra)


def clip_bytes(i: int, fmt: str = "WAV") -> bytes:
    """Clip ``i`` as a file's bytes (0.3-0.5 s at 16/24/44.1 kHz)."""
    rate = RATES[i % 3]
    wave = clip_of(int((0.3 + 0.05 * i) * 24000), seed=i)[0]
    buffer = io.BytesIO()
    sf.write(buffer, wave[: int(len(wave) * rate / 24000)], rate, format=fmt)
    return buffer.getvalue()


def write_tar(path: Path, samples: list[tuple[str, dict[str, bytes]]]) -> None:
    """A WebDataset shard: members ``{key}.{suffix}``, each sample's members together."""
    with tarfile.open(path, "w") as tar:
        for key, members in samples:
            for suffix, data in members.items():
                info = tarfile.TarInfo(f"{key}.{suffix}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def sample(i: int, fmt: str = "wav") -> tuple[str, dict[str, bytes]]:
    return f"utt{i:03d}", {fmt: clip_bytes(i, fmt.upper()), "txt": f"words {i}".encode()}


def tar_corpus(folder: Path, per_tar: list[list[int]], fmt: str = "wav") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for t, clips in enumerate(per_tar):
        paths.append(folder / f"shard-{t:06d}.tar")
        write_tar(paths[-1], [sample(i, fmt) for i in clips])
    return paths


def codes_by_key(out: Path) -> dict[str, list]:
    rows = read_shards(out)
    return dict(zip(rows["key"], rows["codes"]))


def test_tar_shards_write_the_folders_codes_in_stream_order_with_text(codec_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    for i in range(5):
        (folder / f"utt{i:03d}.wav").write_bytes(clip_bytes(i))
    tar_corpus(tmp_path / "tars", [[0, 1, 2], [3, 4]])
    pattern = str(tmp_path / "tars" / "shard-{000000..000001}.tar")
    assert preprocess_main(job_arguments(folder, tmp_path / "from_folder", codec_dir, "--shard-size", "2")) == 0
    out = tmp_path / "from_tars"
    assert preprocess_main(job_arguments(pattern, out, codec_dir, "--shard-size", "2", "--keep-columns", "text")) == 0

    names = ["shard-000000.tar/utt000", "shard-000000.tar/utt001", "shard-000000.tar/utt002",
             "shard-000001.tar/utt003", "shard-000001.tar/utt004"]  # fmt: skip
    blocks = [pq.read_table(p, columns=["key", "text"]).to_pylist() for p in shard_files(out)]
    assert [[r["key"] for r in block] for block in blocks] == [names[0:2], names[2:4], names[4:]]
    assert [r["text"] for block in blocks for r in block] == [f"words {i}" for i in range(5)]
    folder_codes = codes_by_key(tmp_path / "from_folder")
    assert codes_by_key(out) == {name: folder_codes[f"utt{i:03d}.wav"] for i, name in enumerate(names)}
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["rows"], manifest["encoded"], manifest["shards"]) == (5, 5, 3)

    listed = job_arguments(tmp_path / "tars" / "shard-000000.tar", tmp_path / "listed", codec_dir, "--shard-size", "2")
    assert preprocess_main([*listed[:1], str(tmp_path / "tars" / "shard-000001.tar"), *listed[1:]]) == 0  # a list
    assert codes_by_key(tmp_path / "listed") == codes_by_key(out)


def test_a_stopped_run_resumes_without_reading_done_blocks_and_a_changed_stream_is_refused(
    codec_dir: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    tars = tar_corpus(tmp_path / "tars", [[0, 1, 2], [3, 4, 5, 6]])
    out = tmp_path / "out"
    options = options_from_args(_parsed(job_arguments(str(tmp_path / "tars" / "shard-{000000..000001}.tar"), out,
                                                      codec_dir, "--shard-size", "2")))  # fmt: skip

    class Stop(Exception):
        pass

    def stop_after_one_shard(state) -> None:
        if state.event == "shard":
            raise Stop

    with pytest.raises(Stop):
        run(options, progress=stop_after_one_shard)
    assert [p.name for p in shard_files(out)] == ["shard-000000.parquet"]
    first = (out / "shard-000000.parquet").read_bytes()

    read, decoded = [], []
    real_read, real_decode = stream_sources._read, streamed_module.decode_row
    monkeypatch.setattr(stream_sources, "_read", lambda tar, info: read.append(info.name) or real_read(tar, info))
    monkeypatch.setattr(
        streamed_module, "decode_row", lambda i, row, **a: decoded.append(row["key"]) or real_decode(i, row, **a)
    )
    manifest = run(options)
    assert manifest["encoded"] == 7 and manifest["this_run"]["shards"] == 3
    assert not {"utt000.wav", "utt001.wav", "utt000.txt", "utt001.txt"} & set(read)  # block 0: no byte read
    assert sorted(decoded) == [f"shard-00000{t}.tar/utt{i:03d}" for t, i in ((0, 2), (1, 3), (1, 4), (1, 5), (1, 6))]
    assert (out / "shard-000000.parquet").read_bytes() == first
    keys = read_shards(out)["key"]
    assert len(keys) == 7 and len(set(keys)) == 7
    monkeypatch.undo()

    arguments = job_arguments(
        str(tmp_path / "tars" / "shard-{000000..000001}.tar"), out, codec_dir, "--shard-size", "2"
    )
    tars[0].write_bytes(tars[0].read_bytes().replace(b"utt001.wav", b"uttXYZ.wav"))  # same size, another key
    assert preprocess_main(arguments) == 2
    assert "block 0 of the stream now holds other samples" in capsys.readouterr().err
    write_tar(tars[1], [sample(i) for i in (3, 4, 5, 6, 7)])  # a sample more: another size
    assert preprocess_main(arguments) == 2
    assert "the source changed" in capsys.readouterr().err


def _parsed(arguments: list[str]):
    import argparse

    from audiotok.cli.preprocess import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(arguments)


def test_corrupt_tar_missing_audio_and_duplicate_keys(codec_dir: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "tars"
    tar_corpus(folder, [[0, 1], [2, 3, 4], [5]], fmt="flac")
    truncated = folder / "shard-000001.tar"
    whole = truncated.read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])  # cut inside the second of its three samples
    write_tar(folder / "shard-000002.tar", [("noaudio", {"txt": b"only words"}), sample(5, "flac")])
    out = tmp_path / "out"
    pattern = str(folder / "shard-{000000..000002}.tar")
    assert (
        preprocess_main(job_arguments(pattern, out, codec_dir, "--shard-size", "2")) == 1
    )  # failures, the rest written
    manifest = json.loads((out / "manifest.json").read_text())
    reasons = {f["key"]: f["error"] for f in manifest["failures"]}
    assert set(reasons) == {"shard-000001.tar", "shard-000002.tar/noaudio"}
    assert reasons["shard-000001.tar"].startswith("unreadable tar after 1 samples")
    assert (
        reasons["shard-000002.tar/noaudio"].startswith("no audio member")
        and "txt" in reasons["shard-000002.tar/noaudio"]
    )
    assert sorted(read_shards(out)["key"]) == ["shard-000000.tar/utt000", "shard-000000.tar/utt001",
                                               "shard-000001.tar/utt002", "shard-000002.tar/utt005"]  # fmt: skip

    write_tar(folder / "dup.tar", [sample(0), sample(1), ("utt000", {"wav": clip_bytes(2)})])
    assert preprocess_main(job_arguments(folder / "dup.tar", tmp_path / "dup", codec_dir)) == 2
    assert "duplicate key 'utt000'" in capsys.readouterr().err
    assert preprocess_main(job_arguments(folder / "dup.tar", tmp_path / "ray", codec_dir, "--engine", "ray")) == 2
    assert "--engine ray does not take a streamed source" in capsys.readouterr().err


def test_a_streaming_dataset_writes_the_listed_datasets_shards(codec_dir: Path, tmp_path: Path) -> None:
    audio = [{"bytes": clip_bytes(i, "FLAC"), "path": None} for i in range(5)]
    dataset = datasets.Dataset.from_dict({"audio": audio, "text": [f"words {i}" for i in range(5)]})
    dataset = dataset.cast_column("audio", datasets.Audio(decode=False))
    dataset.save_to_disk(str(tmp_path / "listed"))
    (tmp_path / "parquet").mkdir()
    for part in range(2):
        dataset.shard(2, part, contiguous=True).to_parquet(str(tmp_path / "parquet" / f"train-{part}.parquet"))
    same = ("--shard-size", "2", "--keep-columns", "text")
    assert preprocess_main(job_arguments(tmp_path / "listed", tmp_path / "a", codec_dir, *same)) == 0
    streamed = job_arguments(tmp_path / "parquet", tmp_path / "b", codec_dir, *same, "--streaming")
    assert preprocess_main(streamed) == 0
    columns = ["key", "text", "codes", "num_frames", "error"]
    listed = [pq.read_table(p, columns=columns).to_pylist() for p in shard_files(tmp_path / "a")]
    assert [pq.read_table(p, columns=columns).to_pylist() for p in shard_files(tmp_path / "b")] == listed
    run_file = json.loads((tmp_path / "b" / "run.json").read_text())
    assert run_file["source_stream"]["kind"] == "hub" and len(run_file["source_stream"]["files"]) == 2
    assert isinstance(Options(source="x", out="y").streaming, bool)
