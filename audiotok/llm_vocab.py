"""Putting the audio ids into an LLM's tokenizer; the base vocabularies of common LLMs.

Four steps turn a text LLM into one that reads and writes audiotok ids (the last three in
``audiotok/llm_model.py`` and ``audiotok/mixed.py``)::

    config = extend_tokenizer(hf_tokenizer, TokenizerConfig())   # adds <|a0_0|> .. <|audio_pad|>; places the range
    extend_model(model, config)                                   # embedding rows for them (mean-of-old-rows init)
    example = build_example(text_ids, audio_ids)                  # training example: ids, attention mask, labels
    pieces = decode_mixed_output(generated, audio_tok, hf_tok)    # the model's output -> text strings and waveforms

The added token strings are exactly ``config.token_strings`` (one per codebook and code, e.g. ``<|a3_1017|>``,
then the special tokens, then any scale tokens), so the tokenizer's id of each string is the id audiotok
computes for it: ``hf_tokenizer(text + "".join(strings))`` and ``AudioTokenizer.encode`` agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import numpy as np
from tokenizers import AddedToken

from .config import TokenizerConfig
from .errors import ConfigError

# ----------------------------------------------------------------------------------------------------
# base vocabularies of common LLMs


@dataclass(frozen=True)
class BaseVocab:
    """The text vocabulary of a published LLM family, as configs/llm/ uses it.

    Attributes:
        name: file stem in ``configs/llm/``.
        models: example hub ids.
        tokenizer_size: ``len(tokenizer)``: every id the tokenizer can produce, added specials included.
            The audio range starts here (Hugging Face tokenizers give added tokens the next free id).
        embedding_size: the model's ``config.vocab_size`` (rows of its embedding matrix); rows past
            ``tokenizer_size`` are padding that no token uses.
        note: what the tokenizer's ids are.
    """

    name: str
    models: str
    tokenizer_size: int
    embedding_size: int
    note: str


# From the models' published tokenizer files and config.json (not re-checked against the hub here).
BASE_VOCABS: tuple[BaseVocab, ...] = (
    BaseVocab(
        "llama-2", "meta-llama/Llama-2-7b-hf (all sizes)", 32000, 32000, "sentencepiece BPE, incl. <unk> <s> </s>"
    ),
    BaseVocab(
        "llama-3",
        "meta-llama/Meta-Llama-3-8B, Llama-3.1, Llama-3.2",
        128256,
        128256,
        "128000 BPE tokens + 256 reserved specials (<|begin_of_text|> = 128000 ...)",
    ),
    BaseVocab("gpt2", "openai-community/gpt2 (all sizes)", 50257, 50257, "50256 byte-level BPE tokens + <|endoftext|>"),
    BaseVocab(
        "qwen2",
        "Qwen/Qwen2-0.5B, -1.5B (embedding 152064 for 7B, 72B)",
        151646,
        151936,
        "151643 BPE tokens + <|endoftext|> <|im_start|> <|im_end|>",
    ),
    BaseVocab(
        "qwen2.5",
        "Qwen/Qwen2.5-0.5B .. -3B (embedding 152064 for 7B and up)",
        151665,
        151936,
        "151643 BPE tokens + 22 specials (<|endoftext|> = 151643 .. <|file_sep|> = 151664)",
    ),
    BaseVocab("mistral-7b-v0.1", "mistralai/Mistral-7B-v0.1", 32000, 32000, "sentencepiece BPE, incl. <unk> <s> </s>"),
    BaseVocab("mistral-7b-v0.3", "mistralai/Mistral-7B-v0.3", 32768, 32768, "v0.1's 32000 + 768 control tokens"),
)


def llm_configs(base: TokenizerConfig | None = None) -> dict[str, TokenizerConfig]:
    """File name -> config for every entry of BASE_VOCABS, e.g. ``llama-3.json``.

    Args:
        base: codec, codebook count and layout to use (default: ``TokenizerConfig()``: EnCodec 24 kHz, 8 codebooks).
    """
    base = base or TokenizerConfig()
    return {
        f"{entry.name}.json": base.replace(base_vocab_size=entry.tokenizer_size, vocab_offset=entry.tokenizer_size)
        for entry in BASE_VOCABS
    }


# ----------------------------------------------------------------------------------------------------
# tokenizer


def extend_tokenizer(hf_tokenizer: Any, config: TokenizerConfig) -> TokenizerConfig:
    """Adds every audio token string of ``config`` to a Hugging Face tokenizer; returns the placed config.

    The strings (``config.token_strings``, in id order) are added as ``AddedToken``s, so the tokenizer matches
    them in text before its own model runs and never splits them:

    * code and scale tokens: ``special=False, normalized=False``. Not normalized, so the tokenizer's
      normalizer (lower-casing, Llama's "prepend ▁ / replace spaces") never touches them and the string in
      the text is matched as written; not special, so the tokenizer's special-token lists stay short
      (tens of thousands of specials make ``all_special_ids`` and every ``skip_special_tokens`` decode
      slow), ``tokenizer_config.json`` does not list them all again, and ``skip_special_tokens=True``
      keeps them in a decoded string.
    * ``<|audio_start|>``, ``<|audio_end|>``, ``<|audio_pad|>``: ``special=True`` (added with
      ``add_special_tokens``), so they behave like the model's other control tokens.

    Hugging Face tokenizers give added tokens the next free ids, so the audio range starts at
    ``len(hf_tokenizer)``. A config with ``vocab_offset == 0 and base_vocab_size == 0`` (the default) is
    placed there; any other config must already say that offset (e.g. ``configs/llm/llama-3.json`` for a
    Llama 3 tokenizer), so a wrong tokenizer/config pair fails loudly instead of shifting every id.

    Calling it again on the extended tokenizer adds nothing and returns the same config (idempotent).
    Python ("slow") tokenizers are extended through their ``added_tokens_decoder`` in one step, because
    their ``add_tokens`` takes time quadratic in the number of added tokens (~1 min for 32 x 1024).

    Args:
        hf_tokenizer: a ``transformers`` tokenizer (fast / tokenizers-backed or Python / sentencepiece).
        config: the audio vocabulary to add.

    Returns:
        ``config.replace(base_vocab_size=n, vocab_offset=n)`` where ``n`` is the id of the first audio
        token: ``len(hf_tokenizer)`` before the call.

    Raises:
        ConfigError: some but not all of the strings are already in the tokenizer, the existing or
            assigned ids are not ``config``'s contiguous range, or the config's offset is not where the
            tokenizer puts new tokens. Nothing is added when the problem is visible beforehand.
    """
    strings = config.token_strings
    vocab: dict[str, int] = hf_tokenizer.get_vocab()
    present = [s for s in strings if s in vocab]
    if present:
        if len(present) != len(strings):
            missing = [s for s in strings if s not in vocab]
            raise ConfigError(
                f"{len(present)} of the {len(strings)} audio token strings are already in the tokenizer "
                f"(e.g. {_quote(present, vocab)}) but {len(missing)} are not (e.g. {', '.join(missing[:3])}): "
                "the tokenizer was extended for another config (codebook count or size) or uses these strings "
                "itself; start from the original tokenizer or pass the config it was extended with"
            )
        offset = vocab[strings[0]]
        _check_range([vocab[s] for s in strings], offset, strings, "already in the tokenizer")
        return _placed(config, offset, f"the audio tokens already in this tokenizer start at id {offset}")

    next_id = len(hf_tokenizer)
    highest = max(vocab.values(), default=-1)
    if highest >= next_id:
        raise ConfigError(
            f"the tokenizer holds {next_id} tokens but uses ids up to {highest}: its ids have holes, so the ids "
            "new tokens get cannot be predicted; fill the holes (or remove the stray added tokens) first"
        )
    placed = _placed(
        config, next_id, f"this tokenizer holds {next_id} tokens, so added tokens get ids from {next_id} on"
    )
    for is_special, group in groupby(strings, key=set(config.special_tokens.values()).__contains__):
        _add(hf_tokenizer, list(group), is_special)
    ids = hf_tokenizer.convert_tokens_to_ids(strings)
    _check_range(ids, next_id, strings, "just added")
    return placed


def _placed(config: TokenizerConfig, offset: int, reason: str) -> TokenizerConfig:
    """``config`` placed at ``offset``; a config that names another offset is an error (``reason`` says why)."""
    if (config.vocab_offset or config.base_vocab_size) and config.vocab_offset != offset:
        raise ConfigError(
            f"the config puts the audio ids at vocab_offset={config.vocab_offset} "
            f"(base_vocab_size={config.base_vocab_size}), but {reason}; use a config with vocab_offset={offset}, "
            "or the default vocab_offset=0 and base_vocab_size=0 to let extend_tokenizer place the range"
        )
    return config.replace(base_vocab_size=offset, vocab_offset=offset)


def _add(hf_tokenizer: Any, strings: list[str], special: bool) -> None:
    """Adds ``strings`` (none of them in the vocabulary yet) at the next ids, in order."""
    tokens = [
        AddedToken(s, single_word=False, lstrip=False, rstrip=False, normalized=False, special=special) for s in strings
    ]
    if special:
        # "additional_special_tokens" is the transformers 4 name (5 maps it); positional False = extend the list
        hf_tokenizer.add_special_tokens({"additional_special_tokens": tokens}, False)
    elif not getattr(hf_tokenizer, "is_fast", False) and hasattr(hf_tokenizer, "_update_trie"):
        # Python tokenizers: add_tokens scans every added token for each new one; set the map in one step
        start = len(hf_tokenizer)
        hf_tokenizer.added_tokens_decoder = {start + i: token for i, token in enumerate(tokens)}
        hf_tokenizer._update_trie()
    else:
        hf_tokenizer.add_tokens(tokens)


def _check_range(ids: Sequence[int | None], offset: int, strings: Sequence[str], what: str) -> None:
    """The ids of ``strings`` must be ``offset, offset + 1, ...``."""
    expected = np.arange(offset, offset + len(strings))
    actual = np.array([-1 if i is None else i for i in ids], dtype=np.int64)
    wrong = np.flatnonzero(actual != expected)
    if wrong.size:
        i = int(wrong[0])
        raise ConfigError(
            f"the ids of the audio token strings {what} are not one contiguous range from {offset}: "
            f"{strings[i]!r} has id {actual[i]}, expected {expected[i]} ({wrong.size} of {len(strings)} differ)"
        )


def _quote(strings: Sequence[str], vocab: dict[str, int]) -> str:
    return ", ".join(f"{s} = {vocab[s]}" for s in strings[:3])
