"""Fork safety: the one-liners work in forked workers (datasets.map(num_proc=N)) after the parent encoded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TIMEOUT_S = 120

SCRIPT = textwrap.dedent(
    """
    import sys

    import numpy as np
    import torch
    from datasets import Dataset

    import audiotok
    from audiotok.codecs.encodec.demo import synthetic_audio

    torch.set_num_threads(2)  # a multithreaded parent, as on any multi-core machine
    tok = audiotok.AudioTokenizer.from_pretrained(sys.argv[1], device="cpu")
    audiotok.set_default_tokenizer(tok)
    clips = [synthetic_audio(0.5 + 0.1 * i, 24000, seed=i)[0] for i in range(8)]
    audiotok.encode_to_tokens(clips[0], 24000)  # the parent's first encode starts torch's thread pool


    def encode(row):
        return {"ids": audiotok.encode_to_tokens(np.asarray(row["audio"], np.float32), 24000).tolist()}


    data = Dataset.from_dict({"audio": [c.tolist() for c in clips]})
    forked = data.map(encode, num_proc=2)["ids"]
    torch.set_num_threads(1)  # as in the workers: multithreaded CPU kernels can flip near-tie codes run to run
    serial = data.map(encode, num_proc=1)["ids"]
    expected = [tok.encode(c, 24000).tolist() for c in clips]
    assert serial == expected, "num_proc=1 differs from tok.encode"
    assert forked == serial, "num_proc=2 differs from num_proc=1"
    print("OK", len(forked))
    """
)


def test_datasets_map_with_forked_workers_finishes_and_matches(codec_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "fork_map.py"
    script.write_text(SCRIPT)
    child = subprocess.Popen(
        [sys.executable, str(script), str(codec_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        start_new_session=True,  # its own process group, so a hang's workers can be killed with it
    )
    try:
        stdout, stderr = child.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        pytest.fail(f"datasets.map(num_proc=2) hung for {TIMEOUT_S} s in forked workers")
    assert child.returncode == 0, stderr[-3000:]
    assert "OK 8" in stdout
