"""Codec families behind one interface (``AudioCodec``), found by a checkpoint's ``model_type``."""

from .base import AudioCodec, StreamingNotSupportedError
from .loading import CodecLoadError
from .registry import FAMILIES, codec_spec, load_codec

__all__ = ["FAMILIES", "AudioCodec", "CodecLoadError", "StreamingNotSupportedError", "codec_spec", "load_codec"]
