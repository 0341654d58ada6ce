"""Writes configs/: one audiotok config per EnCodec bandwidth (architecture read from transformers' EncodecConfig).

Usage: python scripts/make_configs.py [--out configs]
The 24 kHz configs describe facebook/encodec_24khz, whose architecture is transformers' EncodecConfig
defaults; the 48 kHz ones facebook/encodec_48khz, as transformers' converter configures it. No
download is needed. For a different offset or layout use `audiotok info --model ...`
or TokenizerConfig(...).replace(vocab_offset=..., layout=...).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from transformers import EncodecConfig

from audiotok.config import standard_configs
from audiotok.demo_codec import encodec_48khz_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "configs"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    codecs = {"facebook/encodec_24khz": EncodecConfig(), "facebook/encodec_48khz": encodec_48khz_config()}
    for codec, architecture in codecs.items():
        for name, config in standard_configs(codec, architecture).items():
            (out / name).write_text(config.to_json())
            print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
