"""The inbound webhooks: signed raw MIME is stored and processed; anything else gets a JSON 4xx and
stores nothing."""

import hashlib
import hmac
import time

import pytest

from helpdesk.inbound import webhooks
from helpdesk.models import InboundEmail, Ticket
from helpdesk.services.inbound_email import process_inbound
from tests.inbound_support import SUPPORT, message

pytestmark = pytest.mark.django_db
URL, MAILGUN_URL = "/desk/email/inbound/", "/desk/email/inbound/mailgun/"
SECRET, MAILGUN_KEY = "whsec-test-0123456789", "key-mailgun-test-abcdef"


@pytest.fixture(autouse=True)
def webhook_settings(settings, tmp_path):
    settings.HELPDESK = {"FROM_EMAIL": SUPPORT, "INBOUND_WEBHOOK_SECRET": SECRET, "MAILGUN_SIGNING_KEY": MAILGUN_KEY,
                         "INBOUND_SENDER_LIMIT": 10_000}
    settings.MEDIA_ROOT = tmp_path
    return settings


def post_signed(client, raw: bytes, *, secret=SECRET, timestamp=None, body=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return client.post(URL, data=raw if body is None else body, content_type="message/rfc822",
                       HTTP_X_POLYGLOT_TIMESTAMP=timestamp,
                       HTTP_X_POLYGLOT_SIGNATURE=webhooks.sign(secret, timestamp, raw))


def test_a_signed_message_is_stored_queued_and_becomes_a_ticket(client, django_capture_on_commit_callbacks):
    raw = message(subject="Webhook ticket", body="Bonjour, ma commande n'est pas arrivée.")
    with django_capture_on_commit_callbacks() as queued:
        response = post_signed(client, raw)

    assert response.status_code == 202
    row = InboundEmail.objects.get(pk=response.json()["id"])
    assert response.json() == {"id": row.pk, "stored": True, "state": "stored"}
    assert (bytes(row.raw), row.source) == (raw, "webhook")
    assert len(queued) == 1  # processing is queued only once the raw message is committed
    ticket = Ticket.objects.get(pk=process_inbound(row.pk).ticket_id)
    assert (ticket.subject, ticket.language) == ("Webhook ticket", "fr")


@pytest.mark.parametrize("case", ["wrong secret", "stale", "future", "other body", "no signature"])
def test_a_bad_signature_is_refused_with_403_json_and_stores_nothing(client, case):
    raw = message()
    if case == "wrong secret":
        response = post_signed(client, raw, secret="guessed")
    elif case == "stale":
        response = post_signed(client, raw, timestamp=int(time.time()) - 600)
    elif case == "future":
        response = post_signed(client, raw, timestamp=int(time.time()) + 600)
    elif case == "other body":
        response = post_signed(client, raw, body=raw.replace(b"offline", b"on fire"))
    else:
        response = client.post(URL, data=raw, content_type="message/rfc822")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "bad_signature"
    assert not InboundEmail.objects.exists()


def test_the_same_signed_message_twice_is_stored_once(client):
    raw = message()
    first, second = post_signed(client, raw), post_signed(client, raw)
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json() == {**first.json(), "stored": False}
    assert InboundEmail.objects.count() == 1


def test_a_body_over_the_limit_gets_413_json_before_it_is_read(client, webhook_settings):
    webhook_settings.HELPDESK = {**webhook_settings.HELPDESK, "INBOUND_MAX_BYTES": 1000}
    raw = message(body="x" * 200_000)
    response = post_signed(client, raw)
    assert (response.status_code, response.json()["error"]) == (413, "too_large")
    assert not InboundEmail.objects.exists()


def test_other_methods_empty_bodies_and_an_unconfigured_desk_get_json_errors(client, webhook_settings):
    response = client.get(URL)
    assert (response.status_code, response.json()["error"], response["Allow"]) == (405, "method_not_allowed", "POST")
    response = post_signed(client, b"   ")
    assert (response.status_code, response.json()["error"]) == (400, "bad_request")
    webhook_settings.HELPDESK = {"FROM_EMAIL": SUPPORT}
    for url in (URL, MAILGUN_URL):
        response = client.post(url, data=b"x", content_type="message/rfc822")
        assert (response.status_code, response.json()["error"]) == (404, "not_configured")
    assert not InboundEmail.objects.exists()


def mailgun_fields(raw: bytes | None, *, key=MAILGUN_KEY, timestamp=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    token = hashlib.sha256(raw or b"none").hexdigest()[:50]
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    fields = {"timestamp": timestamp, "token": token, "signature": signature, "recipient": "support@acme.test"}
    if raw is not None:
        fields["body-mime"] = raw.decode("utf-8")
    return fields


def test_mailgun_raw_mime_forwards_are_checked_with_the_signing_key(client):
    raw = message(subject="Vía Mailgun", body="Hola, necesito una factura con mis datos fiscales.")

    response = client.post(MAILGUN_URL, data=mailgun_fields(raw))  # multipart/form-data, as Mailgun posts

    assert response.status_code == 202
    row = InboundEmail.objects.get()
    assert bytes(row.raw).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert Ticket.objects.get(pk=process_inbound(row.pk).ticket_id).subject == "Vía Mailgun"


def test_mailgun_forgeries_and_parsed_only_posts_are_refused(client):
    raw = message()
    forged = client.post(MAILGUN_URL, data=mailgun_fields(raw, key="not-the-key"))
    assert (forged.status_code, forged.json()["error"]) == (403, "bad_signature")
    stale = client.post(MAILGUN_URL, data=mailgun_fields(raw, timestamp=int(time.time()) - 3600))
    assert stale.status_code == 403
    parsed_only = client.post(MAILGUN_URL, data=mailgun_fields(None))
    assert (parsed_only.status_code, parsed_only.json()["error"]) == (400, "bad_request")
    garbage = client.post(MAILGUN_URL, data=b"\xff\x00garbage", content_type="multipart/form-data; boundary=zz")
    assert garbage.status_code in (400, 403) and "error" in garbage.json()
    assert not InboundEmail.objects.exists()
