"""Writes notebooks/detokenize_and_listen.ipynb (without outputs) from the cells below.

Usage: python scripts/make_notebook.py [--out notebooks/detokenize_and_listen.ipynb]
Edit the notebook here, not in Jupyter, so the committed file stays small and clean (no outputs, no
execution counts); tests/test_notebook.py checks that the committed file equals what this writes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "detokenize_and_listen.ipynb"

CELLS: list[tuple[str, str, str]] = [  # (kind, tag, source)
    (
        "markdown",
        "",
        """\
# Detokenize and listen

What audiotok's ids sound like. This notebook speaks a sentence, encodes it in every layout, shows the
ids and their rate, decodes them back and lets you listen to the original next to the reconstructions:
all codebooks, the first codebook alone (the coarse "robot voice") and every bandwidth the codec supports.
Waveforms and log-mel spectrograms sit side by side, a histogram shows how the codebooks are used, and the
last section inspects (and repairs) a simulated language-model output.

**Model**: `facebook/encodec_24khz` by default, or whatever `$AUDIOTOK_MODEL` names (a hub id, a local
EnCodec directory, a saved tokenizer directory, an audiotok config JSON, or `demo`). Where the hub cannot be
reached the default cannot load: the notebook prints why and falls back to the **untrained demo codec**,
whose ids are real EnCodec codes but whose audio is *not* a faithful reconstruction.

Run it in Jupyter (`pip install notebook`, then `jupyter notebook notebooks/detokenize_and_listen.ipynb`)
or headless: `jupyter-execute --output=listened notebooks/detokenize_and_listen.ipynb`. The clip and the
figures are written to `listen_out/` in the working directory.""",
    ),
    (
        "code",
        "setup",
        """\
import os
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm's note when ipywidgets is missing
DEFAULT_MODEL = "facebook/encodec_24khz"
MODEL = os.environ.get("AUDIOTOK_MODEL") or DEFAULT_MODEL  # hub id, directory, config JSON or "demo"
TEXT = "Audio tokens let a language model listen and speak."
OUT = "listen_out"  # the clip and the figures go here
print(f"model: {MODEL}" + ("  (from $AUDIOTOK_MODEL)" if MODEL != DEFAULT_MODEL else ""))""",
    ),
    (
        "code",
        "load",
        """\
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
from IPython.display import Audio, Image, Markdown, display
from transformers.utils import logging as transformers_logging

from audiotok import AudioTokenizer, CodecLoadError, TokenizationError, plot
from audiotok.codecs.encodec.demo import DEMO_MODEL_NAME, DEMO_NOTE, synthetic_audio
from audiotok.inspect import format_report, inspect_ids
from audiotok.ids.layouts import LAYOUTS

transformers_logging.disable_progress_bar()
try:
    tok = AudioTokenizer.from_pretrained(MODEL)
except CodecLoadError as error:
    if MODEL != DEFAULT_MODEL:
        raise  # a model named explicitly must load
    print(error)
    print(f"\\n*** FALLING BACK TO THE UNTRAINED DEMO CODEC: {DEMO_NOTE}. ***")
    print("*** Do not judge audio quality by ear with it (the first run builds it: about 30 s). ***\\n")
    tok = AudioTokenizer.from_pretrained(DEMO_MODEL_NAME)
UNTRAINED = tok.codec.is_demo
if UNTRAINED:
    print(f"NOTE: {DEMO_NOTE}.")
SR = tok.config.sampling_rate
print(tok)""",
    ),
    (
        "markdown",
        "",
        """\
## The clip

Speech from `espeak-ng` where it is installed, else a synthetic speech-like signal. `tok.load` resamples
it to the codec's rate and channel count.""",
    ),
    (
        "code",
        "clip",
        """\
out = Path(OUT)
out.mkdir(parents=True, exist_ok=True)
clip_path = out / "speech.wav"
if shutil.which("espeak-ng"):
    subprocess.run(["espeak-ng", "-w", str(clip_path), TEXT], check=True, capture_output=True)
    source = f"espeak-ng speaking {TEXT!r}"
else:
    sf.write(clip_path, synthetic_audio(3.0, SR, seed=5)[0], SR)
    source = "a synthetic speech-like signal (apt-get install espeak-ng for real speech)"
original = tok.load(clip_path)  # float32 [channels, samples] at the codec's rate
n = original.shape[-1]
seconds = n / SR
print(f"{source}: {seconds:.2f} s at {SR} Hz")
display(Audio(original, rate=SR))""",
    ),
    (
        "markdown",
        "",
        """\
## The ids in each layout

The same codes (K codebooks x T frames) laid out four ways. `ids/s` counts every id of this clip,
start and end markers (and the delayed layout's pads) included; `nominal` is the config's audio ids per
second of audio.""",
    ),
    (
        "code",
        "layouts",
        """\
ids_by_layout, codes_by_layout = {}, {}
print(f"{'layout':<16}{'ids':>7}{'ids/s':>9}{'nominal':>9}  first ids")
for name in LAYOUTS:
    t = AudioTokenizer(tok.config.replace(layout=name), tok.codec)
    ids = t.encode(clip_path)
    ids_by_layout[name] = ids
    codes_by_layout[name] = t.ids_to_codes(ids)[0].codes
    first = " ".join(map(str, ids[:10].tolist()))
    print(f"{name:<16}{len(ids):>7}{len(ids) / seconds:>9.1f}{t.config.tokens_per_second:>9g}  {first} ...")

codes = codes_by_layout["interleaved"]
same = all(np.array_equal(c, codes[: c.shape[0]]) for c in codes_by_layout.values())
print(f"\\ncodes: {codes.shape[0]} codebooks x {codes.shape[1]} frames; every layout carries the same codes: {same}")
vocab = tok.vocab
print("\\nthe interleaved ids begin:")
for token_id in ids_by_layout["interleaved"][: 1 + 2 * vocab.num_codebooks].tolist():
    print(f"  {vocab.describe(token_id)}")""",
    ),
    (
        "markdown",
        "",
        """\
## Detokenize and listen

Decoding turns the ids back into codes and the codes into audio. The first codebook alone carries the
coarse shape of the sound; each further residual codebook adds detail. SNR is against the original
(higher is closer).""",
    ),
    (
        "code",
        "listen",
        """\
def listen(label, wave):
    display(Markdown(f"**{label}**"))
    display(Audio(wave, rate=SR))


def snr_db(wave):
    error = wave[..., :n] - original
    return 10 * np.log10(float((original**2).sum()) / max(float((error**2).sum()), 1e-12))


full = AudioTokenizer(tok.config.replace(layout="interleaved"), tok.codec)
coarse_tok = AudioTokenizer(tok.config.replace(layout="first_codebook"), tok.codec)
reconstruction = full.decode(ids_by_layout["interleaved"])[..., :n]
coarse = coarse_tok.decode(ids_by_layout["first_codebook"])[..., :n]
listen("original", original)
listen(
    f"full reconstruction ({tok.config.bandwidth:g} kbps, {tok.config.num_codebooks} codebooks): "
    f"SNR {snr_db(reconstruction):.1f} dB",
    reconstruction,
)
listen(f"first codebook only, the coarse 'robot voice': SNR {snr_db(coarse):.1f} dB", coarse)
if UNTRAINED:
    print(f"NOTE: {DEMO_NOTE}: these SNRs say nothing about EnCodec's quality.")""",
    ),
    (
        "code",
        "bandwidths",
        """\
by_bandwidth = {}
for bandwidth in tok.config.codec_bandwidths:
    t = AudioTokenizer(tok.config.replace(bandwidth=bandwidth, layout="interleaved"), tok.codec)
    wave = t.decode(t.encode(clip_path))[..., :n]
    by_bandwidth[bandwidth] = wave
    label = f"{bandwidth:g} kbps: {t.config.num_codebooks} codebooks, {t.config.tokens_per_second:g} ids/s"
    listen(f"{label}, SNR {snr_db(wave):.1f} dB", wave)""",
    ),
    (
        "markdown",
        "",
        """\
## Waveforms and log-mel spectrograms

One row per clip, on shared scales (amplitude and dB), so a louder or noisier reconstruction looks it.""",
    ),
    (
        "code",
        "comparison",
        """\
lowest = min(by_bandwidth)
figure = plot.plot_comparison(
    {
        "original": original,
        f"full reconstruction ({tok.config.bandwidth:g} kbps)": reconstruction,
        f"lowest bandwidth ({lowest:g} kbps)": by_bandwidth[lowest],
        "first codebook only": coarse,
    },
    SR,
)
figure.savefig(out / "comparison.png", dpi=72)
display(Image(filename=str(out / "comparison.png")))""",
    ),
    (
        "markdown",
        "",
        """\
## Codebook usage

How often each code of each codebook occurs in this clip. A trained codec spreads a long clip over most of
each codebook; a codebook that uses few codes carries little information (perplexity = the number of
equally likely codes that would carry as much).""",
    ),
    (
        "code",
        "usage",
        """\
figure = plot.plot_codebook_usage(codes, tok.config.codebook_size)
figure.savefig(out / "codebook_usage.png", dpi=72)
display(Image(filename=str(out / "codebook_usage.png")))""",
    ),
    (
        "markdown",
        "",
        """\
## Inspecting a language model's output

A model's output mixes text ids with audio spans, and may hold mistakes. Here the audio range sits after a
32,000-id text vocabulary; the second span has a text id where a code belongs. `inspect_ids` (the
`audiotok inspect` command on a file) shows the spans, their frames, and every malformed spot with its
position; strict decoding refuses the output, lenient decoding repairs it.""",
    ),
    (
        "code",
        "inspect",
        """\
llm = AudioTokenizer(tok.config.replace(base_vocab_size=32000, vocab_offset=32000), tok.codec)
span = llm.encode(clip_path)
damaged = span.copy()
damaged[10] = 17  # a text id where a code belongs
output = np.concatenate([[1, 450, 7], span, [29889, 13], damaged, [2]])
print(format_report(inspect_ids(output, llm.config), "simulated LLM output"))
try:
    llm.decode(output)
except TokenizationError as error:
    print(f"\\nstrict decoding refuses it: {error}")
for index, wave in enumerate(llm.decode_spans(output, errors="lenient")):
    listen(f"span {index}, decoded leniently", wave[..., :n])""",
    ),
]


def build() -> nbformat.NotebookNode:
    """The notebook, without outputs, with stable cell ids (so regenerating it changes nothing)."""
    cells = []
    for number, (kind, tag, source) in enumerate(CELLS):
        cell_id = f"{tag or 'text'}-{number:02d}"
        metadata = {"tags": [tag]} if tag else {}
        if kind == "code":
            cells.append(new_code_cell(source, id=cell_id, metadata=metadata))
        else:
            cells.append(new_markdown_cell(source, id=cell_id, metadata=metadata))
    notebook = new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(notebook)
    return notebook


def render() -> str:
    return nbformat.writes(build()) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(NOTEBOOK))
    out = Path(parser.parse_args().out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
