"""The dataset job: folders, manifests and datasets directories to shards; bad rows; kill and resume; torchrun."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import pytest
import soundfile as sf

from audiotok import AudioTokenizer
from audiotok.cli.preprocess import main as preprocess_main
from audiotok.errors import AudiotokError
from audiotok.shards import load_token_dataset, read_shards, shard_files
from audiotok.sources import open_source

from conftest import assert_same_codes_up_to_ties, clip_of

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "preprocess_dataset.py"


def job_arguments(source: Path | str, out: Path, codec_dir: Path, *extra: str, workers: int = 0) -> list[str]:
    """The job's arguments for a small CPU run on the fixture codec, plus ``extra`` options."""
    return [str(source), "--out", str(out), "--model", str(codec_dir), "--device", "cpu",
            "--num-workers", str(workers), *extra]  # fmt: skip


def write_corpus(folder: Path, clips: int, seconds: float = 0.6) -> None:
    (folder / "nested").mkdir(parents=True, exist_ok=True)
    for i in range(clips):
        where = folder / "nested" if i % 3 == 0 else folder
        rate = (16000, 24000, 44100)[i % 3]
        wave = clip_of(int((seconds + 0.05 * i) * 24000), seed=i)[0]
        sf.write(where / f"clip{i:03d}.wav", wave[: int(len(wave) * rate / 24000)], rate)


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    write_corpus(folder, 9)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    sf.write(folder / "empty.wav", np.zeros(0, np.float32), 16000)
    sf.write(folder / "nan.wav", np.full(2400, np.nan, np.float32), 24000, subtype="FLOAT")
    sf.write(folder / "too_long.wav", clip_of(24000 * 3)[0], 24000)
    return folder


def test_folder_to_shards_with_bad_rows(corpus: Path, codec_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    args = job_arguments(corpus, out, codec_dir, "--shard-size", "4", "--max-duration", "2.5", "--write-ids", workers=1)
    assert preprocess_main(args) == 1  # some clips failed; the others are written
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["rows"], manifest["encoded"], manifest["failed"], manifest["skipped"]) == (13, 9, 3, 1)
    reasons = {f["key"]: f["error"] for f in manifest["failures"]}
    assert sorted(reasons) == ["corrupt.wav", "empty.wav", "nan.wav"]
    assert "empty" in reasons["empty.wav"] and "NaN" in reasons["nan.wav"]
    assert manifest["skips"] == [{"key": "too_long.wav", "reason": "duration 3.00 s outside [0.0, 2.5] s"}]
    assert (out / "audiotok_config.json").exists() and len(shard_files(out)) == 4
    tokenizer = AudioTokenizer.from_pretrained(codec_dir, device="cpu")
    rows = read_shards(out)
    assert len(rows) == 9
    for row in rows:
        path = corpus / row["key"]
        wave = tokenizer.load(path)
        expected = tokenizer.codec.encode(wave, 8).codes
        assert_same_codes_up_to_ties(tokenizer.codec.model, wave, row["codes"], expected)  # batching changed nothing
        assert np.array_equal(row["ids"], tokenizer.codes_to_ids(np.asarray(row["codes"])))
        assert row["num_frames"] == expected.shape[1]
        assert row["duration"] == pytest.approx(sf.info(str(path)).duration, abs=1e-3)
    assert "9 clips encoded" in capsys.readouterr().out


def test_ids_are_chosen_at_load_time(corpus: Path, codec_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    preprocess_main(job_arguments(corpus, out, codec_dir, "--bandwidth", "12"))
    default = load_token_dataset(out)
    tokenizer = AudioTokenizer.from_pretrained(
        codec_dir, device="cpu", layout="delayed", vocab_offset=500, bandwidth=3.0
    )
    custom = load_token_dataset(out, layout="delayed", vocab_offset=500, num_codebooks=4)
    for row in custom:
        wave = tokenizer.load(corpus / row["key"])
        (codes,) = tokenizer.ids_to_codes(row["input_ids"])  # 4 of 16 codebooks = 3 kbps, delayed, offset 500
        assert_same_codes_up_to_ties(tokenizer.codec.model, wave, codes.codes, tokenizer.codec.encode(wave, 4).codes)
    assert len(default[0]["input_ids"]) > len(custom[0]["input_ids"]) // 4 * 3


def test_datasets_directory_with_text_and_asr_examples(codec_dir: Path, tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    encoded = []
    for i in range(4):
        buffer = io.BytesIO()
        sf.write(buffer, clip_of(12000 + 1000 * i, seed=i)[0], 24000, format="FLAC")
        encoded.append({"bytes": buffer.getvalue(), "path": None})
    rows = {"audio": encoded, "text": ["hello world", "a b", "x", "y z"]}
    dataset = datasets.Dataset.from_dict(rows).cast_column("audio", datasets.Audio(decode=False))
    dataset.save_to_disk(str(tmp_path / "ds"))
    out = tmp_path / "out"
    assert preprocess_main(job_arguments(tmp_path / "ds", out, codec_dir, "--keep-columns", "text")) == 0
    words = {"[UNK]": 0, "hello": 1, "world": 2, "a": 3, "b": 4, "x": 5, "y": 6, "z": 7}
    backend = Tokenizer(models.WordLevel(words, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    text_tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")
    asr = load_token_dataset(
        out, vocab_offset=100, text_column="text", text_tokenizer=text_tokenizer, order="audio_first"
    )
    first = asr.filter(lambda key: key == "train-0", input_columns="key")[0]
    ids, mask = np.asarray(first["input_ids"]), np.asarray(first["audio_mask"])
    assert first["text"] == "hello world" and ids[-2:].tolist() == [1, 2] and mask[-2:].tolist() == [0, 0]
    assert ids[0] == 100 + 8 * 1024 and mask[: len(ids) - 2].all()  # <|audio_start|> opens the example


def word_tokenizer(words: list[str]):
    """A word-level Hugging Face tokenizer: ``[UNK]`` is id 0, then ``words`` in order."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[UNK]", *words])}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")


def test_text_ids_never_overlap_the_audio_ids(codec_dir: Path, tmp_path: Path) -> None:
    from audiotok import TokenizerConfig, extend_tokenizer
    from audiotok.errors import ConfigError

    write_corpus(tmp_path / "audio", 3)
    texts = {1: "hello world", 2: "a b"}
    lines = [json.dumps({"path": f"audio/clip00{i}.wav", "text": t, "speaker": f"s{i}"}) for i, t in texts.items()]
    (tmp_path / "m.jsonl").write_text("\n".join(lines))
    out = tmp_path / "out"
    arguments = job_arguments(tmp_path / "m.jsonl", out, codec_dir, "--keep-columns", "text", "speaker")
    assert preprocess_main(arguments) == 0
    text_tokenizer = word_tokenizer(["hello", "world", "a", "b"])
    with pytest.raises(ConfigError, match=r"overlap; pass vocab_offset=5 \(len\(text_tokenizer\)\)"):
        load_token_dataset(out, text_column="text", text_tokenizer=text_tokenizer)  # the job's default offset is 0
    tts = load_token_dataset(out, vocab_offset=len(text_tokenizer), text_column="text", text_tokenizer=text_tokenizer)
    assert sorted(tts["speaker"]) == ["s1", "s2"]  # the kept columns come along
    for row in tts:
        ids, mask = np.asarray(row["input_ids"]), np.asarray(row["audio_mask"], bool)
        assert ids[~mask].tolist() == text_tokenizer(row["text"], add_special_tokens=False)["input_ids"]
        assert ids[mask].min() >= len(text_tokenizer)
    extended = word_tokenizer(["hello", "world", "a", "b"])
    placed = extend_tokenizer(extended, TokenizerConfig.from_pretrained(out / "audiotok_config.json"))
    with pytest.raises(ConfigError, match="overlap"):  # audio tokens at 5.. in the tokenizer, at 0.. in the data
        load_token_dataset(out, text_column="text", text_tokenizer=extended)
    same = load_token_dataset(out, vocab_offset=placed.vocab_offset, text_column="text", text_tokenizer=extended)
    assert same["input_ids"] == tts["input_ids"]  # a tokenizer extended for these audio ids is fine


def test_jsonl_manifest(codec_dir: Path, tmp_path: Path) -> None:
    write_corpus(tmp_path / "audio", 3)
    lines = [json.dumps({"path": f"audio/clip00{i}.wav", "key": f"utt{i}", "speaker": f"s{i}"}) for i in (1, 2)]
    (tmp_path / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    preprocess_main(job_arguments(tmp_path / "manifest.jsonl", out, codec_dir, "--keep-columns", "speaker"))
    rows = read_shards(out)
    assert sorted(zip(rows["key"], rows["speaker"])) == [("utt1", "s1"), ("utt2", "s2")]
    loaded = load_token_dataset(out)
    assert sorted(zip(loaded["key"], loaded["speaker"])) == [("utt1", "s1"), ("utt2", "s2")]


def test_killed_run_resumes_with_every_clip_exactly_once(codec_dir: Path, tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_corpus(corpus, 40, seconds=1.0)
    arguments = job_arguments(corpus, out, codec_dir, "--shard-size", "2", workers=1)
    command = [sys.executable, str(SCRIPT), *arguments]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(shard_files(out)) < 3 and process.poll() is None:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the job and its decoding workers, mid-run
    process.wait()
    written_at_kill = len(shard_files(out))
    assert 0 < written_at_kill < 20, "the kill must land part-way for this test to mean anything"
    assert not (out / "manifest.json").exists()
    (out / ".shard-000019.parquet.0123456789ab.partial").write_bytes(b"PAR1")  # what a write cut by a kill leaves
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not [p.name for p in out.iterdir() if p.name.endswith(".partial")]  # the rerun cleared them
    keys = read_shards(out)["key"]
    assert len(keys) == 40 and len(set(keys)) == 40
    assert json.loads((out / "manifest.json").read_text())["encoded"] == 40
    assert preprocess_main([*arguments, "--bandwidth", "24"]) == 2  # other settings: refuses to mix two jobs


def test_two_torchrun_processes_share_the_work(codec_dir: Path, tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_corpus(corpus, 7)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29577"]
    command = [*torchrun, str(SCRIPT), *job_arguments(corpus, out, codec_dir, "--shard-size", "2")]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["encoded"], manifest["this_run"]["shards"]) == (7, 4)
    assert [p.name for p in shard_files(out)] == [f"shard-{b:06d}.parquet" for b in range(4)]  # global block ids
    keys = read_shards(out)["key"]
    assert len(keys) == 7 and len(set(keys)) == 7


def test_a_rank_that_refuses_stops_every_rank_at_once(codec_dir: Path, tmp_path: Path) -> None:
    """Rank 0 refuses a resume with other settings; rank 1 must not wait for it at a barrier (gloo's 30 min)."""
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_corpus(corpus, 2)
    assert preprocess_main(job_arguments(corpus, out, codec_dir, "--limit", "1")) == 0
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29578"]
    command = [*torchrun, str(SCRIPT), *job_arguments(corpus, out, codec_dir, "--bandwidth", "24")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode != 0
    assert "rank 0 failed, so this rank stops too" in done.stderr, done.stderr[-2000:]
    assert "other settings" in done.stderr, done.stderr[-2000:]


def test_audiofolder_with_metadata_and_an_unreachable_hub_name(codec_dir: Path, tmp_path: Path) -> None:
    write_corpus(tmp_path / "af", 3)
    lines = [json.dumps({"file_name": f"clip00{i}.wav", "text": f"words {i}"}) for i in (1, 2)]
    (tmp_path / "af" / "metadata.jsonl").write_text("\n".join(lines))
    out = tmp_path / "out"
    arguments = job_arguments(f"audiofolder:{tmp_path / 'af'}", out, codec_dir, "--keep-columns", "text")
    assert preprocess_main(arguments) == 0
    rows = read_shards(out)
    assert dict(zip(rows["key"], rows["text"])) == {"clip001.wav": "words 1", "clip002.wav": "words 2",
                                                   "nested/clip000.wav": None}  # fmt: skip
    with pytest.raises(AudiotokError, match="datasets.load_dataset failed"):
        open_source("someone/a-dataset-that-needs-the-hub")
