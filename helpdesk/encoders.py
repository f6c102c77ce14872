"""The configured encoder, loaded once per process and only when first needed.

Web processes and the Celery parent never load it at import, so torch (and CUDA) are initialised
only in the process that encodes — after the worker has forked.
"""

from __future__ import annotations

import threading

from embeddings.catalog import CATALOG, MAX_INDEXED_DIMENSIONS, load_encoder
from embeddings.encoders.base import Encoder
from helpdesk import conf

_lock = threading.Lock()
_cache: dict[tuple, Encoder] = {}


def _key() -> tuple:
    return (conf.get("ENCODER"), conf.get("EMBEDDING_DIMENSIONS"), conf.get("DEVICE"), conf.get("ENCODE_BATCH_SIZE"))


def get_encoder() -> Encoder:
    """Return the encoder HELPDESK settings describe (cached per process and per configuration)."""
    key = _key()
    encoder = _cache.get(key)
    if encoder is None:
        with _lock:
            encoder = _cache.get(key)
            if encoder is None:
                spec, dims, device, batch = key
                encoder = load_encoder(spec, dimensions=dims, device=device, batch_size=batch,
                                       threads=conf.get("TORCH_THREADS"))
                _cache[key] = encoder
    return encoder


def encoder_name() -> str:
    """Return the name the configured encoder stores with its vectors, without loading it."""
    spec, dims = conf.get("ENCODER"), conf.get("EMBEDDING_DIMENSIONS")
    if spec == "hashing" or spec.startswith("hashing:"):
        return load_encoder(spec, dimensions=dims).name
    return f"{spec}@{dims}" if dims else spec


def configured_dimensions() -> int:
    """Return the vector size the configuration produces, loading the model only if it is unknown."""
    spec, dims = conf.get("ENCODER"), conf.get("EMBEDDING_DIMENSIONS")
    if dims:
        return int(dims)
    if spec == "hashing" or spec.startswith("hashing:"):
        return load_encoder(spec).dimensions
    if spec in CATALOG:
        return CATALOG[spec].dimensions
    return get_encoder().dimensions


__all__ = ["MAX_INDEXED_DIMENSIONS", "configured_dimensions", "encoder_name", "get_encoder"]
