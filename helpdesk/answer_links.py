"""Signed, expiring "this answered my question" links of an acknowledgement email.

The token names the ticket, the article and the acknowledgement that suggested it, signed with
django.core.signing under SECRET_KEY; it expires after HELPDESK["ANSWER_LINK_MAX_AGE_DAYS"]. A
forged, altered or expired token is refused and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.urls import reverse

from helpdesk import conf

SALT = "helpdesk.answer_links"


@dataclass(frozen=True)
class AnswerLink:
    ticket_id: int
    article_id: int
    email_id: int


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


def make_token(*, ticket_id: int, article_id: int, email_id: int) -> str:
    return signing.dumps([int(ticket_id), int(article_id), int(email_id)], salt=SALT, compress=True)


def answer_url(*, ticket_id: int, article_id: int, email_id: int) -> str:
    """The absolute URL of the confirmation page (GET shows it; only its POST closes the ticket)."""
    token = make_token(ticket_id=ticket_id, article_id=article_id, email_id=email_id)
    return conf.get("SITE_URL").rstrip("/") + reverse("helpdesk_public:answered", args=[token])


def read_token(token: str) -> AnswerLink:
    """Return what a token names; raise LinkExpired or LinkInvalid."""
    max_age = conf.get("ANSWER_LINK_MAX_AGE_DAYS") * 86400
    try:
        ticket_id, article_id, email_id = signing.loads(token or "", salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkExpired(str(exc)) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise LinkInvalid(str(exc)) from exc
    if not all(isinstance(v, int) for v in (ticket_id, article_id, email_id)):
        raise LinkInvalid("malformed token")
    return AnswerLink(ticket_id=ticket_id, article_id=article_id, email_id=email_id)
