"""Writes: the fitted fusion and confidence model an encoder answers with (see helpdesk.fitting)."""

from __future__ import annotations

from django.db import transaction

from helpdesk import ranking, suggestion_cache
from helpdesk.models import RankingProfile


def save_ranking_profile(*, encoder: str, model: ranking.RankingModel, report: dict | None = None) -> RankingProfile:
    """Store `model` for `encoder`: every process answers with it within 30 seconds, and cached
    widget answers computed with the previous model are not served again."""
    from helpdesk.selectors.suggestions import forget_ranking_models

    with transaction.atomic():
        profile, _ = RankingProfile.objects.update_or_create(
            encoder=encoder, defaults={"model": model.as_dict(), "report": report or {}})
        suggestion_cache.kb_changed()
    forget_ranking_models()
    return profile


def delete_ranking_profile(*, encoder: str) -> bool:
    """Go back to the model shipped for `encoder`; True when one was stored."""
    from helpdesk.selectors.suggestions import forget_ranking_models

    deleted, _ = RankingProfile.objects.filter(encoder=encoder).delete()
    suggestion_cache.kb_changed()
    forget_ranking_models()
    return bool(deleted)
