"""``audiotok eval``: round-trip a corpus through tokenizer configurations and measure what each costs in quality.

``metrics`` (one function per metric), ``specs`` (``NAME[:key=value...]`` model specs), ``runner``
(``evaluate``), ``report`` (results.json, the table, the plot of quality against ids per second) and
``effects`` (what audiotok's own choices change: batching, streaming, first-codebook decoding, scale
tokens, lenient repair).
"""

from __future__ import annotations
