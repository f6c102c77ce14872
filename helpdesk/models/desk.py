from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DeskSettings(models.Model):
    """Settings admins tune from the dashboard; one row (pk=1). Empty fields fall back to HELPDESK."""

    confidence_threshold = models.FloatField(
        _("confidence threshold"), null=True, blank=True,
        help_text=_("Suggestions below this confidence count as 'no good answer' (0 to 1)."),
    )
    # Email acknowledgements of new tickets (email and widget), and the articles they suggest.
    send_acknowledgements = models.BooleanField(_("acknowledge new tickets by email"), null=True, blank=True)
    acknowledgement_suggestions = models.BooleanField(_("suggest articles in acknowledgements"), null=True,
                                                      blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("desk settings")
        verbose_name_plural = _("desk settings")
        # Dashboard-wide permissions live here because they belong to no single content row.
        permissions = [
            ("view_metrics", "Can view the metrics page"),
            ("publish_article", "Can publish and unpublish knowledge-base articles"),
        ]

    def __str__(self):
        return "desk settings"


class RankingProfile(models.Model):
    """Fusion weights and confidence coefficients fitted for one encoder (`manage.py fit_ranking --save`).

    Wins over the model shipped for that encoder (helpdesk.ranking.FITTED); HELPDESK["RANKING_MODEL"]
    wins over both.
    """

    encoder = models.CharField(max_length=200, unique=True)
    model = models.JSONField()  # helpdesk.ranking.RankingModel fields
    report = models.JSONField(default=dict, blank=True)  # what it was fitted on and how it scored
    fitted_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"ranking model for {self.encoder}"
