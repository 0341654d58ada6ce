"""Benchmark: streaming encode/decode against offline EncodecCodec.encode/decode, and the naive segment baseline.

A benchmark, not a test. On the full-size 24 kHz architecture (``EncodecConfig()``, random weights made
non-degenerate by ``build_demo_codec``: docs/design.md, facts 1 and 5; ``--model`` loads a real checkpoint) it
prints a markdown section for docs/BENCHMARKS.md (machine, date, load, command):

1. **equality**: speech-like clips of 1-60 s (odd lengths, so the last frame is partial) streamed through
   ``StreamingEncoder`` in blocks of 10 ms, 80 ms, 1 s and 333 samples (7 samples on the 5 s clip, 1
   sample on the 1 s clip): frames whose codes differ from offline ``EncodecCodec.encode`` of the whole clip,
   and how many of them are proven float near-ties (the first differing code's two codewords are
   equally near the offline residual, gap < 1e-4 of the embedding's norm, as tests/conftest.py
   ``is_near_tie``). For scale, the offline codec against itself: the first half of the 60 s clip
   encoded alone vs inside the whole clip (the same frames; only the kernels' rounding differs);
2. **decoder**: ``StreamingDecoder`` fed 6 frames (80 ms) per call vs ``EncodecCodec.decode``: max abs
   difference relative to the RMS of the offline audio, total length;
3. **naive baseline**: every 80 ms segment through its own ``model.encode`` call; code agreement with
   offline, and the audio (segments decoded on their own and joined) against the offline decode (SNR);
4. **cost**: milliseconds per 80 ms block of the 60 s clip (median, p90, max), real-time factor, and
   total streaming time against one offline call, for the encoder and the decoder, with 1 and 2
   torch threads (small calls on a busy CPU suffer from OpenMP barrier waits).

    .venv/bin/python scripts/bench_streaming.py                 # about 4 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import EncodecConfig

from audiotok.codecs.encodec.codec import EncodecCodec
from audiotok.codecs.encodec.demo import build_demo_codec, synthetic_audio
from audiotok.codecs.encodec.streaming import StreamingDecoder, StreamingEncoder
from audiotok.codecs.registry import load_codec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_encode import cpu_model  # noqa: E402  (a sibling script, not a package)

RATE = 24_000
HOP = 320
BLOCK_80MS = 1920


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="EnCodec checkpoint (hub id or directory); default: full-size demo")
    parser.add_argument("--bandwidth", type=float, default=6.0, help="kbps (default 6: 8 codebooks)")
    parser.add_argument("--seconds", type=float, nargs="+", default=[1.0, 5.0, 20.0, 60.0], help="clip lengths")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts to time")
    return parser.parse_args(argv)


def load_avg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def blocks(wave: np.ndarray, size: int) -> list[np.ndarray]:
    return [wave[:, i : i + size] for i in range(0, wave.shape[-1], size)]


def clip(seconds: float, seed: int) -> np.ndarray:
    """Speech-like audio, 37 samples short of whole seconds, so the last frame is partial."""
    return synthetic_audio(seconds, RATE, seed=seed)[:, : int(seconds * RATE) - 37]


def stream_encode(codec: EncodecCodec, wave: np.ndarray, size: int, codebooks: int) -> tuple[torch.Tensor, list[float]]:
    """Codes of the streamed clip and the wall time of every push (seconds)."""
    encoder = StreamingEncoder(codec, codebooks)
    parts, times = [], []
    for block in blocks(wave, size):
        start = time.perf_counter()
        parts.append(torch.as_tensor(encoder.push(block).codes))
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    parts.append(torch.as_tensor(encoder.flush().codes))
    times.append(time.perf_counter() - start)
    return torch.cat(parts, dim=-1), times


def stream_decode(codec: EncodecCodec, codes: torch.Tensor, frames: int) -> tuple[torch.Tensor, list[float]]:
    decoder = StreamingDecoder(codec)
    parts, times = [], []
    for i in range(0, codes.shape[-1], frames):
        start = time.perf_counter()
        parts.append(decoder.push(codes[:, i : i + frames]))
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    parts.append(decoder.flush())
    times.append(time.perf_counter() - start)
    return torch.cat(parts, dim=-1), times


@torch.no_grad()
def tie_checker(codec: EncodecCodec, wave: np.ndarray) -> Callable[[int, int, int, int], bool]:
    """A function (frame, codebook, code_a, code_b) -> whether the two codes are a float near-tie offline."""
    frames = -(-wave.shape[-1] // HOP)
    padded = np.zeros((wave.shape[0], frames * HOP), np.float32)
    padded[:, : wave.shape[-1]] = wave
    embeddings = codec.model.encoder(torch.from_numpy(padded)[None])[0]
    layers = codec.model.quantizer.layers

    def is_tie(frame: int, codebook: int, a: int, b: int) -> bool:
        embedding = embeddings[:, frame]
        residual = embedding
        for layer in layers[:codebook]:
            book = layer.codebook.embed
            residual = residual - book[(residual - book).norm(dim=1).argmin()]
        book = layers[codebook].codebook.embed
        gap = abs(float((residual - book[a]).norm()) - float((residual - book[b]).norm()))
        return gap < 1e-4 * float(embedding.norm())

    return is_tie


def compare(
    got: torch.Tensor, want: torch.Tensor, is_tie: Callable[[int, int, int, int], bool]
) -> tuple[int, int, int]:
    """(frames, differing frames, of which proven near-ties at their first differing code)."""
    assert got.shape == want.shape, (got.shape, want.shape)
    differing = torch.nonzero((got != want).any(dim=0)).flatten().tolist()
    ties = 0
    for t in differing:
        k = int(torch.nonzero(got[:, t] != want[:, t])[0])
        ties += bool(is_tie(t, k, int(got[k, t]), int(want[k, t])))
    return got.shape[-1], len(differing), ties


def snr_db(audio: torch.Tensor, reference: torch.Tensor) -> float:
    noise = float((audio - reference).pow(2).mean())
    return float("inf") if noise == 0 else 10 * np.log10(float(reference.pow(2).mean()) / noise)


def relative_max(audio: torch.Tensor, reference: torch.Tensor) -> float:
    return float((audio - reference).abs().max() / reference.pow(2).mean().sqrt())


def ms_stats(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(t * 1000 for t in times)
    return statistics.median(ordered), ordered[int(0.9 * (len(ordered) - 1))], ordered[-1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_start = load_avg()
    started = time.perf_counter()
    if args.model:
        codec = load_codec(args.model, device="cpu")
        model_note = f"`{args.model}`"
    else:
        fit = [synthetic_audio(1.0, RATE, seed=i) for i in range(2)]
        model = build_demo_codec(EncodecConfig(), fit_audio=fit, seed=3)
        codec = EncodecCodec(model, device="cpu", name="full-size demo")
        model_note = "full-size 24 kHz architecture `EncodecConfig()`, random weights + `build_demo_codec` fit"
    bw = args.bandwidth
    k = codec.spec.codebook_counts[codec.spec.bandwidths.index(bw)]  # EnCodec's codebooks at bw kbps
    lines: list[str] = []
    out = lines.append
    torch.set_num_threads(min(args.threads))  # equality: fastest on a busy CPU

    # 1. equality ------------------------------------------------------------------------------------------
    out("**Equality with offline `EncodecCodec.encode`** (frames whose codes differ / proven near-ties):\n")
    out("| clip | frames | 1 sample | 7 samples | 333 samples | 10 ms (240) | 80 ms (1920) | 1 s (24000) |")
    out("|---|---|---|---|---|---|---|---|")
    total = [0, 0, 0]
    waves = {s: clip(s, seed=100 + i) for i, s in enumerate(args.seconds)}
    offline_codes = {}
    for seconds, wave in waves.items():
        offline = torch.as_tensor(codec.encode(wave, k).codes)
        offline_codes[seconds] = offline
        is_tie = tie_checker(codec, wave)
        cells = []
        for size in (1, 7, 333, 240, 1920, 24000):
            if (size == 1 and seconds > 1) or (size == 7 and seconds > 5):
                cells.append("")
                continue
            frames, differing, ties = compare(stream_encode(codec, wave, size, k)[0], offline, is_tie)
            total = [total[0] + frames, total[1] + differing, total[2] + ties]
            cells.append(f"{differing} / {ties}")
        out(f"| {wave.shape[-1] / RATE:.4f} s | {offline.shape[-1]} | " + " | ".join(cells) + " |")
        print(lines[-1], file=sys.stderr)
    longest = max(waves)
    wave = waves[longest]
    half = (wave.shape[-1] // 2 // HOP) * HOP
    prefix = torch.as_tensor(codec.encode(wave[:, :half], k).codes)
    frames, differing, ties = compare(prefix, offline_codes[longest][:, : prefix.shape[-1]], tie_checker(codec, wave))
    out(
        f"\nIn all: {total[0]} frames streamed, {total[1]} differ from offline, {total[2]} of them proven "
        f"near-ties. Offline against itself (the first {half / RATE:.0f} s encoded alone vs inside the "
        f"{longest:.0f} s clip): {differing} of {frames} frames differ, {ties} proven near-ties."
    )
    print(lines[-1], file=sys.stderr)
    at24 = torch.as_tensor(codec.encode(wave, 32).codes)
    frames, differing, ties = compare(stream_encode(codec, wave, BLOCK_80MS, 32)[0], at24, tie_checker(codec, wave))
    out(
        f"At 24 kbps (32 codebooks), {longest:.0f} s in 80 ms blocks: {differing} of {frames} frames differ, "
        f"{ties} proven near-ties."
    )

    # 2. decoder + 3. naive baseline -----------------------------------------------------------------------
    codes = offline_codes[longest]
    reference = codec.decode(codes)
    streamed_audio, _ = stream_decode(codec, codes, 6)
    with torch.no_grad():
        naive_codes = torch.cat(
            [codec.model.encode(torch.from_numpy(b)[None], bandwidth=bw).audio_codes[0, 0] for b in blocks(wave, 1920)],
            dim=-1,
        )
    naive_audio = torch.cat([codec.decode(naive_codes[:, i : i + 6]) for i in range(0, naive_codes.shape[-1], 6)], -1)
    streamed_codes, _ = stream_encode(codec, wave, BLOCK_80MS, k)
    streamed_both, _ = stream_decode(codec, streamed_codes, 6)
    naive_offline_decode = codec.decode(naive_codes)
    out(f"\n**Decoder and the naive baseline** ({longest:.0f} s clip, {bw:g} kbps, 80 ms = 6 frames per call):\n")
    out(
        "| | codes equal to offline (all / codebook 0 / whole frames) | audio vs offline decode: SNR "
        "| max abs diff / RMS |"
    )
    out("|---|---|---|---|")

    def agreement(c: torch.Tensor) -> str:
        return (
            f"{100 * float((c == codes).float().mean()):.2f} % / {100 * float((c[0] == codes[0]).float().mean()):.2f} %"
            f" / {100 * float((c == codes).all(0).float().mean()):.2f} %"
        )

    out(
        f"| streaming decoder, offline codes | (same codes) | {snr_db(streamed_audio, reference):.1f} dB | "
        f"{relative_max(streamed_audio, reference):.1e} |"
    )
    out(
        f"| streaming encoder + decoder | {agreement(streamed_codes)} | {snr_db(streamed_both, reference):.1f} dB | "
        f"{relative_max(streamed_both, reference):.1e} |"
    )
    out(
        f"| naive: 80 ms segments encoded alone, decoded offline | {agreement(naive_codes)} | "
        f"{snr_db(naive_offline_decode, reference):.1f} dB | {relative_max(naive_offline_decode, reference):.1e} |"
    )
    out(
        f"| naive: segments encoded and decoded alone | {agreement(naive_codes)} | "
        f"{snr_db(naive_audio, reference):.1f} dB | {relative_max(naive_audio, reference):.1e} |"
    )
    naive_decoder = torch.cat([codec.decode(codes[:, i : i + 6]) for i in range(0, codes.shape[-1], 6)], -1)
    out(
        f"| naive decoder only: offline codes, 80 ms segments decoded alone | (same codes) | "
        f"{snr_db(naive_decoder, reference):.1f} dB | {relative_max(naive_decoder, reference):.1e} |"
    )
    out(f"\nLengths: offline {reference.shape[-1]}, streamed {streamed_audio.shape[-1]} samples.")
    print("\n".join(lines[-8:]), file=sys.stderr)

    # 4. cost ----------------------------------------------------------------------------------------------
    out(f"\n**Cost** ({longest:.0f} s clip, 80 ms blocks; a block's budget is 80 ms of wall time):\n")
    out(
        "| threads | what | ms per 80 ms block: median / p90 / max | real-time factor (median) | total | offline call |"
    )
    out("|---|---|---|---|---|---|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        start = time.perf_counter()
        codec.encode(wave, k)
        offline_encode = time.perf_counter() - start
        start = time.perf_counter()
        codec.decode(codes)
        offline_decode = time.perf_counter() - start
        _, encode_times = stream_encode(codec, wave, BLOCK_80MS, k)
        _, decode_times = stream_decode(codec, codes, 6)
        for what, times, offline_time in (
            ("encode", encode_times, offline_encode),
            ("decode", decode_times, offline_decode),
        ):
            median, p90, worst = ms_stats(times[:-1])
            out(
                f"| {threads} | {what} | {median:.1f} / {p90:.1f} / {worst:.1f} | {median / 80:.3f} | "
                f"{sum(times):.2f} s | {offline_time:.2f} s |"
            )
            print(lines[-1], file=sys.stderr)

    header = [
        f"## Streaming (24 kHz, full-size architecture; {datetime.date.today().isoformat()})\n",
        f"Command: `{shlex.join(['.venv/bin/python', *sys.argv])}`  ",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; load average (1/5/15 min) {load_start} at start, "
        f"{load_avg()} at end (a shared machine: other jobs ran); torch {torch.__version__}, "
        f"transformers {transformers.__version__}, Python {platform.python_version()}  ",
        f"Model: {model_note}; {bw:g} kbps; float32 CPU; run took {time.perf_counter() - started:.0f} s\n",
    ]
    print("\n".join(header + lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
