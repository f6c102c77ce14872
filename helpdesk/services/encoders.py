"""Writes for switching encoder without downtime: record the active encoder, complete a switch.

While the configured encoder differs from the active one, `knowledge.embed_chunks` stages the new
vectors in `Chunk.next_embedding` and keeps the active encoder's `embedding` current; queries use
the active encoder and its vectors throughout. When every passage has its new vector, one
transaction moves the new vectors into place and records the new encoder as active.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from helpdesk import encoders, suggestion_cache, vectors
from helpdesk.models import ActiveEncoder, Chunk

logger = logging.getLogger(__name__)


def record_active_encoder(config: encoders.EncoderConfig) -> bool:
    """Record `config` as the active encoder unless one is recorded already; True if recorded now.

    Called when vectors are written outside a switch, so that a later change of model keeps these
    vectors answering until the new ones are complete.
    """
    _, created = ActiveEncoder.objects.get_or_create(
        pk=ActiveEncoder.SINGLETON,
        defaults={"spec": config.spec, "dimensions": config.dimensions, "name": config.name,
                  "activated_at": timezone.now()},
    )
    return created


def complete_encoder_switch() -> bool:
    """Make the configured encoder active once every passage has its vector; True if it switched.

    The new vectors replace the old in one transaction (queries see the old encoder and its vectors,
    or the new ones, never a mix). A passage saved meanwhile without its new vector keeps its old
    one until its embedding task runs with the new encoder.
    """
    target = encoders.configured()
    row = ActiveEncoder.objects.filter(pk=ActiveEncoder.SINGLETON).first()
    if row is None or row.name == target.name or Chunk.objects.exclude(next_encoder=target.name).exists():
        return False
    if not connection.in_atomic_block:
        # The new size's index, built before the switch without blocking writers. Inside a
        # transaction (a caller's) it is left to the sweep: search is exact without it, only slower.
        vectors.ensure_index(encoders.configured_dimensions(), concurrently=True)
    with transaction.atomic():
        row = ActiveEncoder.objects.select_for_update().get(pk=ActiveEncoder.SINGLETON)
        if row.name == target.name or Chunk.objects.exclude(next_encoder=target.name).exists():
            return False
        previous, now = row.name, timezone.now()
        moved = Chunk.objects.filter(next_encoder=target.name).update(
            embedding=F("next_embedding"), encoder=F("next_encoder"), next_embedding=None, next_encoder="",
            embedded_at=Coalesce(F("embedded_at"), now),
        )
        row.spec, row.dimensions, row.name, row.activated_at = target.spec, target.dimensions, target.name, now
        row.save()
        suggestion_cache.kb_changed()
    logger.info("encoder switch complete: %s → %s (%d passages)", previous, target.name, moved)
    return True


def drop_stale_staged_vectors() -> int:
    """Clear staged vectors no switch will use (the model was changed back, or changed again)."""
    target, active = encoders.configured().name, encoders.active().name
    stale = Chunk.objects.exclude(next_encoder="")
    if target != active:
        stale = stale.exclude(next_encoder=target)
    return stale.update(next_embedding=None, next_encoder="")
