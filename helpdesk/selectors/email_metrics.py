"""Reads: email deflection, as DESIGN.md defines it, beside the widget's on the metrics page.

Deflection rate, email = tickets closed through the "this answered my question" link of an
acknowledgement ÷ tickets that got an acknowledgement with suggestions. Computed from two Event
kinds: `acknowledgement_sent` (data: the suggested article ids) and `email_deflected`.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.models import Event
from helpdesk.selectors.metrics import Period, Rate


@dataclass(frozen=True)
class EmailFigures:
    acknowledged: int               # tickets whose acknowledgement was sent in the period
    acknowledged_with_articles: int  # ... that suggested at least one article (the coverage)
    deflected: int                  # ... closed through a "this answered my question" link

    @property
    def deflection(self) -> Rate:
        """Deflection rate, email: tickets closed through the link ÷ tickets acknowledged with suggestions."""
        return Rate(self.deflected, self.acknowledged_with_articles)


def email_figures(p: Period) -> EmailFigures:
    """Acknowledgements sent in the period (per ticket, optionally one language) and how many of
    those with suggestions the customer closed through a suggested article's link (at any time since)."""
    acks = Event.objects.filter(kind=Event.Kind.ACKNOWLEDGEMENT_SENT, created_at__gte=p.start, created_at__lt=p.end,
                                ticket__isnull=False)
    if p.language:
        acks = acks.filter(language=p.language)
    acknowledged = acks.values("ticket_id").distinct().count()
    with_articles = acks.exclude(data__articles=[]).exclude(data__articles__isnull=True)
    deflected = (Event.objects.filter(kind=Event.Kind.EMAIL_DEFLECTED,
                                      ticket_id__in=with_articles.values("ticket_id"))
                 .values("ticket_id").distinct().count())
    return EmailFigures(acknowledged=acknowledged,
                        acknowledged_with_articles=with_articles.values("ticket_id").distinct().count(),
                        deflected=deflected)
