"""TokenizerConfig: validation with actionable messages, JSON round trip, the shipped configs/."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from transformers import EncodecConfig

from audiotok.codecs.encodec.codec import EncodecCodec
from audiotok.config import TokenizerConfig
from audiotok.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
FORMAT1 = Path(__file__).resolve().parent / "data"  # config files written by audiotok 0.1 (format 1)
CODEBOOKS_AT_24KHZ = {1.5: 2, 3.0: 4, 6.0: 8, 12.0: 16, 24.0: 32}  # EnCodec paper / model card


def test_defaults_are_encodec_24khz_6kbps_interleaved() -> None:
    config = TokenizerConfig()
    assert (config.codec, config.bandwidth, config.num_codebooks, config.layout) == (
        "facebook/encodec_24khz",
        6.0,
        8,
        "interleaved",
    )
    assert config.special_token_ids == {"audio_start": 8192, "audio_end": 8193, "audio_pad": 8194}
    assert config.audio_vocab_size == 8195
    assert config.tokens_per_second == 600


def test_offset_moves_every_id() -> None:
    config = TokenizerConfig(base_vocab_size=32000, vocab_offset=32000, num_codebooks=2)
    assert config.bandwidth == 1.5
    assert config.vocab.codebook_range(1) == range(33024, 34048)
    assert config.special_token_ids["audio_pad"] == 34050
    assert config.total_vocab_size == 34051


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"bandwidth": 5.0}, r"bandwidth 5.0 kbps is not one the codec supports; select one of \[1.5"),
        ({"num_codebooks": 5}, r"not a count the codec supports; select one of \[2, 4, 8, 16, 32\]"),
        ({"bandwidth": 3.0, "num_codebooks": 8}, "uses 4 codebooks, not num_codebooks=8"),
        ({"codebook_counts": [4, 2], "bandwidths": []}, "ascending"),
        ({"bandwidths": [1.5, 3.0]}, "same length"),
        ({"base_vocab_size": 32000, "vocab_offset": 100}, "set vocab_offset >= 32000"),
        ({"layout": "zigzag"}, "select one of"),
        ({"codebook_size": 1000}, "power of two"),
        ({"audio_channels": 3}, "1 or 2"),
        ({"special_tokens": {"audio_start": "<s>"}}, "must name exactly"),
        ({"special_tokens": {"audio_start": "x", "audio_end": "x", "audio_pad": "y"}}, "distinct"),
    ],
)
def test_impossible_values_say_what_to_change(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TokenizerConfig().replace(**changes)


def test_json_round_trip(tmp_path: Path) -> None:
    config = TokenizerConfig(layout="delayed", base_vocab_size=50257, vocab_offset=50304)
    config.save_pretrained(tmp_path)
    again = TokenizerConfig.from_pretrained(tmp_path)
    assert again == config
    assert again.to_dict() == config.to_dict()
    stored = json.loads((tmp_path / "audiotok_config.json").read_text())
    assert stored["special_token_ids"]["audio_start"] == 50304 + 8 * 1024


def test_unknown_keys_and_contradicting_ids_are_rejected(tmp_path: Path) -> None:
    values = TokenizerConfig().to_dict()
    with pytest.raises(ConfigError, match=r"unknown config keys \['bandwith'\]"):
        TokenizerConfig.from_dict({**values, "bandwith": 6.0})
    tampered = {**values, "special_token_ids": {**values["special_token_ids"], "audio_end": 5}}
    with pytest.raises(ConfigError, match="special_token_ids in the file"):
        TokenizerConfig.from_dict(tampered)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        TokenizerConfig.from_json_file(tmp_path / "bad.json")


def test_replace_recomputes_codebooks_from_bandwidth() -> None:
    config = TokenizerConfig().replace(bandwidth=24.0, layout="flattened")
    assert (config.num_codebooks, config.layout) == (32, "flattened")
    with pytest.raises(ConfigError, match="select one of"):
        TokenizerConfig().replace(bandwidth=7.0)


def test_check_codec_names_the_mismatch() -> None:
    with pytest.raises(ConfigError, match="sampling_rate: config 24000 vs codec 48000"):
        TokenizerConfig().check_codec(EncodecCodec.describe(EncodecConfig(sampling_rate=48000)))


@pytest.mark.parametrize("bandwidth, codebooks", sorted(CODEBOOKS_AT_24KHZ.items()))
def test_shipped_24khz_configs(bandwidth: float, codebooks: int) -> None:
    path = CONFIGS / f"encodec_24khz_{bandwidth:g}kbps.json"
    config = TokenizerConfig.from_json_file(path)
    assert (config.codec, config.bandwidth, config.num_codebooks) == ("facebook/encodec_24khz", bandwidth, codebooks)
    assert config.tokens_per_second == 75 * codebooks


@pytest.mark.parametrize("bandwidth, codebooks", [(3.0, 2), (6.0, 4), (12.0, 8), (24.0, 16)])
def test_shipped_48khz_configs(bandwidth: float, codebooks: int) -> None:
    config = TokenizerConfig.from_json_file(CONFIGS / f"encodec_48khz_{bandwidth:g}kbps.json")
    assert (config.sampling_rate, config.audio_channels, config.num_codebooks) == (48000, 2, codebooks)
    assert (config.frames_per_chunk, config.chunk_stride, config.num_scale_tokens) == (150, 47520, 512)
    assert config.audio_vocab_size == codebooks * 1024 + 3 + 512
    # 48000 / 47520 chunks per second, each 150 frames of K codes plus one scale token
    assert config.tokens_per_second == pytest.approx(48000 / 47520 * (150 * codebooks + 1), abs=0.01)


def test_shipped_configs_are_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("make_configs", ROOT / "scripts" / "make_configs.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    expected = {}
    for codec, architecture in generator.published_codecs().items():
        expected.update(generator.standard_configs(codec, architecture))
    assert sorted(expected) == sorted(p.name for p in CONFIGS.glob("*.json"))
    for name, config in expected.items():
        assert TokenizerConfig.from_json_file(CONFIGS / name) == config


def test_chunk_settings_must_come_together() -> None:
    with pytest.raises(ConfigError, match="must all be > 0"):
        TokenizerConfig(frames_per_chunk=150)


@pytest.mark.parametrize(
    "name, codebooks", [("format1_encodec_24khz_6kbps.json", 8), ("format1_encodec_48khz_12kbps.json", 8)]
)
def test_format1_files_still_load(name: str, codebooks: int) -> None:
    old = json.loads((FORMAT1 / name).read_text())
    assert old["format_version"] == 1 and "codec_bandwidths" in old
    config = TokenizerConfig.from_json_file(FORMAT1 / name)
    assert (config.codec_family, config.num_codebooks, config.bandwidth) == ("encodec", codebooks, old["bandwidth"])
    assert config.special_token_ids == old["special_token_ids"]  # the same ids as before
    assert config.tokens_per_second == old["tokens_per_second"]
    assert json.loads(config.to_json())["format_version"] == 2


def test_format1_file_with_contradicting_bandwidth_is_rejected() -> None:
    old = json.loads((FORMAT1 / "format1_encodec_24khz_6kbps.json").read_text())
    with pytest.raises(ConfigError, match="does not match num_codebooks=8"):
        TokenizerConfig.from_dict({**old, "bandwidth": 12.0})


def test_float_frame_rates_give_ids_per_second() -> None:
    mimi = TokenizerConfig(
        codec_family="mimi",
        frame_rate=12.5,
        codebook_size=2048,
        codebook_counts=list(range(1, 33)),
        num_codebooks=8,
        bandwidths=[],
    )
    assert mimi.bandwidth is None
    assert mimi.tokens_per_second == 100.0  # 12.5 frames/s x 8 codebooks
    assert mimi.tokens_per_second_at(32, "first_codebook") == 12.5
    with pytest.raises(ConfigError, match="no bandwidth settings"):
        mimi.replace(bandwidth=6.0)
