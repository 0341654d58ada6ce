"""The Mimi family: Kyutai's streaming codec (``transformers.MimiModel``), 12.5 frames/s, 2048-entry codebooks."""

from .codec import MimiCodec
from .demo import demo_config, demo_dir

CODEC = MimiCodec

__all__ = ["CODEC", "MimiCodec", "demo_config", "demo_dir"]
