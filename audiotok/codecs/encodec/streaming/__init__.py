"""EnCodec streaming: the model's own submodules run on new samples plus the context they carry.

The naive way to stream, cutting the audio into independent segments and encoding each with a fresh
model call, loses every convolution's left context and the LSTM's state at each cut, so codes near
the cuts change and the decoded joins are audible (README, "Streaming"). Here the model's own
submodules (each ``EncodecConv1d``'s ``Conv1d``, the ``nn.LSTM``, the ELUs, the transposed convs) run
on the new samples plus exactly the context they need, carried from the previous call:

* a causal ``EncodecConv1d`` keeps its last ``kernel - stride`` inputs. Its left padding is a
  reflection of the clip's start (``x[1..pad]``), so a stage holds its output back until it has
  ``pad + 1`` inputs, builds that reflection with the module's own ``_pad1d``, then switches to the
  carried context. A stage that never got that many inputs (a clip too short) runs the module's own
  ``forward`` on its whole input at ``flush()``, as the offline model does;
* an ``EncodecConvTranspose1d`` keeps the inputs that still reach unemitted outputs (one frame for
  ``kernel = 2 * stride``) and emits only output samples that no later input can change, trimmed as
  its ``forward`` trims them (``trim_right_ratio``); with ratio 1 every trimmed output is final at once;
* the LSTM carries its ``(h, c)`` state; a resnet block aligns its block path (delayed by the
  reflection above) with its shortcut path.

So ``StreamingEncoder`` emits the same codes as ``EncodecCodec.encode`` of the whole clip (which
zero-pads the clip to whole frames, as ``flush()`` does), and ``StreamingDecoder`` the same samples as
``EncodecCodec.decode``, both up to float rounding: kernels round differently on inputs of different
lengths (~1e-7), which can flip a code whose two nearest codewords are equally near (a near-tie; the
offline codec flips them too between a clip and its prefix). The encoder runs the model on whole
frames only (no frame completes before its last sample). Stages read the (weight-normed) weights
once, when the stream is created or reset.

Latency of the 24 kHz architecture: the frame-rate convolutions (kernel 7) pad by reflecting frames
1..6, so the first codes come out once 7 frames (2240 samples, 93 ms) are in, then one frame per 320
samples; the decoder likewise emits its first audio once it has 7 frames of codes, then 320 samples
per frame.

Chunked models (48 kHz: non-causal, each 1 s chunk normalised by its own RMS) stream at chunk
granularity: ``ChunkedStreamingEncoder`` emits a chunk's codes and scale once its 48000 samples are
in, and ``ChunkedStreamingDecoder`` overlap-adds decoded chunks as ``EncodecModel._linear_overlap_add``
does, emitting samples once no later chunk overlaps them.
"""

from __future__ import annotations

from .causal import StreamingDecoder, StreamingEncoder
from .chunked import ChunkedStreamingDecoder, ChunkedStreamingEncoder, streaming_decoder, streaming_encoder

__all__ = [
    "ChunkedStreamingDecoder",
    "ChunkedStreamingEncoder",
    "StreamingDecoder",
    "StreamingEncoder",
    "streaming_decoder",
    "streaming_encoder",
]
