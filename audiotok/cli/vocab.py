"""audiotok vocab: write the config that places the audio ids in an LLM vocabulary, or extend a saved tokenizer.

Examples::

    audiotok vocab --base-vocab-size 32000 --out llama2_audio.json        # offset 32000, 6 kbps, interleaved
    audiotok vocab --llm llama-3 --bandwidth 12 --layout delayed            # print the config JSON
    audiotok vocab --extend-tokenizer my_llm_tokenizer/ --out extended/    # tokenizer + audiotok_config.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..codecs.registry import DEMO_PREFIX as DEMO_MODEL_NAME
from ..config import CONFIG_NAME, DEFAULT_CODEC
from ..errors import ConfigError
from ..ids.layouts import LAYOUTS
from ..llm_vocab import BASE_VOCABS, extend_tokenizer
from .configs import config_only


def add_command(subparsers: Any) -> None:
    """Adds the ``vocab`` sub-command to an ``argparse`` sub-parser set (its handler is ``args.run``)."""
    parser = subparsers.add_parser(
        "vocab",
        help="config for an LLM vocabulary (offset after its text ids); extend a saved HF tokenizer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--base-vocab-size", type=int, help="len(tokenizer) of the LLM; the audio ids start here")
    where.add_argument(
        "--llm", choices=[entry.name for entry in BASE_VOCABS], help="take the base vocabulary size of a known LLM"
    )
    parser.add_argument("--vocab-offset", type=int, help="first audio id (default: the base vocabulary size)")
    parser.add_argument("--codebooks", dest="num_codebooks", type=int, help="codebooks per frame (codec default)")
    parser.add_argument("--bandwidth", type=float, help="EnCodec and X-codec: kbps naming a codebook count")
    parser.add_argument("--layout", choices=sorted(LAYOUTS), help="default interleaved")
    parser.add_argument(
        "--model",
        default=DEFAULT_CODEC,
        help=f"the codec: {DEFAULT_CODEC} (known without download), '{DEMO_MODEL_NAME}[-family]', a codec "
        "checkpoint directory or hub id (its config.json only), or an audiotok config JSON / saved tokenizer "
        "directory to start from",
    )
    parser.add_argument(
        "--extend-tokenizer",
        metavar="DIR",
        help="a saved Hugging Face tokenizer directory: add the audio tokens, save it (to --out, else in place) "
        f"with {CONFIG_NAME} beside it",
    )
    parser.add_argument(
        "--out", help="config: a .json file or a directory (default: print); with --extend-tokenizer: a directory"
    )
    parser.set_defaults(run=run_vocab)


def run_vocab(args: argparse.Namespace) -> int:
    """The handler of ``audiotok vocab``; raises ConfigError (or OSError) for the caller to report."""
    config = config_only(args.model)
    changes: dict[str, Any] = {}
    if args.num_codebooks is not None:
        changes["num_codebooks"] = args.num_codebooks
    if args.bandwidth is not None:
        changes["bandwidth"] = args.bandwidth
    if args.layout is not None:
        changes["layout"] = args.layout
    base = args.base_vocab_size
    if args.llm is not None:
        base = next(entry.tokenizer_size for entry in BASE_VOCABS if entry.name == args.llm)
    if base is not None:
        changes["base_vocab_size"] = base
    if args.vocab_offset is not None or base is not None:
        changes["vocab_offset"] = args.vocab_offset if args.vocab_offset is not None else base
    config = config.replace(**changes) if changes else config

    if args.extend_tokenizer is None:
        if args.out is None:
            print(config.to_json(), end="")
            return 0
        out = Path(args.out)
        if out.suffix == ".json":
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(config.to_json())
        else:
            out = config.save_pretrained(out)
        print(f"wrote {out}: audio ids [{config.vocab_offset}, {config.total_vocab_size})", file=sys.stderr)
        return 0

    source = Path(args.extend_tokenizer)
    target = Path(args.out) if args.out else source
    hf_tokenizer = _load_hf_tokenizer(source)
    before = len(hf_tokenizer)
    started = time.perf_counter()
    placed = extend_tokenizer(hf_tokenizer, config)
    seconds = time.perf_counter() - started
    hf_tokenizer.save_pretrained(target)
    placed.save_pretrained(target)
    added = len(hf_tokenizer) - before
    print(
        f"{source}: added {added} tokens in {seconds:.2f} s (audio ids [{placed.vocab_offset}, "
        f"{placed.total_vocab_size})); wrote the tokenizer and {CONFIG_NAME} to {target}. "
        f"Resize the model to >= {placed.total_vocab_size} rows (audiotok.extend_model)."
    )
    return 0


def _load_hf_tokenizer(directory: Path) -> Any:
    if not directory.is_dir():
        raise ConfigError(f"--extend-tokenizer {directory}: no such directory (save the tokenizer there first)")
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory)
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError(f"cannot load a Hugging Face tokenizer from {directory}: {error}") from None
