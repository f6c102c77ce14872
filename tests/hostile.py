"""Hostile requests for every endpoint that reads input: the catalog, the data they need, and
Hypothesis strategies that build bodies, headers, query strings and URL segments an attacker would send.

Shared by the property tests (`tests/test_hostile_input.py`, in-process) and the fuzz benchmark
(`python -m bench fuzz`, over HTTP against a real server). A new endpoint is one `Endpoint(...)` line
in ENDPOINTS (a JSON body's fields, or the query parameters a page reads); the coverage test fails
until every URL of helpdesk/urls.py and public_urls.py is either listed here or in NOT_FUZZED.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

HOST_ORIGIN = "https://shop.example.com"
SEGMENT_MARK = "987654321"  # stands in for a URL argument until the probe writes its own segment


@dataclass(frozen=True)
class Endpoint:
    route: str  # URL name
    method: str
    audience: str  # "public" (widget key + origin), "agent", "admin", "anonymous"
    json: bool  # answers JSON, errors included
    fields: tuple[str, ...] = ()  # what the view reads: JSON body fields (POST) or query parameters (GET)
    args: tuple[str, ...] = ()  # URL arguments, from World


ENDPOINTS = (
    # The public widget API (JSON bodies, key and origin checked, CORS).
    Endpoint("helpdesk:widget-sessions", "POST", "public", True, ("language", "visitor_id"), ("key",)),
    Endpoint("helpdesk:widget-suggest", "GET", "public", True, ("q", "locale"), ("key",)),
    Endpoint("helpdesk:widget-queries", "POST", "public", True, ("session", "q"), ("key",)),
    Endpoint("helpdesk:widget-article", "POST", "public", True, ("session", "suggestion_id"), ("key", "article")),
    Endpoint("helpdesk:widget-votes", "POST", "public", True, ("session", "helpful", "article_id"), ("key",)),
    Endpoint("helpdesk:widget-tickets", "POST", "public", True, ("session", "email", "message", "name"), ("key",)),
    # Agents' JSON endpoints.
    Endpoint("helpdesk:api-suggest", "GET", "agent", True, ("q", "limit", "locale", "mode")),
    Endpoint("helpdesk:suggestion-insert", "POST", "agent", True, (), ("suggestion",)),
    # Pages and fragments that read query strings or form fields (HTML answers; a 4xx page when refused).
    Endpoint("helpdesk:queue", "GET", "agent", False, ("status", "language", "assignee", "q", "sort", "page")),
    Endpoint("helpdesk:ticket", "GET", "agent", False, (), ("ticket",)),
    Endpoint("helpdesk:ticket-suggestions", "GET", "agent", False, ("after",), ("ticket",)),
    Endpoint("helpdesk:ticket-reply", "POST", "agent", False, ("body",), ("ticket",)),
    Endpoint("helpdesk:ticket-update", "POST", "agent", False, ("status", "priority", "assignee"), ("ticket",)),
    Endpoint("helpdesk:suggestion-feedback", "POST", "agent", False, ("helpful",), ("suggestion",)),
    Endpoint("helpdesk:kb-list", "GET", "agent", False, ("q", "locale", "status", "page")),
    Endpoint("helpdesk:kb-new", "GET", "agent", False, ("ticket", "title", "body", "locale")),
    Endpoint("helpdesk:kb-new", "POST", "agent", False, ("title", "body", "locale", "category")),
    Endpoint("helpdesk:article", "GET", "agent", False, (), ("article",)),
    Endpoint("helpdesk:kb-edit", "GET", "agent", False, ("locale",), ("article",)),
    Endpoint("helpdesk:kb-edit", "POST", "agent", False, ("title", "body", "locale", "category"), ("article",)),
    Endpoint("helpdesk:kb-embedding", "GET", "agent", False, (), ("article",)),
    Endpoint("helpdesk:kb-coverage", "GET", "agent", False, ()),
    Endpoint("helpdesk:kb-revisions", "GET", "admin", False, ()),
    Endpoint("helpdesk:metrics", "GET", "agent", False, ("days", "language")),
    Endpoint("helpdesk:kb-status", "POST", "admin", False, ("status",), ("article",)),
    Endpoint("helpdesk:settings", "POST", "admin", False, ("confidence_threshold",)),
    Endpoint("helpdesk:settings-preview", "GET", "admin", False, ("confidence_threshold",)),
    Endpoint("helpdesk:widget-sites", "GET", "admin", False, ()),
    Endpoint("helpdesk:widget-site-new", "POST", "admin", False,
             ("name", "allowed_origins", "default_locale", "requests_per_minute", "client_requests_per_minute")),
    Endpoint("helpdesk:kb-import-detail", "GET", "admin", False, (), ("job",)),
    Endpoint("helpdesk:kb-import-progress", "GET", "admin", False, (), ("job",)),
    Endpoint("helpdesk:kb-export", "GET", "admin", False, ("format",)),
    Endpoint("helpdesk:outbox", "GET", "admin", False, ("page",)),
    Endpoint("helpdesk:outbox-message", "GET", "admin", False, ("raw",), ("outbox_name",)),
    Endpoint("helpdesk:settings-acknowledgements", "POST", "admin", False,
             ("send_acknowledgements", "acknowledgement_suggestions")),
    # Inbound email webhooks (a signature is the credential; errors are JSON).
    Endpoint("helpdesk:email-inbound", "POST", "anonymous", True, ("raw", "message", "from", "to", "subject")),
    Endpoint("helpdesk:email-inbound-mailgun", "POST", "anonymous", False,
             ("timestamp", "token", "signature", "body-mime")),
    Endpoint("helpdesk:email-inbound-postmark", "POST", "anonymous", True,
             ("RawEmail", "TextBody", "HtmlBody", "Headers", "FromFull", "Attachments")),
    Endpoint("helpdesk:email-inbound-sendgrid", "POST", "anonymous", True, ("email", "headers", "text", "envelope")),
    Endpoint("helpdesk:inbound-mail", "GET", "admin", False, ("page", "state")),
    Endpoint("helpdesk_public:article", "GET", "anonymous", False, (), ("article",)),
    Endpoint("helpdesk_public:answered", "GET", "anonymous", False, (), ("token",)),
    Endpoint("helpdesk_public:answered", "POST", "anonymous", False, (), ("token",)),
)

# Routes not fuzzed here, and why (the coverage test holds this list to the URLconf).
NOT_FUZZED = {
    "helpdesk:kb-import": "multipart uploads: the importers' own tests feed them broken and hostile files",
    "helpdesk:widget-site": "the same form as widget-site-new, on an existing site",
    "helpdesk:widget-site-rotate": "one choice (grace_hours; a bad one is a 400: tests/test_widget_sites.py); changes the key the fuzz itself uses",
    "helpdesk:widget-site-revoke": "no input but the id; would revoke the key the fuzz itself uses",
    "helpdesk:kb-revision": "no input but the id (GET)",
    "helpdesk:kb-revision-publish": "no input but the id; tests/test_revisions.py",
    "helpdesk:kb-revision-discard": "no input but the id; tests/test_revisions.py",
    "helpdesk:email-status": "no input but the id of an outgoing email (GET fragment)",
    "helpdesk:email-retry": "no input but the id of an outgoing email",
    "helpdesk:inbound-mail-detail": "no input but the id of a stored email",
    "helpdesk:inbound-mail-reprocess": "no input but the id of a stored email",
    "helpdesk:inbound-mail-raw": "no input but the id of a stored email",
    "helpdesk:attachment": "no input but the id of an attachment",
    "helpdesk:widget-catalog": "no input: the widget's translations, one generated file (GET)",
    "helpdesk:widget-unknown": "the JSON 404 for unknown widget URLs: reached by the URL-segment probes",
    "helpdesk:api-unknown": "the JSON 404 for unknown API URLs: reached by the URL-segment probes",
}


@dataclass
class World:
    """Valid values the probes mix with hostile ones, so they reach past the first check."""

    key: str
    session: str
    article: int
    ticket: int
    suggestion: int
    job: int
    origin: str = HOST_ORIGIN
    outbox_name: str = "none-captured.eml"
    token: str = "not-a-signed-token"
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Probe:
    endpoint: Endpoint
    method: str
    path: str
    body: bytes | None
    content_type: str
    headers: dict
    hostile_segment: bool = False

    def describe(self) -> str:
        body = "" if self.body is None else f" body={self.body[:200]!r}"
        return f"{self.method} {self.path[:300]} headers={self.headers}{body}"


# --- hostile values ---------------------------------------------------------------------------------

NASTY_TEXT = [
    "", " ", "\x00", "a\x00b", "\ud800", "tail \udfff", "\x1b[31m", "\u202eevil", "\ufeff", "Infinity", "-Infinity",
    "NaN", "1e400", "-1", "0", "9" * 30, "' OR '1'='1' --", "<script>alert(1)</script>", "%00", "../../etc/passwd",
    "null", "true", "[]", "{}", "🙂" * 40, "ＡＢＣ", "x" * 2100, "a@b", "\n\r\t",
]
NASTY_BODIES = [
    b"NaN", b"Infinity", b'{"q": NaN}', b'{"q": Infinity}', b'{"article_id": 1e400, "helpful": true}',
    b'{"suggestion_id": -Infinity}', b'{"article_id": ' + b"9" * 5000 + b"}", b'{"q": "\\u0000"}',
    b'{"q": "\\ud800"}', b'{"visitor_id": "a\\u0000b", "language": "\\u0000"}', b"[]", b'"text"', b"null", b"1",
    b'{"session": {"$gt": ""}}', b"\xff\xfe{", b"{", b'{"q": "x"', b" " * 10, b"\x00" * 8,
    b'{"q": "' + b"a" * 5000 + b'"}', b'{"a": 1, "a": 2}',
]
NASTY_SEGMENTS = ["\x00", "%00", "pk_\x00", "..", "%2e%2e", "9" * 30, "-1", "0", "Infinity", "1e400", " ",
                  "\ud800", "a/b", "<x>", "x" * 300]
NASTY_HEADERS = ["", "null", "http://[::1", "http://[abc/", "https://evil.example.net", HOST_ORIGIN + "/",
                 "javascript:alert(1)", "\xff\xfe", "x" * 2000, "1.2.3.4, , ,", "::1", "300.300.300.300"]
CONTENT_TYPES = ["application/json", "application/json; charset=latin-1", "text/plain", "",
                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"]

any_char = st.one_of(st.characters(), st.characters(categories=["Cs", "Cc", "Cf", "Zl", "Zp"]))
hostile_text = st.one_of(st.sampled_from(NASTY_TEXT), st.text(any_char, max_size=40))
header_text = st.one_of(st.sampled_from(NASTY_HEADERS),
                        st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=True, allow_infinity=True), hostile_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(hostile_text, inner, max_size=3)),
                           max_leaves=8)
deep_nesting = st.tuples(st.integers(50, 100_000), st.sampled_from(["[", '{"a":', '{"q":['])).map(
    lambda t: (t[1] * t[0]).encode())


def to_bytes(text: str) -> bytes:
    # Lone surrogates become the invalid UTF-8 an attacker would send.
    return text.encode("utf-8", "surrogatepass")


def segment(text: str) -> str:
    return quote(to_bytes(text), safe="")


def valid_values(endpoint: Endpoint, world: World) -> dict:
    """Plausible values for each field, so probes mix hostile and valid input."""
    known = {"session": world.session, "q": "How do I reset my password?", "locale": "es", "language": "es",
             "helpful": True, "article_id": world.article, "suggestion_id": world.suggestion,
             "email": "ana@example.com", "message": "My refund has not arrived", "name": "Ana",
             "title": "Refunds", "body": "Refunds take five days.", "category": "billing",
             "status": "open", "priority": "2", "days": "7", "page": "2", "after": "1", "mode": "dense",
             "limit": "3", "format": "csv", "confidence_threshold": "0.4", "ticket": str(world.ticket),
             "allowed_origins": HOST_ORIGIN, "default_locale": "en", "requests_per_minute": "60",
             "client_requests_per_minute": "10", "visitor_id": "v-1", "raw": "1", "send_acknowledgements": "on",
             "acknowledgement_suggestions": "on"}
    return {name: known.get(name, "x") for name in endpoint.fields}


@st.composite
def probes(draw, endpoint: Endpoint, world: World) -> Probe:
    """One hostile request to `endpoint`: some of its input valid, the rest drawn from hostile values."""
    from django.urls import reverse

    args = {"key": world.key, "article": world.article, "ticket": world.ticket, "suggestion": world.suggestion,
            "job": world.job, "outbox_name": world.outbox_name, "token": world.token}
    names = {"key": "key", "article": "pk", "ticket": "pk", "suggestion": "pk", "job": "pk", "outbox_name": "name",
             "token": "token"}
    kwargs = {names[a]: args[a] for a in endpoint.args}
    hostile_arg = draw(st.sampled_from([None, *endpoint.args])) if endpoint.args and draw(st.integers(0, 5)) == 0 \
        else None
    if hostile_arg:
        kwargs[names[hostile_arg]] = int(SEGMENT_MARK) if names[hostile_arg] == "pk" else SEGMENT_MARK
    path = reverse(endpoint.route, kwargs=kwargs)
    if hostile_arg:
        path = path.replace(SEGMENT_MARK, segment(draw(st.one_of(st.sampled_from(NASTY_SEGMENTS), hostile_text))), 1)

    valid = valid_values(endpoint, world)
    values = {}
    for name in endpoint.fields:
        choice = draw(st.integers(0, 3))
        if choice == 0:
            values[name] = valid[name]
        elif choice == 1:
            values[name] = draw(json_values if endpoint.json else hostile_text)
        elif choice == 2:
            values[name] = draw(hostile_text)
        # 3: left out
    if draw(st.booleans()):
        values.update(draw(st.dictionaries(hostile_text, json_values if endpoint.json else hostile_text, max_size=2)))

    headers = {}
    if endpoint.audience == "public":
        headers["Origin"] = world.origin if draw(st.integers(0, 4)) else draw(header_text)
    for name in ("Referer", "X-Forwarded-For", "Accept-Language", "Access-Control-Request-Method"):
        if draw(st.integers(0, 6)) == 0:
            headers[name] = draw(header_text)

    method = endpoint.method
    if endpoint.audience == "public" and draw(st.integers(0, 9)) == 0:
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]))

    body, content_type = None, ""
    if method == "GET":
        if draw(st.booleans()):
            path += "?" + urlencode({k: _flat(v) for k, v in values.items()}, encoding="utf-8", errors="surrogatepass")
        else:
            path += "?" + draw(st.sampled_from(["q=%00", "locale=%00", "q=%ED%A0%80", "q=%FF%FE", "%00=%00", "q=&q=a",
                                                "q=" + "a" * 3000, "page=99999999999999999999", "days=1e400"]))
    elif endpoint.json:
        form = draw(st.integers(0, 3))
        if form <= 1:
            body = to_bytes(json.dumps(values, allow_nan=True, ensure_ascii=draw(st.booleans()), default=str))
        elif form == 2:
            body = draw(st.one_of(st.sampled_from(NASTY_BODIES), deep_nesting))
        else:
            body = draw(st.binary(max_size=200))
        content_type = "application/json" if draw(st.integers(0, 4)) else draw(st.sampled_from(CONTENT_TYPES))
    else:
        body = to_bytes(urlencode({k: _flat(v) for k, v in values.items()}, encoding="utf-8", errors="surrogatepass"))
        content_type = "application/x-www-form-urlencoded"
    return Probe(endpoint, method, path, body, content_type, headers, hostile_segment=bool(hostile_arg))


def _flat(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, allow_nan=True, default=str)


def check_answer(probe: Probe, status: int, content_type: str, body: bytes) -> str | None:
    """What is wrong with the answer to `probe`, or None: never a 5xx; JSON endpoints answer JSON errors."""
    if status >= 500:
        return f"{status} for {probe.describe()}"
    if not probe.endpoint.json or status < 400:
        return None  # pages answer a 4xx page
    if probe.endpoint.audience != "public" and status == 404 and probe.hostile_segment:
        return None  # agents' endpoints outside /api/: Django's 404 page for a URL that matches no route
    if not content_type.startswith("application/json"):
        return f"{status} answered {content_type!r}, not JSON, for {probe.describe()}"
    try:
        data = json.loads(body)
    except ValueError:
        return f"{status} answered broken JSON for {probe.describe()}"
    if not isinstance(data, dict) or not isinstance(data.get("error"), str) or not data["error"]:
        return f"{status} answered JSON without an error for {probe.describe()}: {body[:200]!r}"
    return None


def make_world(*, users: bool = True) -> World:
    """Create what the probes need in the current database: a widget site with limits no fuzz reaches,
    published articles (embedded with the configured encoder), a ticket with suggestions, an import job."""
    from helpdesk.models import ImportJob
    from helpdesk.services import feedback
    from helpdesk.services.tickets import open_ticket
    from helpdesk.services.widget import save_site, start_session
    from tests.widget_support import load_kb

    articles = load_kb(keys=("reset-password", "refund-timing"), locales=("en", "es"))
    site = save_site(name="Fuzzed shop", allowed_origins=HOST_ORIGIN, requests_per_minute=10**9,
                     client_requests_per_minute=10**9)
    session = start_session(site=site, language="es")
    ticket = open_ticket(subject="Olvidé mi contraseña", requester_email="ana@example.es", language="es",
                         body="Olvidé mi contraseña y no puedo iniciar sesión.")
    suggestion = feedback.show_ticket_suggestions(ticket=ticket)[0]
    job = ImportJob.objects.create(source="fuzz")
    return World(key=site.key, session=str(session.public_id), article=articles[("refund-timing", "en")].pk,
                 ticket=ticket.pk, suggestion=suggestion.pk, job=job.pk)
