"""Putting the audio ids into an LLM: extend its tokenizer and embeddings, build and split mixed sequences.

Four steps turn a text LLM into one that reads and writes audiotok ids::

    config = extend_tokenizer(hf_tokenizer, TokenizerConfig())   # adds <|a0_0|> .. <|audio_pad|>; places the range
    extend_model(model, config)                                   # embedding rows for them (mean-of-old-rows init)
    example = build_example(text_ids, audio_ids)                  # training example: ids, attention mask, labels
    pieces = decode_mixed_output(generated, audio_tok, hf_tok)    # the model's output -> text strings and waveforms

The added token strings are exactly ``config.token_strings`` (one per codebook and code, e.g. ``<|a3_1017|>``,
then the special tokens, then any scale tokens), so the tokenizer's id of each string is the id audiotok
computes for it: ``hf_tokenizer(text + "".join(strings))`` and ``AudioTokenizer.encode`` agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Literal

import numpy as np
import torch
from tokenizers import AddedToken

from .config import TokenizerConfig
from .detokenize import Errors, Segment, split_segments
from .errors import ConfigError

IGNORE_INDEX = -100  # the label value Hugging Face / PyTorch cross-entropy skips
Order = Literal["text_first", "audio_first"]
TrainOn = Literal["second", "all"]
Init = Literal["mean", "normal"]
MODEL_CONFIG_KEY = "audiotok_vocab"  # attribute extend_model records in model.config (saved in config.json)


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
        base: codec, bandwidth and layout to use (default: ``TokenizerConfig()``: 24 kHz, 6 kbps, interleaved).
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
                "the tokenizer was extended for another config (bandwidth, codebook size) or uses these strings "
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


# ----------------------------------------------------------------------------------------------------
# model


def extend_model(
    model: Any,
    config: TokenizerConfig,
    init: Init = "mean",
    *,
    pad_to_multiple_of: int | None = None,
    covariance_scale: float = 1e-9,
    generator: torch.Generator | None = None,
) -> Any:
    """Resizes a ``transformers`` model's input and output embeddings for ``config``'s audio ids.

    The embedding gets ``max(config.total_vocab_size, current rows)`` rows, rounded up to a multiple of
    ``pad_to_multiple_of``. Every row from ``config.vocab_offset`` on is (re)initialised: the new rows, and
    also rows the checkpoint already had past its tokenizer (Qwen2.5 has 151936 rows for 151665 tokens),
    which no token used before and which the audio ids now take. Rows below ``vocab_offset`` are kept.

    Initialisation (``init="mean"``, Hewitt 2021, https://nlp.stanford.edu/~johnhew/vocab-expansion.html, the
    rule of transformers' ``resize_token_embeddings(mean_resizing=True)``): with mean ``mu`` and covariance
    ``S`` of the base vocabulary's rows (ids ``0 .. config.base_vocab_size - 1``, padding rows excluded),
    each new row is drawn from ``N(mu, covariance_scale * S)``. At the default scale 1e-9 a new row is
    ``mu`` plus noise ~3e-5 of the rows' spread: the new tokens start with the logit of an "average"
    token, which keeps the model's next-token distribution almost unchanged (the KL divergence to the
    original model stays small), and the noise makes the rows differ. (In bfloat16 that noise is mostly below the
    resolution and the rows start nearly equal; training separates them, since each id gets its own gradient.)
    The input embedding and an untied output embedding each use their own rows' statistics; a bias of the
    output layer gets its old entries' mean. ``init="normal"`` draws ``N(0, initializer_range**2)``, the
    model's own initialisation (``mean_resizing=False``). The covariance costs about 2 N D^2 flops per
    matrix (N base rows, D dimensions): a 32000 x 4096 matrix took 25-35 s on a 2-core CPU (it runs
    where the model is, so a GPU model computes it there); ``covariance_scale=0`` skips it (every new row
    is exactly the mean).

    Tied embeddings stay tied. The placement is recorded as ``model.config.audiotok_vocab`` (saved in
    ``config.json``): calling ``extend_model`` again with the same config returns the model unchanged, so
    it never resets trained audio rows; a different config is a ConfigError.

    Args:
        model: a ``transformers.PreTrainedModel`` with token embeddings (e.g. ``LlamaForCausalLM``).
        config: the placed config ``extend_tokenizer`` returned.
        init: ``"mean"`` or ``"normal"``.
        pad_to_multiple_of: round the row count up to a multiple of this (64 suits GPU matmuls).
        covariance_scale: the factor on the covariance for ``init="mean"``; 0 gives exactly the mean.
        generator: a torch generator, for reproducible rows.

    Returns:
        ``model`` (resized in place).

    Raises:
        ConfigError: the model has fewer rows than the config's base vocabulary, ``init="mean"`` with
            ``base_vocab_size == 0``, or the model was extended for another config.
    """
    if init not in ("mean", "normal"):
        raise ValueError(f"init must be one of ['mean', 'normal'], got {init!r}")
    if pad_to_multiple_of is not None and pad_to_multiple_of < 1:
        raise ValueError(f"pad_to_multiple_of must be >= 1, got {pad_to_multiple_of}")
    placement = {
        "base_vocab_size": config.base_vocab_size,
        "vocab_offset": config.vocab_offset,
        "audio_vocab_size": config.audio_vocab_size,
    }
    embedding = model.get_input_embeddings()
    old_rows = int(embedding.weight.shape[0])
    recorded = getattr(model.config, MODEL_CONFIG_KEY, None)
    if recorded is not None:
        if dict(recorded) == placement:
            if old_rows < config.total_vocab_size:
                raise ConfigError(
                    f"the model records an extension for {placement} but has only {old_rows} embedding rows "
                    f"(needs {config.total_vocab_size}); it was resized since: start from the base model"
                )
            return model
        raise ConfigError(
            f"the model was already extended for {dict(recorded)}, not for this config's {placement}; "
            "start from the base model to extend it for another audio vocabulary"
        )
    if config.base_vocab_size > old_rows:
        raise ConfigError(
            f"the model has {old_rows} embedding rows but the config's base vocabulary has "
            f"{config.base_vocab_size} ids: the config (or tokenizer) belongs to another model"
        )
    if init == "mean" and config.base_vocab_size == 0:
        raise ConfigError(
            "init='mean' draws the new rows from the base vocabulary's rows, but config.base_vocab_size is 0; "
            "use the config extend_tokenizer returned, or init='normal'"
        )

    new_rows = max(config.total_vocab_size, old_rows)
    if pad_to_multiple_of:
        new_rows = math.ceil(new_rows / pad_to_multiple_of) * pad_to_multiple_of
    if new_rows != old_rows:
        # mean_resizing=False: transformers would draw only the rows past old_rows, from every old row's
        # statistics (padding rows included); we set every row from vocab_offset on below.
        model.resize_token_embeddings(new_rows, mean_resizing=False)

    std = float(getattr(model.config.get_text_config(), "initializer_range", 0.02))
    embedding = model.get_input_embeddings()
    output = model.get_output_embeddings()
    with torch.no_grad():
        _init_rows(embedding.weight, config, init, covariance_scale, std, generator)
        if output is not None and output.weight is not embedding.weight:
            _init_rows(output.weight, config, init, covariance_scale, std, generator)
        bias = getattr(output, "bias", None) if output is not None else None
        if isinstance(bias, torch.Tensor) and bias.shape[0] == new_rows:
            fill = bias[: config.base_vocab_size].float().mean() if init == "mean" else 0.0
            bias[config.vocab_offset :] = fill
    setattr(model.config, MODEL_CONFIG_KEY, placement)
    return model


def _init_rows(
    weight: torch.Tensor,
    config: TokenizerConfig,
    init: Init,
    covariance_scale: float,
    std: float,
    generator: torch.Generator | None,
) -> None:
    """Sets rows ``vocab_offset ..`` of ``weight`` ``[V, D]`` (see extend_model)."""
    count, dim = weight.shape[0] - config.vocab_offset, weight.shape[1]
    if count <= 0:
        return
    if init == "normal":
        noise = torch.randn(count, dim, generator=generator, dtype=torch.float32)
        weight[config.vocab_offset :] = (noise * std).to(weight.device, weight.dtype)
        return
    base = weight[: config.base_vocab_size]
    mean = _mean(base)
    if covariance_scale == 0:
        weight[config.vocab_offset :] = mean.to(weight.dtype)
        return
    factor = _covariance_factor(base, mean)
    noise = torch.randn(count, dim, generator=generator, dtype=torch.float32).to(weight.device)
    weight[config.vocab_offset :] = (mean + math.sqrt(covariance_scale) * (noise @ factor.T)).to(weight.dtype)


_BLOCK = 8192  # rows per float32 block; sums accumulate in float64 without a float64 copy of the matrix


def _mean(rows: torch.Tensor) -> torch.Tensor:
    """Mean ``[D]`` (float32) of ``rows`` ``[N, D]``."""
    total = torch.zeros(rows.shape[1], dtype=torch.float64, device=rows.device)
    for start in range(0, rows.shape[0], _BLOCK):
        total += rows[start : start + _BLOCK].float().sum(0, dtype=torch.float64)
    return (total / rows.shape[0]).float()


def _covariance_factor(rows: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """``L`` ``[D, D]`` (float32) with ``L @ L.T`` = the covariance of ``rows`` ``[N, D]`` around ``mean``.

    Cholesky, or, for a (numerically) singular covariance, e.g. fewer rows than dimensions, the
    eigen-decomposition with negative rounding-error eigenvalues set to 0.
    Costs about 2 N D^2 flops: 25-35 s for 32000 x 4096 on a 2-core CPU.
    """
    covariance = torch.zeros(rows.shape[1], rows.shape[1], dtype=torch.float64, device=rows.device)
    for start in range(0, rows.shape[0], _BLOCK):
        centred = rows[start : start + _BLOCK].float() - mean
        covariance += (centred.T @ centred).double()
    covariance /= rows.shape[0]
    factor, info = torch.linalg.cholesky_ex(covariance)
    pivots = factor.diagonal() ** 2
    if int(info) != 0 or pivots.min() <= 1e-10 * pivots.max():  # singular: Cholesky's later columns are noise
        values, vectors = torch.linalg.eigh(covariance)
        factor = vectors * values.clamp(min=0).sqrt()
    return factor.float()


# ----------------------------------------------------------------------------------------------------
# mixed text + audio sequences


def build_example(
    text_ids: Any,
    audio_ids: Any,
    order: Order = "text_first",
    *,
    bos_id: int | None = None,
    eos_id: int | None = None,
    train_on: TrainOn = "second",
    config: TokenizerConfig | None = None,
    return_tensors: Literal["np", "pt"] = "np",
) -> dict[str, Any]:
    """One causal-LM training example from a text part and an audio span, in Hugging Face's format.

    ``order="text_first"`` is a text prompt followed by audio (text-to-speech, continuation);
    ``"audio_first"`` is audio followed by its transcript (speech recognition, captioning)::

        text_first:   [bos] text_ids  <|audio_start|> codes <|audio_end|>  [eos]
        labels:       -100  -100...   <|audio_start|> codes <|audio_end|>  [eos]     (train_on="second")
        audio_first:  [bos] <|audio_start|> codes <|audio_end|>  text_ids  [eos]
        labels:       -100  -100...                              text_ids  [eos]     (train_on="second")

    ``labels`` equals ``input_ids`` where the loss applies and ``IGNORE_INDEX`` (-100) elsewhere, which is
    what ``LlamaForCausalLM(input_ids, labels=labels)`` and the ``Trainer`` expect (the model shifts the
    labels by one itself). ``train_on="second"`` trains only the part the model must produce (the audio,
    markers included, or the transcript; plus ``eos``); ``"all"`` trains every id but ``bos``. The dict
    suits ``datasets.Dataset.map``; pad batches with ``DataCollatorForSeq2Seq`` (it pads labels with -100).

    Args:
        text_ids: ``[N]`` ids from the LLM's tokenizer (``add_special_tokens=False``).
        audio_ids: ``[M]`` ids from ``AudioTokenizer.encode`` (with ``<|audio_start|>``/``<|audio_end|>``).
        order: ``"text_first"`` or ``"audio_first"``.
        bos_id: prepended when given (e.g. ``hf_tokenizer.bos_token_id``).
        eos_id: appended when given (e.g. ``hf_tokenizer.eos_token_id``).
        train_on: ``"second"`` or ``"all"``.
        config: when given, checks that ``audio_ids`` is one framed span of it and ``text_ids`` holds no
            audio id (a ConfigError otherwise).
        return_tensors: ``"np"`` (int64 arrays) or ``"pt"`` (torch tensors).

    Returns:
        ``{"input_ids": [L], "attention_mask": [L], "labels": [L]}``, L = N + M (+1 per bos/eos).
    """
    if order not in ("text_first", "audio_first"):
        raise ValueError(f"order must be one of ['text_first', 'audio_first'], got {order!r}")
    if train_on not in ("second", "all"):
        raise ValueError(f"train_on must be one of ['second', 'all'], got {train_on!r}")
    if return_tensors not in ("np", "pt"):
        raise ValueError(f"return_tensors must be one of ['np', 'pt'], got {return_tensors!r}")
    text, audio = _as_1d(text_ids, "text_ids"), _as_1d(audio_ids, "audio_ids")
    if config is not None:
        _check_parts(text, audio, config)
    first, second = (text, audio) if order == "text_first" else (audio, text)
    bos = np.array([] if bos_id is None else [bos_id], dtype=np.int64)
    eos = np.array([] if eos_id is None else [eos_id], dtype=np.int64)
    input_ids = np.concatenate([bos, first, second, eos])
    labels = input_ids.copy()
    labels[: bos.size + (first.size if train_on == "second" else 0)] = IGNORE_INDEX
    example = {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids), "labels": labels}
    if return_tensors == "pt":
        return {key: torch.from_numpy(value) for key, value in example.items()}
    return example


def _as_1d(ids: Any, name: str) -> np.ndarray:
    array = ids.detach().cpu().numpy() if isinstance(ids, torch.Tensor) else np.asarray(ids)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a 1-D sequence of integer ids, got shape {array.shape} ({array.dtype})")
    return array.astype(np.int64)


def _check_parts(text: np.ndarray, audio: np.ndarray, config: TokenizerConfig) -> None:
    vocab = config.vocab
    in_audio = (text >= vocab.offset) & (text < vocab.end)
    if in_audio.any():
        i = int(np.flatnonzero(in_audio)[0])
        raise ConfigError(f"text_ids[{i}] is {vocab.describe(int(text[i]))}, an audio id; pass text ids only")
    framed = audio.size >= 2 and audio[0] == vocab.start_id and audio[-1] == vocab.end_id
    inner = audio[1:-1]
    if not framed or ((inner == vocab.start_id) | (inner == vocab.end_id)).any():
        raise ConfigError(
            f"audio_ids must be one span from <|audio_start|> (id {vocab.start_id}) to <|audio_end|> "
            f"(id {vocab.end_id}), as AudioTokenizer.encode(..., add_special_tokens=True) returns"
        )


def split_mixed_output(ids: Any, config: TokenizerConfig, errors: Errors = "strict") -> list[Segment]:
    """An LLM's output -> its text segments and audio spans, in order (``audiotok.detokenize.Segment``).

    Audio spans run from ``<|audio_start|>`` to ``<|audio_end|>`` (markers excluded from ``segment.ids``);
    everything else is text. Malformed markers follow ``split_segments``'s error model (``errors``).
    Output without any marker is one text segment, unless every id is an audio id, which makes it one
    bare audio span (as ``AudioTokenizer.decode`` reads it). Empty input gives ``[]``.
    """
    vocab = config.vocab
    array = _as_1d(ids, "ids")
    if array.size == 0:
        return []
    if not ((array == vocab.start_id) | (array == vocab.end_id)).any():
        is_audio = bool(((array >= vocab.offset) & (array < vocab.end)).all())
        return [Segment("audio" if is_audio else "text", array, 0)]
    return split_segments(array, vocab, errors)


@dataclass(frozen=True)
class DecodedSegment:
    """One decoded piece of an LLM's output.

    Attributes:
        kind: ``"text"`` or ``"audio"``.
        start: position of the segment's first id in the output (see ``Segment``).
        ids: the segment's ids, int64 ``[n]``.
        text: the decoded string (text segments), else None.
        audio: float32 ``[channels, samples]`` at ``config.sampling_rate`` (audio segments), else None.
    """

    kind: Literal["text", "audio"]
    start: int
    ids: np.ndarray
    text: str | None = None
    audio: np.ndarray | None = None


def decode_mixed_output(
    ids: Any,
    audio_tokenizer: Any,
    text_tokenizer: Any,
    errors: Errors = "strict",
    skip_special_tokens: bool = True,
) -> list[DecodedSegment]:
    """An LLM's output -> text strings and waveforms, in order.

    Args:
        ids: ``[N]`` ids the extended LLM produced.
        audio_tokenizer: the ``AudioTokenizer`` whose config the LLM was extended with; audio spans are decoded
            with its ``decode_spans`` (one waveform per span).
        text_tokenizer: the extended Hugging Face tokenizer; text segments are decoded with its ``decode``.
        errors: ``"strict"`` or ``"lenient"`` for the audio spans (see ``audiotok.detokenize``).
        skip_special_tokens: passed to ``text_tokenizer.decode`` (drops e.g. ``<s>``, ``</s>``).
    """
    segments = split_mixed_output(ids, audio_tokenizer.config, errors)
    spans = [segment for segment in segments if segment.kind == "audio"]
    waves = iter(audio_tokenizer.decode_spans(_as_1d(ids, "ids"), errors=errors) if spans else [])
    decoded = []
    for segment in segments:
        if segment.kind == "audio":
            decoded.append(DecodedSegment("audio", segment.start, segment.ids, audio=np.asarray(next(waves))))
        else:
            text = text_tokenizer.decode(segment.ids.tolist(), skip_special_tokens=skip_special_tokens)
            decoded.append(DecodedSegment("text", segment.start, segment.ids, text=text))
    return decoded
