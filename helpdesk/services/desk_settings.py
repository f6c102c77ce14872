"""Writes and reads of the settings admins tune from the dashboard (one DeskSettings row)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from helpdesk import conf, suggestion_cache
from helpdesk.models import DeskSettings


# (knowledge-base version, the saved threshold or None) of the last read in this process.
_saved_threshold: tuple[int, float | None] | None = None


def current_confidence_threshold() -> float:
    """Return the admin's threshold if one was saved, else HELPDESK['CONFIDENCE_THRESHOLD']."""
    value = _read_saved_threshold()
    return float(value) if value is not None else float(conf.get("CONFIDENCE_THRESHOLD"))


def _read_saved_threshold() -> float | None:
    # Every suggestion asks; saving one bumps the knowledge-base version (set_confidence_threshold),
    # so the row is read again only then, and a saved value still applies to the very next request.
    global _saved_threshold
    version, saved = suggestion_cache.kb_version(), _saved_threshold
    if version is not None and saved is not None and saved[0] == version:
        return saved[1]
    value = DeskSettings.objects.filter(pk=1).values_list("confidence_threshold", flat=True).first()
    if version is not None:
        _saved_threshold = (version, value)
    return value


def set_confidence_threshold(*, value: float | None, user=None) -> DeskSettings:
    """Save the threshold (None returns to the configured default)."""
    if value is not None and not 0.0 <= value <= 1.0:
        raise ValueError("the confidence threshold must be between 0 and 1")
    with transaction.atomic():
        row, _ = DeskSettings.objects.select_for_update().get_or_create(pk=1)
        row.confidence_threshold = value
        row.updated_by = user
        row.save()
        suggestion_cache.kb_changed()  # the widget's cached answers hold only what cleared the old threshold
    return row


@dataclass(frozen=True)
class AcknowledgementSettings:
    enabled: bool       # new tickets (email, widget) get an acknowledgement email
    suggestions: bool   # ... with up to HELPDESK["ACKNOWLEDGEMENT_SUGGESTIONS"] confident articles


def acknowledgement_settings() -> AcknowledgementSettings:
    """The admins' choices if saved, else HELPDESK["ACKNOWLEDGE_NEW_TICKETS"] / ["ACKNOWLEDGEMENT_SUGGESTIONS"]."""
    row = DeskSettings.objects.filter(pk=1).values("send_acknowledgements", "acknowledgement_suggestions").first()
    row = row or {}
    enabled = row.get("send_acknowledgements")
    suggestions = row.get("acknowledgement_suggestions")
    return AcknowledgementSettings(
        enabled=bool(conf.get("ACKNOWLEDGE_NEW_TICKETS")) if enabled is None else enabled,
        suggestions=bool(conf.get("ACKNOWLEDGEMENT_SUGGESTIONS")) if suggestions is None else suggestions,
    )


def set_acknowledgement_settings(*, enabled: bool, suggestions: bool, user=None) -> DeskSettings:
    """Save whether new tickets are acknowledged by email, and whether the email suggests articles."""
    with transaction.atomic():
        row, _ = DeskSettings.objects.select_for_update().get_or_create(pk=1)
        row.send_acknowledgements = bool(enabled)
        row.acknowledgement_suggestions = bool(suggestions)
        row.updated_by = user
        row.save()
    return row
