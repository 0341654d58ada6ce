"""Writes configs/: one audiotok config per codec and codebook count (architectures from transformers' configs).

Usage: python scripts/make_configs.py [--out configs]
The EnCodec 24 kHz configs describe facebook/encodec_24khz (transformers' EncodecConfig defaults),
the 48 kHz ones facebook/encodec_48khz as transformers' converter configures it; the DAC, Mimi,
WavTokenizer, X-codec, X-codec2 and NeuCodec ones the published architectures (see each family's
``demo.py``). No
download is needed. For another offset or layout use `audiotok vocab` or
TokenizerConfig.from_pretrained(path).replace(vocab_offset=..., layout=...).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audiotok.codecs.registry import codec_class
from audiotok.config import TokenizerConfig


def published_codecs() -> dict[str, Any]:
    """Hub id -> transformers config of every codec we ship configs for."""
    from transformers import EncodecConfig

    from audiotok.codecs.encodec.demo import encodec_48khz_config

    codecs: dict[str, Any] = {
        "facebook/encodec_24khz": EncodecConfig(),
        "facebook/encodec_48khz": encodec_48khz_config(),
    }
    for family in ("dac", "mimi", "wavtokenizer", "xcodec", "xcodec2", "neucodec"):
        module = __import__(f"audiotok.codecs.{family}.demo", fromlist=["PUBLISHED"])
        codecs.update(module.PUBLISHED)
    return codecs


def standard_configs(
    codec: str, model_config: Any, layouts: Sequence[str] = ("interleaved",)
) -> dict[str, TokenizerConfig]:
    """File name -> config for the codebook counts of a codec, e.g. ``encodec_24khz_6kbps.json`` (EnCodec's
    counts, named by bandwidth), ``dac_44khz_9codebooks.json`` (a few of the counts other families allow)."""
    spec = codec_class(model_config.model_type).describe(model_config)
    stem = codec.rstrip("/").split("/")[-1]
    counts = spec.codebook_counts
    if not spec.bandwidths:  # families with any count: the smallest, 8, the default and the largest
        counts = tuple(sorted({counts[0], spec.default_num_codebooks, counts[-1], *({8} & set(counts))}))
    configs = {}
    for count in counts:
        index = spec.codebook_counts.index(count)
        tag = f"{spec.bandwidths[index]:g}kbps" if spec.bandwidths else f"{count}codebooks"
        for layout in layouts:
            suffix = "" if layout == "interleaved" else f"_{layout}"
            name = f"{stem}_{tag}{suffix}.json"
            configs[name] = TokenizerConfig.for_codec(codec, spec, num_codebooks=count, layout=layout)
    return configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "configs"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    for codec, architecture in published_codecs().items():
        for name, config in standard_configs(codec, architecture).items():
            (out / name).write_text(config.to_json())
            print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
