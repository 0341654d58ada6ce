"""The contract every codec family keeps, checked the same way on each (EnCodec, DAC, Mimi, WavTokenizer,
X-codec, X-codec2, NeuCodec).

Oracles are transformers' own model calls on the clip alone, zero-padded to whole frames; fixtures are
small models of each family's real shape with fitted codebooks, saved and loaded back by directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from audiotok import AudioTokenizer, StreamingNotSupportedError, TokenizationError, load_codec
from audiotok.codecs.demo_tools import synthetic_audio
from audiotok.ids.layouts import LAYOUTS
from audiotok.streaming import decode_stream, encode_stream


def clips_for(codec: Any, seconds: list[float], seed: int = 0) -> list[np.ndarray]:
    hop = codec.hop_length
    lengths = [int(s * codec.sampling_rate) for s in seconds] + [hop * 9, hop * 9 + 1, 37]
    return [synthetic_audio(n / codec.sampling_rate + 0.01, codec.sampling_rate, seed=seed + i)[:, :n]
            for i, n in enumerate(lengths)]  # fmt: skip


def padded(codec: Any, wave: np.ndarray) -> torch.Tensor:
    frames = codec.num_frames(wave.shape[-1])
    return torch.from_numpy(np.pad(wave, ((0, 0), (0, frames * codec.hop_length - wave.shape[-1]))))[None]


@torch.no_grad()
def transformers_encode(codec: Any, wave: np.ndarray, num_codebooks: int) -> torch.Tensor:
    """The family's own ``encode`` of one zero-padded clip: codes ``[K, T]``."""
    if codec.model_type in ("xcodec2", "neucodec"):
        return featured_encode(codec, wave)
    model, x = codec.model, padded(codec, wave)
    if codec.model_type == "encodec":
        return model.encode(x, bandwidth=codec.bandwidth_for(num_codebooks)).audio_codes[0, 0]
    if codec.model_type == "dac":
        return model.encode(x, n_quantizers=num_codebooks).audio_codes[0]
    if codec.model_type == "wavtokenizer":
        return model.encode(x).audio_codes[0]
    if codec.model_type == "xcodec":
        return model.encode(x, bandwidth=codec.bandwidth_for(num_codebooks)).audio_codes[0]
    return model.encode(x, num_quantizers=num_codebooks).audio_codes[0]


def featured_encode(codec: Any, wave: np.ndarray) -> torch.Tensor:
    """X-codec2 / NeuCodec: ``encode`` of the family's feature extractor's output for the clip alone (NeuCodec's
    clips shorter than a frame zero-padded to one frame first). Where torchaudio is missing, the inputs are
    the zero-padded clip and the codec's filter banks, which ``test_xcodec2.py`` checks against transformers."""
    from audiotok.codecs.xcodec2.features import has_torchaudio

    samples = max(wave.shape[-1], codec.hop_length) if codec.model_type == "neucodec" else wave.shape[-1]
    clip = np.pad(wave[0], (0, samples - wave.shape[-1]))
    if has_torchaudio():
        inputs = dict(codec.feature_extractor()(clip, sampling_rate=codec.sampling_rate, return_tensors="pt"))
    else:
        inputs = codec.model_inputs([torch.from_numpy(clip)[None]])
    return codec.model.encode(**inputs).audio_codes[0]


@torch.no_grad()
def transformers_decode(codec: Any, codes: torch.Tensor) -> torch.Tensor:
    """The family's own ``decode`` of one clip's codes ``[K, T]``: audio ``[C, L]``."""
    model = codec.model
    if codec.model_type == "encodec":
        return model.decode(codes[None, None], [None]).audio_values[0]
    if codec.model_type == "dac":
        return model.decode(audio_codes=codes[None]).audio_values
    if codec.model_type in ("xcodec2", "neucodec"):
        return model.decode(audio_codes=codes[None]).audio_values[0]
    return model.decode(codes[None]).audio_values[0]


def output_hop(codec: Any) -> int:
    """Decoded samples per frame (NeuCodec decodes at 24 kHz what it encodes at 16 kHz)."""
    return codec.hop_length * codec.output_sampling_rate // codec.sampling_rate


@pytest.fixture(scope="module")
def tokenizer(family_dir: Path) -> AudioTokenizer:
    return AudioTokenizer.from_pretrained(family_dir, device="cpu")


def test_the_family_comes_from_config_json(family_dir: Path, tokenizer: AudioTokenizer) -> None:
    model_type = json.loads((family_dir / "config.json").read_text())["model_type"]
    assert tokenizer.config.codec_family == model_type == tokenizer.codec.model_type
    assert tokenizer.config.num_codebooks in tokenizer.codec.codebook_counts
    assert tokenizer.config.frame_rate == tokenizer.codec.sampling_rate / tokenizer.codec.hop_length


def test_fixture_codes_are_diverse(tokenizer: AudioTokenizer) -> None:
    codec = tokenizer.codec
    wave = synthetic_audio(3.0, codec.sampling_rate, seed=42)  # not the fitting audio
    codes = codec.encode(wave, codec.max_codebooks).codes
    distinct = [len(torch.unique(row)) for row in codes]
    assert min(distinct) >= 0.3 * codes.shape[-1], distinct  # every level makes real decisions


def test_save_and_load_gives_identical_ids(tokenizer: AudioTokenizer, tmp_path: Path) -> None:
    wave = synthetic_audio(1.3, tokenizer.codec.sampling_rate, seed=5)
    shifted = AudioTokenizer(tokenizer.config.replace(layout="delayed", vocab_offset=1000), tokenizer.codec)
    shifted.save_pretrained(tmp_path / "tok")
    again = AudioTokenizer.from_pretrained(tmp_path / "tok", device="cpu")
    assert again.config == shifted.config
    assert json.loads((tmp_path / "tok" / "audiotok_config.json").read_text())["format_version"] == 2
    rate = tokenizer.codec.sampling_rate
    assert np.array_equal(again.encode(wave, rate), shifted.encode(wave, rate))


def test_a_clip_alone_equals_transformers(tokenizer: AudioTokenizer) -> None:
    codec = tokenizer.codec
    for wave in clips_for(codec, [0.7, 1.1]):
        for k in (codec.codebook_counts[0], tokenizer.config.num_codebooks):
            assert torch.equal(codec.encode(wave, k).codes, transformers_encode(codec, wave, k))


def test_batched_codes_equal_each_clip_alone(tokenizer: AudioTokenizer) -> None:
    codec = tokenizer.codec
    if codec.model_type == "dac":
        codec.batch_on_cpu = True  # the padded-batch rule, which CPUs skip for speed
    try:
        waves = clips_for(codec, [0.4, 1.7, 0.9, 2.2, 1.7], seed=3)
        k = tokenizer.config.num_codebooks
        batched = codec.encode_batch(waves, k, max_batch_seconds=30.0)
        frames = differ = 0
        for wave, item in zip(waves, batched):
            alone = codec.encode(wave, k).codes
            assert item.codes.shape == alone.shape == (k, codec.num_frames(wave.shape[-1]))
            frames += alone.shape[-1]
            differ += int((item.codes != alone).any(dim=0).sum())
        assert differ <= 0.01 * frames, f"{differ} of {frames} frames differ"  # float near-ties at most
    finally:
        if codec.model_type == "dac":
            codec.batch_on_cpu = False


def test_decode_equals_transformers_and_has_the_right_length(tokenizer: AudioTokenizer) -> None:
    codec = tokenizer.codec
    wave = synthetic_audio(1.5, codec.sampling_rate, seed=8)[:, :-7]  # not whole frames
    codes = codec.encode(wave, tokenizer.config.num_codebooks).codes
    audio = codec.decode(codes)
    assert audio.shape == (codec.channels, codes.shape[-1] * output_hop(codec))
    reference = transformers_decode(codec, codes)
    assert torch.allclose(audio[:, : reference.shape[-1]], reference, atol=1e-5)
    assert codec.decode(codes, length=wave.shape[-1]).shape == wave.shape
    wrong = codes.clone()
    wrong[:, ::7] = (wrong[:, ::7] + 1) % codec.codebook_size
    shift = (codec.decode(wrong) - audio).pow(2).mean().sqrt() / audio.pow(2).mean().sqrt()
    assert shift > 0.02  # the fixture's decoder listens to its codes
    batched = codec.decode_batch([codes, codes[:1, :20], codes[:, :3]])
    assert torch.allclose(batched[0], audio, atol=1e-4)
    assert torch.allclose(batched[1], codec.decode(codes[:1, :20]), atol=1e-4)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_round_trips_and_decodes(tokenizer: AudioTokenizer, layout: str) -> None:
    config = tokenizer.config.replace(layout=layout, vocab_offset=500, base_vocab_size=500)
    tok = AudioTokenizer(config, tokenizer.codec)
    rate = tok.codec.sampling_rate
    wave = synthetic_audio(0.9, rate, seed=9)
    codes = tok.codec.encode(wave, tok.config.num_codebooks).codes.numpy()
    ids = tok.encode(wave, rate)
    assert ids.min() >= 500 and ids.max() < tok.vocab.end
    (back,) = tok.ids_to_codes(ids)
    expected = codes[:1] if layout == "first_codebook" else codes
    assert np.array_equal(back.codes, expected)
    audio = tok.decode(ids)
    assert audio.shape == (tok.codec.channels, codes.shape[-1] * output_hop(tok.codec))


def test_strict_names_the_bad_id_and_lenient_repairs(tokenizer: AudioTokenizer) -> None:
    rate = tokenizer.codec.sampling_rate
    ids = tokenizer.encode(synthetic_audio(0.8, rate, seed=10), rate)
    bad = ids.copy()
    bad[5] = tokenizer.vocab.pad_id
    with pytest.raises(TokenizationError, match="position 5"):
        tokenizer.decode(bad)
    (repaired,) = tokenizer.ids_to_codes(bad, errors="lenient")
    (clean,) = tokenizer.ids_to_codes(ids)
    if clean.codes.shape[0] == 1:  # one codebook: a substituted id cannot be told from a missing frame
        frame = int((tokenizer.vocab.codebook_of(ids[:5]) >= 0).sum())  # the codes before position 5
        assert np.array_equal(repaired.codes, np.delete(clean.codes, frame, axis=1))
        return
    assert repaired.codes.shape == clean.codes.shape
    assert (repaired.codes != clean.codes).sum() <= 1  # only the replaced id's code changed


def test_streaming_equals_offline_or_says_it_cannot(tokenizer: AudioTokenizer) -> None:
    codec = tokenizer.codec
    rate = codec.sampling_rate
    wave = synthetic_audio(1.2, rate, seed=12)
    if not codec.can_stream:
        with pytest.raises(StreamingNotSupportedError, match="cannot stream"):
            list(encode_stream(tokenizer, [wave]))
        with pytest.raises(StreamingNotSupportedError, match="cannot stream"):
            codec.streaming_decoder()
        return
    pieces = [wave[:, i : i + 777] for i in range(0, wave.shape[-1], 777)]
    streamed = np.concatenate(list(encode_stream(tokenizer, pieces)))
    assert np.array_equal(streamed, tokenizer.encode(wave, rate))
    id_pieces = [streamed[i : i + 29] for i in range(0, len(streamed), 29)]
    audio = np.concatenate(list(decode_stream(tokenizer, id_pieces)), -1)
    offline = tokenizer.decode(streamed)
    assert audio.shape == offline.shape
    assert np.abs(audio - offline).max() < 1e-4 * max(float(np.abs(offline).max()), 1e-3)


def test_preprocessing_job_and_training_data(family_dir: Path, tokenizer: AudioTokenizer, tmp_path: Path) -> None:
    from audiotok.preprocess import Options, run
    from audiotok.shards import load_token_dataset

    rate = tokenizer.codec.sampling_rate
    source = tmp_path / "audio"
    source.mkdir()
    waves = {f"c{i}": synthetic_audio(0.5 + 0.3 * i, rate, seed=20 + i) for i in range(3)}
    for key, wave in waves.items():
        sf.write(source / f"{key}.wav", wave[0], rate, subtype="FLOAT")
    options = Options(source=str(source), out=str(tmp_path / "out"), model=str(family_dir), device="cpu", num_workers=0)
    manifest = run(options)
    assert manifest["failed"] == 0
    dataset = load_token_dataset(tmp_path / "out", layout="delayed", vocab_offset=300)
    expected_tok = AudioTokenizer(tokenizer.config.replace(layout="delayed", vocab_offset=300), tokenizer.codec)
    got = {Path(row["key"]).stem: np.asarray(row["input_ids"]) for row in dataset}
    assert set(got) == set(waves)
    for key, wave in waves.items():
        assert np.array_equal(got[key], expected_tok.encode(wave, rate))


def test_cli_encode_decode_info(family_dir: Path, tokenizer: AudioTokenizer, tmp_path: Path, capsys) -> None:
    from audiotok.cli import main

    rate = tokenizer.codec.sampling_rate
    sf.write(tmp_path / "a.wav", synthetic_audio(0.6, rate, seed=30)[0], rate, subtype="FLOAT")
    assert main(["encode", str(tmp_path / "a.wav"), "--out", str(tmp_path / "ids"), "--model", str(family_dir),
                 "--device", "cpu"]) == 0  # fmt: skip
    ids = np.load(tmp_path / "ids" / "a.npy")
    assert np.array_equal(ids, tokenizer.encode(tmp_path / "a.wav"))
    assert main(["decode", str(tmp_path / "ids"), "--out", str(tmp_path / "wav"), "--device", "cpu"]) == 0
    audio, written_rate = sf.read(tmp_path / "wav" / "a.wav")
    frames = tokenizer.codec.num_frames(int(0.6 * rate))
    codec = tokenizer.codec
    assert written_rate == codec.output_sampling_rate and len(audio) == frames * output_hop(codec)
    capsys.readouterr()
    assert main(["info", "--model", str(family_dir)]) == 0
    out = capsys.readouterr().out
    assert f"({tokenizer.config.codec_family}, {tokenizer.config.frame_rate:g} frames/s)" in out


def test_a_loaded_codec_is_its_family(family_dir: Path) -> None:
    codec = load_codec(family_dir, device="cpu")
    assert type(codec).__module__.startswith(f"audiotok.codecs.{codec.model_type}.")
