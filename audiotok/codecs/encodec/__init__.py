"""The EnCodec family: ``transformers.EncodecModel`` (24 kHz mono, causal; 48 kHz stereo, chunked)."""

from .codec import EncodecCodec
from .demo import demo_config, demo_dir

CODEC = EncodecCodec

__all__ = ["CODEC", "EncodecCodec", "demo_config", "demo_dir"]
