"""The job's output folder: a local or shared path, or any URI pyarrow can write (``s3://``, ``gs://``, ``hdfs://``).

Every file the job writes goes through here, each one atomically: written under a hidden temporary
name, then moved to its name (a rename on a filesystem; on an object store the object appears whole).
A failed write (a full disk, no permission) removes its temporary file and raises ``AudiotokError``
naming the file and the cause, so nothing half-written ever carries a finished file's name.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import AudiotokError

PARTIAL_SUFFIX = ".partial"  # a file being written: ".NAME.RANDOM.partial", renamed to NAME when complete


class Output:
    """The folder ``location`` (a path or a URI), created if missing."""

    def __init__(self, location: str | os.PathLike[str]) -> None:
        self.location = str(location)
        if "://" in self.location:
            self.fs, self.root = pafs.FileSystem.from_uri(self.location)
        else:
            self.fs, self.root = pafs.LocalFileSystem(), os.path.abspath(self.location)
        self._guard(f"cannot create the output folder {self.location}", lambda: self.fs.create_dir(self.root))

    def __str__(self) -> str:
        return self.location

    def path(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    def names(self) -> list[str]:
        """The file names directly in the folder."""
        infos = self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True))
        return [info.base_name for info in infos if info.type == pafs.FileType.File]

    def exists(self, name: str) -> bool:
        return self.fs.get_file_info(self.path(name)).type == pafs.FileType.File

    def read_text(self, name: str) -> str | None:
        if not self.exists(name):
            return None
        with self.fs.open_input_stream(self.path(name)) as stream:
            return bytes(stream.read()).decode()

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        with self.fs.open_input_file(self.path(name)) as handle:
            schema = pq.read_schema(handle)
            wanted = None if columns is None else [c for c in columns if c in schema.names]
            return pq.read_table(handle, columns=wanted)

    def write_text(self, name: str, text: str) -> None:
        self._atomic(name, lambda path: self._write_bytes(path, text.encode()))

    def write_table(self, name: str, table: pa.Table) -> None:
        self._atomic(name, lambda path: pq.write_table(table, path, filesystem=self.fs))

    def remove_partials(self) -> int:
        """Deletes the partial files of writes a killed run left behind (call before any write of this run starts);
        returns how many."""
        stale = [name for name in self.names() if name.startswith(".") and name.endswith(PARTIAL_SUFFIX)]
        for name in stale:
            with contextlib.suppress(OSError):
                self.fs.delete_file(self.path(name))
        return len(stale)

    def rename(self, old: str, new: str) -> None:
        self.fs.move(self.path(old), self.path(new))

    def _write_bytes(self, path: str, data: bytes) -> None:
        with self.fs.open_output_stream(path) as stream:
            stream.write(data)

    def _atomic(self, name: str, write: Callable[[str], None]) -> None:
        partial = self.path(f".{name}.{uuid.uuid4().hex[:12]}{PARTIAL_SUFFIX}")
        try:
            write(partial)
            self.fs.move(partial, self.path(name))
        except BaseException as error:
            with contextlib.suppress(OSError):
                self.fs.delete_file(partial)
            if isinstance(error, OSError):
                raise AudiotokError(f"cannot write {self.path(name)}: {error}") from error
            raise

    def _guard(self, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except OSError as error:
            raise AudiotokError(f"{what}: {error}") from error
