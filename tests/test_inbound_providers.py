"""Postmark's and SendGrid's inbound posts, as they send them, to the real endpoints: authenticated by the
secret in the webhook URL (neither signs its inbound posts), stored, and processed like any mail."""

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk import mail_tokens
from helpdesk.models import InboundEmail, Ticket
from helpdesk.services.inbound_email import process_inbound
from helpdesk.services.tickets import open_ticket
from tests.inbound_support import SUPPORT, message

pytestmark = pytest.mark.django_db
POSTMARK_URL, SENDGRID_URL = "/desk/email/inbound/postmark/", "/desk/email/inbound/sendgrid/"
POSTMARK_SECRET, SENDGRID_SECRET = "pm-inbound-3f9a1c7e5b", "sg-parse-8d2e4a6c0f"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def provider_settings(settings, tmp_path):
    settings.HELPDESK = {"FROM_EMAIL": SUPPORT, "POSTMARK_INBOUND_SECRET": POSTMARK_SECRET,
                         "SENDGRID_INBOUND_SECRET": SENDGRID_SECRET, "INBOUND_SENDER_LIMIT": 10_000}
    settings.MEDIA_ROOT = tmp_path
    return settings


def basic(user: str, password: str) -> str:
    """What Postmark and SendGrid send for https://user:password@host/… in the webhook URL."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def postmark_payload(*, subject="¿Dónde está mi pedido?", text="Hola, hice el pedido 4471 hace dos semanas y "
                     "todavía no ha llegado. ¿Pueden revisar el envío?\n\nGracias,\nMarta",
                     to="support@acme.test", headers=(), attachments=(), raw=None):
    """Postmark's inbound JSON as documented (https://postmarkapp.com/developer/webhooks/inbound-webhook)."""
    payload = {
        "FromName": "Marta Ruiz", "MessageStream": "inbound", "From": "marta.ruiz@example.es",
        "FromFull": {"Email": "marta.ruiz@example.es", "Name": "Marta Ruiz", "MailboxHash": ""},
        "To": to, "ToFull": [{"Email": to, "Name": "", "MailboxHash": to.partition("+")[2].partition("@")[0]}],
        "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [], "OriginalRecipient": to, "Subject": subject,
        "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b", "ReplyTo": "", "MailboxHash": "",
        "Date": "Tue, 4 Mar 2025 09:12:44 +0100", "TextBody": text,
        "HtmlBody": "<div dir=\"ltr\">" + text.replace("\n", "<br>") + "</div>",
        "StrippedTextReply": "", "Tag": "",
        "Headers": [
            {"Name": "X-Spam-Checker-Version", "Value": "SpamAssassin 3.3.1 (2010-03-16) onrs-ord-pm-inbound1.wildbit.com"},
            {"Name": "X-Spam-Status", "Value": "No"}, {"Name": "X-Spam-Score", "Value": "-0.1"},
            {"Name": "Received-SPF", "Value": "Pass (sender SPF authorized) identity=mailfrom; client-ip=209.85.160.180"},
            {"Name": "MIME-Version", "Value": "1.0"},
            {"Name": "Message-ID", "Value": "<CAGXpo2WKfxHWZ5UFYCR3H_J9SNMG+5AXUovfEFL6DjWBJSyZaA@mail.gmail.com>"},
            *[{"Name": name, "Value": value} for name, value in headers],
        ],
        "Attachments": [{"Name": name, "Content": base64.b64encode(data).decode(), "ContentType": ctype,
                         "ContentLength": len(data), "ContentID": ""} for name, ctype, data in attachments],
    }
    if raw is not None:
        payload["RawEmail"] = raw.decode("utf-8")
    return payload


def post_postmark(client, payload, *, auth=basic("postmark", POSTMARK_SECRET), query=""):
    extra = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.post(POSTMARK_URL + query, data=json.dumps(payload), content_type="application/json", **extra)


def processed_ticket(response) -> Ticket:
    assert response.status_code == 202, response.content
    row = process_inbound(response.json()["id"])
    assert row.state == "processed", (row.reason, row.error)
    return Ticket.objects.get(pk=row.ticket_id)


def test_a_postmark_post_becomes_a_ticket_with_its_language_and_attachment(client):
    payload = postmark_payload(attachments=[("albaran-4471.pdf", "application/pdf", PDF)])

    ticket = processed_ticket(post_postmark(client, payload))

    assert (ticket.subject, ticket.language, ticket.requester_email, ticket.requester_name) == (
        "¿Dónde está mi pedido?", "es", "marta.ruiz@example.es", "Marta Ruiz")
    first = ticket.messages.get()
    assert "todavía no ha llegado" in first.body and "<br>" not in first.body
    assert first.email_message_id == "CAGXpo2WKfxHWZ5UFYCR3H_J9SNMG+5AXUovfEFL6DjWBJSyZaA@mail.gmail.com"
    pdf = first.attachments.get()
    assert (pdf.filename, pdf.content_type, pdf.refused) == ("albaran-4471.pdf", "application/pdf", "")
    assert pdf.file.read() == PDF
    assert InboundEmail.objects.get().source_ref == "webhook:postmark:73e6d360-66eb-11e1-8e72-a8904824019b"


def test_postmark_retrying_the_same_post_stores_it_once(client):
    payload = postmark_payload()
    first, second = post_postmark(client, payload), post_postmark(client, payload)
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json() == {**first.json(), "stored": False}
    assert InboundEmail.objects.count() == 1


def test_postmark_raw_email_is_stored_exactly_as_it_arrived(client):
    raw = message(subject="Facture en double", body="Bonjour, j'ai été débité deux fois pour la facture 2291.")
    response = post_postmark(client, postmark_payload(raw=raw))
    assert response.status_code == 202
    assert bytes(InboundEmail.objects.get().raw) == raw
    assert processed_ticket(response).language == "fr"


def test_a_postmark_reply_to_our_signed_address_joins_its_ticket_and_reopens_it(client):
    ticket = open_ticket(subject="Pedido 4471", requester_email="marta.ruiz@example.es", body="¿Dónde está?")
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.SOLVED)
    to = mail_tokens.reply_address(ticket.pk)

    joined = processed_ticket(post_postmark(client, postmark_payload(
        to=to, subject="Re: Pedido 4471", text="Ya llegó, pero la caja estaba dañada.\n\nEl lun, 3 mar 2025 escribió:\n> Hola")))

    assert joined.pk == ticket.pk and joined.status == Ticket.Status.OPEN
    assert joined.messages.order_by("id").last().body == "Ya llegó, pero la caja estaba dañada."


@pytest.mark.parametrize("headers, reason", [
    ([("Auto-Submitted", "auto-replied")], "auto_reply"),
    ([("Return-Path", "<>")], "bounce"),
])
def test_postmark_auto_replies_and_bounces_create_nothing(client, headers, reason):
    response = post_postmark(client, postmark_payload(subject="Fuera de la oficina", headers=headers))
    row = process_inbound(response.json()["id"])
    assert (row.state, row.reason) == ("ignored", reason)
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("auth", [None, basic("postmark", "guessed"), basic("postmark", ""), "Bearer " + POSTMARK_SECRET,
                                  "Basic not-base64!"])
def test_postmark_without_the_secret_gets_401_and_stores_nothing(client, auth):
    response = post_postmark(client, postmark_payload(), auth=auth)
    assert (response.status_code, response.json()["error"]) == (401, "bad_credentials")
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not InboundEmail.objects.exists()


def test_postmark_accepts_the_secret_as_a_token_in_the_url_and_refuses_what_is_not_its_shape(client):
    assert post_postmark(client, postmark_payload(), auth=None, query=f"?token={POSTMARK_SECRET}").status_code == 202
    wrong = post_postmark(client, {"hello": "world"})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "bad_request")
    not_json = client.post(POSTMARK_URL, data=b"<xml/>", content_type="application/json",
                           HTTP_AUTHORIZATION=basic("postmark", POSTMARK_SECRET))
    assert not_json.status_code == 400
    assert InboundEmail.objects.count() == 1


def sendgrid_form(**fields) -> dict:
    """SendGrid Inbound Parse's multipart fields (https://www.twilio.com/docs/sendgrid/for-developers/parsing-email)."""
    base = {"dkim": "{@example.de : pass}", "SPF": "pass", "sender_ip": "209.85.218.41", "spam_score": "0.1",
            "spam_report": "Spam detection software, running on the system \"parsley\"...",
            "envelope": json.dumps({"to": ["support@acme.test"], "from": "jonas.becker@example.de"})}
    return {**base, **fields}


def form_data(fields: dict, files: dict) -> tuple[bytes, str]:
    """multipart/form-data as SendGrid writes it: text fields in their own charset (bytes), then files."""
    boundary = "xYzZY"
    body = b""
    for name, value in fields.items():
        value = value if isinstance(value, bytes) else str(value).encode("utf-8")
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
    for name, (filename, ctype, data) in files.items():
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 f"Content-Type: {ctype}\r\n\r\n").encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post_sendgrid(client, form, *, files=None, auth=basic("sendgrid", SENDGRID_SECRET)):
    extra = {"HTTP_AUTHORIZATION": auth} if auth else {}
    body, content_type = form_data(form, files or {})
    return client.post(SENDGRID_URL, data=body, content_type=content_type, **extra)


def test_a_sendgrid_raw_mime_post_is_stored_with_its_envelope_and_becomes_a_ticket(client):
    raw = message(sender="Jonas Becker <jonas.becker@example.de>", subject="Rechnung fehlt",
                  body="Hallo, ich habe für meine Bestellung vom März keine Rechnung erhalten.")

    response = post_sendgrid(client, sendgrid_form(email=raw.decode("utf-8"), to="support@acme.test",
                                                   **{"from": "Jonas Becker <jonas.becker@example.de>"}))

    ticket = processed_ticket(response)
    assert (ticket.subject, ticket.language, ticket.requester_email) == ("Rechnung fehlt", "de", "jonas.becker@example.de")
    stored = bytes(InboundEmail.objects.get().raw).replace(b"\r\n", b"\n")
    assert stored.startswith(b"Return-Path: <jonas.becker@example.de>\r\n".replace(b"\r\n", b"\n"))
    assert stored.endswith(raw.replace(b"\r\n", b"\n"))


def test_a_sendgrid_bounce_with_the_null_envelope_sender_creates_nothing(client):
    raw = message(sender="Mail Delivery System <noreply@mx.example.de>", subject="Undelivered Mail Returned to Sender",
                  body="This is the mail system at host mx.example.de. I'm sorry to have to inform you...")
    response = post_sendgrid(client, sendgrid_form(email=raw.decode(), envelope=json.dumps({"to": ["support@acme.test"], "from": ""})))
    row = process_inbound(response.json()["id"])
    assert (row.state, row.reason) == ("ignored", "bounce") and not Ticket.objects.exists()


def test_a_sendgrid_parsed_post_is_rebuilt_with_its_charset_headers_and_attachment(client):
    headers = ("Received: by mx0047p1mdw1.sendgrid.net with SMTP id 6WCVv7KAWn Wed, 05 Mar 2025 14:44:21 +0000 (UTC)\n"
               "From: =?ISO-8859-1?Q?Jos=E9_Garc=EDa?= <jose.garcia@example.es>\n"
               "To: support@acme.test\n"
               "Subject: =?ISO-8859-1?Q?Devoluci=F3n_del_pedido?=\n"
               "Message-ID: <5f2c8a1e.1c69fb81.7d3b2.4a6f@mx.google.com>\n"
               "Date: Wed, 5 Mar 2025 15:44:18 +0100\n"
               "MIME-Version: 1.0\n"
               "Content-Type: multipart/mixed; boundary=\"000000000000b1c2d3e4f5\"\n")
    text = "Hola, quiero devolver el pedido 5120: la talla no es la correcta. ¿Cómo lo envío?\n"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    form = sendgrid_form(headers=headers, text=text.encode("iso-8859-1"), subject="Devolución del pedido".encode("iso-8859-1"),
                         **{"from": "José García <jose.garcia@example.es>", "to": "support@acme.test",
                            "charsets": json.dumps({"to": "UTF-8", "subject": "iso-8859-1", "from": "UTF-8",
                                                    "text": "iso-8859-1"}),
                            "attachments": "1",
                            "attachment-info": json.dumps({"attachment1": {"filename": "etiqueta.png", "type": "image/png"}})})
    ticket = processed_ticket(post_sendgrid(client, form, files={"attachment1": ("etiqueta.png", "image/png", png)}))

    assert (ticket.subject, ticket.language, ticket.requester_name) == ("Devolución del pedido", "es", "José García")
    first = ticket.messages.get()
    assert first.body == text.strip() and first.email_message_id == "5f2c8a1e.1c69fb81.7d3b2.4a6f@mx.google.com"
    png = first.attachments.get()
    assert (png.filename, png.content_type, png.refused, png.size) == ("etiqueta.png", "image/png", "", 72)


def test_sendgrid_without_the_secret_gets_401_and_stores_nothing(client):
    raw = message()
    for auth in (None, basic("sendgrid", POSTMARK_SECRET)):
        response = post_sendgrid(client, sendgrid_form(email=raw.decode()), auth=auth)
        assert (response.status_code, response.json()["error"]) == (401, "bad_credentials")
    empty = post_sendgrid(client, sendgrid_form())
    assert (empty.status_code, empty.json()["error"]) == (400, "bad_request")
    assert not InboundEmail.objects.exists()


def test_unconfigured_providers_and_other_methods_get_json_errors(client, provider_settings):
    assert client.get(POSTMARK_URL).status_code == 405 and client.get(SENDGRID_URL).json()["error"] == "method_not_allowed"
    provider_settings.HELPDESK = {"FROM_EMAIL": SUPPORT}
    for url in (POSTMARK_URL, SENDGRID_URL):
        response = client.post(url, data=b"{}", content_type="application/json", HTTP_AUTHORIZATION=basic("x", ""))
        assert (response.status_code, response.json()["error"]) == (404, "not_configured")
    assert not InboundEmail.objects.exists()


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
                       max_leaves=10)
POSTMARK_SHAPED = st.fixed_dictionaries({}, optional={
    key: JSONISH for key in ("RawEmail", "TextBody", "HtmlBody", "From", "To", "Cc", "Subject", "Date", "MessageID",
                             "OriginalRecipient", "FromFull", "Headers", "Attachments")})


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(payload=POSTMARK_SHAPED | JSONISH)
def test_any_json_an_authenticated_sender_posts_is_stored_or_refused_never_a_crash(client, payload):
    response = post_postmark(client, payload)
    assert response.status_code in (202, 400), response.content
    if response.status_code == 202:
        row = process_inbound(response.json()["id"])
        assert row.state in ("processed", "ignored", "failed") and row.state != "failed", row.error


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(fields=st.dictionaries(st.sampled_from(["email", "headers", "text", "html", "charsets", "envelope", "subject"]),
                              st.binary(max_size=80) | st.text(max_size=80).map(str.encode), max_size=6),
       files=st.dictionaries(st.sampled_from(["attachment1", "attachment2"]),
                             st.tuples(st.sampled_from(["a.pdf", "b.png", "c"]),
                                       st.sampled_from(["application/pdf", "image/png", "x/y", "multipart/mixed"]),
                                       st.binary(max_size=40)), max_size=2))
def test_any_form_an_authenticated_sender_posts_is_stored_or_refused_never_a_crash(client, fields, files):
    response = post_sendgrid(client, fields, files=files)
    assert response.status_code in (202, 400), response.content
    if response.status_code == 202:
        row = process_inbound(response.json()["id"])
        assert row.state != "failed", row.error
