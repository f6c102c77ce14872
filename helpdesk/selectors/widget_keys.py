"""Reads: which widget site a public key belongs to."""

from __future__ import annotations

from django.utils import timezone

from helpdesk.models import WidgetSite


def site_for_key(key: str) -> WidgetSite | None:
    """The site a widget key belongs to: its current key, or its previous key during the grace
    period a rotation gave it (so pages still embedding the old key keep their widget meanwhile)."""
    site = WidgetSite.objects.filter(key=key).first()
    if site is None:
        site = WidgetSite.objects.filter(previous_key=key, previous_key_expires_at__gt=timezone.now()).first()
    return site


def grace_open(site: WidgetSite, key: str) -> bool:
    """Whether `key` is `site`'s previous key and its grace period has not ended yet."""
    return (bool(site.previous_key) and site.previous_key == key and site.previous_key_expires_at is not None
            and site.previous_key_expires_at > timezone.now())
