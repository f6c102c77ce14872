"""Signed reply tokens: the part of a reply address (and subject line) that leads mail back to its ticket.

Every email we send about ticket 42 says "reply to support+t42-<signature>@example.com" and carries
`[#t42-<signature>]` in its subject. The signature is an HMAC of the ticket id under SECRET_KEY, so
a customer (or anyone) cannot attach mail to another ticket by editing the number: a forged or
mangled token matches nothing, and threading falls back to `In-Reply-To`/`References`.

Signatures are lower-case base32 because mail systems may change the case of an address's local
part; they are compared case-insensitively and in constant time.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from email.utils import getaddresses

from django.utils.crypto import constant_time_compare, salted_hmac

from helpdesk import conf

SALT = "helpdesk.mail_tokens.reply"
SIGNATURE_CHARS = 16  # 80 bits
_TOKEN = re.compile(r"\bt(\d{1,18})-([a-z2-7]{%d})\b" % SIGNATURE_CHARS, re.IGNORECASE)
_SUBJECT_TAG = re.compile(r"\[#(t\d{1,18}-[a-z2-7]{%d})\]" % SIGNATURE_CHARS, re.IGNORECASE)


def _signature(ticket_id: int) -> str:
    digest = salted_hmac(SALT, str(int(ticket_id)), algorithm="sha256").digest()
    return base64.b32encode(digest).decode("ascii").lower()[:SIGNATURE_CHARS]


def reply_token(ticket_id: int) -> str:
    """Return the signed token for a ticket, e.g. `t42-k3j5x9a2b7c4d6e8`."""
    return f"t{int(ticket_id)}-{_signature(ticket_id)}"


def ticket_id_from_token(token: str) -> int | None:
    """Return the ticket id a well-signed token names, or None for anything forged or mangled."""
    match = _TOKEN.fullmatch((token or "").strip())
    if not match:
        return None
    ticket_id = int(match.group(1))
    if not constant_time_compare(match.group(2).lower(), _signature(ticket_id)):
        return None
    return ticket_id


def reply_address(ticket_id: int) -> str:
    """Return the address a customer's reply should go to: the desk's address plus the ticket's token."""
    base = conf.get("REPLY_ADDRESS") or conf.get("FROM_EMAIL")
    _, address = getaddresses([base])[0]
    local, _, domain = address.rpartition("@")
    return f"{local}+{reply_token(ticket_id)}@{domain}"


def subject_tag(ticket_id: int) -> str:
    """Return the tag our emails carry in their subject, e.g. `[#t42-k3j5x9a2b7c4d6e8]`."""
    return f"[#{reply_token(ticket_id)}]"


def find_ticket_id(*, addresses: Iterable[str] = (), subject: str = "") -> int | None:
    """Return the ticket a message's recipients or subject name with a valid token, else None.

    `addresses` are raw header values (To, Cc, Delivered-To, X-Original-To…); only the plus-tag
    of each address is looked at. A token that fails its signature is ignored, never trusted.
    """
    for _, address in getaddresses(list(addresses)):
        local = address.rpartition("@")[0]
        if "+" in local:
            ticket_id = ticket_id_from_token(local.rpartition("+")[2])
            if ticket_id is not None:
                return ticket_id
    for match in _SUBJECT_TAG.finditer(subject or ""):
        ticket_id = ticket_id_from_token(match.group(1))
        if ticket_id is not None:
            return ticket_id
    return None
