"""Request and response hardening for every page of the desk.

Add both to MIDDLEWARE after AuthenticationMiddleware (`manage.py check` says so when they are missing):

- `StorableQueryMiddleware`: every query-string key and value is made storable text (no NUL, no
  lone surrogates) before any view reads it, so `?q=%00` is an ordinary search, never a 500.
  Form bodies need no such step: Django's form fields refuse NUL with a form error; JSON bodies are
  parsed by `helpdesk.views.json_api`.
- `PrivatePagesMiddleware`: what a signed-in user sees (pages, fragments, downloads such as the KB
  export) is `Cache-Control: private, no-store`, so no shared cache and no browser history keeps it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import QueryDict
from django.utils.cache import patch_cache_control

from helpdesk.text import storable


class StorableQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        pairs = [(k, v) for k, values in request.GET.lists() for v in values]
        cleaned = [(storable(k), storable(v)) for k, v in pairs]
        if cleaned != pairs:
            request.GET = QueryDict(urlencode(cleaned))  # immutable, as Django's own
        return self.get_response(request)


class PrivatePagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
