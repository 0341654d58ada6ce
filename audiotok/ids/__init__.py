"""The ids layer: vocabulary arithmetic, layouts, spans, repair, scale tokens, codes <-> ids.

Pure numpy: it imports no codec and no transformers (torch only to handle tensors a caller passes).
Everything that turns ids into codes or back builds on ``IdFormat``.
"""

from .arrays import as_ids, is_tensor
from .bpe import AcousticBPE, BpeUnits
from .codes import AudioCodes, IdFormat
from .detokenize import Errors, Segment, span_to_codes, split_segments
from .grammar import Allowed, SpanGrammar, SpanState
from .layouts import LAYOUTS, Layout, get_layout
from .scales import ScaleQuantizer
from .vocab import SPECIAL_TOKEN_NAMES, AudioVocab

__all__ = [
    "AcousticBPE",
    "BpeUnits",
    "LAYOUTS",
    "SPECIAL_TOKEN_NAMES",
    "Allowed",
    "AudioCodes",
    "AudioVocab",
    "Errors",
    "IdFormat",
    "Layout",
    "ScaleQuantizer",
    "Segment",
    "SpanGrammar",
    "SpanState",
    "as_ids",
    "get_layout",
    "is_tensor",
    "span_to_codes",
    "split_segments",
]
