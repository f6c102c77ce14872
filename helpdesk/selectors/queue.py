"""Reads: the agents' ticket queue (filter, search, sort, paginate) and a ticket's conversation."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from helpdesk.models import Message, Suggestion, Ticket
from helpdesk.services.desk_settings import current_confidence_threshold

SORTS = {
    # Default, as the inboxes of Zendesk, Freshdesk and Intercom do: new tickets nobody has picked up
    # on top, newest first (a customer who just wrote from the widget is seen at once, however many
    # older tickets wait), then the rest by priority, oldest first.
    "attention": ("-untouched", "-created_at_if_untouched", "-priority", "created_at"),
    "age": ("created_at",),        # oldest first: the longest-waiting customer on top
    "-age": ("-created_at",),
    "priority": ("priority", "created_at"),
    "-priority": ("-priority", "created_at"),
}
DEFAULT_SORT = "attention"


@dataclass(frozen=True)
class QueueFilters:
    status: str = "open"          # "open" (new+open+pending), "all", or one Ticket.Status value
    language: str = ""
    assignee: str = ""            # "", "me", "none", or a user id
    q: str = ""
    sort: str = DEFAULT_SORT


def agent_queue(*, filters: QueueFilters, user, page: int | str = 1, per_page: int = 25) -> Page:
    """Return one page of tickets matching `filters`, each annotated with `has_good_suggestion`."""
    qs = _filtered(filters, user)
    threshold = current_confidence_threshold()
    good = Suggestion.objects.filter(ticket=OuterRef("pk"), confidence__gte=threshold).exclude(
        feedback=Suggestion.Feedback.NOT_HELPFUL
    )
    order = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])
    if "-untouched" in order:
        untouched = Q(status=Ticket.Status.NEW, assignee__isnull=True)
        qs = qs.annotate(
            untouched=Case(When(untouched, then=Value(1)), default=Value(0), output_field=IntegerField()),
            created_at_if_untouched=Case(When(untouched, then="created_at"), default=None),
        )
    qs = qs.order_by(*order, "-id").select_related("assignee")
    qs = qs.only("id", "subject", "requester_email", "requester_name", "language", "status", "priority",
                 "created_at", "assignee__username")
    paginator = Paginator(qs.annotate(has_good_suggestion=Exists(good)), per_page)
    return paginator.get_page(page)


def _filtered(filters: QueueFilters, user) -> QuerySet[Ticket]:
    qs = Ticket.objects.all()
    if filters.status == "open":
        qs = qs.filter(status__in=Ticket.OPEN_STATUSES)
    elif filters.status in Ticket.Status.values:
        qs = qs.filter(status=filters.status)
    if filters.language:
        qs = qs.filter(language=filters.language)
    if filters.assignee == "me":
        qs = qs.filter(assignee=user)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        qs = qs.filter(assignee_id=int(filters.assignee))
    q = filters.q.strip()
    if q:
        match = Q(subject__icontains=q) | Q(requester_email__icontains=q) | Q(requester_name__icontains=q)
        if q.lstrip("#").isdigit():
            match |= Q(pk=int(q.lstrip("#")))
        qs = qs.filter(match)
    return qs


def queue_languages() -> list[str]:
    """Languages that occur on tickets, for the queue's language filter."""
    return list(Ticket.objects.exclude(language="").order_by("language").values_list("language", flat=True).distinct())


def ticket_conversation(ticket: Ticket) -> list[Message]:
    """The ticket's messages (public and internal notes), oldest first, with their authors and the
    delivery of emailed replies (`message.delivery`, an OutboundEmail, for agents' public replies)
    and the files that came with customers' emails (`message.attachments`)."""
    return list(ticket.messages.select_related("author", "delivery").prefetch_related("attachments").order_by("created_at", "id"))


def ticket_acknowledgements(ticket: Ticket) -> list:
    """The acknowledgement emails of a ticket (at most one), with their suggested articles."""
    from helpdesk.models import Article, OutboundEmail

    emails = list(OutboundEmail.objects.filter(ticket=ticket, kind=OutboundEmail.Kind.ACKNOWLEDGEMENT))
    articles = Article.objects.in_bulk([i for e in emails for i in (e.articles or [])])
    for e in emails:
        e.suggested = [articles[i] for i in (e.articles or []) if i in articles]
    return emails


def latest_customer_message(ticket: Ticket) -> Message | None:
    return ticket.messages.filter(author_kind=Message.Author.CUSTOMER).order_by("-created_at", "-id").first()


def attach_passages(suggestions: list[Suggestion]) -> list[Suggestion]:
    """Set `.passage` on each suggestion: the article passage sharing most words with its query."""
    from helpdesk.models import Chunk

    by_article: dict[int, list[str]] = {}
    for article_id, passage in (Chunk.objects.filter(article_id__in={s.article_id for s in suggestions})
                                .order_by("article_id", "ordinal").values_list("article_id", "passage")):
        by_article.setdefault(article_id, []).append(passage)
    for s in suggestions:
        words = {w.lower() for w in s.query.split() if len(w) > 2}
        passages = by_article.get(s.article_id) or [s.article.body]
        s.passage = max(passages, key=lambda p: len(words & {w.lower() for w in p.split()}))
    return suggestions
