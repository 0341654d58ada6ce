"""``TokenizerConfig``: which codec, how many codebooks, which layout, and where the audio ids sit in an LLM vocabulary.

A config never loads a codec: it holds a ``CodecSpec`` (``audiotok/codec_spec.py``) worth of facts about
it (rates, codebooks, side information), which each codec family reads from its checkpoint's ``config.json``.
The number of codebooks is the primitive; a family may name its counts (EnCodec: bandwidths in kbps), and
``bandwidth`` is then an alias for ``num_codebooks``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .codec_spec import CodecSpec
from .errors import ConfigError
from .ids.bpe import BPE_NAME, AcousticBPE
from .ids.codes import IdFormat
from .ids.layouts import LAYOUTS, get_layout
from .ids.scales import ScaleQuantizer
from .ids.vocab import SPECIAL_TOKEN_NAMES, AudioVocab

CONFIG_NAME = "audiotok_config.json"
FORMAT_VERSION = 2
DEFAULT_CODEC = "facebook/encodec_24khz"
DEFAULT_SPECIAL_TOKENS: dict[str, str] = {name: f"<|{name}|>" for name in SPECIAL_TOKEN_NAMES}
_DERIVED_KEYS = ("format_version", "special_token_ids", "audio_vocab_size", "tokens_per_second")


@dataclass
class TokenizerConfig:
    """Everything needed to turn codec codes into LLM ids and back, validated on construction.

    Args:
        codec: hub id or local directory of the codec checkpoint.
        codec_family: the checkpoint's ``model_type`` (see ``audiotok.codecs.FAMILIES``).
        sampling_rate: the rate of the audio the codec encodes, in Hz.
        output_sampling_rate: the rate of the audio it decodes (None: ``sampling_rate``).
        audio_channels: the codec's channels.
        frame_rate: codec frames per second (a float: Mimi 12.5, DAC 44.1 kHz 86.13).
        codebook_size: codes per codebook.
        codebook_counts: the numbers of codebooks the codec supports.
        num_codebooks: codebooks per frame used here; one of ``codebook_counts``.
        bandwidths: the family's names of ``codebook_counts`` (EnCodec: kbps), or empty.
        layout: one of ``audiotok.ids.LAYOUTS``.
        base_vocab_size: size of the LLM's vocabulary before the audio ids (0 for audio-only models).
        vocab_offset: first id of the audio range; must be >= ``base_vocab_size``.
        special_tokens: strings of the special tokens, by name (audio_start, audio_end, audio_pad).
        frames_per_chunk: frames of a whole chunk for chunked codecs (48 kHz: 150), 0 for unchunked ones.
        chunk_stride: samples between chunk starts (48 kHz: 47520), 0 for unchunked codecs.
        num_scale_tokens: scale tokens in the vocabulary (chunked codecs: 512 by default, else 0).
        scale_min_db: loudness of scale token 0, in dB.
        scale_step_db: loudness step between scale tokens, in dB (see ``audiotok/ids/scales.py``).
        bpe: the acoustic BPE this config uses, or None: ``{"file", "sha256", "num_tokens", "max_frames"}`` of the
            BPE file saved beside the config (``audiotok/ids/bpe.py``); set it with ``with_bpe``.
    """

    codec: str = DEFAULT_CODEC
    codec_family: str = "encodec"
    sampling_rate: int = 24000
    output_sampling_rate: int | None = None
    audio_channels: int = 1
    frame_rate: float = 75.0
    codebook_size: int = 1024
    codebook_counts: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 32])
    num_codebooks: int = 8
    bandwidths: list[float] = field(default_factory=lambda: [1.5, 3.0, 6.0, 12.0, 24.0])
    layout: str = "interleaved"
    base_vocab_size: int = 0
    vocab_offset: int = 0
    special_tokens: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SPECIAL_TOKENS))
    frames_per_chunk: int = 0
    chunk_stride: int = 0
    num_scale_tokens: int = 0
    scale_min_db: float = -120.0
    scale_step_db: float = 0.25
    bpe: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.output_sampling_rate is None:
            self.output_sampling_rate = self.sampling_rate
        self.frame_rate = float(self.frame_rate)
        self.codebook_counts = [int(k) for k in self.codebook_counts]
        self.bandwidths = [float(b) for b in self.bandwidths]
        self._bpe_model: AcousticBPE | None = None
        self._validate()

    def _validate(self) -> None:
        if self.sampling_rate <= 0 or self.frame_rate <= 0 or (self.output_sampling_rate or 0) <= 0:
            raise ConfigError(
                "sampling_rate, output_sampling_rate and frame_rate must be positive, got "
                f"{self.sampling_rate}, {self.output_sampling_rate}, {self.frame_rate}"
            )
        if self.audio_channels not in (1, 2):
            raise ConfigError(f"audio_channels must be 1 or 2, got {self.audio_channels}")
        if self.codebook_size < 2 or self.codebook_size & (self.codebook_size - 1):
            raise ConfigError(f"codebook_size must be a power of two >= 2, got {self.codebook_size}")
        counts = self.codebook_counts
        if not counts or sorted(set(counts)) != counts or counts[0] < 1:
            raise ConfigError(f"codebook_counts must be distinct positive numbers in ascending order, got {counts}")
        if self.bandwidths and len(self.bandwidths) != len(counts):
            raise ConfigError(
                f"bandwidths {self.bandwidths} must name each of codebook_counts {counts} (same length), or be empty"
            )
        if self.num_codebooks not in counts:
            raise ConfigError(
                f"num_codebooks={self.num_codebooks} is not a count the codec supports; select one of {counts}"
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
        if self.bpe is not None:
            keys = {"file", "sha256", "num_tokens", "max_frames"}
            if not isinstance(self.bpe, dict) or set(self.bpe) != keys:
                raise ConfigError(f"bpe must be null or an object with keys {sorted(keys)}, got {self.bpe!r}")
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
        return IdFormat(self.vocab, get_layout(self.layout), self.frames_per_chunk, quantizer, self.bpe_model)

    @property
    def bpe_model(self) -> AcousticBPE | None:
        """The loaded acoustic BPE (None without one).

        Raises:
            ConfigError: the config names a BPE file that was not loaded (built with ``from_dict`` alone).
        """
        if self.bpe is None:
            return None
        if self._bpe_model is None:
            raise ConfigError(
                f"the config uses the BPE file {self.bpe['file']!r}, which was not loaded: load the config with "
                "from_pretrained(directory) so the file beside it is read, or attach it with with_bpe"
            )
        return self._bpe_model

    @property
    def num_bpe_tokens(self) -> int:
        """Merged BPE tokens after the audio range (0 without a BPE)."""
        return 0 if self.bpe is None else int(self.bpe["num_tokens"])

    def with_bpe(self, bpe: AcousticBPE | None) -> TokenizerConfig:
        """A copy that uses ``bpe`` (None: no BPE); raises ConfigError if it was trained for other codes or layout."""
        if bpe is None:
            return self.replace(bpe=None)
        bpe.units.check_vocab(self.vocab, self.layout)
        meta = {
            "file": BPE_NAME,
            "sha256": bpe.sha256,
            "num_tokens": bpe.num_tokens,
            "max_frames": bpe.units.max_frames,
        }
        config = type(self).from_dict({**self.to_dict(derived=False), "bpe": meta})
        config._bpe_model = bpe
        return config

    @property
    def is_chunked(self) -> bool:
        return self.frames_per_chunk > 0

    @property
    def scale_quantizer(self) -> ScaleQuantizer:
        return ScaleQuantizer(self.num_scale_tokens, self.scale_min_db, self.scale_step_db)

    @property
    def token_strings(self) -> list[str]:
        """The string of every id in the audio range, in id order (for adding them to an LLM tokenizer)."""
        strings = self.vocab.token_strings([self.special_tokens[name] for name in SPECIAL_TOKEN_NAMES])
        model = self.bpe_model
        return strings + (model.token_strings() if model is not None else [])

    @property
    def special_token_ids(self) -> dict[str, int]:
        return self.vocab.special_ids

    @property
    def audio_vocab_size(self) -> int:
        """Ids the audio range takes: codes, special and scale tokens, and merged BPE tokens."""
        return self.vocab.size + self.num_bpe_tokens

    @property
    def total_vocab_size(self) -> int:
        """Smallest LLM vocabulary that holds the base vocabulary and the audio range (BPE tokens included)."""
        return self.vocab.end + self.num_bpe_tokens

    @property
    def tokens_per_second(self) -> float:
        """Audio ids per second of audio in this layout (ignoring the delayed layout's K-1 edge steps).

        Chunked codecs encode overlapping chunks, so they give frames_per_chunk frames (plus one
        scale token) per chunk stride, slightly more than frame_rate frames per second.
        """
        return self.tokens_per_second_at(self.num_codebooks)

    def tokens_per_second_at(self, num_codebooks: int, layout: str | None = None) -> float:
        """Audio ids per second with ``num_codebooks`` codebooks in ``layout`` (this config's by default)."""
        codebooks = get_layout(layout or self.layout).codebooks_used(num_codebooks)
        if not self.is_chunked:
            return round(self.frame_rate * codebooks, 2)
        return round(self.sampling_rate / self.chunk_stride * (self.frames_per_chunk * codebooks + 1), 2)

    @property
    def bandwidth(self) -> float | None:
        """The family's name of ``num_codebooks`` (EnCodec: kbps), or None for families without one."""
        if not self.bandwidths:
            return None
        return self.bandwidths[self.codebook_counts.index(self.num_codebooks)]

    def codebooks_for_bandwidth(self, bandwidth: float) -> int:
        """The codebook count a bandwidth names (EnCodec's alias)."""
        if not self.bandwidths:
            raise ConfigError(
                f"the {self.codec_family} codec has no bandwidth settings; choose num_codebooks from "
                f"{self.codebook_counts}"
            )
        if float(bandwidth) not in self.bandwidths:
            raise ConfigError(
                f"bandwidth {float(bandwidth)} kbps is not one the codec supports; select one of {self.bandwidths}"
            )
        return self.codebook_counts[self.bandwidths.index(float(bandwidth))]

    # -- construction -----------------------------------------------------------------------------------
    @classmethod
    def for_codec(cls, codec: str, spec: CodecSpec, **overrides: Any) -> TokenizerConfig:
        """The default config of a codec: its default codebook count, interleaved, offset 0; ``overrides`` win
        (``bandwidth=`` names a codebook count for families that have bandwidths)."""
        base = cls(codec=codec, num_codebooks=spec.default_num_codebooks, **spec.config_values())
        return base.replace(**overrides) if overrides else base

    def replace(self, **changes: Any) -> TokenizerConfig:
        """A copy with ``changes``; ``bandwidth=`` sets ``num_codebooks`` (families that name their counts)."""
        values = self.to_dict(derived=False)
        bandwidth = changes.pop("bandwidth", None)
        if bandwidth is not None:
            codebooks = self.codebooks_for_bandwidth(bandwidth)
            if changes.get("num_codebooks", codebooks) != codebooks:
                raise ConfigError(
                    f"bandwidth {bandwidth} kbps uses {codebooks} codebooks, not num_codebooks="
                    f"{changes['num_codebooks']}; give one of the two"
                )
            changes["num_codebooks"] = codebooks
        values.update(changes)
        config = type(self).from_dict(values)
        if config.bpe is not None and config.bpe == self.bpe and self._bpe_model is not None:
            self._bpe_model.units.check_vocab(config.vocab, config.layout)
            config._bpe_model = self._bpe_model
        return config

    def check_codec(self, spec: CodecSpec) -> None:
        """Raises ConfigError when this config does not describe the codec ``spec`` describes."""
        actual = spec.config_values()
        wrong = {key: (getattr(self, key), value) for key, value in actual.items() if getattr(self, key) != value}
        wrong.pop("num_scale_tokens", None)  # a config may choose its own scale-token grid
        if wrong:
            details = ", ".join(f"{key}: config {ours} vs codec {theirs}" for key, (ours, theirs) in wrong.items())
            raise ConfigError(
                f"the config does not match codec {self.codec!r} ({details}); regenerate it for this codec"
            )

    # -- serialisation ----------------------------------------------------------------------------------
    def to_dict(self, derived: bool = True) -> dict[str, Any]:
        """Plain-JSON view; with ``derived``, also the ids and sizes it implies (checked again on load)."""
        values = asdict(self)
        if values["bpe"] is None:  # configs without a BPE read and write as before it existed
            del values["bpe"]
        if derived:
            values = {
                "format_version": FORMAT_VERSION,
                **values,
                "bandwidth": self.bandwidth,
                "special_token_ids": self.special_token_ids,
                "audio_vocab_size": self.audio_vocab_size,
                "tokens_per_second": self.tokens_per_second,
            }
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TokenizerConfig:
        """Builds and validates a config (format 1 files are upgraded); unknown keys and derived values that
        disagree are errors."""
        values = dict(values)
        version = values.get("format_version", FORMAT_VERSION)
        if version == 1:
            values = _upgrade_v1(values)
        elif version != FORMAT_VERSION:
            raise ConfigError(
                f"config format_version {version} is not supported (this audiotok reads 1 and {FORMAT_VERSION})"
            )
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known - set(_DERIVED_KEYS) - {"bandwidth"}
        if unknown:
            raise ConfigError(f"unknown config keys {sorted(unknown)}; allowed keys are {sorted(known)}")
        config = cls(**{key: values[key] for key in known if key in values})
        if values.get("bandwidth") is not None and config.bandwidth != float(values["bandwidth"]):
            raise ConfigError(
                f"bandwidth {values['bandwidth']} kbps in the file does not match num_codebooks={config.num_codebooks} "
                f"(bandwidth {config.bandwidth}); delete one of them"
            )
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
        model = self.bpe_model
        if model is not None:
            model.save(path.parent / BPE_NAME)
        path.write_text(self.to_json())
        return path

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str]) -> TokenizerConfig:
        """Reads a config from a JSON file or a directory holding ``audiotok_config.json`` (and its BPE file, if any).

        Raises:
            ConfigError: the BPE file the config names is missing or not the one it was saved with (hash).
        """
        path = Path(path)
        file = path / CONFIG_NAME if path.is_dir() else path
        config = cls.from_json_file(file)
        if config.bpe is not None:
            bpe_path = file.parent / config.bpe["file"]
            model = AcousticBPE.load(bpe_path)
            if model.sha256 != config.bpe["sha256"]:
                raise ConfigError(
                    f"{bpe_path} is not the BPE file {file.name} was saved with (sha256 {model.sha256[:12]}... vs "
                    f"{str(config.bpe['sha256'])[:12]}...); copy the matching file or train the BPE again"
                )
            model.units.check_vocab(config.vocab, config.layout)
            config._bpe_model = model
        return config


def _upgrade_v1(values: dict[str, Any]) -> dict[str, Any]:
    """A format-1 config (EnCodec only, bandwidth-keyed, integer frame rate) -> format-2 values.

    Format 1 stored the bandwidths EnCodec supports; their codebook counts follow EnCodec's rule
    floor(kbps * 1000 / (log2(codebook_size) * frame_rate)).
    """
    values = {key: value for key, value in values.items() if key != "format_version"}
    bandwidths = [float(b) for b in values.pop("codec_bandwidths", [1.5, 3.0, 6.0, 12.0, 24.0])]
    size = int(values.get("codebook_size", 1024))
    frame_rate = float(values.get("frame_rate", 75))
    values["codebook_counts"] = [max(1, math.floor(b * 1000 / (math.log2(size) * frame_rate))) for b in bandwidths]
    values["bandwidths"] = bandwidths
    values.setdefault("codec_family", "encodec")
    return values
