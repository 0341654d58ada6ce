"""The Ray Data engine on a local Ray: the local engine's shards, a killed actor, a killed driver, bad output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_preprocess import job_arguments, write_corpus
from test_preprocess_runs import running

from audiotok.cli.preprocess import main as preprocess_main
from audiotok.shards import read_shards, shard_files

ray = pytest.importorskip("ray")

SHARD_COLUMNS = ["key", "error", "skipped", "duration", "num_frames", "codes"]


@pytest.fixture(scope="module")
def ray_address() -> str:
    """One local Ray for the module (2 CPUs); the engine joins it instead of starting its own."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def shards_of(out: Path) -> dict[str, list[dict]]:
    return {p.name: pq.read_table(p, columns=SHARD_COLUMNS).to_pylist() for p in shard_files(out)}


def encoding_actors() -> list[int]:
    """Pids of this machine's Ray encoding actors (their process title names the callable class)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("ray::") and "EncodeBlocks" in title:
            found.append(int(cmdline.parent.name))
    return found


def test_ray_writes_the_local_engines_shards_and_refuses_unwritable_output(
    ray_address: str, codec_dir: Path, tmp_path: Path, capsys
) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 7)
    (corpus / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    same = ("--shard-size", "3", "--threads", "1")
    local = job_arguments(corpus, tmp_path / "local", codec_dir, *same, "--encoders", "1")
    assert preprocess_main(local) == 1  # the corrupt file failed; the rest is written
    on_ray = job_arguments(corpus, tmp_path / "ray", codec_dir, *same, "--engine", "ray", "--encoders", "2")
    assert preprocess_main(on_ray) == 1
    printed = capsys.readouterr()
    assert "ray: 2 encoding actor(s) on cpu" in printed.err and "this run: 3 shards, 7 clips encoded" in printed.out
    assert "corrupt.wav" in printed.out
    assert shards_of(tmp_path / "ray") == shards_of(tmp_path / "local")  # same blocks, keys, codes, failures

    (tmp_path / "a-file").write_text("")
    assert preprocess_main(job_arguments(corpus, tmp_path / "a-file" / "out", codec_dir, "--engine", "ray")) == 2
    assert "audiotok: error: cannot create the output folder" in capsys.readouterr().err

    out = tmp_path / "ray"
    (out / "manifest.json").unlink()
    (out / "shard-000001.parquet").unlink()
    (out / "shard-000001.parquet").mkdir()  # the shard's name cannot be written: the actor's write fails
    assert preprocess_main(on_ray) == 2
    error = capsys.readouterr().err
    assert "audiotok: error: cannot write" in error and "shard-000001.parquet" in error
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no partial file left behind
    assert [p.name for p in shard_files(out) if p.is_file()] == ["shard-000000.parquet", "shard-000002.parquet"]


def test_a_killed_encoding_actor_loses_and_repeats_nothing(ray_address: str, codec_dir: Path, tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_corpus(corpus, 24, seconds=1.0)
    arguments = job_arguments(corpus, out, codec_dir, "--shard-size", "2", "--engine", "ray", "--encoders", "1")
    status: list[int] = []
    job = threading.Thread(target=lambda: status.append(preprocess_main(arguments)))
    job.start()
    killed = None
    deadline = time.time() + 300
    while time.time() < deadline and job.is_alive() and killed is None:
        actors = encoding_actors()
        if actors and len(shard_files(out)) >= 2:
            killed = actors[0]
            os.kill(killed, signal.SIGKILL)  # as the OOM killer would
        time.sleep(0.05)
    written_at_kill = len(shard_files(out))
    job.join(600)
    assert killed is not None and 2 <= written_at_kill < 12, "the kill must land part-way to mean anything"
    assert not running(killed)
    assert status == [0]
    keys = read_shards(out)["key"]
    assert sorted(keys) == sorted(str(p.relative_to(corpus)) for p in corpus.rglob("*.wav"))  # each clip once


def test_a_killed_driver_resumes_on_a_cluster_joined_by_address(
    ray_address: str, codec_dir: Path, tmp_path: Path
) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_corpus(corpus, 24, seconds=1.0)
    arguments = job_arguments(corpus, out, codec_dir, "--shard-size", "2", "--engine", "ray", "--encoders", "1")
    command = [sys.executable, "-m", "audiotok.cli", "preprocess", *arguments, "--ray-address", ray_address]
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(shard_files(out)) < 2 and driver.poll() is None:
        time.sleep(0.05)
    driver.kill()  # the driver alone: the cluster it joined lives on
    driver.wait()
    written_at_kill = len(shard_files(out))
    assert 2 <= written_at_kill < 12, "the kill must land part-way for this test to mean anything"
    assert not (out / "manifest.json").exists()
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming:" in done.stderr
    keys = read_shards(out)["key"]
    assert len(keys) == 24 and len(set(keys)) == 24
