"""``CodecSpec``: what a tokenizer config needs to know about a codec, read from its checkpoint's config alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .ids.scales import ScaleQuantizer


@dataclass(frozen=True)
class CodecSpec:
    """What a config needs to know about a codec, read from its checkpoint's config (no weights).

    Attributes:
        family: the checkpoint's ``model_type`` ("encodec", "dac", "mimi", ...), the registry key.
        sampling_rate: rate of the audio the codec encodes, in Hz.
        output_sampling_rate: rate of the audio it decodes, if it differs (None: the same).
        audio_channels: channels in and out.
        frame_rate: frames per second (sampling_rate / hop length), a float.
        codebook_size: codes per codebook.
        codebook_counts: the numbers of codebooks the codec can encode with, ascending.
        default_num_codebooks: the count a bare checkpoint gets.
        bandwidths: the family's names for ``codebook_counts`` (EnCodec: kbps), same order; empty if none.
        frames_per_chunk: frames of a whole chunk for codecs that encode fixed chunks with a per-chunk
            scale (EnCodec 48 kHz), else 0.
        chunk_stride: samples between chunk starts (chunked codecs), else 0.
    """

    family: str
    sampling_rate: int
    audio_channels: int
    frame_rate: float
    codebook_size: int
    codebook_counts: tuple[int, ...]
    default_num_codebooks: int
    bandwidths: tuple[float, ...] = ()
    frames_per_chunk: int = 0
    chunk_stride: int = 0
    output_sampling_rate: int | None = None

    def config_values(self) -> dict[str, Any]:
        """The ``TokenizerConfig`` fields this spec fixes."""
        chunked = self.frames_per_chunk > 0
        return {
            "codec_family": self.family,
            "sampling_rate": self.sampling_rate,
            "output_sampling_rate": self.output_sampling_rate or self.sampling_rate,
            "audio_channels": self.audio_channels,
            "frame_rate": float(self.frame_rate),
            "codebook_size": self.codebook_size,
            "codebook_counts": list(self.codebook_counts),
            "bandwidths": [float(b) for b in self.bandwidths],
            "frames_per_chunk": self.frames_per_chunk,
            "chunk_stride": self.chunk_stride,
            "num_scale_tokens": ScaleQuantizer().num_tokens if chunked else 0,
        }
