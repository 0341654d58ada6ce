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

What audiotok's ids sound like, for any codec family (EnCodec, DAC, Mimi). This notebook speaks a sentence,
encodes it in every layout, shows the ids and their rate, decodes them back and lets you listen to the
original next to the reconstructions: the tokenizer's codebooks, the first codebook alone (the coarse "robot
voice") and a few of the codebook counts the codec supports. Waveforms and log-mel spectrograms sit side by
side, a histogram shows how the codebooks are used, and the last section inspects (and repairs) a simulated
language-model output.

**Model**: `facebook/encodec_24khz` by default, or whatever `$AUDIOTOK_MODEL` names: a hub id of any family
(e.g. `descript/dac_16khz`, `kyutai/mimi`), a local checkpoint directory, a saved tokenizer directory, an
audiotok config JSON, or a demo codec (`demo`, `demo-<family>`: `demo-dac`, `demo-mimi`, `demo-xcodec2`, ...).
Where a hub id cannot be loaded (no internet, nothing cached) the notebook prints why and falls back to the
**untrained demo codec** of the family its name says (`descript/dac_16khz` -> `demo-dac`, `kyutai/mimi` ->
`demo-mimi`, ...; `demo`, the EnCodec one, otherwise), whose ids are real codes of that family but whose
audio is *not* a faithful reconstruction. A local path must load.

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
from audiotok.codecs.registry import DEMO_PREFIX

DEFAULT_MODEL = "facebook/encodec_24khz"
MODEL = os.environ.get("AUDIOTOK_MODEL") or DEFAULT_MODEL  # hub id, directory, config JSON, "demo", "demo-dac", ...
TEXT = "Audio tokens let a language model listen and speak."
OUT = "listen_out"  # the clip and the figures go here


def demo_for(model):  # the demo codec standing in for a hub id that cannot load; None for a local path
    if os.path.exists(model) or model.startswith(("/", ".", "~")) or model.count("/") > 1:
        return None
    names = ("xcodec2", "neucodec", "wavtokenizer", "xcodec", "dac", "mimi")  # the more specific names first
    family = next((name for name in names if name in model.lower()), None)
    return f"{DEMO_PREFIX}-{family}" if family else DEMO_PREFIX  # "demo" is the EnCodec one


FALLBACK = demo_for(MODEL)
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
from audiotok.codecs.demo_tools import synthetic_audio
from audiotok.inspect import format_report, inspect_ids
from audiotok.ids.layouts import LAYOUTS

transformers_logging.disable_progress_bar()
try:
    tok = AudioTokenizer.from_pretrained(MODEL)
except CodecLoadError as error:
    if FALLBACK is None:
        raise  # a local checkpoint must load
    print(error)
    print(f"\\n*** FALLING BACK TO THE UNTRAINED DEMO CODEC {FALLBACK!r} IN PLACE OF {MODEL!r}. ***")
    print("*** Do not judge audio quality by ear with it (the first run builds it, once). ***\\n")
    tok = AudioTokenizer.from_pretrained(FALLBACK)
UNTRAINED = tok.codec.is_demo
DEMO_NOTE = tok.codec.config.audiotok_note if UNTRAINED else ""  # the label a demo checkpoint carries
if UNTRAINED:
    print(f"NOTE: {DEMO_NOTE}.")
SR = tok.config.sampling_rate  # the rate the codec encodes
OUT_SR = tok.config.output_sampling_rate  # the rate it decodes (the same for most families)
print(tok)""",
    ),
    (
        "markdown",
        "",
        """\
## The clip

Speech from `espeak-ng` where it is installed, else a synthetic speech-like signal. `tok.load` resamples
it to the codec's rate and channel count (stereo codecs get it on both channels).""",
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
    t = AudioTokenizer(tok.config.replace(layout=name, bpe=None), tok.codec)
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
## Acoustic BPE

A tokenizer directory written by `audiotok bpe train SHARDS --vocab-size N --out DIR` (set
`$AUDIOTOK_MODEL=DIR`) carries an acoustic BPE: merged tokens of frequent code pairs, after the audio range.
The ids get shorter and decode to exactly the same codes.""",
    ),
    (
        "code",
        "bpe",
        """\
if tok.config.bpe is not None:
    bpe_ids = tok.encode(original, SR)
    plain_ids = AudioTokenizer(tok.config.replace(bpe=None), tok.codec).encode(original, SR)
    same_codes = np.array_equal(tok.ids_to_codes(bpe_ids)[0].codes, tok.ids_to_codes(plain_ids)[0].codes)
    print(f"{tok.config.layout}: {len(plain_ids)} ids without the BPE, {len(bpe_ids)} with it "
          f"({len(plain_ids) / len(bpe_ids):.2f}x shorter); same codes: {same_codes}")
else:
    print("this tokenizer has no BPE (train one with `audiotok bpe train`)")""",
    ),
    (
        "markdown",
        "",
        """\
## Detokenize and listen

Decoding turns the ids back into codes and the codes into audio. The first codebook alone carries the
coarse shape of the sound; each further residual codebook adds detail. Every family counts codebooks;
EnCodec also names its counts by bandwidth (kbps). SNR is against the original (higher is closer).""",
    ),
    (
        "code",
        "listen",
        """\
def describe(config):  # its codebook count, and the bandwidth where the family names one (EnCodec)
    kbps = f", {config.bandwidth:g} kbps" if config.bandwidth is not None else ""
    return f"{config.num_codebooks} codebook{'s' if config.num_codebooks > 1 else ''}{kbps}"


def listen(label, wave, rate=OUT_SR):
    display(Markdown(f"**{label}**"))
    display(Audio(wave, rate=rate))


def snr_db(wave):
    error = wave[..., :n] - original
    return 10 * np.log10(float((original**2).sum()) / max(float((error**2).sum()), 1e-12))


full = AudioTokenizer(tok.config.replace(layout="interleaved", bpe=None), tok.codec)
coarse_tok = AudioTokenizer(tok.config.replace(layout="first_codebook", bpe=None), tok.codec)
reconstruction = full.decode(ids_by_layout["interleaved"])[..., :n]
coarse = coarse_tok.decode(ids_by_layout["first_codebook"])[..., :n]
listen("original", original, rate=SR)
listen(f"full reconstruction ({describe(tok.config)}): SNR {snr_db(reconstruction):.1f} dB", reconstruction)
listen(f"first codebook only, the coarse 'robot voice': SNR {snr_db(coarse):.1f} dB", coarse)
if UNTRAINED:
    print(f"NOTE: {DEMO_NOTE}: these SNRs say nothing about the trained codec's quality.")""",
    ),
    (
        "code",
        "codebook_counts",
        """\
counts = tok.config.codebook_counts
chosen = sorted({counts[0], counts[len(counts) // 2], counts[-1]})  # the fewest, a middle one, the most
by_count = {}  # codebook count -> (label, audio)
for count in chosen:
    t = AudioTokenizer(tok.config.replace(num_codebooks=count, layout="interleaved", bpe=None), tok.codec)
    wave = t.decode(t.encode(clip_path))[..., :n]
    by_count[count] = (describe(t.config), wave)
    listen(f"{describe(t.config)}: {t.config.tokens_per_second:g} ids/s, SNR {snr_db(wave):.1f} dB", wave)""",
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
rows = {"original": original, f"full reconstruction ({describe(tok.config)})": reconstruction}
fewest = min(by_count)
if fewest not in (1, tok.config.num_codebooks):  # else the row above or below shows it
    label, wave = by_count[fewest]
    rows[f"fewest codebooks ({label})"] = wave
rows["first codebook only"] = coarse
figure = plot.plot_comparison(rows, SR)
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
