"""Inbound mail webhooks: providers POST raw messages here, signed; answers are JSON.

Signature first, then the size bound, then the raw bytes are stored and processing is queued (202).
Errors: 400 bad_request, 401 bad_credentials (Postmark, SendGrid), 403 bad_signature, 404 not_configured,
405 method_not_allowed, 413 too_large.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from helpdesk import conf
from helpdesk.inbound import provider_payloads, webhooks
from helpdesk.services.inbound_email import store_raw


def _error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse({"error": code, "message": message}, status=status)
    if status == 405:
        response["Allow"] = "POST"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="inbound email", charset="UTF-8"'
    return response


def _read_body(request, *, encoded: bool = False) -> bytes | JsonResponse:
    """The request body, at most INBOUND_MAX_BYTES (plus form overhead), read from the stream;
    `encoded` allows for a provider that posts attachments in base64 (a third larger).

    Read directly rather than through `request.body`, whose DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
    is far below the size of an email with attachments.
    """
    limit = conf.get("INBOUND_MAX_BYTES") * (4 if encoded else 3) // 3 + 64 * 1024
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "bad_request", "Content-Length is not a number.")
    if declared > limit:
        return _error(413, "too_large", f"A message may have at most {limit:,} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(413, "too_large", f"A message may have at most {limit:,} bytes.")
    return body


def _accept(raw: bytes, ref: str) -> JsonResponse:
    if not raw.strip():
        return _error(400, "bad_request", "The message is empty.")
    row, created = store_raw(raw=raw, source="webhook", source_ref=ref)
    return JsonResponse({"id": row.pk, "stored": created, "state": row.state}, status=202)


@csrf_exempt  # no cookies are read: the HMAC signature is the credential
def receive(request):
    """Raw MIME in the body, signed with HELPDESK_INBOUND_WEBHOOK_SECRET (see helpdesk.inbound.webhooks)."""
    if request.method != "POST":
        return _error(405, "method_not_allowed", "POST the raw message.")
    secret = conf.get("INBOUND_WEBHOOK_SECRET")
    if not secret:
        return _error(404, "not_configured", "This desk does not accept mail by webhook.")
    body = _read_body(request)
    if isinstance(body, JsonResponse):
        return body
    if not webhooks.verify_polyglot(secret=secret, timestamp=request.headers.get("X-Polyglot-Timestamp", ""),
                                    signature=request.headers.get("X-Polyglot-Signature", ""), body=body):
        return _error(403, "bad_signature", "The signature does not match this body, or is too old.")
    return _accept(body, "webhook:polyglot")


@csrf_exempt  # Mailgun signs timestamp+token with the domain's webhook signing key
def receive_mailgun(request):
    """Mailgun route forward with raw MIME (`body-mime`), signed with HELPDESK_MAILGUN_SIGNING_KEY."""
    if request.method != "POST":
        return _error(405, "method_not_allowed", "POST the raw message.")
    key = conf.get("MAILGUN_SIGNING_KEY")
    if not key:
        return _error(404, "not_configured", "This desk does not accept mail from Mailgun.")
    body = _read_body(request)
    if isinstance(body, JsonResponse):
        return body
    try:
        fields = webhooks.form_fields(request.META.get("CONTENT_TYPE", ""), body)
    except Exception:  # a body no form parser can read
        return _error(400, "bad_request", "The body is not form data.")
    text = {name: fields.get(name, b"").decode("utf-8", "replace") for name in ("timestamp", "token", "signature")}
    if not webhooks.verify_mailgun(key=key, **text):
        return _error(403, "bad_signature", "The Mailgun signature does not match, or is too old.")
    if "body-mime" not in fields:
        return _error(400, "bad_request", "No body-mime field: forward to a URL that receives raw MIME.")
    return _accept(fields["body-mime"], f"webhook:mailgun:{text['token'][:64]}")


def _provider_gate(request, setting: str, provider: str, where: str) -> JsonResponse | None:
    """The refusal for a provider's post that is not a POST, not configured or not authenticated; None to go on.

    Credentials before the body: a stranger's 25 MB are never read. 401, not 403: Postmark stops
    retrying on a 403, and mail sent while an admin fixes a mistyped secret would be lost."""
    if request.method != "POST":
        return _error(405, "method_not_allowed", "POST the inbound message.")
    secret = conf.get(setting)
    if not secret:
        return _error(404, "not_configured", f"This desk does not accept mail from {provider}.")
    if not webhooks.verify_shared_secret(secret=secret, authorization=request.headers.get("Authorization", ""),
                                         token=request.GET.get("token", "")):
        return _error(401, "bad_credentials", f"Wrong or missing credentials: put the secret in the {where}.")
    return None


@csrf_exempt  # Postmark signs nothing: the credential is the basic-auth secret in the webhook URL
def receive_postmark(request):
    """Postmark's inbound webhook JSON (raw with RawEmail, else rebuilt), HELPDESK_POSTMARK_INBOUND_SECRET."""
    refused = _provider_gate(request, "POSTMARK_INBOUND_SECRET", "Postmark", "webhook URL")
    if refused:
        return refused
    body = _read_body(request, encoded=True)
    if isinstance(body, JsonResponse):
        return body
    try:
        raw, ref = provider_payloads.postmark_message(body)
    except provider_payloads.PayloadError as exc:
        return _error(400, "bad_request", str(exc))
    return _accept(raw, f"webhook:postmark:{ref}")


@csrf_exempt  # SendGrid Inbound Parse: basic-auth secret in the parse URL
def receive_sendgrid(request):
    """SendGrid Inbound Parse form posts (raw `email`, else rebuilt), HELPDESK_SENDGRID_INBOUND_SECRET."""
    refused = _provider_gate(request, "SENDGRID_INBOUND_SECRET", "SendGrid", "parse URL")
    if refused:
        return refused
    body = _read_body(request)
    if isinstance(body, JsonResponse):
        return body
    try:
        fields, files = webhooks.form_data(request.META.get("CONTENT_TYPE", ""), body)
    except Exception:  # a body no form parser can read
        return _error(400, "bad_request", "The body is not form data.")
    try:
        raw = provider_payloads.sendgrid_message(fields, files)
    except provider_payloads.PayloadError as exc:
        return _error(400, "bad_request", str(exc))
    return _accept(raw, "webhook:sendgrid")
