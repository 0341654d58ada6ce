"""Acoustic BPE end to end on a real (small, fitted) codec: train on shards, tokenize, extend an LLM's
vocabulary, load datasets, stream, and get every clip's exact codes back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from audiotok.bpe_stats import corpus_stats
from audiotok.bpe_training import train_bpe
from audiotok.cli import main
from audiotok.cli.preprocess import main as preprocess_main
from audiotok.codecs.encodec.codec import EncodecCodec
from audiotok.config import TokenizerConfig
from audiotok.errors import ConfigError
from audiotok.ids.bpe import BPE_NAME
from audiotok.llm_vocab import extend_tokenizer
from audiotok.mixed import build_example, split_mixed_output
from audiotok.shards import load_token_dataset, read_shards, write_shard
from audiotok.streaming import decode_stream, encode_stream
from audiotok.tokenizer import AudioTokenizer

from conftest import clip_of

NUM_CODEBOOKS = 2  # 1.5 kbps: 2 x 1024 base units


def row(key: str, **values: object) -> dict[str, object]:
    """A shard row as the preprocessing job writes it (every storage column present)."""
    empty = dict.fromkeys(("error", "skipped", "duration", "num_frames", "codes", "scales", "chunk_frames"))
    return {"key": key, **empty, **values}


@pytest.fixture(scope="module")
def shards(codec: EncodecCodec, codec_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two shards of the fixture codec's codes, with one failed row, and the job's config."""
    out = tmp_path_factory.mktemp("shards")
    config = TokenizerConfig.for_codec(str(codec_dir), codec.spec, num_codebooks=NUM_CODEBOOKS)
    config.save_pretrained(out)
    rows = []
    for i in range(8):
        wave = clip_of(9600 + 2400 * i, seed=100 + i)
        if i % 4 == 1:  # some silence, as real corpora have
            wave[:, : wave.shape[1] // 2] = 0
        codes = codec.encode(wave, NUM_CODEBOOKS).codes.numpy().astype(np.uint16)
        rows.append(row(f"clip{i}", duration=wave.shape[1] / 24000, num_frames=codes.shape[1], codes=codes.tolist()))
    rows.append(row("broken", error="unreadable"))
    write_shard(out / "rank00000-shard00000.parquet", rows[:5])
    write_shard(out / "rank00000-shard00001.parquet", rows[5:])
    return out


@pytest.fixture(scope="module")
def trained(shards: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bpe_tokenizer")
    assert main(["bpe", "train", str(shards), "--vocab-size", "2300", "--out", str(out)]) == 0
    return out


def test_trained_tokenizer_loads_and_round_trips_real_codes(trained: Path, codec_dir: Path) -> None:
    assert (trained / BPE_NAME).is_file()
    tokenizer = AudioTokenizer.from_pretrained(trained, device="cpu")
    plain = AudioTokenizer.from_pretrained(codec_dir, device="cpu", num_codebooks=NUM_CODEBOOKS)
    assert tokenizer.config.num_bpe_tokens > 50
    for seed in range(3):
        wave = clip_of(12000, seed=seed)  # clips the BPE never saw
        (codes,) = tokenizer.encode_codes_batch([wave], 24000)
        ids = tokenizer.codes_to_ids(codes)
        assert len(ids) < len(plain.codes_to_ids(codes))
        assert (ids >= tokenizer.vocab.end).any()  # merged tokens are in use
        (back,) = tokenizer.ids_to_codes(ids)
        assert np.array_equal(back.codes, codes.codes.numpy())
        assert np.array_equal(tokenizer.encode(wave, 24000), ids)
        assert tokenizer.decode(ids).shape == plain.decode(plain.codes_to_ids(codes)).shape


def test_extended_llm_tokenizer_gets_the_bpe_ids(trained: Path, tmp_path: Path) -> None:
    text = Tokenizer(models.BPE())
    text.pre_tokenizer = pre_tokenizers.Whitespace()
    text.train_from_iterator(["hello world audio tokens"] * 20, trainers.BpeTrainer(vocab_size=60))
    hf = PreTrainedTokenizerFast(tokenizer_object=text)
    config = TokenizerConfig.from_pretrained(trained)
    placed = extend_tokenizer(hf, config)
    assert len(hf) == placed.total_vocab_size
    assert placed.bpe_model is config.bpe_model
    tokenizer = AudioTokenizer.from_pretrained(trained, device="cpu", vocab_offset=placed.vocab_offset,
                                               base_vocab_size=placed.base_vocab_size)  # fmt: skip
    ids = tokenizer.encode(clip_of(8000, seed=7), 24000)
    strings = placed.token_strings
    written = "hello" + "".join(strings[i - placed.vocab_offset] for i in ids)
    read = hf(written, add_special_tokens=False)["input_ids"]
    assert read[-len(ids) :] == ids.tolist()  # the LLM tokenizer reads the BPE ids audiotok writes
    (codes,) = tokenizer.ids_to_codes(read)  # and the model's ids give the exact codes back
    assert np.array_equal(codes.codes, tokenizer.encode_codes_batch([clip_of(8000, seed=7)], 24000)[0].codes.numpy())


def test_token_dataset_with_a_bpe(shards: Path, trained: Path) -> None:
    bpe_rows = load_token_dataset(shards, bpe=trained)
    plain_rows = load_token_dataset(shards)
    config = TokenizerConfig.from_pretrained(trained)
    assert len(bpe_rows) == len(plain_rows) == 8
    for with_bpe, without in zip(bpe_rows, plain_rows, strict=True):
        assert len(with_bpe["input_ids"]) < len(without["input_ids"])
        (codes,) = config.id_format.ids_to_codes(with_bpe["input_ids"])
        (reference,) = config.replace(bpe=None).id_format.ids_to_codes(without["input_ids"])
        assert np.array_equal(codes.codes, reference.codes)


def test_stats_report_compression_and_merges(shards: Path, trained: Path, tmp_path: Path, capsys) -> None:
    config = TokenizerConfig.from_pretrained(trained)
    silence = np.zeros(NUM_CODEBOOKS, dtype=np.int64)
    stats = corpus_stats(shards, config, silence_codes=silence)
    assert stats.clips == 8
    lengths = sum(len(r) for r in load_token_dataset(shards, add_special_tokens=False)["input_ids"])
    assert stats.ids_per_second["interleaved"] == pytest.approx(lengths / stats.seconds)
    bpe_lengths = sum(len(r) for r in load_token_dataset(shards, bpe=trained, add_special_tokens=False)["input_ids"])
    assert stats.ids_per_second["interleaved+bpe"] == pytest.approx(bpe_lengths / stats.seconds)
    assert stats.ids_per_second["first_codebook"] == pytest.approx(stats.ids_per_second["interleaved"] / 2)
    assert stats.top_merges and all(m.frames <= 2 for m in stats.top_merges)
    assert all(0 <= e <= 10 for e in stats.codebook_entropy)
    plot = tmp_path / "stats.png"
    assert main(["stats", str(shards), "--bpe", str(trained), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "BPE compression (interleaved)" in out and "share of ids on silence" in out
    assert plot.stat().st_size > 1000


def test_streaming_with_a_bpe(trained: Path) -> None:
    tokenizer = AudioTokenizer.from_pretrained(trained, device="cpu")
    wave = clip_of(9_999, seed=9)
    pieces = list(encode_stream(tokenizer, [wave[:, i : i + 777] for i in range(0, wave.shape[1], 777)]))
    ids = np.concatenate(pieces)
    (codes,) = tokenizer.ids_to_codes(ids)
    assert np.array_equal(ids, tokenizer.codes_to_ids(codes))  # the BPE ids of the streamed codes
    assert sum(len(p) > 0 for p in pieces[:-1]) > 3  # ids come out while the clip streams
    audio = np.concatenate(list(decode_stream(tokenizer, np.array_split(ids, 7))), axis=-1)
    reference = tokenizer.decode(ids)
    assert audio.shape == reference.shape
    assert np.abs(audio - reference).max() < 1e-4 * np.sqrt(np.mean(reference**2))  # float rounding only


def test_training_errors_are_clear(shards: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["bpe", "train", str(shards), "--vocab-size", "100", "--out", str(tmp_path / "x")])
    assert "choose vocab_size > 2048" in capsys.readouterr().err
    values = json.loads((shards / "audiotok_config.json").read_text())
    assert values.get("bpe") is None  # training never changes the source


def test_preprocess_writes_bpe_ids_with_a_bpe_tokenizer(trained: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(2):
        sf.write(corpus / f"c{i}.wav", clip_of(7200, seed=40 + i)[0], 24000)
    out = tmp_path / "out"
    assert preprocess_main([str(corpus), "--out", str(out), "--model", str(trained), "--device", "cpu",
                            "--num-workers", "0", "--write-ids"]) == 0  # fmt: skip
    assert (out / BPE_NAME).is_file()  # the job's config keeps its BPE
    tokenizer = AudioTokenizer.from_pretrained(trained, device="cpu")
    for row in read_shards(out):
        ids = np.asarray(row["ids"])
        assert (ids >= tokenizer.vocab.end).any()
        (codes,) = tokenizer.ids_to_codes(ids)
        assert np.array_equal(codes.codes, np.asarray(row["codes"]))
        loaded = load_token_dataset(out).filter(lambda r, k=row["key"]: r["key"] == k)
        assert np.array_equal(loaded[0]["input_ids"], ids)


def test_mixed_output_with_bpe_ids(trained: Path) -> None:
    tokenizer = AudioTokenizer.from_pretrained(trained, device="cpu", vocab_offset=100, base_vocab_size=100)
    ids = tokenizer.encode(clip_of(4800, seed=3), 24000)
    bare = ids[1:-1]
    assert [s.kind for s in split_mixed_output(bare, tokenizer.config)] == ["audio"]  # merged ids are audio ids
    text = np.array([5, 6])
    example = build_example(text, ids, config=tokenizer.config)
    assert np.array_equal(example["input_ids"][-len(ids) :], ids)
    with pytest.raises(ConfigError, match="an audio id"):  # a merged token id is no text id
        build_example(ids[ids >= tokenizer.vocab.end][:2], ids, config=tokenizer.config)


def test_training_on_an_audio_folder_and_info(codec_dir: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "audio"
    folder.mkdir()
    for i in range(3):
        sf.write(folder / f"a{i}.wav", clip_of(9600, seed=60 + i)[0], 24000)
    out = tmp_path / "tok"
    config = train_bpe(folder, 2200, model=codec_dir, num_codebooks=NUM_CODEBOOKS, out=out)
    assert config.num_bpe_tokens > 10
    tokenizer = AudioTokenizer.from_pretrained(out, device="cpu")
    (codes,) = tokenizer.encode_codes_batch([folder / "a0.wav"])
    (back,) = tokenizer.ids_to_codes(tokenizer.codes_to_ids(codes))
    assert np.array_equal(back.codes, codes.codes.numpy())
    assert main(["info", "--model", str(out)]) == 0
    assert f"LLM vocabulary needs >= {tokenizer.vocab.end + config.num_bpe_tokens} ids" in capsys.readouterr().out
