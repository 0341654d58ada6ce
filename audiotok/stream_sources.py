"""Corpus-scale inputs, read as a stream: WebDataset tar shards and streaming Hugging Face datasets.

A stream is never listed in memory: its samples come one at a time in a fixed order (tar list order, then
member order; a hub dataset's own order), numbered from 0, so that blocks of ``shard_size`` consecutive
samples are the same on every run. ``samples(wanted)`` reads the audio only of the samples ``wanted``
says are needed: the others (blocks already written) are passed over with their key alone, and in a tar
their bytes are not even read (tar headers give each member's place; the reader seeks past the data).

WebDataset convention: members ``dir/utt1.flac``, ``dir/utt1.txt`` form the sample ``__key__`` = ``dir/utt1``
(``webdataset.tariterators.base_plus_ext`` splits names, ``group_by_keys`` groups consecutive members);
its audio is the member with an audio suffix (``sources.AUDIO_SUFFIXES``), its key ``{tar name}/{__key__}``,
and its other members are columns: ``txt`` as ``text``, ``name.txt`` as ``name``, any other suffix under
its own name (``json``, ``cls``), as text.
"""

from __future__ import annotations

import os
import re
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import AudiotokError
from .sources import AUDIO_SUFFIXES

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
_AUDIO = tuple(s.lstrip(".") for s in AUDIO_SUFFIXES)
_META = re.compile(r"__[^/]*__($|/)")  # webdataset's skipped meta members


@dataclass
class StreamRow:
    """One sample of a stream: ``audio`` is ``None`` for a sample passed over (its block is done) or failed."""

    index: int
    key: str
    audio: dict[str, Any] | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def as_row(self) -> dict[str, Any]:
        return {"key": self.key, "audio": self.audio, **self.columns}


Wanted = Callable[[int], bool]


def expand_sources(source: str | Sequence[str]) -> list[str]:
    """A path, a list of paths, or brace patterns (``data/shard-{000000..000099}.tar``), expanded in order."""
    from braceexpand import braceexpand

    items = [source] if isinstance(source, str) else list(source)
    return [path for item in items for path in braceexpand(item)]


def is_tar_source(source: str | Sequence[str]) -> bool:
    return all(path.endswith(TAR_SUFFIXES) for path in expand_sources(source))


def is_stream_source(source: str | Sequence[str], streaming: bool) -> bool:
    """Whether the job reads ``source`` as a stream: tar shards always, anything else with ``--streaming``."""
    return streaming or not isinstance(source, str) or is_tar_source(source)


def column_of(suffix: str) -> str:
    """The column a member suffix becomes: ``txt`` -> ``text``, ``speaker.txt`` -> ``speaker``, ``json`` -> ``json``."""
    if suffix == "txt":
        return "text"
    return suffix[: -len(".txt")] if suffix.endswith(".txt") else suffix


class WebDatasetStream:
    """Samples of tar shards, in list order then member order."""

    def __init__(self, source: str | Sequence[str], keep_columns: Sequence[str] = (), limit: int | None = None):
        self.files = expand_sources(source)
        if not self.files:
            raise AudiotokError(f"{source}: no tar files")
        missing = [f for f in self.files if not os.path.isfile(f)]
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise AudiotokError(f"no such tar file: {missing[0]}{more}")
        names = [os.path.basename(f) for f in self.files]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise AudiotokError(f"tar files share a name ({', '.join(twice)}): keys ({{tar name}}/{{key}}) would clash")
        self.keep_columns, self.limit = tuple(keep_columns), limit

    def identity(self) -> dict[str, Any]:
        """What a resumed run checks without reading the tars: their names in order and their sizes."""
        return {"kind": "webdataset", "files": [[os.path.abspath(f), os.path.getsize(f)] for f in self.files]}

    def samples(self, wanted: Wanted) -> Iterator[StreamRow]:
        index = 0
        for path in self.files:
            for row in self._tar(path, index, wanted):
                if self.limit is not None and row.index >= self.limit:
                    return
                yield row
                index = row.index + 1

    def _tar(self, path: str, first: int, wanted: Wanted) -> Iterator[StreamRow]:
        from webdataset.tariterators import group_by_keys

        name, seen, count = os.path.basename(path), set(), 0
        failure: list[Any] = []  # [first sample not whole, error]: set by _members when the tar breaks off
        try:
            with tarfile.open(path, "r:*") as tar:
                for sample in group_by_keys(self._members(tar, path, first, wanted, failure)):
                    if failure and first + count >= failure[0]:
                        break  # the sample the tar broke off in
                    key = f"{name}/{sample['__key__']}"
                    if key in seen:
                        raise AudiotokError(f"{path}: duplicate key {sample['__key__']!r} (members of a sample must be "
                                            "consecutive, each key once per tar)")  # fmt: skip
                    seen.add(key)
                    yield self._row(first + count, key, sample, wanted(first + count))
                    count += 1
                if failure:
                    raise failure[1]
                _check_end(tar, path)
        except AudiotokError:
            raise
        except (tarfile.TarError, OSError, EOFError, ValueError) as error:
            if isinstance(error, ValueError) and "duplicate file name" in str(error):
                raise AudiotokError(f"{path}: duplicate key: {error.args[0]}") from error
            reason = f"unreadable tar after {count} samples: {type(error).__name__}: {str(error).splitlines()[0]}"
            yield StreamRow(first + count, name, error=reason)

    def _members(
        self, tar: tarfile.TarFile, path: str, first: int, wanted: Wanted, failure: list[Any]
    ) -> Iterator[dict[str, Any]]:
        """The tar's members as webdataset's ``{fname, data}``; ``data`` is read only for wanted samples.

        A tar that breaks off ends the members quietly, with ``failure`` set, so that the samples before the
        break still come out of ``group_by_keys`` whole.
        """
        from webdataset.tariterators import base_plus_ext

        index, current = first - 1, None
        members = iter(tar)
        while True:
            try:
                info = next(members, None)
            except (tarfile.TarError, OSError, EOFError) as error:  # a header: the samples so far are whole
                failure[:] = [index + 1, error]
                return
            if info is None:
                return
            if not info.isreg() or _META.match(info.name):
                continue
            prefix, suffix = base_plus_ext(info.name)
            if prefix is None:
                continue
            if prefix != current:
                index, current = index + 1, prefix
            needed = wanted(index) and (suffix.lower() in _AUDIO or column_of(suffix.lower()) in self.keep_columns)
            try:
                data = _read(tar, info) if needed else None
            except (tarfile.TarError, OSError, EOFError) as error:  # this sample is not whole
                failure[:] = [index, error]
                return
            yield {"fname": info.name, "data": data, "__url__": path}

    def _row(self, index: int, key: str, sample: dict[str, Any], wanted: bool) -> StreamRow:
        members = {k: v for k, v in sample.items() if not k.startswith("__")}
        audio = [s for s in _AUDIO if s in members]
        columns = {column_of(s): _text(v) for s, v in members.items() if s not in _AUDIO}
        columns = {c: columns.get(c) for c in self.keep_columns}
        if not audio:
            found = ", ".join(sorted(members)) or "none"
            return StreamRow(
                index, key, columns=columns, error=f"no audio member ({'/'.join(_AUDIO)}); members: {found}"
            )
        if not wanted:
            return StreamRow(index, key, columns=columns)
        return StreamRow(index, key, {"bytes": members[audio[0]], "path": f"{key}.{audio[0]}"}, columns)


def _read(tar: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(info)
    assert handle is not None  # a regular member
    data = handle.read()
    if len(data) != info.size:
        raise tarfile.ReadError(f"{info.name}: {len(data)} of {info.size} bytes (truncated)")
    return data


def _check_end(tar: tarfile.TarFile, path: str) -> None:
    """tarfile stops quietly at a header it cannot read: after the last member there must be zeros or nothing."""
    assert tar.fileobj is not None
    tar.fileobj.seek(tar.offset)
    rest = tar.fileobj.read(512)
    if rest.strip(b"\0"):
        raise tarfile.ReadError(f"unreadable data at byte {tar.offset} (truncated or corrupt)")


def _text(value: Any) -> str | None:
    return None if value is None else bytes(value).decode("utf-8", errors="replace")


class HubStream:
    """A ``datasets.load_dataset(..., streaming=True)`` dataset: a hub name, a local data folder or file."""

    def __init__(
        self,
        source: str,
        *,
        config_name: str | None = None,
        split: str = "train",
        revision: str | None = None,
        audio_column: str = "audio",
        keep_columns: Sequence[str] = (),
        limit: int | None = None,
    ) -> None:
        import datasets

        self.source, self.config_name, self.split, self.revision = source, config_name, split, revision
        self.keep_columns, self.limit = tuple(keep_columns), limit
        try:
            dataset = datasets.load_dataset(source, config_name, split=split, revision=revision, streaming=True)
        except Exception as error:  # offline, unknown name, missing config: say so in one line
            raise AudiotokError(
                f"datasets.load_dataset({source!r}, streaming=True) failed: {type(error).__name__}: {error}"
            ) from error
        names = dataset.column_names
        if names is not None and audio_column not in names:
            raise AudiotokError(f"no audio column {audio_column!r}; the columns are {names}")
        self.dataset = dataset.cast_column(audio_column, datasets.Audio(decode=False))
        self.audio_column = audio_column

    def identity(self) -> dict[str, Any]:
        """The name, configuration, split and revision; for a local folder or file also its files and sizes."""
        found: dict[str, Any] = {"kind": "hub", "name": self.source, "config": self.config_name,
                                 "split": self.split, "revision": self.revision}  # fmt: skip
        local = Path(self.source)
        if local.exists():
            files = sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else [local]
            found["name"] = str(local.resolve())
            found["files"] = [[str(p.resolve()), p.stat().st_size] for p in files if not p.name.startswith(".")]
        return found

    def samples(self, wanted: Wanted) -> Iterator[StreamRow]:
        for index, row in enumerate(self.dataset):
            if self.limit is not None and index >= self.limit:
                return
            key = str(row["key"]) if row.get("key") is not None else f"{self.split}-{index}"
            columns = {c: row.get(c) for c in self.keep_columns}
            audio = row.get(self.audio_column)
            if audio is None:
                yield StreamRow(index, key, columns=columns, error=f"no audio in column {self.audio_column!r}")
            else:
                yield StreamRow(index, key, audio if wanted(index) else None, columns)


def open_stream(
    source: str | Sequence[str],
    *,
    config_name: str | None = None,
    split: str = "train",
    revision: str | None = None,
    audio_column: str = "audio",
    keep_columns: Sequence[str] = (),
    limit: int | None = None,
) -> WebDatasetStream | HubStream:
    """Tar shards (a path, a list or brace patterns) as a ``WebDatasetStream``, anything else as a ``HubStream``."""
    if not isinstance(source, str) or is_tar_source(source):
        return WebDatasetStream(source, keep_columns, limit)
    return HubStream(source, config_name=config_name, split=split, revision=revision, audio_column=audio_column,
                     keep_columns=keep_columns, limit=limit)  # fmt: skip
