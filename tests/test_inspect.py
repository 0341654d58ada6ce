"""`audiotok inspect`: spans, frames, text and every malformed spot, at hand-computed positions, without the codec."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiotok.cli.inspect import add_command as add_inspect_command
from audiotok.config import CONFIG_NAME, TokenizerConfig
from audiotok.errors import AudiotokError, TokenizationError
from audiotok.ids.codes import IdFormat
from audiotok.ids.layouts import LAYOUTS, get_layout
from audiotok.ids.scales import insert_scale_tokens
from audiotok.inspect import AudioSpan, TextSegment, format_report, inspect_ids

from conftest import SAMPLING_RATE, clip_of


def ids_to_codes(ids, vocab, layout, errors="strict"):
    """Every span's code array, through the ids layer's one decoding path (``IdFormat``)."""
    return [item.codes for item in IdFormat(vocab, layout).ids_to_codes(ids, errors)]

ROOT = Path(__file__).resolve().parents[1]
# 1.5 kbps: K = 2 codebooks after a 100-id text vocabulary. Codebook 0 = ids 100..1123, codebook 1 =
# 1124..2147, <|audio_start|> 2148, <|audio_end|> 2149, <|audio_pad|> 2150.
CONFIG = TokenizerConfig(num_codebooks=2, base_vocab_size=100, vocab_offset=100)
START, END = 2148, 2149
GOOD = [101, 1128, 102, 1129, 103, 1130]  # codes [[1, 2, 3], [4, 5, 6]], interleaved
TEXT_IN_SPAN = [101, 1128, 102, 50, 103, 1130]  # a text id where a codebook-1 code belongs
WRONG_CODEBOOK = [101, 1128, 102, 1129, 1126, 1130]  # a codebook-1 code where a codebook-0 code belongs
# position:  0  1  2      3..8   9    10 11     12..17          18   19   20 21     22..27 (never closed)
MIXED = [5, 6, START, *GOOD, END, 7, START, *TEXT_IN_SPAN, END, END, 8, START, *WRONG_CODEBOOK]


def run_cli(argv: list[str]) -> int:
    """What `audiotok inspect ...` does once the subcommand is registered on the main parser."""
    parser = argparse.ArgumentParser(prog="audiotok")
    add_inspect_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["inspect", *argv])
    return int(args.run(args))


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("inspect loaded a codec")


def refuse_codecs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes any attempt to load codec weights fail the test."""
    monkeypatch.setattr("audiotok.codecs.registry.load_codec", _refuse)
    monkeypatch.setattr("transformers.EncodecModel.from_pretrained", _refuse)


@pytest.fixture(autouse=True)
def _no_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inspection must never load codec weights."""
    refuse_codecs(monkeypatch)


def test_mixed_output_spans_text_and_malformed_spots() -> None:
    assert MIXED[15] == 50 and MIXED[19] == END and MIXED[21] == START and MIXED[26] == 1126
    report = inspect_ids(MIXED, CONFIG)
    assert report.num_ids == 28
    kinds = [(type(s).__name__, s.start, s.stop) for s in report.segments]
    assert kinds == [
        ("TextSegment", 0, 2),
        ("AudioSpan", 3, 9),
        ("TextSegment", 10, 11),
        ("AudioSpan", 12, 18),
        ("TextSegment", 20, 21),  # the stray end at 19 belongs to no segment
        ("AudioSpan", 22, 28),
    ]
    first, second, third = report.spans
    assert (first.opened_at, first.closed_at, first.frames, first.ok) == (2, 9, 3, True)
    assert (second.opened_at, second.closed_at, second.frames, second.repaired_frames) == (11, 18, None, 3)
    assert (third.opened_at, third.closed_at, third.frames, third.repaired_frames) == (21, None, None, 3)
    assert first.seconds == pytest.approx(3 / 75)
    assert [t.preview for t in report.texts] == [(5, 6), (7,), (8,)]

    spots = [(p.position, p.span) for p in report.problems]
    assert spots == [(15, 1), (19, None), (21, None), (26, 2)]
    messages = [p.message for p in report.problems]
    assert (
        messages[0] == "expected a codebook-1 code (ids 1124..2147), found id 50 (outside the audio range [100, 2151))"
    )
    assert "no audio span is open" in messages[1] and "never closed" in messages[2]
    assert messages[3] == "expected a codebook-0 code (ids 100..1123), found id 1126 (codebook 1, code 2)"
    # strict decoding stops at the first of them that it meets: the markers are checked before the spans
    assert report.strict_error is not None and report.strict_error.position == 19 and not report.ok
    with pytest.raises(TokenizationError) as raised:
        ids_to_codes(MIXED, CONFIG.vocab, get_layout(CONFIG.layout))
    assert raised.value.position == 19
    assert report.repaired_frames == 9 and report.seconds == pytest.approx(9 / 75)


def test_report_text_names_every_spot() -> None:
    text = format_report(inspect_ids(MIXED, CONFIG), "mixed.txt")
    lines = [" ".join(line.split()) for line in text.splitlines()]  # columns aligned with any spacing
    assert lines[:3] == [
        "mixed.txt: 28 ids",
        "layout interleaved: 2 codebooks x 1024 codes (1.5 kbps), 75 frames/s, 150 audio ids/s",
        "audio ids 100..2150: codes 100..2147, <|audio_start|> 2148, <|audio_end|> 2149, <|audio_pad|> 2150",
    ]
    table = lines[lines.index("kind positions ids frames seconds details") + 1 :][:7]
    assert table == [
        "text 0..1 2 ids 5 6",
        "audio 0 2..9 6 3 0.04 ok (start marker at 2, end marker at 9)",
        "text 10 1 ids 7",
        "audio 1 11..18 6 3* 0.04* MALFORMED at position 15 (start marker at 11, end marker at 18)",
        "text 20 1 ids 8",
        "audio 2 21..27 6 3* 0.04* MALFORMED at position 26 (start marker at 21, no end marker)",
        "* after lenient repair (strict decoding rejects the span)",
    ]
    assert "malformed spots: 4" in lines
    spots = [line.split(":")[0] for line in lines[lines.index("malformed spots: 4") + 1 :][:4]]
    assert spots == [
        "position 15 (audio span 1)",
        "position 19 (markers)",
        "position 21 (markers)",
        "position 26 (audio span 2)",
    ]
    assert lines[-2].startswith("strict decoding: fails at position 19: found <|audio_end|> (id 2149)")
    assert lines[-1] == "lenient decoding: 3 audio span(s), 9 frames (0.12 s)"


def test_well_formed_and_edge_inputs() -> None:
    report = inspect_ids([START, *GOOD, END, START, END], CONFIG)
    assert report.ok and not report.problems and [s.frames for s in report.spans] == [3, 0]
    assert "malformed spots: none\nstrict decoding: ok, 2 audio span(s), 3 frames (0.04 s)" in format_report(report)
    bare = inspect_ids(np.array(GOOD), CONFIG)
    (span,) = bare.segments
    assert isinstance(span, AudioSpan) and span.opened_at is None and span.frames == 3 and bare.ok
    assert "bare span, no markers" in format_report(bare)
    empty = inspect_ids([], CONFIG)
    assert empty.num_ids == 0 and empty.ok and empty.spans[0].frames == 0
    text_only = inspect_ids([START, END, 1, 2, 150], CONFIG)  # 150: a codebook-0 code outside any span
    (text,) = text_only.texts
    assert isinstance(text, TextSegment) and text.audio_ids == 1
    assert "1 of them in the audio range, outside any span" in format_report(text_only)
    with pytest.raises(TokenizationError, match="integers"):
        inspect_ids([1.5, 2.0], CONFIG)


def test_a_truncated_span_has_no_single_position() -> None:
    report = inspect_ids([START, *GOOD[:5], END], CONFIG)
    (problem,) = report.problems
    assert problem.position is None and "impossible length" in problem.message
    assert report.spans[0].repaired_frames == 2  # the cut-off last frame is dropped
    assert "MALFORMED: impossible length" in format_report(report)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_agrees_with_strict_decoding(layout: str) -> None:
    config = CONFIG.replace(layout=layout)
    codes = np.random.default_rng(1).integers(0, 1024, (2, 5))
    span = get_layout(layout).to_ids(codes, config.vocab).tolist()
    report = inspect_ids([9, START, *span, END], config)
    assert (
        report.ok
        and report.spans[0].frames == 5
        and report.spans[0].codebooks == (1 if layout == "first_codebook" else 2)
    )
    damaged = [9, START, *span, END]
    damaged[4] = 7  # a text id two ids into the span
    report = inspect_ids(damaged, config)
    with pytest.raises(TokenizationError) as raised:
        ids_to_codes(damaged, config.vocab, get_layout(layout))
    assert [p.position for p in report.problems] == [raised.value.position] == [4]
    assert report.spans[0].repaired_frames == len(
        ids_to_codes(damaged, config.vocab, get_layout(layout), "lenient")[0][0]
    )


def test_chunked_codec_scale_tokens() -> None:
    config = TokenizerConfig.from_pretrained(ROOT / "configs" / "encodec_48khz_3kbps.json")  # K = 2, 150-frame chunks
    vocab, layout = config.vocab, get_layout(config.layout)
    codes = np.random.default_rng(2).integers(0, 1024, (2, 200))
    span = insert_scale_tokens(layout.to_ids(codes, vocab), layout, vocab, np.array([300, 310]), np.array([150, 50]))
    ids = [vocab.start_id, *span.tolist(), vocab.end_id]
    assert ids[1] == ids[302] - 10 == vocab.scale_base + 300  # scale tokens open frames 0 and 150
    report = inspect_ids(ids, config)
    assert report.ok and report.spans[0].frames == 200
    assert report.seconds == pytest.approx((47520 + 50 * 320) / 48000)  # two overlapping chunks, overlap-added
    assert "scale tokens 2051..2562" in format_report(report)
    del ids[1]  # the first chunk loses its scale token: the second one now comes first, at position 301
    (problem,) = inspect_ids(ids, config).problems
    assert problem.position == 301 and "scale token 0 of 1 does not open a valid chunk" in problem.message


# -- files and the command -------------------------------------------------------------------------------


def test_file_with_config_beside_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    CONFIG.save_pretrained(tmp_path)
    np.save(tmp_path / "mixed.npy", np.array(MIXED, dtype=np.int64))
    assert run_cli([str(tmp_path / "mixed.npy")]) == 1  # strict decoding would fail
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path / 'mixed.npy'}: 28 ids\n")
    assert f"note: config {tmp_path / CONFIG_NAME}" in out and "assuming the default config" not in out
    assert "malformed spots: 4" in out and "\n  position 26 (audio span 2)" in out
    assert run_cli([str(tmp_path / "mixed.npy"), "--errors", "lenient"]) == 0


def test_text_json_stdin_and_command_line_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = CONFIG.save_pretrained(tmp_path / "cfg")
    (tmp_path / "ids.txt").write_text("[" + ", ".join(map(str, [START, *GOOD, END])) + "]\n")
    assert run_cli([str(tmp_path / "ids.txt"), "--config", str(config_file)]) == 0
    assert "strict decoding: ok, 1 audio span(s), 3 frames" in capsys.readouterr().out

    (tmp_path / "ids.json").write_text(json.dumps({"source": "x.wav", "layout": "flattened", "ids": GOOD}))
    assert run_cli([str(tmp_path / "ids.json"), "--config", str(tmp_path / "cfg")]) == 1
    out = capsys.readouterr().out
    assert "records layout 'flattened', the config says 'interleaved': using the file's" in out
    assert "layout flattened:" in out

    assert run_cli(["--ids", " ".join(map(str, GOOD)), "--config", str(config_file), "--layout", "interleaved"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--ids: 6 ids") and "bare span, no markers" in out

    monkeypatch.setattr("sys.stdin", io.StringIO(" ".join(map(str, [7, START, *GOOD, END]))))
    assert run_cli(["-", "--config", str(config_file)]) == 0
    assert capsys.readouterr().out.startswith("-: 9 ids")

    one_frame = " ".join(str(k * 1024) for k in range(8))  # code 0 of each of the 8 codebooks
    assert run_cli(["--ids", f"8192 {one_frame} 8193"]) == 0  # no config: the default one, said so
    out = capsys.readouterr().out
    assert "note: no --config given: assuming the default config" in out and "layout interleaved: 8 codebooks" in out


def test_command_errors(tmp_path: Path) -> None:
    with pytest.raises(AudiotokError, match="no such file"):
        run_cli([str(tmp_path / "missing.npy")])
    with pytest.raises(AudiotokError, match="either FILE or --ids"):
        run_cli([])
    (tmp_path / "bad.txt").write_text("1 2 three")
    with pytest.raises(AudiotokError, match=r"token 2 \('three'\) is not an integer"):
        run_cli([str(tmp_path / "bad.txt")])
    with pytest.raises(AudiotokError, match="bandwidth 5.0 kbps"):
        run_cli(["--ids", "1", "--bandwidth", "5"])


def test_files_written_by_audiotok_encode(
    codec_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # encoding needs the codec; the inspection below does not
    from audiotok.cli import main

    sf.write(tmp_path / "clip.wav", clip_of(SAMPLING_RATE, seed=4)[0], SAMPLING_RATE)  # 1 s: 75 frames
    for fmt in ("npy", "json"):
        out = tmp_path / fmt
        args = ["encode", str(tmp_path / "clip.wav"), "--model", str(codec_dir), "--out", str(out), "--format", fmt]
        assert main([*args, "--layout", "delayed", "--vocab-offset", "32000", "--device", "cpu"]) == 0
    capsys.readouterr()
    refuse_codecs(monkeypatch)
    for fmt in ("npy", "json"):
        assert run_cli([str(tmp_path / fmt / f"clip.{fmt}")]) == 0
        out = capsys.readouterr().out
        assert f"{8 * (75 + 7) + 2} ids" in out and "layout delayed: 8 codebooks" in out
        assert "audio ids 32000..40194" in out and "strict decoding: ok, 1 audio span(s), 75 frames (1.00 s)" in out


def test_registered_on_the_audiotok_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from audiotok import cli

    commands = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    if "inspect" not in commands.choices:
        pytest.skip("audiotok/cli.py does not register add_inspect_command yet")
    CONFIG.save_pretrained(tmp_path)
    np.save(tmp_path / "mixed.npy", np.array(MIXED))
    assert cli.main(["inspect", str(tmp_path / "mixed.npy")]) == 1
    assert "malformed spots: 4" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        cli.main(["inspect", str(tmp_path / "missing.npy")])
    assert exited.value.code == 2 and "no such file" in capsys.readouterr().err
