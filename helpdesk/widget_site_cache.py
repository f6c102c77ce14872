"""The widget site behind a public key, remembered per process: every widget request looks it up.

A site's row changes rarely (an admin edits origins or limits, rotates or revokes the key) but is read
by every request, before anything else. Each process keeps the rows it has read, valid while the sites
version in Redis is unchanged; any save or delete of a site bumps it (model signals, as Django's own
`contrib.sites` clears its SITE_CACHE), so a revoked key stops working at the very next request in
every process. One Redis GET replaces a PostgreSQL query. Without Redis every lookup reads the row.
"""

from __future__ import annotations

import copy
import logging
import threading

import redis
from django.db import transaction

from helpdesk.request_redis import client

logger = logging.getLogger(__name__)

VERSION_KEY = "polyglot:widget-sites-version"
# Unknown keys are remembered too (a page with a stale key keeps asking); bound what a key-guessing
# client can make a process hold.
MAX_REMEMBERED = 1000

_lock = threading.Lock()
_remembered: dict[str, tuple[int, object]] = {}  # key → (sites version, WidgetSite or None)


def _version() -> int | None:
    try:
        return int(client().get(VERSION_KEY) or 0)
    except redis.RedisError as exc:
        logger.warning("widget site cache unavailable: %s", exc)
        return None


def site_for_key(key: str):
    """The WidgetSite whose key (or previous key, within its rotation's grace period) is `key`,
    revoked ones included, or None. A copy: callers may not change the remembered row."""
    from helpdesk.selectors import widget_keys

    version = _version()
    entry = _remembered.get(key)
    if version is not None and entry is not None and entry[0] == version:
        site = entry[1]
    else:
        site = widget_keys.site_for_key(key)
        if version is not None:
            with _lock:
                if len(_remembered) >= MAX_REMEMBERED:
                    _remembered.clear()
                _remembered[key] = (version, site)
    if site is not None and site.key != key and not widget_keys.grace_open(site, key):
        return None  # the grace period ended since this process remembered the row
    return copy.copy(site)


def _bump() -> None:
    try:
        client().incr(VERSION_KEY)
    except redis.RedisError as exc:
        # Processes cannot see the change: forget what this one holds, the others read Redis again
        # only once it answers (their rows stay until then).
        logger.warning("could not invalidate cached widget sites: %s", exc)
    with _lock:
        _remembered.clear()


def sites_changed(**_signal_kwargs) -> None:
    """Every process reads sites afresh: now, and again once the surrounding transaction commits."""
    _bump()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_bump)


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    from helpdesk.models import WidgetSite

    post_save.connect(sites_changed, sender=WidgetSite, dispatch_uid="widget_site_cache.saved")
    post_delete.connect(sites_changed, sender=WidgetSite, dispatch_uid="widget_site_cache.deleted")
