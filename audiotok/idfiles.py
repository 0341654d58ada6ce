"""Id files: the ``.npy`` / ``.json`` files ``audiotok encode`` writes, and text files of integers.

One writer and one reader, so every command reads ids the same way. The reader raises AudiotokError,
naming the file, for every malformed file (a pickled ``.npy``, an empty ``.json``, a ``.json`` without
``ids``, a word where an integer belongs ...), so a caller can report it and go on with the next file::

    write_id_file(Path("ids/clip.npy"), ids)
    ids, layout = read_id_file(Path("ids/clip.npy"))   # layout: what a .json records, else None
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import AudiotokError
from .ids.arrays import as_ids as _as_ids
from .ids.layouts import LAYOUTS

ID_SUFFIXES = (".npy", ".json")  # what `audiotok encode` writes
IdFormat = Literal["npy", "json"]


def parse_id_text(text: str, source: str = "ids") -> np.ndarray:
    """Integers separated by whitespace and/or commas (optionally in [brackets]) -> int64 ``[N]``."""
    tokens = [token for token in re.split(r"[\s,\[\]]+", text) if token]
    values = []
    for number, token in enumerate(tokens):
        try:
            values.append(int(token))
        except ValueError:
            raise AudiotokError(f"{source}: token {number} ({token!r}) is not an integer") from None
    return _checked(values, source) if values else np.zeros(0, dtype=np.int64)


def read_id_file(path: Path) -> tuple[np.ndarray, str | None]:
    """Reads a ``.npy`` or ``.json`` id file (as ``audiotok encode`` writes them), or a text file of integers.

    Returns:
        ``(ids, layout)``: int64 ids ``[N]`` and the layout a ``.json`` file records (None otherwise).

    Raises:
        AudiotokError: the file cannot be read or does not hold a 1-D sequence of integer ids.
    """
    try:
        if path.suffix == ".npy":
            return _read_npy(path), None
        text = path.read_text()
    except UnicodeDecodeError:
        raise AudiotokError(f"{path}: not an id file (binary, not a text of integers)") from None
    except OSError as error:
        raise AudiotokError(f"{path}: cannot read it ({error.strerror or error})") from None
    if path.suffix == ".json":
        return _read_json(text, path)
    return parse_id_text(text, str(path)), None


def write_id_file(
    path: Path, ids: np.ndarray, fmt: IdFormat = "npy", source: str | None = None, layout: str | None = None
) -> Path:
    """Writes ids as ``.npy`` (int64) or ``.json`` (``{"source", "layout", "ids"}``); creates the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "npy":
        np.save(path, np.asarray(ids, dtype=np.int64))
    else:
        path.write_text(json.dumps({"source": source, "layout": layout, "ids": np.asarray(ids).tolist()}))
    return path


def _read_npy(path: Path) -> np.ndarray:
    try:
        array: Any = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as error:
        raise AudiotokError(f"{path}: not a readable .npy id array ({error})") from None
    if not isinstance(array, np.ndarray):  # an .npz archive
        raise AudiotokError(f"{path}: holds an .npz archive, not one id array")
    return _checked(np.ravel(array) if array.ndim == 2 and 1 in array.shape else array, str(path))


def _read_json(text: str, path: Path) -> tuple[np.ndarray, str | None]:
    try:
        values: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise AudiotokError(f"{path}: not valid JSON ({error})") from None
    if isinstance(values, list):
        return _checked(values, str(path)), None
    if not isinstance(values, dict) or "ids" not in values:
        raise AudiotokError(f"{path}: expected a list of ids or an object with an 'ids' list")
    layout = values.get("layout")
    if layout is not None and (not isinstance(layout, str) or layout not in LAYOUTS):
        raise AudiotokError(f"{path}: records layout {layout!r}, not one of {sorted(LAYOUTS)}")
    return _checked(values["ids"], str(path)), layout


def _checked(values: Any, source: str) -> np.ndarray:
    """``values`` as int64 ids ``[N]``; AudiotokError naming ``source`` otherwise."""
    if not isinstance(values, (list, np.ndarray)):
        raise AudiotokError(f"{source}: ids must be a list of integers, got {type(values).__name__}")
    try:
        return _as_ids(values)
    except AudiotokError as error:
        raise AudiotokError(f"{source}: {error}") from None
