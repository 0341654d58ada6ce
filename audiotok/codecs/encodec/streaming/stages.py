"""Streaming stages: one model submodule each, with the state it carries between calls."""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers.models.encodec.modeling_encodec import (
    EncodecConv1d,
    EncodecConvTranspose1d,
    EncodecLSTM,
    EncodecResnetBlock,
)

from ....errors import AudioInputError, AudiotokError
from ..codec import EncodecCodec

Samples = np.ndarray | torch.Tensor


# -- stages: one model submodule each, with its carried state ---------------------------------------------
def _cat(first: torch.Tensor | None, second: torch.Tensor | None) -> torch.Tensor | None:
    if first is None or first.shape[-1] == 0:
        return second
    if second is None or second.shape[-1] == 0:
        return first
    return torch.cat([first, second], dim=-1)


class _Stage(abc.ABC):
    """A submodule run incrementally: new inputs ``[1, C, n]`` in, newly final outputs ``[1, C', m]`` out.

    ``None`` stands for "nothing" (no input, or no output final yet). ``finish`` is the end of the
    stream: it returns the outputs still held back.
    """

    @abc.abstractmethod
    def step(self, x: torch.Tensor | None) -> torch.Tensor | None: ...

    def finish(self) -> torch.Tensor | None:
        return None


class _Pointwise(_Stage):
    """A module without memory in time (ELU, Identity)."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def step(self, x: torch.Tensor | None) -> torch.Tensor | None:
        return None if x is None else self.module(x)


class _Conv(_Stage):
    """A causal ``EncodecConv1d``: left context carried, the clip-start reflection reproduced exactly."""

    def __init__(self, module: EncodecConv1d) -> None:
        self.module: Any = module
        self.weight = module.conv.weight.detach()  # weight norm computed once per stream, not per call
        self.pad = int(module.padding_total)
        self.stride = int(module.stride)
        self.kernel = int(module.kernel_size)  # effective, dilation included
        self.held: list[torch.Tensor] = []  # inputs before the start padding can be built
        self.held_length = 0
        self.buffer: torch.Tensor | None = None  # padded input not consumed yet; None until started
        self.seen = 0
        self.emitted = 0

    def step(self, x: torch.Tensor | None) -> torch.Tensor | None:
        if x is None or x.shape[-1] == 0:
            return None
        self.seen += x.shape[-1]
        if self.buffer is None:
            self.held.append(x)
            self.held_length += x.shape[-1]
            if self.held_length <= self.pad:  # _pad1d would reflect into what comes after these inputs
                return None
            start = torch.cat(self.held, dim=-1)
            self.held = []
            self.buffer = self.module._pad1d(start, (self.pad, 0), mode=self.module.pad_mode)
        else:
            self.buffer = torch.cat([self.buffer, x], dim=-1)
        assert self.buffer is not None
        count = (self.buffer.shape[-1] - self.kernel) // self.stride + 1
        if count <= 0:
            return None
        conv = self.module.conv
        out = conv._conv_forward(self.buffer[..., : (count - 1) * self.stride + self.kernel], self.weight, conv.bias)
        self.buffer = self.buffer[..., count * self.stride :].clone()  # a copy: a view would pin the whole input
        self.emitted += count
        return out

    def finish(self) -> torch.Tensor | None:
        out = None
        if self.buffer is None and self.held:  # never started: the whole (short) input, the model's own way
            out = self.module(torch.cat(self.held, dim=-1))
            self.held = []
            self.emitted += out.shape[-1]
        # offline, an input of L samples gives ceil(L / stride) outputs; whole frames make L divisible
        assert self.emitted == -(-self.seen // self.stride), "a stage's input length is not a whole number of steps"
        return out


class _ConvTranspose(_Stage):
    """A causal ``EncodecConvTranspose1d``: carries the inputs that still reach unemitted outputs."""

    def __init__(self, module: EncodecConvTranspose1d) -> None:
        self.conv: Any = module.conv
        self.weight = self.conv.weight.detach()
        self.kernel = int(self.conv.kernel_size[0])
        self.stride = int(self.conv.stride[0])
        padding_total = self.kernel - self.stride
        padding_right = math.ceil(padding_total * module.trim_right_ratio)  # as its forward trims
        self.padding_left = padding_total - padding_right
        self.context: torch.Tensor | None = None  # inputs [first, seen)
        self.first = 0
        self.seen = 0
        self.emitted = self.padding_left  # index, in the untrimmed output, of the next sample to emit

    def step(self, x: torch.Tensor | None) -> torch.Tensor | None:
        if x is None or x.shape[-1] == 0:
            return None
        self.seen += x.shape[-1]
        inputs = _cat(self.context, x)
        assert inputs is not None
        # untrimmed output i sums inputs j with j * stride <= i < j * stride + kernel: final for i < seen * stride
        return self._emit(inputs, self.seen * self.stride)

    def finish(self) -> torch.Tensor | None:
        if self.context is None or self.context.shape[-1] == 0:
            return None
        return self._emit(self.context, self.seen * self.stride + self.padding_left)  # offline: seen * stride samples

    def _emit(self, inputs: torch.Tensor, until: int) -> torch.Tensor | None:
        out = None
        if until > self.emitted:
            offset = self.first * self.stride
            conv = self.conv  # its forward, with the weight computed once
            settings = (conv.stride, conv.padding, conv.output_padding, conv.groups, conv.dilation)
            full = nn.functional.conv_transpose1d(inputs, self.weight, conv.bias, *settings)
            out = full[..., self.emitted - offset : until - offset]
            self.emitted = until
        keep_from = max(self.first, -(-(self.emitted - self.kernel + 1) // self.stride))
        self.context = inputs[..., keep_from - self.first :].clone()  # a copy: a view would pin the whole input
        self.first = keep_from
        return out


class _LSTM(_Stage):
    """``EncodecLSTM`` (LSTM plus skip) with its ``(h, c)`` state carried."""

    def __init__(self, module: EncodecLSTM) -> None:
        self.lstm = module.lstm
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None

    def step(self, x: torch.Tensor | None) -> torch.Tensor | None:
        if x is None or x.shape[-1] == 0:
            return None
        sequence = x.permute(2, 0, 1)
        out, self.state = self.lstm(sequence, self.state)
        return (out + sequence).permute(1, 2, 0)


class _Chain(_Stage):
    """Stages in sequence."""

    def __init__(self, stages: Sequence[_Stage]) -> None:
        self.stages = list(stages)

    def step(self, x: torch.Tensor | None) -> torch.Tensor | None:
        for stage in self.stages:
            x = stage.step(x)
            if x is None:
                return None
        return x

    def finish(self) -> torch.Tensor | None:
        out = None
        for stage in self.stages:
            out = _cat(stage.step(out), stage.finish())
        return out


class _Residual(_Stage):
    """``EncodecResnetBlock``: ``shortcut(x) + block(x)``, the two paths aligned (the block lags at the start)."""

    def __init__(self, module: EncodecResnetBlock) -> None:
        self.block = _Chain([_stage(m) for m in module.block])
        self.shortcut = _stage(module.shortcut)
        self.pending_block: torch.Tensor | None = None
        self.pending_shortcut: torch.Tensor | None = None

    def step(self, x: torch.Tensor | None) -> torch.Tensor | None:
        if x is None:
            return None
        return self._add(self.block.step(x), self.shortcut.step(x))

    def finish(self) -> torch.Tensor | None:
        out = self._add(self.block.finish(), self.shortcut.finish())
        assert self.pending_block is None and self.pending_shortcut is None, "resnet paths of unequal length"
        return out

    def _add(self, block: torch.Tensor | None, shortcut: torch.Tensor | None) -> torch.Tensor | None:
        pending_block, pending_shortcut = _cat(self.pending_block, block), _cat(self.pending_shortcut, shortcut)
        if pending_block is None or pending_shortcut is None:
            self.pending_block, self.pending_shortcut = pending_block, pending_shortcut
            return None
        n = min(pending_block.shape[-1], pending_shortcut.shape[-1])
        self.pending_block = pending_block[..., n:].clone() if pending_block.shape[-1] > n else None
        self.pending_shortcut = pending_shortcut[..., n:].clone() if pending_shortcut.shape[-1] > n else None
        return pending_shortcut[..., :n] + pending_block[..., :n]  # the order of EncodecResnetBlock.forward


def _stage(module: nn.Module) -> _Stage:
    if isinstance(module, EncodecConv1d):
        return _Conv(module)
    if isinstance(module, EncodecConvTranspose1d):
        return _ConvTranspose(module)
    if isinstance(module, EncodecLSTM):
        return _LSTM(module)
    if isinstance(module, EncodecResnetBlock):
        return _Residual(module)
    if isinstance(module, (nn.ELU, nn.Identity)):
        return _Pointwise(module)
    raise ValueError(f"cannot stream a {type(module).__name__} (unknown EnCodec submodule)")


def _check_streamable(codec: EncodecCodec) -> None:
    config = codec.config
    if codec.is_chunked:
        raise ValueError(
            f"this codec encodes {codec.chunk_length}-sample chunks, each normalised by its own RMS, with a "
            "non-causal encoder: it streams chunk by chunk; use ChunkedStreamingEncoder / ChunkedStreamingDecoder "
            "(or streaming_encoder / streaming_decoder, which pick the right one)"
        )
    problems = []
    if not codec.is_causal:
        problems.append("use_causal_conv is False (its convolutions look ahead)")
    if config.norm_type != "weight_norm":
        problems.append(f"norm_type is {config.norm_type!r} (a GroupNorm over the whole clip)")
    if config.normalize:
        problems.append("normalize is True (one scale from the whole clip's RMS)")
    if problems:
        raise ValueError("cannot stream this codec frame by frame: " + "; ".join(problems))


def _as_samples(samples: Samples, channels: int, what: str) -> torch.Tensor:
    tensor = torch.as_tensor(samples)
    if tensor.ndim == 1 and channels == 1:
        tensor = tensor[None]
    if tensor.ndim != 2 or tensor.shape[0] != channels:
        raise AudioInputError(
            f"{what}: the codec takes [{channels}, samples] audio at its own rate, got shape {tuple(tensor.shape)}"
        )
    if not tensor.dtype.is_floating_point:
        raise AudioInputError(f"{what}: samples must be floating point, got dtype {tensor.dtype}")
    if not torch.isfinite(tensor).all():
        raise AudioInputError(f"{what} holds NaN or Inf samples")
    return tensor


class _Stream:
    """Shared bookkeeping: the codec, a closed flag, and the error for pushing after ``flush``."""

    def __init__(self, codec: EncodecCodec) -> None:
        self.codec = codec
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise AudiotokError(
                f"this {type(self).__name__} was flushed (the stream ended); call reset() to start a new stream"
            )
