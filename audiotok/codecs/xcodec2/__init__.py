"""The X-codec2 family: HKUST's single-codebook codec (``transformers.Xcodec2Model``), 50 frames/s, FSQ 65,536."""

from .codec import Xcodec2Codec
from .demo import demo_config, demo_dir

CODEC = Xcodec2Codec

__all__ = ["CODEC", "Xcodec2Codec", "demo_config", "demo_dir"]
