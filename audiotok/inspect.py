"""A readable account of a token sequence: spans, frames, text, and every malformed spot (`audiotok inspect`).

Inspection needs only the tokenizer config (vocabulary and layout), never the codec weights. Each audio
span is parsed strictly on its own, so one bad span does not hide the next; for every span the report
also gives what lenient repair would make of it. Marker problems (a stray ``<|audio_end|>``, an
``<|audio_start|>`` inside an open span, a span never closed) are reported where they are and the spans
are cut the way lenient decoding cuts them::

    report = inspect_ids(ids, tokenizer.config)   # report.spans, report.problems, report.strict_error
    print(format_report(report))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .config import TokenizerConfig
from .errors import TokenizationError
from .ids.arrays import as_ids as _as_ids
from .ids.detokenize import Errors, split_segments
from .ids.layouts import get_layout

TEXT_PREVIEW = 8  # ids of a text segment shown in the report


@dataclass(frozen=True)
class Problem:
    """One malformed spot.

    Attributes:
        position: index of the offending id in the input (None when the error is not positional, e.g. a
            span whose length no frame count gives).
        message: what strict decoding expected there and what it found.
        span: index of the audio span it lies in (None for marker problems).
    """

    position: int | None
    message: str
    span: int | None = None


@dataclass(frozen=True)
class TextSegment:
    """Ids outside every audio span (``start..stop-1``); decoding skips them."""

    start: int
    stop: int
    preview: tuple[int, ...]  # its first ids
    audio_ids: int  # ids in the audio range here (audio codes outside any span are ignored by decode)
    kind: Literal["text"] = "text"

    @property
    def num_ids(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class AudioSpan:
    """One audio span: its ids are ``start..stop-1`` (markers excluded).

    Attributes:
        index: the span's number among the audio spans (0-based).
        start, stop: positions of its first id and one past its last.
        opened_at: position of its ``<|audio_start|>`` (None for a bare span: input without markers).
        closed_at: position of its ``<|audio_end|>`` (None if the input ends first or a new
            ``<|audio_start|>`` cuts it).
        frames: frames strict decoding gives (None when the span is malformed).
        repaired_frames: frames lenient decoding gives.
        codebooks: codebooks the span carries (1 for ``first_codebook``).
        seconds: duration of the audio lenient decoding gives (strict decoding's, when the span is ok).
        problem: the first malformed spot strict decoding finds in the span (None if well-formed).
    """

    index: int
    start: int
    stop: int
    opened_at: int | None
    closed_at: int | None
    frames: int | None
    repaired_frames: int
    codebooks: int
    seconds: float
    problem: Problem | None = None
    kind: Literal["audio"] = "audio"

    @property
    def num_ids(self) -> int:
        return self.stop - self.start

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class InspectionReport:
    """What ``inspect_ids`` found.

    Attributes:
        num_ids: length of the input.
        config: the tokenizer config the ids were read with.
        segments: text segments and audio spans, in input order (as lenient decoding cuts them).
        problems: every malformed spot, by position (marker problems, then one per malformed span).
        strict_error: the error strict decoding (``decode``/``ids_to_codes``) raises on the whole input, or None.
        notes: remarks on how the ids were read (e.g. which config was assumed).
    """

    num_ids: int
    config: TokenizerConfig
    segments: tuple[TextSegment | AudioSpan, ...]
    problems: tuple[Problem, ...]
    strict_error: Problem | None
    notes: tuple[str, ...] = field(default=())

    @property
    def spans(self) -> list[AudioSpan]:
        return [s for s in self.segments if isinstance(s, AudioSpan)]

    @property
    def texts(self) -> list[TextSegment]:
        return [s for s in self.segments if isinstance(s, TextSegment)]

    @property
    def ok(self) -> bool:
        """Whether strict decoding accepts the input."""
        return self.strict_error is None

    @property
    def repaired_frames(self) -> int:
        return sum(span.repaired_frames for span in self.spans)

    @property
    def seconds(self) -> float:
        """Audio duration lenient decoding gives (equal to strict decoding's when ``ok``)."""
        return sum(span.seconds for span in self.spans)


def inspect_ids(ids: Any, tokenizer_config: TokenizerConfig, notes: tuple[str, ...] = ()) -> InspectionReport:
    """Inspects a token sequence: a bare audio span, or an LLM's text ids mixed with audio spans.

    Args:
        ids: ``[N]`` integer ids (numpy array, torch tensor or list).
        tokenizer_config: the config the ids were made with (vocabulary and layout; no codec is loaded).
        notes: remarks to carry into the report.

    Returns:
        The report; ``format_report`` renders it.

    Raises:
        TokenizationError: ``ids`` is not a 1-D sequence of integers.
    """
    ids = _as_ids(ids)
    config = tokenizer_config
    vocab, layout = config.vocab, get_layout(config.layout)
    problems = _marker_problems(ids, vocab)
    segments: list[TextSegment | AudioSpan] = []
    for segment in split_segments(ids, vocab, errors="lenient"):
        start, stop = segment.start, segment.start + segment.ids.size
        if segment.kind == "text":
            in_audio_range = int(((segment.ids >= vocab.offset) & (segment.ids < vocab.end)).sum())
            segments.append(TextSegment(start, stop, tuple(segment.ids[:TEXT_PREVIEW].tolist()), in_audio_range))
            continue
        index = sum(isinstance(s, AudioSpan) for s in segments)
        problem, frames = None, None
        try:
            frames = _frames(_span_codes(segment.ids, start, config, "strict"))
        except TokenizationError as error:
            problem = Problem(error.position, _message(error), span=index)
            problems.append(problem)
        repaired = _span_codes(segment.ids, start, config, "lenient")
        framed = start > 0 and int(ids[start - 1]) == vocab.start_id
        closed = stop < ids.size and int(ids[stop]) == vocab.end_id
        segments.append(
            AudioSpan(
                index=index,
                start=start,
                stop=stop,
                opened_at=start - 1 if framed else None,
                closed_at=stop if closed else None,
                frames=frames,
                repaired_frames=_frames(repaired),
                codebooks=layout.codebooks_used(vocab.num_codebooks),
                seconds=_seconds(repaired, config),
                problem=problem,
            )
        )
    try:  # strict decoding checks the markers first, then the spans in order
        split_segments(ids, vocab, errors="strict")
        strict_error = next((s.problem for s in segments if isinstance(s, AudioSpan) and s.problem), None)
    except TokenizationError as error:
        strict_error = Problem(error.position, _message(error))
    problems.sort(key=lambda p: (p.position is None, p.position or 0))
    return InspectionReport(int(ids.size), config, tuple(segments), tuple(problems), strict_error, notes)


def _span_codes(span_ids: np.ndarray, start: int, config: TokenizerConfig, errors: Errors) -> Any:
    """One span's codes, parsed as ``AudioTokenizer.ids_to_codes`` parses it (positions in the whole input)."""
    codes = config.id_format.span_codes(span_ids, start, errors)
    return codes.codes if not config.is_chunked else codes


def _message(error: TokenizationError) -> str:
    """The error's message without its ``position N:`` prefix."""
    return str(error).removeprefix(f"position {error.position}: ")


def _frames(codes: Any) -> int:
    """Frames of a codes array ``[K, T]`` (or of an ``AudioCodes`` holding one)."""
    return int(np.shape(getattr(codes, "codes", codes))[-1])


def _seconds(codes: Any, config: TokenizerConfig) -> float:
    """Duration of the audio the codes decode to (chunked codecs: overlapping chunks, overlap-added)."""
    chunk_frames = getattr(codes, "chunk_frames", None)
    if chunk_frames is None or len(chunk_frames) == 0:
        return _frames(codes) / config.frame_rate
    hop = config.sampling_rate / config.frame_rate
    samples = (len(chunk_frames) - 1) * config.chunk_stride + int(chunk_frames[-1]) * hop
    return samples / config.sampling_rate


def _marker_problems(ids: np.ndarray, vocab: Any) -> list[Problem]:
    """Stray ends, nested starts and unclosed spans, each with what lenient decoding does about it."""
    markers = np.flatnonzero((ids == vocab.start_id) | (ids == vocab.end_id))
    problems: list[Problem] = []
    open_at: int | None = None
    for position, is_start in zip(markers.tolist(), (ids[markers] == vocab.start_id).tolist()):
        if is_start:
            if open_at is not None:
                problems.append(
                    Problem(
                        position,
                        f"<|audio_start|> (id {vocab.start_id}) inside the audio span opened at position {open_at} "
                        "(lenient: that span ends here and a new one opens)",
                    )
                )
            open_at = position
        elif open_at is None:
            problems.append(
                Problem(position, f"<|audio_end|> (id {vocab.end_id}) but no audio span is open (lenient: ignored)")
            )
        else:
            open_at = None
    if open_at is not None:
        problems.append(
            Problem(
                open_at,
                f"the audio span opened here is never closed by <|audio_end|> (id {vocab.end_id}) "
                f"before the end of the input ({ids.size} ids) (lenient: it runs to the end)",
            )
        )
    return problems


# ----------------------------------------------------------------------------------------------------
# rendering


def _positions(first: int, last: int) -> str:
    if last < first:
        return f"{first} (empty)"
    return str(first) if last == first else f"{first}..{last}"


def _audio_line(span: AudioSpan) -> str:
    first = span.opened_at if span.opened_at is not None else span.start
    last = span.closed_at if span.closed_at is not None else span.stop - 1
    if span.opened_at is None:
        ends = "bare span, no markers"
    else:
        closed = f"end marker at {span.closed_at}" if span.closed_at is not None else "no end marker"
        ends = f"start marker at {span.opened_at}, {closed}"
    if span.problem is None:
        frames, seconds, status = f"{span.frames}", f"{span.seconds:.2f}", "ok"
    else:
        where = ": impossible length" if span.problem.position is None else f" at position {span.problem.position}"
        frames, seconds, status = f"{span.repaired_frames}*", f"{span.seconds:.2f}*", f"MALFORMED{where}"
    name = f"audio {span.index}"
    return f"  {name:<9}{_positions(first, last):<16}{span.num_ids:>7}{frames:>8}{seconds:>9}  {status} ({ends})"


def _text_line(text: TextSegment) -> str:
    detail = "ids " + " ".join(map(str, text.preview)) + (" ..." if text.num_ids > len(text.preview) else "")
    if text.audio_ids:
        detail += f"; {text.audio_ids} of them in the audio range, outside any span (decoding skips them)"
    return f"  {'text':<9}{_positions(text.start, text.stop - 1):<16}{text.num_ids:>7}{'':>8}{'':>9}  {detail}"


def format_report(report: InspectionReport, source: str = "ids") -> str:
    """The report as text: header, one line per segment, the malformed spots, and the verdict."""
    config, vocab = report.config, report.config.vocab
    spans = report.spans
    lines = [
        f"{source}: {report.num_ids} ids",
        f"layout {config.layout}: {vocab.num_codebooks} codebooks x {vocab.codebook_size} codes"
        + (f" ({config.bandwidth:g} kbps)" if config.bandwidth is not None else "")
        + f", {config.frame_rate:g} frames/s, {config.tokens_per_second:g} audio ids/s",
        f"audio ids {vocab.offset}..{vocab.end - 1}: codes {vocab.offset}..{vocab.code_end - 1}, "
        f"<|audio_start|> {vocab.start_id}, <|audio_end|> {vocab.end_id}, <|audio_pad|> {vocab.pad_id}"
        + (f", scale tokens {vocab.scale_base}..{vocab.end - 1}" if vocab.num_scale_tokens else ""),
        *(
            [f"chunked codec: a scale token opens each chunk of {config.frames_per_chunk} frames"]
            if config.is_chunked
            else []
        ),
        *(f"note: {note}" for note in report.notes),
        "",
        "segments (positions index the input, both ends included):",
        f"  {'kind':<9}{'positions':<16}{'ids':>7}{'frames':>8}{'seconds':>9}  details",
        *(_text_line(s) if isinstance(s, TextSegment) else _audio_line(s) for s in report.segments),
    ]
    if any(not span.ok for span in spans):
        lines.append("  * after lenient repair (strict decoding rejects the span)")
    lines += ["", f"malformed spots: {len(report.problems) or 'none'}"]
    for problem in report.problems:
        where = "no single position" if problem.position is None else f"position {problem.position}"
        what = "markers" if problem.span is None else f"audio span {problem.span}"
        lines.append(f"  {where} ({what}): {problem.message}")
    total = f"{len(spans)} audio span(s), {report.repaired_frames} frames ({report.seconds:.2f} s)"
    if report.strict_error is None:
        lines.append(f"strict decoding: ok, {total}")
    else:
        error = report.strict_error
        where = "" if error.position is None else f" at position {error.position}"
        lines.append(f"strict decoding: fails{where}: {error.message}")
        lines.append(f"lenient decoding: {total}")
    return "\n".join(lines)
