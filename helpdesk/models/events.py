from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Suggestion(models.Model):
    """An article shown to an agent (on a ticket) or a customer (in a widget session), at a rank."""

    class Feedback(models.TextChoices):
        HELPFUL = "helpful", _("Helpful")
        NOT_HELPFUL = "not_helpful", _("Not helpful")

    ticket = models.ForeignKey("helpdesk.Ticket", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="suggestions")
    widget_session = models.ForeignKey("helpdesk.WidgetSession", null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="suggestions")
    article = models.ForeignKey("helpdesk.Article", on_delete=models.CASCADE, related_name="suggestions")
    query = models.TextField(blank=True)
    query_language = models.CharField(max_length=35, blank=True)
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    confidence = models.FloatField()
    retrievers = models.JSONField(default=list)
    # The confidence's features (helpdesk.ranking.FEATURES): agents' ratings refit it (fit_ranking --feedback).
    evidence = models.JSONField(default=dict, blank=True)
    feedback = models.CharField(max_length=16, choices=Feedback.choices, blank=True)
    feedback_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    inserted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "rank"]
        indexes = [models.Index(fields=["ticket", "-created_at"]), models.Index(fields=["feedback", "created_at"])]


class Event(models.Model):
    """One step of a customer's or agent's journey; every metric can be recomputed from these rows."""

    class Kind(models.TextChoices):
        QUERY = "query", _("Query")
        SUGGESTIONS_SHOWN = "suggestions_shown", _("Suggestions shown")
        NO_ANSWER = "no_answer", _("No good answer")
        ARTICLE_OPENED = "article_opened", _("Article opened")
        VOTE_HELPFUL = "vote_helpful", _("Voted helpful")
        VOTE_NOT_HELPFUL = "vote_not_helpful", _("Voted not helpful")
        TICKET_FILED = "ticket_filed", _("Ticket filed")
        TICKET_RESOLVED = "ticket_resolved", _("Ticket resolved")
        SUGGESTION_INSERTED = "suggestion_inserted", _("Suggestion inserted")
        SUGGESTION_FEEDBACK = "suggestion_feedback", _("Suggestion feedback")
        # Email: an acknowledgement went out (data: suggested article ids), and a customer closed
        # their ticket with its "this answered my question" link (the email deflection).
        ACKNOWLEDGEMENT_SENT = "acknowledgement_sent", _("Acknowledgement sent")
        EMAIL_DEFLECTED = "email_deflected", _("Answered by an emailed article")

    kind = models.CharField(max_length=32, choices=Kind.choices)
    widget_session = models.ForeignKey("helpdesk.WidgetSession", null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="events")
    ticket = models.ForeignKey("helpdesk.Ticket", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="events")
    article = models.ForeignKey("helpdesk.Article", null=True, blank=True, on_delete=models.SET_NULL)
    suggestion = models.ForeignKey(Suggestion, null=True, blank=True, on_delete=models.SET_NULL)
    language = models.CharField(max_length=35, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["kind", "created_at"]), models.Index(fields=["widget_session", "kind"])]
