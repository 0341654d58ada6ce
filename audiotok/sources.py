"""Corpus inputs for preprocessing: every source becomes a ``datasets.Dataset`` of undecoded audio rows.

A row holds ``key`` (unique, stable across runs), ``audio`` (``{"bytes": ..., "path": ...}``, never
decoded here) and whatever columns the source has. Decoding happens later, row by row, in DataLoader
worker processes (``decode_row``), so that a corrupt row is recorded as a failure instead of killing
the job. Audio columns are cast to ``datasets.Audio(decode=False)``: datasets decodes audio through
torchcodec, whose registry wheel is a CUDA build that fails to load on CPU machines.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from .audio import convert_channels, read_audio_file, resample, to_channels_first, to_float32, validate_wave
from .errors import AudioInputError, AudiotokError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".opus")


def open_source(
    source: str,
    *,
    config_name: str | None = None,
    split: str = "train",
    audio_column: str = "audio",
    revision: str | None = None,
) -> datasets.Dataset:
    """Opens a corpus as rows of undecoded audio.

    Args:
        source: a folder of audio files, a ``.jsonl`` manifest (``path`` per line, optional ``key``
            and other columns), a ``save_to_disk`` directory, ``audiofolder:DIR``, or a hub dataset name.
        config_name: the hub dataset's configuration.
        split: the split of a hub dataset, audiofolder or DatasetDict on disk.
        audio_column: the column holding the audio (hub and disk datasets).
        revision: the hub dataset's revision (a branch, tag or commit) to pin its content.
    """
    path = Path(source)
    if source.startswith("audiofolder:"):  # datasets' audiofolder builder needs torchcodec: read it ourselves
        return _from_audiofolder(Path(source.split(":", 1)[1]))
    if path.suffix == ".jsonl" and path.is_file():
        return _from_manifest(path)
    if path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
        loaded = datasets.load_from_disk(str(path))
        dataset = loaded[split] if isinstance(loaded, datasets.DatasetDict) else loaded
        return _normalise(dataset, audio_column, key_prefix=f"{split}-")
    if path.is_dir():
        return _from_folder(path)
    if path.exists():
        raise AudiotokError(f"{source}: expected a folder, a .jsonl manifest or a dataset directory")
    try:
        dataset = datasets.load_dataset(source, config_name, split=split, revision=revision)
    except Exception as error:  # offline, unknown name, missing config, decoder missing: say so in one line
        raise AudiotokError(
            f"{source!r} is not a folder, manifest or dataset directory here, and datasets.load_dataset failed: "
            f"{type(error).__name__}: {error}"
        ) from error
    return _normalise(dataset, audio_column, key_prefix=f"{split}-")


def _from_folder(folder: Path) -> datasets.Dataset:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise AudiotokError(f"{folder}: no audio files ({', '.join(AUDIO_SUFFIXES)})")
    keys = [str(p.relative_to(folder)) for p in files]
    audio = [{"bytes": None, "path": str(p)} for p in files]
    return datasets.Dataset.from_dict({"key": keys, "audio": audio})


def _from_audiofolder(folder: Path) -> datasets.Dataset:
    """An audiofolder: its audio files, plus the columns of ``metadata.jsonl``/``metadata.csv`` by ``file_name``."""
    if not folder.is_dir():
        raise AudiotokError(f"audiofolder:{folder}: no such folder")
    files = _from_folder(folder)
    metadata: dict[str, dict[str, Any]] = {}
    if (folder / "metadata.jsonl").exists():
        rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines() if line.strip()]
        metadata = {str(row.pop("file_name")): row for row in rows}
    elif (folder / "metadata.csv").exists():
        with open(folder / "metadata.csv", newline="") as handle:
            metadata = {str(row.pop("file_name")): row for row in csv.DictReader(handle)}
    if not metadata:
        return files
    names = sorted({name for row in metadata.values() for name in row})
    columns = {name: [metadata.get(key, {}).get(name) for key in files["key"]] for name in names}
    for name, values in columns.items():
        files = files.add_column(name, values)
    return files


def _from_manifest(manifest: Path) -> datasets.Dataset:
    rows = []
    for number, line in enumerate(manifest.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            audio_path = Path(row.pop("path"))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise AudiotokError(f"{manifest}:{number}: expected a JSON object with a 'path' ({error})") from error
        if not audio_path.is_absolute():
            audio_path = manifest.parent / audio_path
        rows.append({"key": str(row.pop("key", audio_path)), "audio": {"bytes": None, "path": str(audio_path)}, **row})
    if not rows:
        raise AudiotokError(f"{manifest}: no rows")
    columns = {name: [row.get(name) for row in rows] for name in rows[0]}
    return datasets.Dataset.from_dict(columns)


def _normalise(dataset: datasets.Dataset, audio_column: str, key_prefix: str) -> datasets.Dataset:
    if audio_column not in dataset.column_names:
        raise AudiotokError(f"no audio column {audio_column!r}; the columns are {dataset.column_names}")
    dataset = dataset.cast_column(audio_column, datasets.Audio(decode=False))
    if audio_column != "audio":
        dataset = dataset.rename_column(audio_column, "audio")
    if "key" not in dataset.column_names:
        keys = [f"{key_prefix}{i}" for i in range(len(dataset))]
        dataset = dataset.add_column("key", keys)
    return dataset


@dataclass
class DecodedRow:
    """One row after decoding: ``wave`` ``[C, L]`` at the codec's rate, an ``error``, or why a filter ``skipped`` it."""

    index: int
    key: str
    wave: np.ndarray | None
    error: str | None
    extra: dict[str, Any]
    skipped: str | None = None


def decode_row(
    index: int,
    row: dict[str, Any],
    sampling_rate: int,
    channels: int,
    min_seconds: float = 0.0,
    max_seconds: float | None = None,
    keep_columns: tuple[str, ...] = (),
) -> DecodedRow:
    """Decodes, converts and checks one row; never raises for bad audio (the error is returned).

    A clip outside ``[min_seconds, max_seconds]`` is not an error: it comes back ``skipped`` with the reason.
    """
    key = str(row["key"])
    extra = {name: row.get(name) for name in keep_columns}
    try:
        audio = row["audio"]
        if isinstance(audio, dict) and audio.get("array") is not None:  # an already decoded datasets row
            data, rate = np.asarray(audio["array"]), int(audio["sampling_rate"])
        else:
            source = io.BytesIO(audio["bytes"]) if audio.get("bytes") else audio["path"]
            data, rate = read_audio_file(source, name=key)
        wave = to_channels_first(to_float32(np.asarray(data)), name=key)
        validate_wave(wave, name=key)
        seconds = wave.shape[-1] / rate
        if seconds < min_seconds or (max_seconds is not None and seconds > max_seconds):
            limit = f"[{min_seconds}, {max_seconds if max_seconds is not None else 'inf'}] s"
            return DecodedRow(index, key, None, None, extra, skipped=f"duration {seconds:.2f} s outside {limit}")
        wave = resample(convert_channels(wave, channels, name=key), rate, sampling_rate)
        return DecodedRow(index, key, np.ascontiguousarray(wave, dtype=np.float32), None, extra)
    except (AudioInputError, RuntimeError, OSError, ValueError, TypeError, KeyError) as error:
        return DecodedRow(index, key, None, f"{type(error).__name__}: {error}", extra)
