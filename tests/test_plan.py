"""The job's execution plan: defaults per device, overrides, encoder processes that change no code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from audiotok.codecs.demo_tools import synthetic_audio
from audiotok.codecs.registry import load_codec
from audiotok.plan import keep_freed_memory, plan_for
from audiotok.preprocess import Options, run
from audiotok.workers import EncoderPool, balanced_groups

from conftest import assert_same_codes_up_to_ties


def test_cpu_runs_one_single_thread_encoder_per_core() -> None:
    plan = plan_for("cpu", cores=2)
    assert (plan.encoders, plan.threads, plan.batch_seconds, plan.keep_freed_memory) == (2, 1, 16.0, True)
    assert plan_for("cpu", cores=8, encoders=2).threads == 4  # the cores shared among the encoders
    assert plan_for("cpu", cores=2, encoders=1, threads=2, batch_seconds=64.0).batch_seconds == 64.0


def test_gpu_runs_one_encoder_on_big_batches_fed_by_decoders() -> None:
    plan = plan_for("cuda:0", cores=16)
    assert (plan.encoders, plan.batch_seconds, plan.decode_workers, plan.keep_freed_memory) == (1, 256.0, 8, False)
    assert plan_for("cuda", cores=2, decode_workers=0).decode_workers == 0


def test_glibc_can_be_told_to_keep_freed_memory() -> None:
    assert keep_freed_memory()  # Linux with glibc, as CI and our machines are


@pytest.mark.parametrize("count, groups", [(7, 2), (1, 3), (5, 5), (0, 2)])
def test_groups_hold_every_clip_once_and_about_equal_audio(count: int, groups: int) -> None:
    lengths = [int(x) for x in np.random.default_rng(count).integers(100, 10_000, count)]
    split = balanced_groups(lengths, groups)
    assert sorted(i for group in split for i in group) == list(range(count))
    totals = [sum(lengths[i] for i in group) for group in split]
    if len(totals) > 1:
        assert max(totals) - min(totals) <= max(lengths)


def test_encoder_processes_give_the_codes_of_one_process(codec_dir: Path) -> None:
    codec = load_codec(codec_dir, device="cpu")
    waves = [synthetic_audio(s, 24000, seed=i) for i, s in enumerate([0.3, 1.7, 0.9, 2.2, 0.05])]
    alone = [codec.encode(w, 8).codes.numpy() for w in waves]
    with EncoderPool(str(codec_dir), plan_for("cpu", cores=2)) as pool:
        pooled = pool.encode_batch(waves, 8, 16.0)
    for wave, item, expected in zip(waves, pooled, alone):  # equal up to float near-ties (thread counts differ)
        assert_same_codes_up_to_ties(codec.model, wave, np.asarray(item.codes), expected)


def test_the_job_writes_the_same_codes_with_any_plan(codec_dir: Path, tmp_path: Path) -> None:
    import soundfile as sf

    source = tmp_path / "audio"
    source.mkdir()
    for i, seconds in enumerate([0.4, 1.3, 0.8, 2.0]):
        sf.write(source / f"c{i}.wav", synthetic_audio(seconds, 24000, seed=40 + i)[0], 24000, subtype="FLOAT")

    def codes(out: str, **plan: int) -> dict[str, list]:
        run(Options(source=str(source), out=str(tmp_path / out), model=str(codec_dir), device="cpu", **plan))
        table = pq.read_table(next((tmp_path / out).glob("*.parquet")), columns=["key", "codes"]).to_pylist()
        return {row["key"]: row["codes"] for row in table}

    pooled = codes("pooled", encoders=2, num_workers=0)
    single = codes("single", encoders=1, threads=1, num_workers=0, batch_seconds=64)
    assert pooled == single and len(pooled) == 4
