"""Input and errors of every JSON endpoint: one parser for bodies, one for ids, one error shape.

A hostile body must cost a 400 with a JSON error, never a 500: bodies nested deeper than any real
request (the parser would recurse until Python gives up), numbers no id can be (`Infinity`, `1e400`,
a 5,000-digit integer), `NaN`, bytes that are not UTF-8, and text PostgreSQL cannot store (NUL, lone
surrogates) are dealt with here, before a view sees the data. New JSON endpoints (e.g. a mail
webhook) parse with `json_object(request)` and answer `BadInput` with `exc.response()`.

Refusals are JSON too: agents' endpoints are guarded by `json_endpoint` (a wrong method is a 405 with
`Allow`, no session a 401, a missing permission a 403, an object that is not there a 404, where
Django's decorators would answer an empty 405, a redirect to the sign-in page and HTML 403/404
pages), and a failed CSRF check on one of them is a JSON 403 (`csrf_failure`, CSRF_FAILURE_VIEW).
"""

from __future__ import annotations

import functools
import json
import math

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from django.shortcuts import resolve_url
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as html_csrf_failure
from django.views.decorators.csrf import csrf_exempt

from helpdesk.text import storable

MAX_DEPTH = 16  # a real request body is an object of scalars; leave room for future nesting
MAX_ID = 2**63 - 1  # PostgreSQL bigint


class BadInput(ValueError):
    """The request's data cannot be used; `code` is the machine-readable error."""

    def __init__(self, message: str, code: str = "bad_request", status: int = 400):
        super().__init__(message)
        self.code, self.status = code, status

    def response(self) -> JsonResponse:
        return error(self.status, self.code, str(self))


def error(status: int, code: str, message: str, **extra) -> JsonResponse:
    """The one error shape of the JSON endpoints: {"error": code, "message": text, ...extra}."""
    return JsonResponse({"error": code, "message": message, **extra}, status=status)


def _refuse_constant(name: str):
    raise BadInput(f"{name} is not a number this API accepts")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadInput(f"{text[:20]} is out of range")
    return value


def json_object(request) -> dict:
    """The request body as a JSON object with storable text; {} for an empty body; BadInput otherwise."""
    try:
        raw = request.body
    except RequestDataTooBig as exc:  # over DATA_UPLOAD_MAX_MEMORY_SIZE, refused before it is read
        raise BadInput("the request body is too large", code="too_large", status=413) from exc
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except BadInput:
        raise
    except RecursionError as exc:
        raise BadInput("the request body is nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and int() past its digit limit
        raise BadInput("the request body must be JSON") from exc
    if not isinstance(data, dict):
        raise BadInput("the request body must be a JSON object")
    return _clean(data)


def query_object(request) -> dict:
    """The query string as a flat dict (last value wins) with storable text."""
    return {storable(k): storable(v) for k, v in request.GET.items()}


def _clean(data):
    """Copy `data` with storable strings (keys included), refusing nesting deeper than MAX_DEPTH."""

    def walk(value, depth: int):
        if depth > MAX_DEPTH:
            raise BadInput("the request body is nested too deeply")
        if isinstance(value, str):
            return storable(value)
        if isinstance(value, dict):
            return {storable(k): walk(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, depth + 1) for v in value]
        return value

    return walk(data, 0)


def object_id(value) -> int | None:
    """A database id from JSON or a query string (an integer or a string of digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isascii() or not value.isdigit() or len(value) > 19:
            return None
        value = int(value)
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    return None


@csrf_exempt  # answers the same to everyone and changes nothing
def not_found(request, *args, **kwargs) -> JsonResponse:
    """A URL under a JSON API that matches no endpoint: a JSON 404, as the API's clients expect."""
    return error(404, "not_found", "There is no such endpoint.")


def json_endpoint(*methods: str, perms: tuple[str, ...] = ()):
    """Guard a signed-in JSON endpoint: every refusal is a JSON error its client can read.

    Wrong method → 405 with `Allow`; no session → 401 (with where to sign in, never a redirect to an
    HTML page); without all of `perms` → 403; `Http404` or `PermissionDenied` raised by the view → 404
    or 403. Methods are checked first, as Django's `require_http_methods` does.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = error(405, "method_not_allowed", _("Use %(methods)s.") % {"methods": " or ".join(methods)})
                response["Allow"] = ", ".join(methods)
                return response
            if not request.user.is_authenticated:
                response = error(401, "not_signed_in", _("Sign in to use this API."),
                                 login_url=resolve_url(settings.LOGIN_URL))
                # Session cookies have no registered scheme; a 401 must still name one.
                response["WWW-Authenticate"] = 'Cookie realm="desk"'
                return response
            if not request.user.has_perms(perms):
                return _forbidden()
            try:
                return view(request, *args, **kwargs)
            except Http404:
                return error(404, "not_found", _("There is no such object."))
            except PermissionDenied:
                return _forbidden()

        wrapper.json_endpoint = True  # csrf_failure answers JSON for these
        return wrapper

    return decorator


def _forbidden() -> JsonResponse:
    return error(403, "forbidden", _("You do not have permission to do this."))


def csrf_failure(request, reason: str = "", template_name: str = "403_csrf.html"):
    """CSRF_FAILURE_VIEW: a JSON 403 for JSON endpoints, Django's page for everything else."""
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        view = None
    if getattr(view, "json_endpoint", False):
        return error(403, "csrf_failed", _("The request's CSRF token is missing or wrong; reload the page."))
    return html_csrf_failure(request, reason=reason, template_name=template_name)
