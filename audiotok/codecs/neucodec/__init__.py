"""The NeuCodec family: Neuphonic's X-codec2 variant (``NeuCodecModel``), 16 kHz in, 24 kHz out, FSQ 65,536."""

from .codec import NeuCodecCodec
from .demo import demo_config, demo_dir

CODEC = NeuCodecCodec

__all__ = ["CODEC", "NeuCodecCodec", "demo_config", "demo_dir"]
