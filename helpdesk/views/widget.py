"""The public, keyed JSON API the embeddable widget talks to from customers' sites.

Keys are public (they sit in the host page's source), so every request must come from one of the
site's allowed origins, and is rate-limited per key and per visitor address. CORS is answered for
exactly that origin (never `*`); anything else gets 403 and no CORS headers at all.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from embeddings.language import detect_language, same_language, text_direction
from helpdesk import conf, suggestion_cache, throttling, widget_site_cache
from helpdesk.models import Article, Suggestion, WidgetSession, WidgetSite
from helpdesk.selectors.suggestions import find_suggestions
from helpdesk.services import widget as widget_service
from helpdesk.views.json_api import BadInput, error, json_object, object_id, query_object

MAX_MESSAGE_CHARS = 5000
PREFLIGHT_MAX_AGE = 600
# Keys are made by `new_site_key` (URL-safe base64); anything else cannot be one and needs no lookup.
_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _request_origin(request) -> str:
    origin = request.headers.get("Origin", "")
    if not origin or origin == "null":
        # Same-origin GETs carry no Origin header; the Referer's origin stands in for it.
        try:
            parts = urlsplit(request.headers.get("Referer", ""))
        except ValueError:  # e.g. "http://[not-an-address/"
            return ""
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return origin.rstrip("/")


def _cors(response, origin: str):
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Expose-Headers"] = "Retry-After"
    patch_vary_headers(response, ["Origin"])
    return response


def public_endpoint(*methods: str):
    """Resolve the site from the key in the URL, check origin and rate limits, answer CORS precisely."""

    def decorator(view):
        @csrf_exempt  # no cookies or other ambient credentials are accepted here: the key and origin are checked
        @functools.wraps(view)
        def wrapper(request, key: str, *args, **kwargs):
            site = widget_site_cache.site_for_key(key) if _KEY_SHAPE.fullmatch(key) else None
            if site is None:
                return error(403, "unknown_key", "This widget key is not valid.")
            if site.is_revoked:
                return error(403, "revoked_key", "This widget key has been revoked.")
            origin = _request_origin(request)
            if not origin or origin not in site.origins:
                response = error(403, "origin_not_allowed", "This site may not use this widget key.")
                patch_vary_headers(response, ["Origin"])  # the answer depends on it, though it grants nothing
                return response
            if request.method == "OPTIONS":
                wanted = request.headers.get("Access-Control-Request-Method", "")
                if wanted not in methods:
                    return error(403, "method_not_allowed", f"{wanted or 'That method'} is not allowed here.")
                response = _cors(HttpResponse(status=204), origin)
                response["Access-Control-Allow-Methods"] = ", ".join(methods)
                response["Access-Control-Allow-Headers"] = "Content-Type"
                response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
                return response
            if request.method not in methods:
                response = error(405, "method_not_allowed", f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods + ("OPTIONS",))
                return _cors(response, origin)
            refusal = throttling.admit("widget", site.key, client_address(request),
                                       address_limit=site.client_requests_per_minute,
                                       budget=site.requests_per_minute, fair_share=conf.get("WIDGET_FAIR_SHARE"),
                                       reserve=conf.get("WIDGET_RESERVED_SHARE"))
            if refusal:
                response = error(429, "rate_limited", "Too many requests; please wait a moment.",
                                 retry_after=refusal.retry_after)
                response["Retry-After"] = str(refusal.retry_after)
                return _cors(response, origin)
            try:
                payload = query_object(request) if request.method == "GET" else json_object(request)
            except BadInput as exc:
                return _cors(exc.response(), origin)
            return _cors(view(request, site, payload, *args, **kwargs), origin)

        return wrapper

    return decorator


def client_address(request) -> str:
    """The visitor's address for per-address rate limits. Behind N reverse proxies of your own
    (HELPDESK["TRUSTED_PROXIES"] = N) it is the X-Forwarded-For entry the outermost of them added;
    otherwise the connection's address: a header a visitor can write must not buy a fresh allowance."""
    proxies = int(conf.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies][:64]
    return request.META.get("REMOTE_ADDR", "")


def _text(payload: dict, name: str) -> str:
    value = payload.get(name, "")
    return value.strip() if isinstance(value, str) else ""  # already storable: see json_api


def _question(payload: dict) -> tuple[str | None, JsonResponse | None]:
    text = _text(payload, "q")
    if not text:
        return None, error(400, "empty_query", "Please type a question.")
    cap = conf.get("MAX_QUERY_CHARS")
    if len(text) > cap:
        return None, error(400, "query_too_long", f"Questions may be at most {cap} characters long.",
                            max_chars=cap)
    return text, None


def _session(site: WidgetSite, payload: dict) -> WidgetSession | None:
    try:
        return WidgetSession.objects.select_related("site").get(site=site, public_id=_text(payload, "session"))
    except (WidgetSession.DoesNotExist, ValidationError, ValueError):
        return None


def _no_session() -> JsonResponse:
    return error(400, "unknown_session", "This widget session is unknown; please reload the page.")


def _item(suggestion, language: str, suggestion_id: int | None = None) -> dict:
    # Only what the visitor needs: never agent URLs, never anything but published articles.
    # `other_language`: the article has no translation in the question's language `language` and is
    # shown in another one (the widget marks it with the language's name); pt-BR for pt is not.
    return {"article_id": suggestion.article_id, "title": suggestion.title, "locale": suggestion.locale,
            "dir": text_direction(suggestion.locale), "snippet": suggestion.snippet,
            "confidence": round(suggestion.confidence, 4), "suggestion_id": suggestion_id,
            "other_language": bool(language) and not same_language(suggestion.locale, language)}


@public_endpoint("POST")
def sessions(request, site, payload):
    """POST {language?, visitor_id?} → a new session id, and the site's default locale."""
    language = _text(payload, "language")[:35]
    session = widget_service.start_session(site=site, visitor_id=_text(payload, "visitor_id")[:64],
                                           language=language)
    return JsonResponse({"session": str(session.public_id), "default_locale": site.default_locale,
                         "max_query_chars": conf.get("MAX_QUERY_CHARS")}, status=201)


@public_endpoint("GET")
def suggest(request, site, payload):
    """GET ?q=TEXT[&locale=TAG] → suggestions as the visitor types (not recorded: only asked questions are)."""
    text, error = _question(payload)
    if error:
        return error
    # The visitor's typing decides the language shown; the widget's UI language is only the fallback.
    fallback = _text(payload, "locale")[:35] or site.default_locale
    # Nothing in the answer depends on the site beyond that fallback, so sites share cached answers.
    cached = suggestion_cache.widget_answer(text, fallback)
    if cached.body is not None:
        return HttpResponse(cached.body, content_type="application/json")
    language = detect_language(text, fallback=fallback).language or fallback
    shown = find_suggestions(text=text, locale=language, language=language).confident
    response = JsonResponse({"no_answer": not shown, "results": [_item(s, language) for s in shown]})
    cached.store(response.content)
    return response


@public_endpoint("POST")
def queries(request, site, payload):
    """POST {session, q} → the question is recorded; suggestions above the threshold, or no_answer."""
    text, error = _question(payload)
    if error:
        return error
    session = _session(site, payload)
    if session is None:
        return _no_session()
    outcome = widget_service.record_query(session=session, text=text)
    return JsonResponse({
        "language": outcome.language, "dir": text_direction(outcome.language), "no_answer": outcome.no_answer,
        "results": [_item(s, outcome.language, sid) for s, sid in zip(outcome.suggestions, outcome.suggestion_ids)],
    })


@public_endpoint("POST")
def article(request, site, payload, pk: int):
    """POST {session, suggestion_id?} → a published article's title and text; the opening is recorded."""
    session = _session(site, payload)
    if session is None:
        return _no_session()
    found = Article.objects.filter(pk=pk, status=Article.Status.PUBLISHED).first()
    if found is None:
        return error(404, "not_found", "This article is not available.")
    suggestion = None
    if payload.get("suggestion_id") not in (None, ""):
        suggestion = Suggestion.objects.filter(pk=object_id(payload.get("suggestion_id")), widget_session=session).first()
    widget_service.record_article_opened(session=session, article=found, suggestion=suggestion)
    # Plain text only: the widget renders it with textContent, so no HTML from the KB reaches the page.
    return JsonResponse({"article_id": found.pk, "title": found.title, "body": found.body, "locale": found.locale,
                         "dir": text_direction(found.locale)})


@public_endpoint("POST")
def votes(request, site, payload):
    """POST {session, helpful: bool, article_id?} → "Did this answer your question?" is recorded."""
    session = _session(site, payload)
    if session is None:
        return _no_session()
    helpful = payload.get("helpful")
    if not isinstance(helpful, bool):
        return error(400, "bad_vote", "helpful must be true or false.")
    found = None
    if payload.get("article_id") not in (None, ""):
        found = Article.objects.filter(pk=object_id(payload.get("article_id")), status=Article.Status.PUBLISHED).first()
        if found is None:
            return error(404, "not_found", "This article is not available.")
    widget_service.record_vote(session=session, helpful=helpful, article=found)
    return JsonResponse({"recorded": True}, status=201)


@public_endpoint("POST")
def tickets(request, site, payload):
    """POST {session, email, message, name?} → a ticket in the agents' queue carrying the question."""
    session = _session(site, payload)
    if session is None:
        return _no_session()
    email, message, name = _text(payload, "email"), _text(payload, "message"), _text(payload, "name")
    errors = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = "Please enter a valid email address."
    if len(message) > MAX_MESSAGE_CHARS:
        errors["message"] = f"Please keep the message under {MAX_MESSAGE_CHARS} characters."
    if len(name) > 200:
        errors["name"] = "Please shorten the name."
    if errors:
        return error(400, "invalid", "Please check the form.", fields=errors)
    try:
        ticket = widget_service.file_ticket(session=session, email=email, message=message, name=name)
    except (ValueError, ValidationError) as exc:
        return error(400, "invalid", "; ".join(getattr(exc, "messages", [str(exc)])))
    return JsonResponse({"filed": True, "language": ticket.language}, status=201)

