"""The detokenize-and-listen notebook runs end to end on the fixture codec; its plots are real pictures."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import numpy as np
import pytest
import torch

from audiotok import CodecLoadError, plot
from audiotok.codecs.encodec.demo import DEMO_NOTE

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


@pytest.fixture(scope="module")
def executed(codec_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, float]:
    """The notebook run by a fresh kernel of this interpreter, on the fixture codec, in a temporary folder.

    The kernel spec is written here (pointing at ``sys.executable``), so the test needs no kernel
    installed by hand and ignores any ``python3`` kernel a user installed elsewhere.
    """
    from ipykernel.kernelspec import write_kernel_spec
    from nbclient import NotebookClient

    work = tmp_path_factory.mktemp("notebook")
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        "AUDIOTOK_MODEL": str(codec_dir),
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
    print(f"notebook executed in {seconds:.1f} s")
    return notebook, work, seconds


def test_notebook_runs_on_the_model_env_names(executed: tuple[Any, Path, float], codec_dir: Path) -> None:
    notebook, _, _ = executed
    assert f"model: {codec_dir}  (from $AUDIOTOK_MODEL)" in _text(_cells(notebook, "setup")[0])
    assert "FALLING BACK" not in _text(_cells(notebook, "load")[0])
    layouts = _text(_cells(notebook, "layouts")[0])
    for name in ("interleaved", "flattened", "delayed", "first_codebook"):
        assert f"\n{name} " in layouts
    assert "every layout carries the same codes: True" in layouts
    assert "id 8192 (<|audio_start|>)" in layouts  # the fixture: 8 codebooks at 6 kbps, offset 0


def test_notebook_plays_every_reconstruction(executed: tuple[Any, Path, float]) -> None:
    notebook, _, _ = executed
    players = {
        tag: sum("<audio" in out.get("data", {}).get("text/html", "") for out in cell.outputs)
        for tag in ("clip", "listen", "bandwidths", "inspect")
        for cell in _cells(notebook, tag)
    }
    # original; original + full + first codebook; the fixture codec's 5 bandwidths; the 2 spans leniently
    assert players == {"clip": 1, "listen": 3, "bandwidths": 5, "inspect": 2}
    labels = " ".join(
        out["data"]["text/markdown"]
        for cell in _cells(notebook, "listen", "bandwidths")
        for out in cell.outputs
        if "text/markdown" in out.get("data", {})
    )
    assert "first codebook only" in labels
    for kbps in ("1.5", "3", "6", "12", "24"):
        assert f"**{kbps} kbps:" in labels


def test_notebook_figures_are_pictures(executed: tuple[Any, Path, float]) -> None:
    notebook, work, _ = executed
    for tag, name in (("comparison", "comparison.png"), ("usage", "codebook_usage.png")):
        (cell,) = _cells(notebook, tag)
        assert any("image/png" in out.get("data", {}) for out in cell.outputs), f"{tag} shows no image"
        pixels = _pixels(work / "listen_out" / name)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 600
        _assert_not_blank(pixels)


def test_notebook_inspects_a_damaged_output(executed: tuple[Any, Path, float]) -> None:
    notebook, _, seconds = executed
    report = _text(_cells(notebook, "inspect")[0])
    assert "malformed spots: 1" in report and "strict decoding refuses it: position" in report
    assert "found id 17 (outside the audio range [32000, " in report
    assert seconds < 300


def _run_setup_and_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Runs the notebook's first two code cells in this process (they hold no magics)."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    for cell in _cells(nbformat.read(NOTEBOOK, as_version=4), "setup", "load"):
        exec(compile(cell.source, f"<notebook cell {cell.id}>", "exec"), namespace)
    return namespace


def test_default_model_unreachable_falls_back_to_the_demo_codec(
    codec_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    cached = home / ".cache" / "audiotok" / "demo-encodec-24khz"  # where the demo codec is built once
    shutil.copytree(codec_dir, cached)
    config = json.loads((cached / "config.json").read_text())
    (cached / "config.json").write_text(json.dumps({**config, "audiotok_note": DEMO_NOTE}))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # no hub, even where it is reachable
    monkeypatch.delenv("AUDIOTOK_MODEL", raising=False)
    namespace = _run_setup_and_load(monkeypatch, tmp_path)
    out = capsys.readouterr().out
    if not namespace["tok"].codec.is_demo:
        pytest.skip("facebook/encodec_24khz is in the local Hugging Face cache: nothing to fall back from")
    assert "model: facebook/encodec_24khz\n" in out
    assert "could not load the codec checkpoint 'facebook/encodec_24khz'" in out  # the CodecLoadError
    assert "FALLING BACK TO THE UNTRAINED DEMO CODEC" in out and DEMO_NOTE in out
    assert namespace["UNTRAINED"] is True


def test_a_named_model_that_cannot_load_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUDIOTOK_MODEL", str(tmp_path / "missing"))
    with pytest.raises(CodecLoadError, match="missing"):
        _run_setup_and_load(monkeypatch, tmp_path)
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
    with pytest.raises(ImportError, match=r"pip install audiotok\[plot\]"):
        plot.plot_waveform(np.zeros(100, dtype=np.float32), SAMPLING_RATE)
