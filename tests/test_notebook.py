"""The detokenize-and-listen notebook runs end to end on fixture codecs of several families; its plots are real
pictures."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import numpy as np
import pytest
import torch

from audiotok import CodecLoadError, plot
from audiotok.codecs.demo_tools import demo_note
from audiotok.config import DEFAULT_CODEC as DEFAULT_MODEL
from audiotok.errors import AudiotokError

from conftest import SAMPLING_RATE, clip_of

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "detokenize_and_listen.ipynb"
KERNEL = "audiotok-test"


def _make_notebook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_notebook", ROOT / "scripts" / "make_notebook.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cells(notebook: Any, *tags: str) -> list[Any]:
    return [cell for cell in notebook.cells if set(cell.metadata.get("tags", ())) & set(tags)]


def _text(cell: Any) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")


def _pixels(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    return np.asarray(imread(path))


def _assert_not_blank(pixels: np.ndarray) -> None:
    rgb = pixels[..., :3].reshape(-1, 3)
    assert float(rgb.var()) > 0
    assert len(np.unique(np.round(rgb * 255).astype(np.uint8), axis=0)) > 50  # lines, text, colour maps


def test_committed_notebook_is_clean_and_matches_its_generator() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert NOTEBOOK.read_text() == _make_notebook().render(), "run python scripts/make_notebook.py"
    assert NOTEBOOK.stat().st_size < 30_000


@dataclass(frozen=True)
class Case:
    """A fixture codec to run the notebook on, and what the notebook must then show (known answers)."""

    fixture: str  # the conftest fixture of its checkpoint directory
    rate: int  # Hz
    start_id: int  # <|audio_start|> at offset 0: default codebooks x codebook size
    full: str  # the tokenizer's default codebooks, as the notebook names them
    counts: tuple[str, ...]  # the fewest, a middle and the most codebooks, as labelled
    comparison_rows: int  # original, full, fewest (unless 1 or the default), first codebook


CASES = {
    # EnCodec 24 kHz shape: 8 of (2, 4, 8, 16, 32) codebooks by default, 1024 codes each; bandwidths in kbps.
    "encodec": Case(
        "codec_dir",
        24000,
        8192,
        "8 codebooks, 6 kbps",
        ("2 codebooks, 1.5 kbps", "8 codebooks, 6 kbps", "32 codebooks, 24 kbps"),
        4,
    ),
    # DAC 16 kHz shape: 12 of 1..12 codebooks by default, no bandwidths.
    "dac": Case("dac_dir", 16000, 12 * 1024, "12 codebooks", ("1 codebook", "7 codebooks", "12 codebooks"), 3),
    # EnCodec 48 kHz shape: stereo, chunked with a scale token per chunk; 4 of (2, 4, 8, 16) codebooks by default.
    "encodec48": Case(
        "codec48_dir",
        48000,
        4096,
        "4 codebooks, 6 kbps",
        ("2 codebooks, 3 kbps", "8 codebooks, 12 kbps", "16 codebooks, 24 kbps"),
        4,
    ),
}


@dataclass(frozen=True)
class Run:
    case: Case
    model: Path
    notebook: Any
    work: Path
    seconds: float


@pytest.fixture(scope="module", params=sorted(CASES))
def executed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The notebook run by a fresh kernel of this interpreter, on a fixture codec, in a temporary folder.

    EnCodec 24 kHz (the default model's shape), DAC (another family, another rate, no bandwidths) and
    EnCodec 48 kHz (stereo, scale tokens among the ids). The kernel spec is written here (pointing at
    ``sys.executable``), so the test needs no kernel installed by hand and ignores any ``python3`` kernel
    a user installed elsewhere.
    """
    from ipykernel.kernelspec import write_kernel_spec
    from nbclient import NotebookClient

    case = CASES[request.param]
    model: Path = request.getfixturevalue(case.fixture)
    work = tmp_path_factory.mktemp(f"notebook_{request.param}")
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        "AUDIOTOK_MODEL": str(model),
        "MPLBACKEND": "Agg",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_VERBOSITY": "error",
        "PYTHONPATH": pythonpath,  # the kernel imports the audiotok under test
    }
    write_kernel_spec(work / "jupyter" / "kernels" / KERNEL, overrides={"display_name": KERNEL, "env": env})
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(work / "jupyter"))
        start = time.perf_counter()
        client = NotebookClient(
            notebook,
            kernel_name=KERNEL,
            timeout=300,
            startup_timeout=120,
            resources={"metadata": {"path": str(work)}},
        )
        client.execute()  # raises CellExecutionError on any error
        seconds = time.perf_counter() - start
    print(f"notebook executed on {request.param} in {seconds:.1f} s")
    return Run(case, model, notebook, work, seconds)


def _labels(notebook: Any, *tags: str) -> list[str]:
    return [
        out["data"]["text/markdown"]
        for cell in _cells(notebook, *tags)
        for out in cell.outputs
        if "text/markdown" in out.get("data", {})
    ]


def test_notebook_runs_on_the_model_env_names(executed: Run) -> None:
    notebook, case = executed.notebook, executed.case
    assert f"model: {executed.model}  (from $AUDIOTOK_MODEL)" in _text(_cells(notebook, "setup")[0])
    assert "FALLING BACK" not in _text(_cells(notebook, "load")[0])
    assert f" at {case.rate} Hz" in _text(_cells(notebook, "clip")[0])
    layouts = _text(_cells(notebook, "layouts")[0])
    for name in ("interleaved", "flattened", "delayed", "first_codebook"):
        assert f"\n{name} " in layouts
    assert "every layout carries the same codes: True" in layouts
    assert f"id {case.start_id} (<|audio_start|>)" in layouts  # offset 0


def test_notebook_reads_the_scale_tokens_of_a_chunked_codec(executed: Run) -> None:
    layouts = _text(_cells(executed.notebook, "layouts")[0])
    if executed.case.rate != 48000:
        assert "scale token" not in layouts
        return
    # the first interleaved ids: <|audio_start|>, then the first chunk's scale token, then its codes
    start, scale, code = layouts.split("the interleaved ids begin:\n")[1].splitlines()[:3]
    assert "(<|audio_start|>)" in start and "(scale token " in scale and "(codebook 0, code " in code


def test_notebook_plays_every_reconstruction(executed: Run) -> None:
    notebook, case = executed.notebook, executed.case
    players = {
        tag: sum("<audio" in out.get("data", {}).get("text/html", "") for out in cell.outputs)
        for tag in ("clip", "listen", "codebook_counts", "inspect")
        for cell in _cells(notebook, tag)
    }
    # original; original + full + first codebook; three codebook counts; the 2 spans leniently
    assert players == {"clip": 1, "listen": 3, "codebook_counts": 3, "inspect": 2}
    listen = _labels(notebook, "listen")
    assert listen[1].startswith(f"**full reconstruction ({case.full}): SNR ")
    assert listen[2].startswith("**first codebook only")
    assert [label.split(":")[0] for label in _labels(notebook, "codebook_counts")] == [
        f"**{count}" for count in case.counts
    ]


def test_notebook_figures_are_pictures(executed: Run) -> None:
    for tag, name in (("comparison", "comparison.png"), ("usage", "codebook_usage.png")):
        (cell,) = _cells(executed.notebook, tag)
        assert any("image/png" in out.get("data", {}) for out in cell.outputs), f"{tag} shows no image"
        pixels = _pixels(executed.work / "listen_out" / name)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 600
        _assert_not_blank(pixels)
    # one row per clip (plot_comparison's figure grows with its rows)
    one_row = plot.plot_comparison({"a": np.zeros((1, 100), np.float32)}, 8000).get_size_inches()[1]
    height = _pixels(executed.work / "listen_out" / "comparison.png").shape[0] / 72
    assert height == pytest.approx(one_row * executed.case.comparison_rows, rel=0.2)


def test_notebook_inspects_a_damaged_output(executed: Run) -> None:
    report = _text(_cells(executed.notebook, "inspect")[0])
    assert "malformed spots: 1" in report and "strict decoding refuses it: position" in report
    assert "found id 17 (outside the audio range [32000, " in report
    assert executed.seconds < 300


def _run_setup_and_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tags: tuple[str, ...]) -> dict[str, Any]:
    """Runs the notebook's first code cells in this process (they hold no magics)."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    for cell in _cells(nbformat.read(NOTEBOOK, as_version=4), *tags):
        exec(compile(cell.source, f"<notebook cell {cell.id}>", "exec"), namespace)
    return namespace


def test_each_hub_id_falls_back_to_the_demo_codec_of_its_family(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_for = _run_setup_and_load(monkeypatch, tmp_path, ("setup",))["demo_for"]
    assert demo_for("facebook/encodec_24khz") == "demo"
    assert demo_for("facebook/encodec_48khz") == "demo"  # the 24 kHz one: the only EnCodec demo codec
    assert demo_for("descript/dac_44khz") == "demo-dac"
    assert demo_for("kyutai/mimi") == "demo-mimi"
    assert demo_for("Kyutai/Mimi-Variant") == "demo-mimi"
    assert demo_for("HKUSTAudio/xcodec2-hf") == "demo-xcodec2"  # not X-codec's demo
    assert demo_for("hf-audio/xcodec-hubert-librispeech") == "demo-xcodec"
    assert demo_for("neuphonic/neucodec") == "demo-neucodec"
    assert demo_for("swiss-ai/wavtokenizer-large-unify-40token") == "demo-wavtokenizer"
    for local in (str(tmp_path / "missing"), "./dac", "../mimi", "~/encodec", str(tmp_path)):
        assert demo_for(local) is None  # a local path never falls back


@pytest.mark.parametrize(
    ("model", "family", "cache_name", "fixture"),
    [
        ("facebook/encodec_24khz", "EnCodec", "demo-encodec-24khz", "codec_dir"),
        ("descript/dac_16khz", "DAC", "demo-dac", "dac_dir"),
    ],
)
def test_an_unreachable_hub_id_falls_back_to_the_demo_codec(
    model: str,
    family: str,
    cache_name: str,
    fixture: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"
    cached = home / ".cache" / "audiotok" / cache_name  # where the demo codec is built once
    shutil.copytree(request.getfixturevalue(fixture), cached)
    config = json.loads((cached / "config.json").read_text())
    note = demo_note(family)
    (cached / "config.json").write_text(json.dumps({**config, "audiotok_note": note}))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # no hub, even where it is reachable
    if model == DEFAULT_MODEL:
        monkeypatch.delenv("AUDIOTOK_MODEL", raising=False)
    else:
        monkeypatch.setenv("AUDIOTOK_MODEL", model)
    namespace = _run_setup_and_load(monkeypatch, tmp_path, ("setup", "load"))
    out = capsys.readouterr().out
    if not namespace["tok"].codec.is_demo:
        pytest.skip(f"{model} is in the local Hugging Face cache: nothing to fall back from")
    assert f"model: {model}" in out
    assert f"could not load the codec checkpoint {model!r}" in out  # the CodecLoadError
    fallback = "demo" if family == "EnCodec" else cache_name
    assert f"FALLING BACK TO THE UNTRAINED DEMO CODEC {fallback!r} IN PLACE OF {model!r}" in out
    assert f"NOTE: {note}." in out
    assert namespace["UNTRAINED"] is True
    assert namespace["tok"].config.codec_family == family.lower()


def test_a_local_model_that_cannot_load_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUDIOTOK_MODEL", str(tmp_path / "missing"))
    with pytest.raises(CodecLoadError, match="missing"):
        _run_setup_and_load(monkeypatch, tmp_path, ("setup", "load"))
    assert "FALLING BACK" not in capsys.readouterr().out


# -- audiotok.plot on its own ----------------------------------------------------------------------------


def test_plots_return_figures_that_are_pictures(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    mono = clip_of(SAMPLING_RATE, seed=3)  # [1, L]
    stereo = np.concatenate([mono, 0.5 * mono])
    for figure in (
        plot.plot_waveform(mono[0], SAMPLING_RATE, title="mono [L]"),
        plot.plot_spectrogram(torch.from_numpy(stereo), SAMPLING_RATE),
        plot.plot_comparison([("a", mono), ("b", stereo)], SAMPLING_RATE, share_amplitude=True),
        plot.plot_codebook_usage(np.random.default_rng(0).integers(0, 1024, (8, 75)), 1024),
    ):
        assert isinstance(figure, Figure)
        figure.savefig(tmp_path / "figure.png", dpi=50)
        _assert_not_blank(_pixels(tmp_path / "figure.png"))
    figure = Figure()
    ax = figure.add_subplot()
    assert plot.plot_waveform(mono, SAMPLING_RATE, ax=ax) is figure


def test_plot_helpers_compute_what_they_show() -> None:
    codes = np.array([[0, 0, 3], [1, 2, 2]])
    assert plot.codebook_counts(codes, 4).tolist() == [[2, 0, 0, 1], [0, 1, 2, 0]]
    tone = np.sin(2 * np.pi * 1000 * np.arange(SAMPLING_RATE) / SAMPLING_RATE).astype(np.float32)
    mel = plot.log_mel(tone, SAMPLING_RATE, n_mels=40)
    assert mel.shape[0] == 40 and mel.max() > mel.min() + 40  # one bright band, the rest dark
    assert plot.as_mono(np.stack([tone, -tone])).max() == 0
    with pytest.raises(ValueError, match="codes must lie in"):
        plot.codebook_counts(codes, 2)
    with pytest.raises(ValueError, match="must divide"):
        plot.plot_codebook_usage(codes, 4, bins=3)


def test_missing_matplotlib_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes `import matplotlib.figure` fail
    with pytest.raises(ImportError, match=r"pip install 'audiotok\[plot\]'") as raised:
        plot.plot_waveform(np.zeros(100, dtype=np.float32), SAMPLING_RATE)
    assert isinstance(raised.value, AudiotokError)  # the CLI reports it in one line (stats --plot, eval)
