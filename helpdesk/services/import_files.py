"""An upload's bytes, kept in PostgreSQL in 1 MB pieces until its import is done.

Both sides stream: the web process copies an upload (already spooled to a temporary file by the
upload handlers) piece by piece, and the worker reads pieces back one at a time, into a temporary
file for an archive (ZIP needs to seek) or into memory for one file (at most IMPORT_MAX_FILE_BYTES).
No process ever holds a whole 200 MB upload, and the worker needs no disk shared with the web.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from helpdesk.models import ImportFile, ImportFilePart

PART_BYTES = ImportFilePart.PART_BYTES


def size_of(source) -> int:
    """Bytes in an upload source: bytes, a path, or a Django UploadedFile / open binary file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    if isinstance(source, (str, os.PathLike)):
        return Path(source).stat().st_size
    if getattr(source, "size", None) is not None:
        return int(source.size)
    position = source.tell()
    end = source.seek(0, os.SEEK_END)
    source.seek(position)
    return end - position


def store(file: ImportFile, source) -> None:
    """Write `source`'s bytes as the file's pieces (call inside the transaction creating the file)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        ImportFilePart.objects.bulk_create(
            ImportFilePart(file=file, seq=n, data=data[start:start + PART_BYTES])
            for n, start in enumerate(range(0, len(data), PART_BYTES)))
        return
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            _store_stream(file, stream)
        return
    if hasattr(source, "seek"):
        source.seek(0)
    _store_stream(file, source)


def _store_stream(file: ImportFile, stream: BinaryIO) -> None:
    seq = 0
    while block := stream.read(PART_BYTES):
        ImportFilePart.objects.create(file=file, seq=seq, data=block)
        seq += 1


def read_bytes(file: ImportFile) -> bytes:
    """The whole file (one file of an upload: at most IMPORT_MAX_FILE_BYTES)."""
    if not _part_ids(file):
        return bytes(file.content)
    return b"".join(_parts(file))


def read_head(file: ImportFile, size: int) -> bytes:
    """The file's first `size` bytes (enough to tell its format)."""
    ids = _part_ids(file)
    if not ids:
        return bytes(file.content[:size])
    return bytes(ImportFilePart.objects.values_list("data", flat=True).get(id=ids[0]))[:size]


def copy_to_temporary(file: ImportFile) -> Path:
    """The file copied to a local temporary file, piece by piece; the caller deletes it."""
    handle, name = tempfile.mkstemp(prefix=f"import-{file.id}-", suffix=".bin")
    with os.fdopen(handle, "wb") as out:
        if _part_ids(file):
            for block in _parts(file):
                out.write(block)
        else:
            out.write(bytes(file.content))
    return Path(name)


def discard(files) -> int:
    """Drop the stored bytes of these files (their import is over)."""
    deleted, _ = ImportFilePart.objects.filter(file__in=files).delete()
    return deleted


def _part_ids(file: ImportFile) -> list[int]:
    return list(ImportFilePart.objects.filter(file=file).order_by("seq").values_list("id", flat=True))


def _parts(file: ImportFile):
    for part_id in _part_ids(file):  # one piece in memory at a time
        yield bytes(ImportFilePart.objects.values_list("data", flat=True).get(id=part_id))


def remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


__all__ = ["copy_to_temporary", "discard", "read_bytes", "read_head", "remove", "size_of", "store"]
