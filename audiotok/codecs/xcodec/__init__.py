"""The X-codec family (``transformers.XcodecModel``): 16 kHz mono, semantic + acoustic RVQ, 50 frames/s."""

from .codec import XcodecCodec
from .demo import demo_config, demo_dir

CODEC = XcodecCodec

__all__ = ["CODEC", "XcodecCodec", "demo_config", "demo_dir"]
