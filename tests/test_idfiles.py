"""Id files: what write_id_file writes, read_id_file reads back; malformed files raise AudiotokError naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from audiotok.errors import AudiotokError
from audiotok.idfiles import read_id_file, write_id_file


def test_round_trip(tmp_path: Path) -> None:
    ids = np.array([8192, 5, 2**40, 8193], dtype=np.int64)
    assert write_id_file(tmp_path / "a" / "x.npy", ids).exists()  # creates the folder
    back, layout = read_id_file(tmp_path / "a" / "x.npy")
    assert back.dtype == np.int64 and back.tolist() == ids.tolist() and layout is None
    write_id_file(tmp_path / "x.json", ids, "json", source="clip.wav", layout="delayed")
    assert json.loads((tmp_path / "x.json").read_text()) == {
        "source": "clip.wav",
        "layout": "delayed",
        "ids": ids.tolist(),
    }
    back, layout = read_id_file(tmp_path / "x.json")
    assert back.tolist() == ids.tolist() and layout == "delayed"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("null.json", "null", "expected a list of ids"),
        ("nested.json", "[[1, 2], [3]]", "1-D"),
        ("floats.json", '{"ids": [1.5]}', "integers"),
        ("layout.json", '{"ids": [1], "layout": ["x"]}', "records layout"),
        ("ids.txt", "1 2 x", "token 2 ('x') is not an integer"),
        ("binary.txt", b"\xff\xfe\x00", "binary"),
        ("missing.npy", None, "cannot read"),
    ],
)
def test_malformed_files_raise_naming_the_file(
    tmp_path: Path, name: str, content: str | bytes | None, reason: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(AudiotokError) as raised:
        read_id_file(path)
    assert str(raised.value).startswith(f"{path}: ") and reason in str(raised.value)
