"""A deterministic bag-of-features encoder: a fast stand-in where the model is not the subject."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Sequence

import numpy as np

from embeddings.encoders.base import l2_normalize

_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEncoder:
    """Hash words and character trigrams into a fixed number of signed buckets.

    Texts sharing words or word pieces get similar vectors, so retrieval code can be exercised
    without loading a neural model. It knows nothing of meaning or of other languages.
    """

    def __init__(self, dimensions: int = 256):
        self.dimensions = dimensions
        self.name = f"hashing-{dimensions}"

    def _features(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).casefold()
        words = _WORD.findall(text)
        grams = [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        return words + grams

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % self.dimensions] += 1.0 if (value >> 63) else -1.0
        return l2_normalize(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)
