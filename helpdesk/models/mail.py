from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboundEmail(models.Model):
    """One email the desk sends a customer: a public reply or an acknowledgement, with its delivery state.

    `idempotency_key` is unique ("reply:<message id>", "ack:<ticket id>"): queueing the same email
    twice finds the same row, and sending moves it QUEUED → SENDING → SENT under a row lock, so a
    task that runs twice, or a retry, never sends a second copy (see services/email_out.py).
    """

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    ticket = models.ForeignKey("helpdesk.Ticket", on_delete=models.CASCADE, related_name="outbound_emails")
    message = models.OneToOneField("helpdesk.Message", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="delivery")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # RFC 5322 Message-ID without <>, fixed when queued: every attempt sends the same one.
    email_message_id = models.CharField(max_length=255, db_index=True)
    to_address = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=400, blank=True)
    language = models.CharField(max_length=35, blank=True)
    # Acknowledgements: the suggested articles' ids, chosen once (None: not chosen yet).
    articles = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.kind} for #{self.ticket_id} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.SENDING)
