"""The WavTokenizer family (``transformers.WavTokenizerModel``): 24 kHz mono, one 4096-entry codebook."""

from .codec import WavTokenizerCodec
from .demo import demo_config, demo_dir

CODEC = WavTokenizerCodec

__all__ = ["CODEC", "WavTokenizerCodec", "demo_config", "demo_dir"]
