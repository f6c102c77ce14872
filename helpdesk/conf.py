"""The app's settings: one `HELPDESK` dict in the project's settings, read at call time."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Catalog name, "hashing[:DIMS]", a Hugging Face model id, or a local path.
    "ENCODER": "multilingual-e5-small-int8",
    # Truncate vectors to this many dimensions (Matryoshka models); None keeps the model's own.
    "EMBEDDING_DIMENSIONS": None,
    # "cuda", "cpu", ... ; None picks CUDA when a GPU is visible.
    "DEVICE": None,
    "ENCODE_BATCH_SIZE": 32,
    # A fastText language-ID model file to use instead of the bundled compressed lid.176.ftz
    # (e.g. lid.176.bin or GlotLID's model.bin, downloaded by the operator); None: the bundled one.
    "LANGUAGE_MODEL": None,
    # torch CPU threads per process; None leaves torch's default (all cores). Web processes serve
    # many small queries from several threads and do best with 1 (measured: bench widget_load).
    "TORCH_THREADS": None,
    # Chunks a single embedding task handles, across articles; bigger batches use the GPU better,
    # smaller ones retry cheaper. A task also stops at EMBED_TASK_TOKENS estimated tokens (characters
    # / 3), so a batch of long passages does not take minutes on a CPU or overflow a GPU.
    "EMBED_TASK_CHUNKS": 64,
    "EMBED_TASK_TOKENS": 16_384,
    "CHUNK_WORDS": 120,
    # Embed each article's title alone too, as one more passage, for bodies long enough to dilute it
    # (embeddings.chunking.chunk_article). Measured in README ("Title passages").
    "TITLE_PASSAGE": True,
    "DEFAULT_LOCALE": "en",
    "SUGGESTION_LIMIT": 5,
    # Below this confidence the widget shows "no good answer"; admins can override it in the dashboard.
    "CONFIDENCE_THRESHOLD": 0.35,
    # pgvector HNSW search breadth (recall vs. latency).
    "HNSW_EF_SEARCH": 100,
    # Optional cross-encoder id or path for re-ranking; None is off.
    "RERANKER": None,
    # Fusion weights and confidence coefficients (helpdesk.ranking.RankingModel fields) laid over the
    # model for the encoder answering queries: the one `manage.py fit_ranking --save` stored, else the
    # one shipped for it (helpdesk.ranking.FITTED). None: no override.
    "RANKING_MODEL": None,
    # Reverse proxies of your own in front of the web server (each appends to X-Forwarded-For); the
    # widget's per-address rate limit uses the address the outermost one saw. 0: the connection's.
    "TRUSTED_PROXIES": 0,
    # The widget's per-key budget (a site's "requests per minute, per key") is kept from being used up by
    # a few addresses: requests an address makes beyond WIDGET_FAIR_SHARE per minute may only use the
    # part of the budget not reserved (WIDGET_RESERVED_SHARE of it) for addresses within their share.
    # Measured with `python -m bench ratelimit`.
    "WIDGET_FAIR_SHARE": 20,
    "WIDGET_RESERVED_SHARE": 0.8,
    # Longest query text accepted from the widget or the API (characters).
    "MAX_QUERY_CHARS": 2000,
    # Knowledge-base uploads: largest single file, largest upload (all files, or a ZIP once unpacked),
    # most members in one ZIP, and the highest unpacked/packed ratio a ZIP member may have (zip bombs).
    "IMPORT_MAX_FILE_BYTES": 20 * 1024 * 1024,
    "IMPORT_MAX_UPLOAD_BYTES": 200 * 1024 * 1024,
    "IMPORT_MAX_ARCHIVE_MEMBERS": 20_000,
    "IMPORT_MAX_ZIP_RATIO": 100,
    # Articles an import writes per transaction (with its resume point and progress counters).
    "IMPORT_BATCH_RECORDS": 200,
    # How long an import waits for a database that went away (retrying with backoff) before it
    # gives up and leaves the job to the sweep; and how long a queued or running job may go without
    # a heartbeat, no task holding it, before the sweep queues it again.
    "IMPORT_DB_RETRY_SECONDS": 3600,
    "IMPORT_STALE_SECONDS": 60,
    # Email: the address our mail comes from, and the one replies go to (plus a signed per-ticket
    # tag, see helpdesk.mail_tokens); None: replies go to FROM_EMAIL's mailbox.
    "FROM_EMAIL": "Support <support@localhost>",
    "REPLY_ADDRESS": None,
    # Outgoing email (services/email_out.py): where links in emails point (the public pages),
    # attempts per email before it is marked failed, the first retry's delay in seconds (doubling
    # each time, capped), and how long a send may stay "sending" before a sweep calls it uncertain.
    "SITE_URL": "http://localhost:8000",
    "EMAIL_MAX_ATTEMPTS": 6,
    "EMAIL_RETRY_BACKOFF": 30,
    "EMAIL_RETRY_BACKOFF_MAX": 3600,
    "EMAIL_SENDING_TIMEOUT": 600,
    # New tickets get an acknowledgement with up to this many confident articles (admins can turn
    # either off in the dashboard); each "this answered my question" link expires after this many days.
    "ACKNOWLEDGE_NEW_TICKETS": True,
    "ACKNOWLEDGEMENT_SUGGESTIONS": 3,
    "ANSWER_LINK_MAX_AGE_DAYS": 30,
    # A folder where a local capture SMTP server writes each message it receives (`make run`); admins
    # can then read them on the dashboard's Outbox page. None: no capture server.
    "MAIL_CAPTURE_DIR": None,
    # Inbound email (README "Email in"). IMAP polling: imaps://user:password@host[:port]/FOLDER
    # (or imap://…?starttls=0 on a trusted network); None: no polling. Stored mail is flagged \Seen,
    # and moved to IMAP_PROCESSED_FOLDER when one is given.
    "IMAP_URL": None,
    "IMAP_PROCESSED_FOLDER": None,
    "IMAP_BATCH": 50,
    "IMAP_POLL_SECONDS": 60,
    # Provider webhooks: our own HMAC scheme's secret, Mailgun's HTTP webhook signing key, and the
    # secrets Postmark and SendGrid send as basic-auth passwords (they sign nothing).
    "INBOUND_WEBHOOK_SECRET": None,
    "MAILGUN_SIGNING_KEY": None,
    "POSTMARK_INBOUND_SECRET": None,
    "SENDGRID_INBOUND_SECRET": None,
    # Largest raw message accepted by the webhook or processed (bytes); bigger ones are kept, ignored.
    "INBOUND_MAX_BYTES": 25 * 1024 * 1024,
    # Messages one sender may turn into tickets or replies per hour; the rest are kept, ignored.
    "INBOUND_SENDER_LIMIT": 30,
    "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
    "ATTACHMENT_MAX_COUNT": 20,
    "ATTACHMENT_TYPES": [
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", "application/pdf",
        "text/plain", "text/csv", "message/rfc822", "application/zip", "application/msword",
        "application/vnd.ms-excel", "application/vnd.ms-powerpoint", "video/mp4", "video/quicktime",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    ],
}


def get(name: str) -> Any:
    """Return HELPDESK[name] from settings, or its default."""
    if name not in DEFAULTS:
        raise KeyError(f"unknown HELPDESK setting {name!r}")
    return getattr(settings, "HELPDESK", {}).get(name, DEFAULTS[name])
