"""Mixed text + audio sequences: build training examples, split an LLM's output into text and audio."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from .config import TokenizerConfig
from .errors import ConfigError
from .ids.detokenize import Errors, Segment, split_segments

IGNORE_INDEX = -100  # the label value Hugging Face / PyTorch cross-entropy skips
Order = Literal["text_first", "audio_first"]
TrainOn = Literal["second", "all"]


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
    in_audio = (text >= vocab.offset) & (text < config.total_vocab_size)  # BPE tokens included
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
        is_audio = bool(((array >= vocab.offset) & (array < config.total_vocab_size)).all())
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
        audio: float32 ``[channels, samples]`` at ``config.output_sampling_rate`` (audio segments), else None.
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
