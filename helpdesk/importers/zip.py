"""ZIP archives, read in memory and refused when unsafe.

Refused: members whose path is absolute or climbs out of the archive (`../`), symbolic links,
encrypted members, more members than IMPORT_MAX_ARCHIVE_MEMBERS, a member bigger than
IMPORT_MAX_FILE_BYTES or compressed more than IMPORT_MAX_ZIP_RATIO times, and archives unpacking to
more than IMPORT_MAX_UPLOAD_BYTES. Sizes are enforced while reading, not trusted from the headers.
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass

from helpdesk import conf
from helpdesk.importers.records import ImportFormatError

SKIPPED_PREFIXES = ("__MACOSX/",)
SKIPPED_NAMES = (".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass
class Member:
    name: str
    data: bytes


def expand(data: bytes) -> list[Member]:
    """Return the archive's regular files, or raise ImportFormatError for the whole archive."""
    max_file, max_total = conf.get("IMPORT_MAX_FILE_BYTES"), conf.get("IMPORT_MAX_UPLOAD_BYTES")
    max_ratio, max_members = conf.get("IMPORT_MAX_ZIP_RATIO"), conf.get("IMPORT_MAX_ARCHIVE_MEMBERS")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ImportFormatError(f"the ZIP archive cannot be read: {exc}") from exc
    with archive:
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
            content = _read_capped(archive, info, limit=min(max_file, max_total - total))
            if len(content) > max(info.compress_size, 1) * max_ratio and len(content) > 1024 * 1024:
                raise ImportFormatError(
                    f"{info.filename}: compressed {len(content) // max(info.compress_size, 1)} times, "
                    f"over the ratio limit of {max_ratio} (zip bomb?)"
                )
            total += len(content)
            members.append(Member(info.filename, content))
    return members


def _check_path(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise ImportFormatError(f"{name!r}: paths outside the archive are not allowed; the archive was rejected")
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        raise ImportFormatError(f"{name!r}: symbolic links are not allowed; the archive was rejected")


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, limit: int) -> bytes:
    """Read a member, stopping (with an error) as soon as it exceeds `limit` bytes whatever its header says."""
    chunks, size = [], 0
    try:
        with archive.open(info) as stream:
            while block := stream.read(1024 * 1024):
                size += len(block)
                if size > limit:
                    raise ImportFormatError(
                        f"{info.filename}: unpacks to more than {limit} bytes, over the size limit (zip bomb?)"
                    )
                chunks.append(block)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise ImportFormatError(f"{info.filename}: cannot be unpacked: {exc}") from exc
    return b"".join(chunks)


def _skipped(name: str) -> bool:
    return name.startswith(SKIPPED_PREFIXES) or name.rsplit("/", 1)[-1] in SKIPPED_NAMES
