"""The DAC family: Descript Audio Codec (``transformers.DacModel``), mono, non-causal, 1024-entry codebooks."""

from .codec import DacCodec
from .demo import demo_config, demo_dir

CODEC = DacCodec

__all__ = ["CODEC", "DacCodec", "demo_config", "demo_dir"]
