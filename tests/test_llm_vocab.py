"""LLM vocabulary extension on real tokenizers and models built offline: ids, strings, embeddings, mixed output."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sentencepiece as spm
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)
from transformers.tokenization_utils_sentencepiece import SentencePieceBackend

from audiotok.cli.vocab import add_command as add_vocab_command
from audiotok.codecs.encodec.codec import EncodecCodec
from audiotok.config import CONFIG_NAME, TokenizerConfig
from audiotok.errors import ConfigError, TokenizationError
from audiotok.ids.layouts import get_layout
from audiotok.llm_model import extend_model
from audiotok.llm_vocab import BASE_VOCABS, extend_tokenizer, llm_configs
from audiotok.mixed import IGNORE_INDEX, build_example, decode_mixed_output, split_mixed_output
from audiotok.tokenizer import AudioTokenizer

from conftest import clip_of

LLM_CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "llm"
# (a) sentencepiece model in a LlamaTokenizer directory (transformers 5 converts it to a fast tokenizer),
# (b) a tokenizers BPE in PreTrainedTokenizerFast, (c) the same sentencepiece model as a Python tokenizer.
KINDS = ["llama-sentencepiece", "bpe-fast", "sentencepiece-python"]
AUDIO_SPECIALS = ["<|audio_start|>", "<|audio_end|>", "<|audio_pad|>"]


_SENTENCES = (
    "The quick brown fox jumps over the lazy dog . Say hello to the world ! Audio tokens , speech ; music : "
    "voice and sound 42 models learn to speak ? A codec turns waves into codes"
)


def _corpus() -> list[str]:
    """A few KB of English-like lines (capitals, digits, punctuation) to train the tokenizers on."""
    rng = random.Random(0)
    words = _SENTENCES.split()
    return [" ".join(rng.choice(words) for _ in range(14)) for _ in range(250)]


@pytest.fixture(scope="module")
def tokenizer_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each tokenizer kind saved to its own directory, as a user's base LLM tokenizer would be."""
    root = tmp_path_factory.mktemp("hf_tokenizers")
    lines = _corpus()
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=320,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        minloglevel=2,
    )
    llama = root / "llama-sentencepiece"
    llama.mkdir()
    (llama / "tokenizer.model").write_bytes(model.getvalue())
    (llama / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})
    )
    SentencePieceBackend(
        vocab_file=str(llama / "tokenizer.model"), unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    ).save_pretrained(root / "sentencepiece-python")

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=420, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(lines, trainer)
    PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>").save_pretrained(
        root / "bpe-fast"
    )
    return {kind: root / kind for kind in KINDS}


def _load(directory: Path) -> Any:
    return AutoTokenizer.from_pretrained(directory)


def _expected_strings(codes: np.ndarray) -> list[str]:
    """The token strings of an interleaved span, written out from the codes (frame-major)."""
    frames = [f"<|a{k}_{int(codes[k, t])}|>" for t in range(codes.shape[1]) for k in range(codes.shape[0])]
    return ["<|audio_start|>", *frames, "<|audio_end|>"]


def _random_codes(num_codebooks: int, frames: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1024, size=(num_codebooks, frames))


def _audio_ids(config: TokenizerConfig, codes: np.ndarray) -> np.ndarray:
    """<|audio_start|> + the codes in the config's layout + <|audio_end|>, as AudioTokenizer.encode frames them."""
    vocab = config.vocab
    return np.concatenate([[vocab.start_id], get_layout(config.layout).to_ids(codes, vocab), [vocab.end_id]])


# ----------------------------------------------------------------------------------------------------
# extend_tokenizer


@pytest.mark.parametrize("kind", KINDS)
def test_extended_tokenizer_reads_and_writes_audiotok_ids(
    kind: str, tokenizer_dirs: dict[str, Path], tmp_path: Path
) -> None:
    hf = _load(tokenizer_dirs[kind])
    base = len(hf)
    config = extend_tokenizer(hf, TokenizerConfig())
    assert config.base_vocab_size == config.vocab_offset == base
    assert len(hf) == config.total_vocab_size == base + 8 * 1024 + 3

    hf.save_pretrained(tmp_path / "extended")
    reloaded = _load(tmp_path / "extended")
    assert type(reloaded) is type(hf) and len(reloaded) == config.total_vocab_size

    codes = _random_codes(8, 15, seed=len(kind))
    ids = _audio_ids(config, codes)
    strings = _expected_strings(codes)
    assert reloaded.convert_ids_to_tokens(ids.tolist()) == strings

    for prompt in ("Say: ", "The quick brown fox"):
        encoded = reloaded(prompt + "".join(strings), add_special_tokens=False)["input_ids"]
        assert encoded == reloaded(prompt, add_special_tokens=False)["input_ids"] + ids.tolist()
    # text after the audio is still text, and the whole sequence decodes back to the strings
    encoded = reloaded("".join(strings) + "Say hello", add_special_tokens=False)["input_ids"]
    assert encoded[: len(ids)] == ids.tolist()
    assert reloaded.decode(encoded).replace(" ", "") == "".join(strings) + "Sayhello"
    assert reloaded.convert_tokens_to_ids(AUDIO_SPECIALS) == list(config.special_token_ids.values())


@pytest.mark.parametrize("kind", KINDS)
def test_32_codebooks_are_added_quickly(kind: str, tokenizer_dirs: dict[str, Path]) -> None:
    hf = _load(tokenizer_dirs[kind])
    base = len(hf)
    config = TokenizerConfig().replace(bandwidth=24.0)
    started = time.perf_counter()
    placed = extend_tokenizer(hf, config)
    seconds = time.perf_counter() - started
    assert placed.num_codebooks == 32 and len(hf) == base + 32 * 1024 + 3
    assert hf.convert_ids_to_tokens([base, base + 31 * 1024 + 1017, base + 32 * 1024 + 2]) == [
        "<|a0_0|>",
        "<|a31_1017|>",
        "<|audio_pad|>",
    ]
    assert seconds < 5.0, f"adding 32 x 1024 tokens took {seconds:.2f} s"  # ~0.2-0.9 s on a 2-core CPU


def test_scale_tokens_follow_the_specials(tokenizer_dirs: dict[str, Path]) -> None:
    if "num_scale_tokens" not in {f.name for f in dataclasses.fields(TokenizerConfig)}:
        pytest.skip("this TokenizerConfig has no scale tokens")
    config = TokenizerConfig().replace(frames_per_chunk=150, chunk_stride=47520, num_scale_tokens=16)
    hf = _load(tokenizer_dirs["bpe-fast"])
    placed = extend_tokenizer(hf, config)
    scale_0 = placed.vocab_offset + 8 * 1024 + 3
    assert len(hf) == scale_0 + 16 == placed.total_vocab_size
    assert hf.convert_ids_to_tokens([scale_0 - 1, scale_0]) == ["<|audio_pad|>", placed.token_strings[-16]]


@pytest.mark.parametrize("kind", KINDS)
def test_extending_again_adds_nothing(kind: str, tokenizer_dirs: dict[str, Path], tmp_path: Path) -> None:
    hf = _load(tokenizer_dirs[kind])
    config = extend_tokenizer(hf, TokenizerConfig())
    size = len(hf)
    assert extend_tokenizer(hf, TokenizerConfig()) == config
    assert extend_tokenizer(hf, config) == config
    hf.save_pretrained(tmp_path)
    reloaded = _load(tmp_path)
    assert extend_tokenizer(reloaded, TokenizerConfig()) == config
    assert len(hf) == len(reloaded) == size


def test_a_config_placed_elsewhere_is_rejected_and_nothing_is_added(tokenizer_dirs: dict[str, Path]) -> None:
    hf = _load(tokenizer_dirs["llama-sentencepiece"])
    base = len(hf)
    llama_2 = TokenizerConfig.from_pretrained(LLM_CONFIGS / "llama-2.json")
    with pytest.raises(ConfigError, match=rf"vocab_offset=32000 .* holds {base} tokens.* vocab_offset={base}"):
        extend_tokenizer(hf, llama_2)
    with pytest.raises(ConfigError, match=f"vocab_offset={base + 1}"):
        extend_tokenizer(hf, TokenizerConfig(base_vocab_size=base, vocab_offset=base + 1))
    assert len(hf) == base
    assert extend_tokenizer(hf, TokenizerConfig(base_vocab_size=base, vocab_offset=base)).vocab_offset == base


def test_an_extended_tokenizer_and_another_config_are_rejected(tokenizer_dirs: dict[str, Path]) -> None:
    hf = _load(tokenizer_dirs["bpe-fast"])
    config = extend_tokenizer(hf, TokenizerConfig())
    size = len(hf)
    with pytest.raises(ConfigError, match=r"8195 of the 16387 audio token strings are already in the tokenizer"):
        extend_tokenizer(hf, TokenizerConfig().replace(bandwidth=12.0))  # 16 codebooks: 8 are there
    with pytest.raises(ConfigError, match=f"start at id {config.vocab_offset}"):
        extend_tokenizer(hf, config.replace(base_vocab_size=0, vocab_offset=config.vocab_offset + 5))
    assert len(hf) == size


def test_strings_the_tokenizer_already_uses_are_reported(tokenizer_dirs: dict[str, Path]) -> None:
    hf = _load(tokenizer_dirs["llama-sentencepiece"])
    hf.add_special_tokens({"additional_special_tokens": ["<|audio_start|>"]})
    size = len(hf)
    with pytest.raises(ConfigError, match=rf"1 of the 8195 .*<\|audio_start\|> = {size - 1}"):
        extend_tokenizer(hf, TokenizerConfig())
    assert len(hf) == size

    shuffled = _load(tokenizer_dirs["bpe-fast"])
    shuffled.add_tokens(TokenizerConfig().token_strings[::-1])  # all there, in the wrong order
    with pytest.raises(ConfigError, match=r"not one contiguous range .* '<\|a0_1\|>' has id"):
        extend_tokenizer(shuffled, TokenizerConfig())


# ----------------------------------------------------------------------------------------------------
# extend_model


def _tiny_llama(rows: int, tie: bool = False) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=rows,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=tie,
        bos_token_id=1,
        eos_token_id=2,
    )
    return LlamaForCausalLM(config)


def _tiny_gpt2(rows: int) -> GPT2LMHeadModel:
    return GPT2LMHeadModel(
        GPT2Config(vocab_size=rows, n_embd=32, n_layer=1, n_head=2, n_positions=64, bos_token_id=0, eos_token_id=0)
    )


def _fill(weight: torch.Tensor, seed: int) -> np.ndarray:
    """Gives ``weight`` rows with a clear non-zero mean (so 'near the mean' is not 'near zero'); returns a copy."""
    generator = torch.Generator().manual_seed(seed)
    centre = torch.randn(weight.shape[1], generator=generator)
    with torch.no_grad():
        weight.copy_(centre + 0.3 * torch.randn(weight.shape, generator=generator))
    return weight.detach().numpy().copy()


def _assert_mean_rows(new: np.ndarray, old: np.ndarray) -> None:
    """New rows: finite, not all equal, each (so their mean too) within a hair of the old rows' mean."""
    old_mean = old.astype(np.float64).mean(axis=0)
    spread = old.astype(np.float64).std(axis=0).mean()
    assert np.isfinite(new).all()
    assert (new != new[0]).any(), "the new rows are all equal"
    assert np.abs(new.astype(np.float64).mean(axis=0) - old_mean).max() < 1e-3 * spread
    assert np.abs(new - old_mean).max() < 1e-2 * spread


def test_untied_llama_gets_rows_from_each_matrix_own_statistics() -> None:
    config = TokenizerConfig(base_vocab_size=300, vocab_offset=300)
    model = _tiny_llama(300)
    old_in = _fill(model.model.embed_tokens.weight, seed=1)
    old_out = _fill(model.lm_head.weight, seed=2)
    extend_model(model, config, generator=torch.Generator().manual_seed(0))
    rows = config.total_vocab_size
    assert model.model.embed_tokens.weight.shape == (rows, 32) and model.lm_head.weight.shape == (rows, 32)
    assert model.config.vocab_size == rows
    new_in, new_out = model.model.embed_tokens.weight.detach().numpy(), model.lm_head.weight.detach().numpy()
    np.testing.assert_array_equal(new_in[:300], old_in)
    np.testing.assert_array_equal(new_out[:300], old_out)
    _assert_mean_rows(new_in[300:], old_in)
    _assert_mean_rows(new_out[300:], old_out)
    logits = model(torch.tensor([[5, config.vocab.start_id, config.vocab_offset + 3]])).logits
    assert logits.shape == (1, 3, rows) and torch.isfinite(logits).all()


def test_rows_past_the_tokenizer_in_a_padded_embedding_are_reinitialised() -> None:
    config = TokenizerConfig(base_vocab_size=300, vocab_offset=300)
    model = _tiny_llama(340)  # the checkpoint has 40 rows no token uses; the audio ids land there
    old = _fill(model.model.embed_tokens.weight, seed=3)
    with torch.no_grad():
        model.model.embed_tokens.weight[300:] = 7.0
        model.lm_head.weight[300:] = 7.0
    extend_model(model, config, pad_to_multiple_of=64)
    rows = -(-config.total_vocab_size // 64) * 64
    weight = model.model.embed_tokens.weight.detach().numpy()
    assert weight.shape == (rows, 32) and model.lm_head.weight.shape == (rows, 32)
    np.testing.assert_array_equal(weight[:300], old[:300])
    _assert_mean_rows(weight[300:], old[:300])  # rows 300..339 too, and the padding rows past the audio range
    assert (model.lm_head.weight[300:] != 7.0).all()


@pytest.mark.parametrize("build", [_tiny_gpt2, lambda rows: _tiny_llama(rows, tie=True)], ids=["gpt2", "llama-tied"])
def test_tied_embeddings_stay_tied_and_survive_save_and_load(build: Any, tmp_path: Path) -> None:
    config = TokenizerConfig(base_vocab_size=200, vocab_offset=200).replace(bandwidth=1.5)
    model = build(200)
    old = _fill(model.get_input_embeddings().weight, seed=4)
    extend_model(model, config)
    embedding, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    assert embedding.data_ptr() == head.data_ptr() and head.shape == (config.total_vocab_size, 32)
    _assert_mean_rows(embedding.detach().numpy()[200:], old)

    model.save_pretrained(tmp_path)
    reloaded = type(model).from_pretrained(tmp_path)
    before = reloaded.get_input_embeddings().weight.detach().clone()
    assert extend_model(reloaded, config) is reloaded  # recorded in config.json: nothing is reset
    assert torch.equal(reloaded.get_input_embeddings().weight, before)
    assert reloaded.get_input_embeddings().weight.data_ptr() == reloaded.get_output_embeddings().weight.data_ptr()


def test_extending_a_model_again_changes_nothing_and_another_config_is_rejected() -> None:
    config = TokenizerConfig(base_vocab_size=300, vocab_offset=300)
    model = extend_model(_tiny_llama(300), config)
    before = model.lm_head.weight.detach().clone()
    extend_model(model, config)
    assert torch.equal(model.lm_head.weight, before)
    with pytest.raises(ConfigError, match="already extended"):
        extend_model(model, config.replace(bandwidth=12.0))


def test_the_covariance_is_the_old_rows_and_a_singular_one_is_handled() -> None:
    model = _tiny_llama(4000)
    old = _fill(model.model.embed_tokens.weight, seed=5)
    config = TokenizerConfig(base_vocab_size=4000, vocab_offset=4000)
    extend_model(model, config, covariance_scale=1.0, generator=torch.Generator().manual_seed(1))
    new = model.model.embed_tokens.weight.detach().numpy()[4000:]
    old_cov, new_cov = np.cov(old, rowvar=False), np.cov(new, rowvar=False)
    assert np.linalg.norm(new_cov - old_cov) < 0.1 * np.linalg.norm(old_cov)

    few = _tiny_llama(16)  # 16 rows in 32 dimensions: a singular covariance (rank 15)
    old = _fill(few.model.embed_tokens.weight, seed=6)
    extend_model(few, TokenizerConfig(base_vocab_size=16, vocab_offset=16).replace(bandwidth=1.5), covariance_scale=1.0)
    new = few.model.embed_tokens.weight.detach().numpy()[16:]
    assert np.isfinite(new).all()
    span = np.linalg.svd(old - old.mean(axis=0), full_matrices=False)[2][:15]  # the old rows' 15 directions
    centred = new - old.mean(axis=0)
    outside = centred - (centred @ span.T) @ span
    assert np.square(outside).sum() < 1e-5 * np.square(centred).sum()  # inside their span, up to float32 rounding


def test_model_errors_say_what_is_wrong() -> None:
    with pytest.raises(ConfigError, match="has 100 embedding rows but the config's base vocabulary has 300"):
        extend_model(_tiny_llama(100), TokenizerConfig(base_vocab_size=300, vocab_offset=300))
    with pytest.raises(ConfigError, match="base_vocab_size is 0"):
        extend_model(_tiny_llama(100), TokenizerConfig())
    model = extend_model(_tiny_llama(100), TokenizerConfig(), init="normal")
    assert abs(float(model.model.embed_tokens.weight.detach().std()) - 0.02) < 0.002  # the model's initializer_range


# ----------------------------------------------------------------------------------------------------
# mixed sequences


def test_build_example_labels_the_part_the_model_produces() -> None:
    text, audio = [11, 12, 13], [900, 901, 902, 903]
    tts = build_example(text, audio, "text_first", bos_id=1, eos_id=2)
    assert tts["input_ids"].tolist() == [1, 11, 12, 13, 900, 901, 902, 903, 2]
    assert tts["labels"].tolist() == [IGNORE_INDEX] * 4 + [900, 901, 902, 903, 2]
    assert tts["attention_mask"].tolist() == [1] * 9
    asr = build_example(text, audio, "audio_first", eos_id=2)
    assert asr["input_ids"].tolist() == [900, 901, 902, 903, 11, 12, 13, 2]
    assert asr["labels"].tolist() == [IGNORE_INDEX] * 4 + [11, 12, 13, 2]
    everything = build_example(np.array(text), torch.tensor(audio), bos_id=1, train_on="all", return_tensors="pt")
    assert everything["labels"].tolist() == [IGNORE_INDEX, 11, 12, 13, 900, 901, 902, 903]
    with pytest.raises(ValueError, match="text_first"):
        build_example(text, audio, "interleaved")  # type: ignore[arg-type]


def test_build_example_trains_a_model_and_checks_its_parts() -> None:
    config = TokenizerConfig(base_vocab_size=300, vocab_offset=300).replace(bandwidth=1.5)
    audio = _audio_ids(config, _random_codes(2, 10, seed=1))
    example = build_example([5, 6, 7], audio, bos_id=1, eos_id=2, config=config, return_tensors="pt")
    model = extend_model(_tiny_llama(300), config)
    loss = model(input_ids=example["input_ids"][None], labels=example["labels"][None]).loss
    assert torch.isfinite(loss) and loss > 0
    with pytest.raises(ConfigError, match=r"text_ids\[1\] is id 301 \(codebook 0, code 1\)"):
        build_example([5, 301], audio, config=config)
    with pytest.raises(ConfigError, match="one span from <|audio_start|>"):
        build_example([5], audio[1:], config=config)


def test_split_and_decode_a_mixed_output(tokenizer_dirs: dict[str, Path], codec: EncodecCodec) -> None:
    hf = _load(tokenizer_dirs["llama-sentencepiece"])
    config = extend_tokenizer(hf, TokenizerConfig())
    audio_tok = AudioTokenizer(config, codec)
    first, second = (
        audio_tok.encode(clip_of(3200, seed=1), sampling_rate=24000),
        audio_tok.encode(clip_of(1600, seed=2), sampling_rate=24000),
    )
    prompt = hf("Say hello", add_special_tokens=False)["input_ids"]
    middle = hf("and then", add_special_tokens=False)["input_ids"]
    ids = np.concatenate([[hf.bos_token_id], prompt, first, middle, second, [hf.eos_token_id]])

    segments = split_mixed_output(ids, config)
    assert [s.kind for s in segments] == ["text", "audio", "text", "audio", "text"]
    assert segments[1].ids.tolist() == first[1:-1].tolist() and segments[1].start == 1 + len(prompt) + 1
    assert segments[3].ids.tolist() == second[1:-1].tolist()

    pieces = decode_mixed_output(torch.tensor(ids), audio_tok, hf)  # as model.generate returns it
    assert [p.text for p in pieces if p.kind == "text"] == ["Say hello", "and then", ""]
    for piece, span in zip([p for p in pieces if p.kind == "audio"], [first, second]):
        assert piece.audio is not None and piece.text is None
        np.testing.assert_array_equal(piece.audio, audio_tok.decode(span))

    assert [s.kind for s in split_mixed_output(prompt, config)] == ["text"]
    assert [s.kind for s in split_mixed_output(first[1:-1], config)] == ["audio"]  # bare span, no markers
    assert split_mixed_output([], config) == []
    stray_end = np.concatenate([prompt, [config.vocab.end_id], first])
    with pytest.raises(TokenizationError, match=f"position {len(prompt)}"):
        split_mixed_output(stray_end, config)
    lenient = decode_mixed_output(stray_end, audio_tok, hf, errors="lenient")
    assert [p.kind for p in lenient] == ["text", "audio"]  # the stray end is dropped


# ----------------------------------------------------------------------------------------------------
# configs/llm and the CLI


def test_configs_llm_match_the_script_and_the_published_sizes() -> None:
    expected = llm_configs()
    assert sorted(p.name for p in LLM_CONFIGS.glob("*.json")) == sorted(expected)
    for name, config in expected.items():
        assert (LLM_CONFIGS / name).read_text() == config.to_json(), f"run scripts/make_llm_configs.py ({name})"
    sizes = {entry.name: (entry.tokenizer_size, entry.embedding_size) for entry in BASE_VOCABS}
    assert sizes["llama-2"] == (32000, 32000) and sizes["llama-3"] == (128256, 128256)
    assert sizes["gpt2"] == (50257, 50257) and sizes["qwen2.5"] == (151665, 151936)
    assert sizes["mistral-7b-v0.1"] == (32000, 32000) and sizes["mistral-7b-v0.3"] == (32768, 32768)
    llama_3 = TokenizerConfig.from_pretrained(LLM_CONFIGS / "llama-3.json")
    assert (llama_3.vocab_offset, llama_3.total_vocab_size, llama_3.layout) == (128256, 128256 + 8195, "interleaved")


def _vocab_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="audiotok")
    add_vocab_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["vocab", *argv])
    return int(args.run(args))


def test_cli_writes_configs(tmp_path: Path, capsys: pytest.CaptureFixture[str], codec_dir: Path) -> None:
    out = tmp_path / "llama2_audio.json"
    assert (
        _vocab_cli(["--base-vocab-size", "32000", "--bandwidth", "12", "--layout", "delayed", "--out", str(out)]) == 0
    )
    config = TokenizerConfig.from_pretrained(out)
    assert (config.vocab_offset, config.num_codebooks, config.layout) == (32000, 16, "delayed")
    capsys.readouterr()
    assert _vocab_cli(["--llm", "llama-3"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads((LLM_CONFIGS / "llama-3.json").read_text())
    assert _vocab_cli(["--base-vocab-size", "100", "--vocab-offset", "128", "--out", str(tmp_path / "dir")]) == 0
    assert TokenizerConfig.from_pretrained(tmp_path / "dir").vocab_offset == 128
    assert _vocab_cli(["--model", str(codec_dir), "--bandwidth", "3", "--out", str(tmp_path / "c.json")]) == 0
    assert TokenizerConfig.from_pretrained(tmp_path / "c.json").codec == str(codec_dir)  # read from its config.json
    with pytest.raises(ConfigError, match="select one of"):
        _vocab_cli(["--bandwidth", "5"])
    with pytest.raises(ConfigError, match="a directory without config.json: not a codec checkpoint"):
        _vocab_cli(["--model", str(tmp_path)])
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ConfigError, match=r"no audiotok codec family handles model_type 'llama'; supported: \['dac'"):
        _vocab_cli(["--model", str(tmp_path)])
    assert _vocab_cli(["--model", "demo-mimi", "--codebooks", "4", "--llm", "llama-3", "--out", str(out)]) == 0
    mimi = TokenizerConfig.from_pretrained(out)  # any family: Mimi's 2048-entry codebooks after Llama 3's ids
    assert (mimi.codec_family, mimi.num_codebooks, mimi.codebook_size, mimi.vocab_offset) == ("mimi", 4, 2048, 128256)


def test_cli_extends_a_saved_tokenizer(tokenizer_dirs: dict[str, Path], tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(tokenizer_dirs["bpe-fast"], source)
    base = len(_load(source))
    assert _vocab_cli(["--extend-tokenizer", str(source), "--out", str(tmp_path / "extended"), "--bandwidth", "3"]) == 0
    config = TokenizerConfig.from_pretrained(tmp_path / "extended" / CONFIG_NAME)
    assert (config.vocab_offset, config.num_codebooks) == (base, 4)
    assert len(_load(tmp_path / "extended")) == config.total_vocab_size
    assert len(_load(source)) == base and not (source / CONFIG_NAME).exists()

    assert _vocab_cli(["--extend-tokenizer", str(source)]) == 0  # in place
    assert len(_load(source)) == TokenizerConfig.from_pretrained(source).total_vocab_size == base + 8195
    with pytest.raises(ConfigError, match="vocab_offset=32000"):
        _vocab_cli(["--extend-tokenizer", str(tokenizer_dirs["bpe-fast"]), "--llm", "llama-2"])
    with pytest.raises(ConfigError, match="no such directory"):
        _vocab_cli(["--extend-tokenizer", str(tmp_path / "missing")])


def test_vocab_is_a_command_of_audiotok() -> None:
    from audiotok import cli

    try:
        args = cli.build_parser().parse_args(["vocab", "--base-vocab-size", "10"])
    except SystemExit:
        pytest.skip("audiotok/cli.py does not wire add_vocab_command yet")
    assert args.run.__name__ == "run_vocab"
