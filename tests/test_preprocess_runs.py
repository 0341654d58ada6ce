"""The dataset job across runs: a changed source, killed parents, progress in a log file, exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from test_preprocess import SCRIPT, job_arguments, write_corpus

from audiotok.cli.preprocess import main as preprocess_main
from audiotok.shards import read_shards, shard_files

from conftest import clip_of


def as_if_killed_before_the_last_shard(out: Path) -> None:
    (out / "manifest.json").unlink()
    shard_files(out)[-1].unlink()


def test_a_changed_source_is_refused_on_resume(codec_dir: Path, tmp_path: Path, capsys) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_corpus(corpus, 6)
    arguments = job_arguments(corpus, out, codec_dir, "--shard-size", "2")
    assert preprocess_main(arguments) == 0
    as_if_killed_before_the_last_shard(out)
    written = {p.name: p.read_bytes() for p in shard_files(out)}
    capsys.readouterr()

    sf.write(corpus / "clip001a.wav", clip_of(12000, seed=50)[0], 24000)  # sorts into the first blocks
    assert preprocess_main(arguments) == 2
    error = capsys.readouterr().err
    assert "the source changed" in error and "6 rows then, 7 now" in error and "new --out" in error
    (corpus / "clip001a.wav").unlink()
    (corpus / "clip002.wav").rename(corpus / "clip002b.wav")  # as many rows, another key
    assert preprocess_main(arguments) == 2
    assert "the same 6 rows, but other keys" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in shard_files(out)} == written  # refused before writing anything

    (corpus / "clip002b.wav").rename(corpus / "clip002.wav")  # the source restored: the job resumes
    assert preprocess_main(arguments) == 0
    keys = read_shards(out)["key"]
    assert sorted(keys) == sorted(str(p.relative_to(corpus)) for p in corpus.rglob("*.wav"))


def children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_decoding_workers_die_with_a_killed_job(codec_dir: Path, tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_corpus(corpus, 40, seconds=1.0)
    command = [sys.executable, str(SCRIPT), *job_arguments(corpus, out, codec_dir, "--shard-size", "2", workers=2)]
    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        workers: list[int] = []
        deadline = time.time() + 120
        while time.time() < deadline and job.poll() is None and not (len(workers) >= 2 and shard_files(out)):
            workers = children_of(job.pid)
            time.sleep(0.05)
        assert len(workers) >= 2 and job.poll() is None, "the kill must land while the workers run"
        os.kill(job.pid, signal.SIGKILL)  # the job alone, as an OOM killer or a scheduler would
        job.wait()
        gone_by = time.time() + 10
        while time.time() < gone_by and any(running(pid) for pid in workers):
            time.sleep(0.1)
        assert [pid for pid in workers if running(pid)] == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job.pid, signal.SIGKILL)  # whatever is left of the process group


def test_progress_lines_in_a_log_and_what_a_rerun_says(codec_dir: Path, tmp_path: Path, capsys) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_corpus(corpus, 6)
    arguments = job_arguments(corpus, out, codec_dir, "--shard-size", "2")
    assert preprocess_main([*arguments, "--progress-every", "0"]) == 0  # stderr is not a terminal here
    printed = capsys.readouterr()
    progress = [line.split(";")[0] for line in printed.err.splitlines() if " rows (" in line]
    assert progress == ["rank 0: 2/6 rows (33%)", "rank 0: 4/6 rows (67%)", "rank 0: 6/6 rows (100%)"]
    assert "this run: 3 shards, 6 clips encoded" in printed.out

    as_if_killed_before_the_last_shard(out)
    assert preprocess_main(arguments) == 0
    printed = capsys.readouterr()
    assert "resuming: 2 of 3 shards already done (4 of 6 rows); 2 rows to go" in printed.err
    assert "rank 0: 6/6 rows (100%); this run: 2 encoded" in printed.err  # the final line, whatever the period
    assert "this run: 1 shards, 2 clips encoded" in printed.out and "in total: 6 clips encoded" in printed.out

    assert preprocess_main(arguments) == 0
    printed = capsys.readouterr()
    assert "already complete: all 3 shards (6 rows) were written before" in printed.err
    assert "already complete: this run encoded nothing; the output holds 6 clips encoded" in printed.out
    assert json.loads((out / "manifest.json").read_text())["this_run"]["encoded"] == 0


def test_duration_filters_skip_without_failing(codec_dir: Path, tmp_path: Path, capsys) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_corpus(corpus, 2)
    sf.write(corpus / "long.wav", clip_of(24000 * 3)[0], 24000)
    assert preprocess_main(job_arguments(corpus, out, codec_dir, "--max-duration", "2")) == 0  # a filter, not a failure
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["encoded"], manifest["failed"], manifest["skipped"]) == (2, 0, 1)
    assert manifest["failures"] == [] and manifest["skips"][0]["key"] == "long.wav"
    assert "  skipped: long.wav: duration 3.00 s outside [0.0, 2.0] s" in capsys.readouterr().out
    assert sorted(read_shards(out)["key"]) == ["clip001.wav", "nested/clip000.wav"]
    everything = read_shards(out, include_failures=True)
    reasons = [row["skipped"] for row in everything if row["key"] == "long.wav"]
    assert reasons == ["duration 3.00 s outside [0.0, 2.0] s"]

    (corpus / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    assert preprocess_main(job_arguments(corpus, tmp_path / "out2", codec_dir)) == 1  # a failed clip: exit 1
    assert np.isin(["clip001.wav"], read_shards(tmp_path / "out2")["key"]).all()  # the rest is written


def test_another_encoder_count_resumes_a_full_disk_leaves_no_shard_and_old_folders_are_adopted(
    codec_dir: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    import errno

    import pyarrow.parquet as pq

    from audiotok.job import output as output_module

    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_corpus(corpus, 7)
    first = job_arguments(corpus, out, codec_dir, "--shard-size", "2", "--encoders", "2", "--threads", "1")
    assert preprocess_main(first) == 0
    finished = {p.name: pq.read_table(p).to_pylist() for p in shard_files(out)}
    capsys.readouterr()

    (out / "shard-000001.parquet").unlink()  # as if killed part-way; resumed with another number of encoders
    written = []

    def disk_full(table, where, filesystem=None) -> None:  # the first shard write fills the disk half-way
        Path(where).write_bytes(b"PAR1 half")
        written.append(where)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output_module.pq, "write_table", disk_full)
    assert preprocess_main(job_arguments(corpus, out, codec_dir, "--shard-size", "2", "--encoders", "1")) == 2
    assert "cannot write" in capsys.readouterr().err and written
    assert not (out / "shard-000001.parquet").exists() and not list(out.glob(".*partial"))
    monkeypatch.undo()
    assert preprocess_main(job_arguments(corpus, out, codec_dir, "--shard-size", "2", "--encoders", "1")) == 0
    assert {p.name: pq.read_table(p).to_pylist() for p in shard_files(out)} == finished

    run = json.loads((out / "run.json").read_text())  # a folder written by the earlier, rank-named version
    (out / "run.json").write_text(json.dumps({**run, "world_size": 1}))
    for p in shard_files(out):
        p.rename(out / f"rank000-shard{p.name[6:]}")
    (out / "rank000-shard000003.parquet").unlink()
    assert preprocess_main(first) == 0  # one rank: its blocks are the global ones, renamed and resumed
    assert {p.name: pq.read_table(p).to_pylist() for p in shard_files(out)} == finished

    (out / "run.json").write_text(json.dumps({**run, "world_size": 2}))
    (out / "shard-000000.parquet").rename(out / "rank001-shard000000.parquet")
    assert preprocess_main(first) == 2
    error = capsys.readouterr().err
    assert "earlier audiotok with 2 ranks" in error and "new --out" in error
