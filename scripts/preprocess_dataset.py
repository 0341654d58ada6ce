"""Corpus -> token shards: the job to run before training. See `audiotok/job/` and the README.

python scripts/preprocess_dataset.py data/ --out tokens/ --model facebook/encodec_24khz
torchrun --nproc_per_node 8 scripts/preprocess_dataset.py data/ --out tokens/      # one rank per GPU
python scripts/preprocess_dataset.py data/ --out tokens/ --engine ray --ray-address HEAD:6379      # a Ray cluster
"""

from __future__ import annotations

import sys

from audiotok.cli.preprocess import main

if __name__ == "__main__":
    sys.exit(main())
