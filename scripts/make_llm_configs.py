"""Writes configs/llm/: one audiotok config per common LLM, the audio ids placed right after its tokenizer's ids.

Usage: python scripts/make_llm_configs.py [--out configs/llm]
The base vocabulary sizes (len(tokenizer)) are audiotok.llm_vocab.BASE_VOCABS, taken from the models'
published tokenizer files; the codec side is the 24 kHz EnCodec at 6 kbps, interleaved (TokenizerConfig
defaults, no download). For another codec, codebook count or layout:
`audiotok vocab --llm NAME --model ... --codebooks ... --layout ...`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from audiotok.llm_vocab import llm_configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "configs" / "llm"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    for name, config in llm_configs().items():
        (out / name).write_text(config.to_json())
        print(f"wrote {out / name}: audio ids [{config.vocab_offset}, {config.total_vocab_size})")


if __name__ == "__main__":
    main()
