"""The encoder protocol every embedding backend follows."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np


class EncoderError(Exception):
    """An encoder could not be loaded or produced unusable vectors."""


@runtime_checkable
class Encoder(Protocol):
    """Turn texts into L2-normalised float32 vectors; queries and documents may be encoded differently.

    `name` is stored next to every vector: a different name means the stored vectors must be rebuilt.
    """

    name: str
    dimensions: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray: ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Return float32 rows of unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def truncate_dimensions(vectors: np.ndarray, dimensions: int | None) -> np.ndarray:
    """Keep the first `dimensions` components (Matryoshka) and re-normalise."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if dimensions is not None and vectors.shape[1] > dimensions:
        vectors = vectors[:, :dimensions]
    return l2_normalize(vectors)
