"""Mutate real-shaped emails into hostile ones: byte flips, truncation, mangled headers, bogus
charsets and transfer encodings, broken or missing boundaries, deep nesting, floods of parts.

Pure and seedable (no Django): `python -m bench email_fuzz` and tests/test_inbound_fuzz.py use it.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "email"
CHARSETS = ["utf-8", "x-unknown", "utf-7", "iso-2022-jp", "shift_jis", "koi8-r", "gb2312", "windows-1255",
            "big5", "utf-16", "utf-32", "", '"', "us-ascii\x00", "a" * 300, "cp1252", "euc-kr"]
ENCODINGS = ["base64", "quoted-printable", "8bit", "7bit", "binary", "x-uuencode", "uuencode", "bogus", ""]


def seeds() -> list[bytes]:
    return [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]


def _split(raw: bytes) -> tuple[bytes, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in raw:
            head, body = raw.split(sep, 1)
            return head, body
    return raw, b""


def flip_bytes(rng, raw):
    data = bytearray(raw)
    for _ in range(rng.randint(1, 40)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def truncate(rng, raw):
    return raw[: rng.randint(0, len(raw))]


def mangle_headers(rng, raw):
    head, body = _split(raw)
    lines = head.split(b"\n")
    for _ in range(rng.randint(1, 6)):
        choice = rng.randrange(9)
        i = rng.randrange(len(lines)) if lines else 0
        if choice == 0 and lines:
            lines[i] = lines[i].replace(b":", b"", 1)  # no colon
        elif choice == 1 and lines:
            lines.insert(i, lines[i])  # duplicated header
        elif choice == 2:
            lines.insert(i, b"Subject: =?utf-8?B?" + bytes(rng.randrange(256) for _ in range(20)) + b"?=")
        elif choice == 3:
            lines.insert(i, b"X-Long: " + b"a" * rng.choice([1000, 10_000, 100_000]))
        elif choice == 4:
            lines.insert(i, b"From: " + b"<" * rng.randint(1, 500) + b"@" + b">" * rng.randint(1, 5))
        elif choice == 5:
            lines.insert(i, b"To: " + b", ".join(b"u%d+t%d-aaaaaaaaaaaaaaaa@acme.test" % (n, n) for n in range(rng.randint(1, 300))))
        elif choice == 6 and lines:
            lines[i] = lines[i] + b"\x00\r\r\x1b[31m"
        elif choice == 7:
            lines.insert(i, b"Message-ID: <" + bytes(rng.randrange(32, 127) for _ in range(rng.randint(0, 400))) + b">")
        else:
            lines.insert(i, b" folded continuation without a header")
    return b"\n".join(lines) + b"\n\n" + body


def swap_charset(rng, raw):
    charset = rng.choice(CHARSETS).encode("latin-1", "replace")
    return re.sub(rb'charset="?[^";\s]*"?', b'charset="' + charset + b'"', raw, count=rng.randint(1, 3), flags=re.I)


def swap_encoding(rng, raw):
    encoding = rng.choice(ENCODINGS).encode()
    return re.sub(rb"(Content-Transfer-Encoding:)\s*\S+", rb"\1 " + encoding, raw, flags=re.I)


def break_boundaries(rng, raw):
    boundaries = re.findall(rb'boundary="?([^";\r\n]+)"?', raw, flags=re.I)
    if not boundaries:
        return raw.replace(b"Content-Type: text/plain", b'Content-Type: multipart/mixed; boundary="nowhere"', 1)
    target = rng.choice(boundaries)
    choice = rng.randrange(3)
    if choice == 0:
        return raw.replace(b"--" + target + b"--", b"", 1)  # never closed
    if choice == 1:
        return raw.replace(target, target[: max(1, len(target) // 2)])  # a prefix of itself
    return raw.replace(b"--" + target, b"--" + target + b" ", rng.randint(1, 3))


def nest(rng, raw):
    depth = rng.choice([5, 30, 200, 1000])
    kind = rng.choice([b"multipart/mixed", b"message/rfc822"])
    head, body = _split(raw)
    inner = raw
    for level in range(depth):
        if kind == b"message/rfc822":
            inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
        else:
            inner = (b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (level, level)
                     + inner + b"\r\n--n%d--\r\n" % level)
    return b"From: nest@example.com\r\nSubject: nested\r\nMIME-Version: 1.0\r\n" + inner


def flood_parts(rng, raw):
    parts = b"".join(b'--f\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="%d.txt"\r\n\r\nx\r\n' % n
                     for n in range(rng.choice([50, 500, 3000])))
    return (b'From: flood@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n'
            b'Content-Type: multipart/mixed; boundary="f"\r\n\r\n' + parts + b"--f--\r\n")


def insert_binary(rng, raw):
    at = rng.randrange(len(raw) + 1)
    return raw[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000))) + raw[at:]


def splice(rng, raw, other):
    return raw[: rng.randrange(len(raw) + 1)] + other[rng.randrange(len(other) + 1):]


MUTATORS = [flip_bytes, truncate, mangle_headers, swap_charset, swap_encoding, break_boundaries, nest,
            flood_parts, insert_binary]


def mutated(count: int, *, seed: int = 0):
    """Yield (mutation names, raw bytes) for `count` messages, deterministically for a seed."""
    rng = random.Random(seed)
    corpus = seeds()
    for n in range(count):
        # Each its own Message-ID first, so that mutants of one seed are not all answered "duplicate".
        raw = re.sub(rb"(?im)^(Message-ID:\s*<)", rb"\g<1>fuzz%d." % n, rng.choice(corpus), count=1)
        names = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.1:
                raw, name = splice(rng, raw, rng.choice(corpus)), "splice"
            else:
                mutator = rng.choice(MUTATORS)
                raw, name = mutator(rng, raw), mutator.__name__
            names.append(name)
        yield names, raw
