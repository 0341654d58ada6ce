"""``TokenizerConfig``: which codec, which bandwidth and layout, and where the audio ids sit in an LLM vocabulary."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .ids.codes import IdFormat
from .ids.layouts import LAYOUTS, get_layout
from .ids.scales import ScaleQuantizer
from .ids.vocab import SPECIAL_TOKEN_NAMES, AudioVocab

CONFIG_NAME = "audiotok_config.json"
FORMAT_VERSION = 1
DEFAULT_CODEC = "facebook/encodec_24khz"
DEFAULT_SPECIAL_TOKENS: dict[str, str] = {name: f"<|{name}|>" for name in SPECIAL_TOKEN_NAMES}
_DERIVED_KEYS = ("format_version", "special_token_ids", "audio_vocab_size", "tokens_per_second")


def num_codebooks_for(bandwidth: float, codebook_size: int, frame_rate: int) -> int:
    """Codebooks EnCodec uses at ``bandwidth`` kbps: floor(bandwidth / (log2(codebook_size) * frame_rate))."""
    return max(1, math.floor(bandwidth * 1000 / (math.log2(codebook_size) * frame_rate)))


@dataclass
class TokenizerConfig:
    """Everything needed to turn codec codes into LLM ids and back, validated on construction.

    Args:
        codec: hub id or local directory of a ``transformers.EncodecModel`` checkpoint.
        sampling_rate: the codec's audio rate in Hz.
        audio_channels: the codec's channels (1 for 24 kHz, 2 for 48 kHz).
        frame_rate: codec frames per second (sampling_rate / hop length, rounded up).
        codec_bandwidths: the bandwidths (kbps) the codec supports.
        bandwidth: the bandwidth used; fixes ``num_codebooks``.
        num_codebooks: codebooks per frame at ``bandwidth``; must agree with it.
        codebook_size: codes per codebook.
        layout: one of ``audiotok.layouts.LAYOUTS``.
        base_vocab_size: size of the LLM's vocabulary before the audio ids (0 for audio-only models).
        vocab_offset: first id of the audio range; must be >= ``base_vocab_size``.
        special_tokens: strings of the special tokens, by name (audio_start, audio_end, audio_pad).
        frames_per_chunk: frames of a whole chunk for chunked codecs (48 kHz: 150), 0 for unchunked ones.
        chunk_stride: samples between chunk starts (48 kHz: 47520), 0 for unchunked codecs.
        num_scale_tokens: scale tokens in the vocabulary (chunked codecs: 512 by default, else 0).
        scale_min_db: loudness of scale token 0, in dB.
        scale_step_db: loudness step between scale tokens, in dB (see ``audiotok/scales.py``).
    """

    codec: str = DEFAULT_CODEC
    sampling_rate: int = 24000
    audio_channels: int = 1
    frame_rate: int = 75
    codec_bandwidths: list[float] = field(default_factory=lambda: [1.5, 3.0, 6.0, 12.0, 24.0])
    bandwidth: float = 6.0
    num_codebooks: int = 8
    codebook_size: int = 1024
    layout: str = "interleaved"
    base_vocab_size: int = 0
    vocab_offset: int = 0
    special_tokens: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SPECIAL_TOKENS))
    frames_per_chunk: int = 0
    chunk_stride: int = 0
    num_scale_tokens: int = 0
    scale_min_db: float = -120.0
    scale_step_db: float = 0.25

    def __post_init__(self) -> None:
        self.codec_bandwidths = [float(b) for b in self.codec_bandwidths]
        self.bandwidth = float(self.bandwidth)
        self._validate()

    def _validate(self) -> None:
        if self.sampling_rate <= 0 or self.frame_rate <= 0:
            raise ConfigError(
                f"sampling_rate and frame_rate must be positive, got {self.sampling_rate}, {self.frame_rate}"
            )
        if self.audio_channels not in (1, 2):
            raise ConfigError(f"audio_channels must be 1 or 2, got {self.audio_channels}")
        if self.codebook_size < 2 or self.codebook_size & (self.codebook_size - 1):
            raise ConfigError(f"codebook_size must be a power of two >= 2, got {self.codebook_size}")
        if self.bandwidth not in self.codec_bandwidths:
            raise ConfigError(
                f"bandwidth {self.bandwidth} kbps is not one the codec supports; select one of {self.codec_bandwidths}"
            )
        expected = num_codebooks_for(self.bandwidth, self.codebook_size, self.frame_rate)
        if self.num_codebooks != expected:
            raise ConfigError(
                f"num_codebooks={self.num_codebooks} does not match bandwidth {self.bandwidth} kbps, which uses "
                f"{expected} codebooks of {self.codebook_size} codes at {self.frame_rate} frames/s; "
                f"set num_codebooks={expected}"
            )
        if self.layout not in LAYOUTS:
            raise ConfigError(f"unknown layout {self.layout!r}; select one of {sorted(LAYOUTS)}")
        if self.base_vocab_size < 0:
            raise ConfigError(f"base_vocab_size must be >= 0, got {self.base_vocab_size}")
        if self.vocab_offset < self.base_vocab_size:
            raise ConfigError(
                f"vocab_offset={self.vocab_offset} overlaps the base vocabulary (ids 0..{self.base_vocab_size - 1}); "
                f"set vocab_offset >= {self.base_vocab_size}"
            )
        if set(self.special_tokens) != set(SPECIAL_TOKEN_NAMES):
            raise ConfigError(
                f"special_tokens must name exactly {list(SPECIAL_TOKEN_NAMES)}, got {sorted(self.special_tokens)}"
            )
        chunked = [self.frames_per_chunk > 0, self.chunk_stride > 0, self.num_scale_tokens > 0]
        if any(chunked) and not all(chunked):
            raise ConfigError(
                "frames_per_chunk, chunk_stride and num_scale_tokens must all be > 0 (chunked codec, e.g. 48 kHz) "
                f"or all 0 (unchunked); got {self.frames_per_chunk}, {self.chunk_stride}, {self.num_scale_tokens}"
            )
        if self.scale_step_db <= 0:
            raise ConfigError(f"scale_step_db must be > 0, got {self.scale_step_db}")
        strings = list(self.special_tokens.values())
        if len(set(strings)) != len(strings) or not all(isinstance(s, str) and s for s in strings):
            raise ConfigError(f"special token strings must be distinct non-empty strings, got {strings}")

    # -- derived values -------------------------------------------------------------------------------
    @property
    def vocab(self) -> AudioVocab:
        """The id arithmetic of this config."""
        return AudioVocab(self.num_codebooks, self.codebook_size, self.vocab_offset, self.num_scale_tokens)

    @property
    def id_format(self) -> IdFormat:
        """Codes <-> ids in this config's vocabulary and layout (scale tokens included)."""
        quantizer = self.scale_quantizer if self.is_chunked else None
        return IdFormat(self.vocab, get_layout(self.layout), self.frames_per_chunk, quantizer)

    @property
    def is_chunked(self) -> bool:
        return self.frames_per_chunk > 0

    @property
    def scale_quantizer(self) -> ScaleQuantizer:
        return ScaleQuantizer(self.num_scale_tokens, self.scale_min_db, self.scale_step_db)

    @property
    def token_strings(self) -> list[str]:
        """The string of every id in the audio range, in id order (for adding them to an LLM tokenizer)."""
        return self.vocab.token_strings([self.special_tokens[name] for name in SPECIAL_TOKEN_NAMES])

    @property
    def special_token_ids(self) -> dict[str, int]:
        return self.vocab.special_ids

    @property
    def audio_vocab_size(self) -> int:
        """Ids the audio range takes: codes plus special tokens."""
        return self.vocab.size

    @property
    def total_vocab_size(self) -> int:
        """Smallest LLM vocabulary that holds the base vocabulary and the audio range."""
        return self.vocab.end

    @property
    def tokens_per_second(self) -> float:
        """Audio ids per second of audio in this layout (ignoring the delayed layout's K-1 edge steps).

        Chunked codecs encode overlapping chunks, so they give frames_per_chunk frames (plus one
        scale token) per chunk stride, slightly more than frame_rate frames per second.
        """
        codebooks = LAYOUTS[self.layout].codebooks_used(self.num_codebooks)
        if not self.is_chunked:
            return float(self.frame_rate * codebooks)
        return round(self.sampling_rate / self.chunk_stride * (self.frames_per_chunk * codebooks + 1), 2)

    # -- construction -----------------------------------------------------------------------------------
    @classmethod
    def for_codec(
        cls,
        codec: str,
        codec_config: Any,
        bandwidth: float | None = None,
        **overrides: Any,
    ) -> TokenizerConfig:
        """A config for a ``transformers.EncodecConfig``; bandwidth defaults to 6 kbps or the codec's nearest."""
        bandwidths = [float(b) for b in codec_config.target_bandwidths]
        if bandwidth is None:
            bandwidth = min(bandwidths, key=lambda b: abs(b - 6.0))
        frame_rate = int(codec_config.frame_rate)
        chunk_values = _chunk_values(codec_config)
        return cls(
            codec=codec,
            sampling_rate=int(codec_config.sampling_rate),
            audio_channels=int(codec_config.audio_channels),
            frame_rate=frame_rate,
            codec_bandwidths=bandwidths,
            bandwidth=float(bandwidth),
            num_codebooks=num_codebooks_for(float(bandwidth), int(codec_config.codebook_size), frame_rate)
            if float(bandwidth) in bandwidths
            else -1,
            codebook_size=int(codec_config.codebook_size),
            **{**chunk_values, **overrides},
        )

    def replace(self, **changes: Any) -> TokenizerConfig:
        """A copy with ``changes``; changing the bandwidth recomputes ``num_codebooks``."""
        values = self.to_dict(derived=False)
        if "bandwidth" in changes and "num_codebooks" not in changes:
            bandwidth = float(changes["bandwidth"])
            if bandwidth not in self.codec_bandwidths:
                raise ConfigError(
                    f"bandwidth {bandwidth} kbps is not one the codec supports; select one of {self.codec_bandwidths}"
                )
            changes["num_codebooks"] = num_codebooks_for(bandwidth, self.codebook_size, self.frame_rate)
        values.update(changes)
        return type(self).from_dict(values)

    def check_codec(self, codec_config: Any) -> None:
        """Raises ConfigError when this config does not describe the codec ``codec_config``."""
        actual = {
            "sampling_rate": int(codec_config.sampling_rate),
            "audio_channels": int(codec_config.audio_channels),
            "frame_rate": int(codec_config.frame_rate),
            "codebook_size": int(codec_config.codebook_size),
            "codec_bandwidths": [float(b) for b in codec_config.target_bandwidths],
            "frames_per_chunk": _chunk_values(codec_config)["frames_per_chunk"],
            "chunk_stride": _chunk_values(codec_config)["chunk_stride"],
        }
        wrong = {key: (getattr(self, key), value) for key, value in actual.items() if getattr(self, key) != value}
        if wrong:
            details = ", ".join(f"{key}: config {ours} vs codec {theirs}" for key, (ours, theirs) in wrong.items())
            raise ConfigError(
                f"the config does not match codec {self.codec!r} ({details}); regenerate it for this codec"
            )

    # -- serialisation ----------------------------------------------------------------------------------
    def to_dict(self, derived: bool = True) -> dict[str, Any]:
        """Plain-JSON view; with ``derived``, also the ids and sizes it implies (checked again on load)."""
        values = asdict(self)
        if derived:
            values = {
                "format_version": FORMAT_VERSION,
                **values,
                "special_token_ids": self.special_token_ids,
                "audio_vocab_size": self.audio_vocab_size,
                "tokens_per_second": self.tokens_per_second,
            }
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TokenizerConfig:
        """Builds and validates a config; unknown keys and derived values that disagree are errors."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known - set(_DERIVED_KEYS)
        if unknown:
            raise ConfigError(f"unknown config keys {sorted(unknown)}; allowed keys are {sorted(known)}")
        version = values.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ConfigError(
                f"config format_version {version} is not supported (this audiotok reads {FORMAT_VERSION})"
            )
        config = cls(**{key: values[key] for key in known if key in values})
        for key in _DERIVED_KEYS[1:]:
            if key in values and values[key] != getattr(config, key):
                raise ConfigError(
                    f"{key} in the file is {values[key]} but the config implies {getattr(config, key)}; "
                    f"delete {key} from the file or fix the values it is derived from"
                )
        return config

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json_file(cls, path: str | os.PathLike[str]) -> TokenizerConfig:
        path = Path(path)
        try:
            values = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path} is not valid JSON: {error}") from error
        if not isinstance(values, dict):
            raise ConfigError(f"{path} must hold a JSON object")
        return cls.from_dict(values)

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Writes ``audiotok_config.json`` into ``directory``; returns its path."""
        path = Path(directory) / CONFIG_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str]) -> TokenizerConfig:
        """Reads a config from a JSON file or a directory holding ``audiotok_config.json``."""
        path = Path(path)
        return cls.from_json_file(path / CONFIG_NAME if path.is_dir() else path)


def _chunk_values(codec_config: Any) -> dict[str, int]:
    """frames_per_chunk, chunk_stride and num_scale_tokens of a transformers EncodecConfig."""
    if codec_config.chunk_length is None:
        return {"frames_per_chunk": 0, "chunk_stride": 0, "num_scale_tokens": 0}
    hop = int(codec_config.hop_length)
    return {
        "frames_per_chunk": -(-int(codec_config.chunk_length) // hop),
        "chunk_stride": int(codec_config.chunk_stride),
        "num_scale_tokens": ScaleQuantizer().num_tokens,
    }


def bandwidth_tag(bandwidth: float) -> str:
    """'6kbps', '1.5kbps': the bandwidth as it appears in config file names."""
    return f"{bandwidth:g}kbps"


def standard_configs(
    codec: str, codec_config: Any, layouts: Sequence[str] = ("interleaved",)
) -> dict[str, TokenizerConfig]:
    """File name -> config for every bandwidth of a codec, e.g. ``encodec_24khz_6kbps.json``."""
    stem = codec.rstrip("/").split("/")[-1]
    configs = {}
    for bandwidth in codec_config.target_bandwidths:
        for layout in layouts:
            suffix = "" if layout == "interleaved" else f"_{layout}"
            name = f"{stem}_{bandwidth_tag(bandwidth)}{suffix}.json"
            configs[name] = TokenizerConfig.for_codec(codec, codec_config, bandwidth, layout=layout)
    return configs
