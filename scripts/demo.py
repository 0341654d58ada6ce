"""The main job, end to end: speech -> ids (printed and saved) -> audio.

Usage: python scripts/demo.py [--model facebook/encodec_24khz] [--out demo_out] [AUDIO_FILE]

Without an audio file it speaks a sentence with espeak-ng (or, where espeak-ng is missing,
synthesises a speech-like signal). If the model cannot be loaded (no hub access here), it says
how to get it and falls back to the untrained demo codec, labelled as such.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from transformers.utils import logging as transformers_logging

from audiotok import AudioTokenizer, CodecLoadError
from audiotok.codecs.demo_tools import synthetic_audio
from audiotok.codecs.encodec.demo import DEMO_NOTE
from audiotok.codecs.registry import DEMO_PREFIX as DEMO_MODEL_NAME


def speech_clip(out: Path) -> Path:
    path = out / "speech.wav"
    if shutil.which("espeak-ng"):
        text = "Audio tokens let a language model listen and speak."
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    else:
        print("espeak-ng not found (apt-get install espeak-ng): using a synthetic speech-like signal")
        sf.write(path, synthetic_audio(3.0, 24000, seed=5)[0], 24000)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", nargs="?", help="an audio file (default: generated speech)")
    parser.add_argument("--model", default="facebook/encodec_24khz")
    parser.add_argument("--out", default="demo_out")
    args = parser.parse_args()
    transformers_logging.disable_progress_bar()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    try:
        tokenizer = AudioTokenizer.from_pretrained(args.model)
    except CodecLoadError as error:
        print(f"{error}\n\n*** Falling back to the {DEMO_NOTE}. ***\n", file=sys.stderr)
        tokenizer = AudioTokenizer.from_pretrained(DEMO_MODEL_NAME)
    print(tokenizer)

    audio = Path(args.audio) if args.audio else speech_clip(out)
    ids = tokenizer.encode(audio)
    seconds = sf.info(str(audio)).duration
    print(f"\n{audio}: {seconds:.2f} s -> {len(ids)} ids ({tokenizer.config.tokens_per_second:g} audio ids/s)")
    print("first ids:", " ".join(map(str, ids[:24].tolist())), "...")
    np.save(out / "speech_ids.npy", ids)
    tokenizer.save_pretrained(out / "tokenizer", save_codec=tokenizer.codec.name == DEMO_MODEL_NAME)

    wave = tokenizer.decode(ids)
    sf.write(out / "speech_decoded.wav", wave.T, tokenizer.config.output_sampling_rate)
    print(f"saved {out / 'speech_ids.npy'}, {out / 'tokenizer'} and {out / 'speech_decoded.wav'}")
    if tokenizer.codec.is_demo:
        print(f"NOTE: {DEMO_NOTE}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
