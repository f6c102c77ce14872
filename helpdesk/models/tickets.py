from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        SOLVED = "solved", _("Solved")
        CLOSED = "closed", _("Closed")

    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WIDGET = "widget", _("Widget")
        WEB = "web", _("Web form")
        API = "api", _("API")

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)

    subject = models.CharField(_("subject"), max_length=255)
    requester_email = models.EmailField(_("requester email"))
    requester_name = models.CharField(_("requester name"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    language = models.CharField(_("language"), max_length=35, blank=True, help_text=_("BCP 47 tag"))
    language_confidence = models.FloatField(default=0.0)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.WEB)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    widget_session = models.ForeignKey(
        "helpdesk.WidgetSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    solved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["language", "status"]),
            models.Index(fields=["assignee", "status"]),
        ]

    def __str__(self):
        return f"#{self.pk} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Message(models.Model):
    class Author(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("System")

    class Visibility(models.TextChoices):
        # A public message is the conversation the customer sees (and, for agents, is emailed to
        # them); an internal note is for agents only: never emailed, never shown to the customer,
        # never part of the customer's text when suggestions are searched for.
        PUBLIC = "public", _("Public reply")
        INTERNAL = "internal", _("Internal note")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author_kind = models.CharField(max_length=16, choices=Author.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField()
    visibility = models.CharField(_("visibility"), max_length=16, choices=Visibility.choices,
                                  default=Visibility.PUBLIC)
    # The RFC 5322 Message-ID of the email that carried this message, in or out (without <>):
    # threads replies by In-Reply-To / References.
    email_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    language = models.CharField(max_length=35, blank=True)
    language_confidence = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.author_kind} on #{self.ticket_id}"
