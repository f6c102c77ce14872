"""The encoders: the configured one (embeds passages) and the active one (answers queries).

They are the same encoder except while an install switches model: the new (configured) encoder's
vectors are then built beside the old ones, queries keep using the old (active) encoder and its
vectors, and `services.encoders.complete_encoder_switch` makes the new one active once every passage
has its vector. The active encoder is recorded in the `ActiveEncoder` row (none yet: the configured
one is active).

Encoders load lazily, once per process and configuration, under a lock (safe from any thread). Web
processes and the Celery parent never load one at import, so torch (and CUDA) are initialised only
in the process that encodes — after the worker has forked. `warm_up()` loads ahead of the first use.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from embeddings.catalog import CATALOG, MAX_INDEXED_DIMENSIONS, load_encoder
from embeddings.encoders.base import Encoder
from helpdesk import conf

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: dict[tuple, Encoder] = {}


@dataclass(frozen=True)
class EncoderConfig:
    """What HELPDESK["ENCODER"] and ["EMBEDDING_DIMENSIONS"] say, for one encoder."""

    spec: str
    dimensions: int | None = None

    @property
    def name(self) -> str:
        """The name stored next to this encoder's vectors, known without loading it."""
        if _is_hashing(self.spec):
            return load_encoder(self.spec, dimensions=self.dimensions).name
        return f"{self.spec}@{self.dimensions}" if self.dimensions else self.spec

    @property
    def multilingual(self) -> bool | None:
        """True or False for catalog models, None when unknown (any other id or path)."""
        known = CATALOG.get(self.spec)
        return known.multilingual if known else None

    @classmethod
    def from_name(cls, name: str) -> EncoderConfig:
        """The configuration that produces vectors named `name` (hashing-64 → hashing:64, x@256 → x, 256)."""
        if name.startswith("hashing-") and name[8:].isdigit():
            return cls(f"hashing:{name[8:]}")
        spec, _, dims = name.rpartition("@")
        return cls(spec, int(dims)) if spec and dims.isdigit() else cls(name)


def _is_hashing(spec: str) -> bool:
    return spec == "hashing" or spec.startswith("hashing:")


def configured() -> EncoderConfig:
    """The encoder the settings name: it embeds every passage."""
    dims = conf.get("EMBEDDING_DIMENSIONS")
    return EncoderConfig(conf.get("ENCODER"), int(dims) if dims else None)


def active() -> EncoderConfig:
    """The encoder whose vectors answer queries: the recorded one, else the configured one."""
    from helpdesk.models import ActiveEncoder

    row = ActiveEncoder.objects.filter(pk=ActiveEncoder.SINGLETON).first()
    return EncoderConfig(row.spec, row.dimensions) if row else configured()


def get_encoder(config: EncoderConfig | None = None) -> Encoder:
    """Return the encoder for `config` (default: the configured one), loaded once per process."""
    config = config or configured()
    key = (config.spec, config.dimensions, conf.get("DEVICE"), conf.get("ENCODE_BATCH_SIZE"), conf.get("TORCH_THREADS"))
    encoder = _cache.get(key)
    if encoder is None:
        with _lock:
            encoder = _cache.get(key)
            if encoder is None:
                spec, dims, device, batch, threads = key
                encoder = load_encoder(spec, dimensions=dims, device=device, batch_size=batch, threads=threads)
                _cache[key] = encoder
    return encoder


def query_encoder() -> Encoder:
    """The encoder to encode queries with: the active one (see the module docstring)."""
    return get_encoder(active())


def encoder_name() -> str:
    """Return the name the configured encoder stores with its vectors, without loading it."""
    return configured().name


def active_encoder_name() -> str:
    """The name of the vectors that answer queries (a database read; no model is loaded)."""
    return active().name


def configured_dimensions() -> int:
    """Return the vector size the configuration produces, loading the model only if it is unknown."""
    config = configured()
    if config.dimensions:
        return config.dimensions
    if _is_hashing(config.spec):
        return load_encoder(config.spec).dimensions
    if config.spec in CATALOG:
        return CATALOG[config.spec].dimensions
    return get_encoder(config).dimensions


def warm_up(*, documents: bool = False) -> list[str]:
    """Load the encoder queries use (and, with `documents`, the one that embeds passages, which
    differs only while switching) so the first request or task does not wait; return their names.

    Call it in the process that will encode, from any thread, never in a parent that forks (torch
    and OpenMP do not survive a fork). The default encoder loads in well under a second; a
    sentence-transformers model takes seconds (torch import, weights), or minutes the first time a
    converted model is built. Without a database the configured encoder is loaded.
    """
    from django.db import DatabaseError

    try:
        wanted = [active()]
    except DatabaseError as exc:
        logger.warning("warm_up: no database (%s); loading the configured encoder", exc)
        wanted = []
    if documents or not wanted:
        wanted.append(configured())
    return [get_encoder(config).name for config in dict.fromkeys(wanted)]


__all__ = ["MAX_INDEXED_DIMENSIONS", "EncoderConfig", "active", "active_encoder_name", "configured",
           "configured_dimensions", "encoder_name", "get_encoder", "query_encoder", "warm_up"]
