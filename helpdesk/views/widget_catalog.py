"""The widget's translations, for customers' pages on other origins.

Served by Django rather than left to the static-file server so that every deployment sends the CORS
header the widget's fetch needs (a CDN or nginx in front of /static/ may not); the body is the file
`python manage.py build_widget_catalog` generated from the .po files.
"""

from __future__ import annotations

import gzip
import hashlib

from django.http import HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe

from helpdesk.catalogs import WIDGET_CATALOG

_cache: dict = {}


def _catalog() -> tuple[bytes, bytes, str]:
    mtime = WIDGET_CATALOG.stat().st_mtime_ns
    if _cache.get("mtime") != mtime:
        body = WIDGET_CATALOG.read_bytes()
        _cache.update(mtime=mtime, body=body, gzipped=gzip.compress(body, mtime=0),
                      etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"')
    return _cache["body"], _cache["gzipped"], _cache["etag"]


@require_safe
def catalog(request):
    body, gzipped, etag = _catalog()
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    elif "gzip" in request.headers.get("Accept-Encoding", ""):  # every language: ~50 kB, ~15 kB gzipped
        response = HttpResponse(gzipped, content_type="application/json; charset=utf-8")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Vary"] = "Accept-Encoding"
    # Public words, the same for every site and visitor: any origin may read them, caches may keep them.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=3600"
    response["ETag"] = etag
    return response
