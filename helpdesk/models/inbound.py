"""Inbound email: every raw message as it arrived, kept before parsing, and the files it carried."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class InboundEmail(models.Model):
    """One raw message from IMAP, a provider's webhook or an MTA pipe, stored before anything reads it.

    Nothing is ever lost: a message that cannot be parsed stays here as `failed` with its error, one
    that must not become a ticket stays as `ignored` with the reason, and both can be re-processed.
    """

    class Source(models.TextChoices):
        IMAP = "imap", _("IMAP")
        WEBHOOK = "webhook", _("Webhook")
        COMMAND = "command", _("Command line")

    class State(models.TextChoices):
        STORED = "stored", _("Stored, not processed yet")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    class Reason(models.TextChoices):
        AUTO_REPLY = "auto_reply", _("Automatic reply")
        BOUNCE = "bounce", _("Bounce")
        BULK = "bulk", _("Bulk or list mail")
        LOOP = "loop", _("Our own mail")
        RATE_LIMITED = "rate_limited", _("Sender over the rate limit")
        DUPLICATE = "duplicate", _("Already received")
        NO_SENDER = "no_sender", _("No valid sender address")
        TOO_LARGE = "too_large", _("Too large")

    raw = models.BinaryField()
    digest = models.CharField(max_length=64, unique=True, help_text=_("SHA-256 of the raw bytes"))
    size = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=16, choices=Source.choices)
    source_ref = models.CharField(max_length=300, blank=True, help_text=_("IMAP folder and UID, file name…"))
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.STORED)
    reason = models.CharField(max_length=16, choices=Reason.choices, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    # What parsing found, for the admins' list (filled in when processed, even when ignored or failed).
    email_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    ticket = models.ForeignKey("helpdesk.Ticket", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="inbound_emails")
    message = models.ForeignKey("helpdesk.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="inbound_emails")

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["state", "-received_at"])]

    def __str__(self):
        return f"inbound #{self.pk} ({self.state})"


def attachment_path(instance: "EmailAttachment", filename: str) -> str:
    # Never the sender's file name on disk: a random name, the original kept in the row.
    return f"helpdesk/attachments/{instance.sha256[:2]}/{instance.sha256}"


class EmailAttachment(models.Model):
    """A file that came with an email; refused files keep their name, type, size and why, but no bytes."""

    message = models.ForeignKey("helpdesk.Message", on_delete=models.CASCADE, related_name="attachments")
    inbound = models.ForeignKey(InboundEmail, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=attachment_path, max_length=300, blank=True)
    refused = models.CharField(max_length=200, blank=True, help_text=_("Why the file was not stored"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.filename
