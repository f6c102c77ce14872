"""ZIP archives, checked in full before anything is imported and refused whole when unsafe.

Refused: members whose path is absolute or climbs out of the archive (`../`), symbolic links,
encrypted members, more members than IMPORT_MAX_ARCHIVE_MEMBERS, a member bigger than
IMPORT_MAX_FILE_BYTES or compressed more than IMPORT_MAX_ZIP_RATIO times (every member: a thousand
small ones add up), an archive unpacking to more than IMPORT_MAX_UPLOAD_BYTES or to more than
IMPORT_MAX_ZIP_RATIO times its own size. Sizes are measured by decompressing, not trusted from the
headers; `scan` streams each member through and keeps none, so a 200 MB archive is checked with a
few MB of memory, and `read_member` later reads one member at a time.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from helpdesk import conf
from helpdesk.importers.records import ImportFormatError

SKIPPED_PREFIXES = ("__MACOSX/",)
SKIPPED_NAMES = (".DS_Store", "Thumbs.db", "desktop.ini")
# Below this many unpacked bytes a member is not held to the ratio: a few KB of repeated text (a
# table of identical rows) legitimately compresses past 100x, and cannot amount to a bomb.
RATIO_FLOOR = 64 * 1024
BLOCK = 1024 * 1024


@dataclass
class Member:
    name: str
    data: bytes


@dataclass
class MemberInfo:
    name: str
    size: int  # measured by unpacking it


def scan(source: BinaryIO | str | os.PathLike) -> list[MemberInfo]:
    """Check the whole archive (a path or a seekable file) and list its regular files; raise
    ImportFormatError for the whole archive when anything is unsafe."""
    max_file, max_total = conf.get("IMPORT_MAX_FILE_BYTES"), conf.get("IMPORT_MAX_UPLOAD_BYTES")
    max_ratio, max_members = conf.get("IMPORT_MAX_ZIP_RATIO"), conf.get("IMPORT_MAX_ARCHIVE_MEMBERS")
    with _open(source) as archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise ImportFormatError(f"the archive has {len(infos)} members; at most {max_members} are accepted")
        for info in infos:
            _check_path(info)
        members, total = [], 0
        for info in infos:
            if info.is_dir() or _skipped(info.filename):
                continue
            if info.flag_bits & 0x1:
                raise ImportFormatError(f"{info.filename}: encrypted archive members are not supported")
            if info.file_size > max_file:
                raise ImportFormatError(f"{info.filename}: unpacks to {info.file_size} bytes, over the {max_file}-byte limit")
            size = _measure(archive, info, limit=min(max_file, max_total - total), max_ratio=max_ratio)
            total += size
            members.append(MemberInfo(info.filename, size))
        packed = _archive_size(archive)
        if total > RATIO_FLOOR and total > max_ratio * max(packed, 1):
            raise ImportFormatError(
                f"the archive unpacks to {total // max(packed, 1)} times its size, over the ratio limit of "
                f"{max_ratio} (zip bomb?)"
            )
    return members


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """One member's bytes (after `scan` accepted the archive), still capped while reading."""
    info = archive.getinfo(name)
    limit = conf.get("IMPORT_MAX_FILE_BYTES")
    blocks, size = [], 0
    try:
        with archive.open(info) as stream:
            while block := stream.read(BLOCK):
                size += len(block)
                if size > limit:
                    raise ImportFormatError(f"{name}: unpacks to more than {limit} bytes, over the size limit")
                blocks.append(block)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise ImportFormatError(f"{name}: cannot be unpacked: {exc}") from exc
    return b"".join(blocks)


def expand(data: bytes) -> list[Member]:
    """Return the archive's regular files (all in memory: for small archives and tools)."""
    members = scan(io.BytesIO(data))
    with _open(io.BytesIO(data)) as archive:
        return [Member(m.name, read_member(archive, m.name)) for m in members]


def _open(source) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ImportFormatError(f"the ZIP archive cannot be read: {exc}") from exc


def _archive_size(archive: zipfile.ZipFile) -> int:
    stream = archive.fp
    position = stream.tell()
    try:
        return stream.seek(0, io.SEEK_END)
    finally:
        stream.seek(position)


def _check_path(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise ImportFormatError(f"{name!r}: paths outside the archive are not allowed; the archive was rejected")
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        raise ImportFormatError(f"{name!r}: symbolic links are not allowed; the archive was rejected")


def _measure(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, limit: int, max_ratio: int) -> int:
    """Unpack a member into nothing, stopping (with an error) as soon as it exceeds `limit` bytes or
    the ratio allows, whatever its header says; return its size."""
    packed = max(info.compress_size, 1)
    size = 0
    try:
        with archive.open(info) as stream:
            while block := stream.read(BLOCK):
                size += len(block)
                if size > limit:
                    raise ImportFormatError(
                        f"{info.filename}: unpacks to more than {limit} bytes, over the size limit (zip bomb?)"
                    )
                if size > RATIO_FLOOR and size > packed * max_ratio:
                    raise ImportFormatError(
                        f"{info.filename}: compressed more than {size // packed} times, "
                        f"over the ratio limit of {max_ratio} (zip bomb?)"
                    )
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise ImportFormatError(f"{info.filename}: cannot be unpacked: {exc}") from exc
    return size


def _skipped(name: str) -> bool:
    return name.startswith(SKIPPED_PREFIXES) or name.rsplit("/", 1)[-1] in SKIPPED_NAMES
