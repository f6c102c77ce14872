"""Reads: every figure of the metrics page, each defined once, as in DESIGN.md.

Every rate comes with its raw counts and its coverage (the number of sessions or tickets it is
computed over), per period and optionally per language. Widget and agent figures are recomputed
from the Event table; precision from Suggestion feedback; pipeline health from Chunk rows.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncDay, TruncWeek
from django.urls import reverse
from django.utils import timezone

from helpdesk.models import Article, Chunk, Event, Suggestion, Ticket, WidgetSession

logger = logging.getLogger(__name__)

IMPLICIT_WINDOW = timedelta(hours=24)
PERIODS = (7, 30, 90)


@dataclass(frozen=True)
class Rate:
    """numerator ÷ denominator, kept apart so the page can show the counts and the coverage."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> str:
        return "—" if self.value is None else f"{100 * self.value:.1f}%"


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    days: int
    language: str = ""


def period(*, days: int = 30, language: str = "", now: datetime | None = None) -> Period:
    end = now or timezone.now()
    return Period(start=end - timedelta(days=days), end=end, days=days, language=language or "")


# --- widget: funnel, explicit and implicit deflection ---------------------------------------------

@dataclass
class WidgetFigures:
    sessions_with_query: int = 0
    shown_suggestions: int = 0
    opened_article: int = 0
    voted_helpful: int = 0
    implicitly_deflected: int = 0
    resolved: int = 0

    @property
    def explicit_deflection(self) -> Rate:
        return Rate(self.voted_helpful, self.sessions_with_query)

    @property
    def implicit_deflection(self) -> Rate:
        return Rate(self.implicitly_deflected, self.sessions_with_query)

    @property
    def funnel(self) -> list[tuple[str, int]]:
        return [("query", self.sessions_with_query), ("shown", self.shown_suggestions),
                ("opened", self.opened_article), ("resolved", self.resolved)]

    def add(self, other: "WidgetFigures") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_WIDGET_SQL = """
WITH per_session AS (
    SELECT e.widget_session_id AS sid,
           max(e.language) FILTER (WHERE e.kind = 'query') AS query_lang,
           bool_or(e.kind = 'suggestions_shown') AS shown,
           min(e.created_at) FILTER (WHERE e.kind = 'article_opened') AS opened_at,
           bool_or(e.kind = 'vote_helpful') AS helpful
    FROM helpdesk_event e
    WHERE e.widget_session_id IS NOT NULL AND e.created_at >= %(start)s AND e.created_at < %(end)s
      AND e.kind IN ('query', 'suggestions_shown', 'article_opened', 'vote_helpful')
    GROUP BY e.widget_session_id
    HAVING bool_or(e.kind = 'query')
), s AS (
    SELECT p.*, COALESCE(p.query_lang, ws.language) AS lang,
           CASE WHEN ws.visitor_id <> '' THEN 'v:' || ws.visitor_id ELSE 's:' || ws.id END AS who
    FROM per_session p JOIN helpdesk_widgetsession ws ON ws.id = p.sid
), filed AS (
    -- Tickets filed from the widget, keyed like sessions: by visitor, or by session when anonymous.
    SELECT CASE WHEN tw.visitor_id <> '' THEN 'v:' || tw.visitor_id ELSE 's:' || tw.id END AS who, t.created_at
    FROM helpdesk_event t JOIN helpdesk_widgetsession tw ON tw.id = t.widget_session_id
    WHERE t.kind = 'ticket_filed' AND t.created_at >= %(start)s AND t.created_at < %(end)s + %(window)s
), cancelled AS (
    SELECT DISTINCT s.sid FROM s JOIN filed f ON f.who = s.who
    WHERE s.opened_at IS NOT NULL AND f.created_at >= s.opened_at AND f.created_at < s.opened_at + %(window)s
), d AS (
    SELECT s.*, (s.opened_at IS NOT NULL AND c.sid IS NULL) AS implicit
    FROM s LEFT JOIN cancelled c ON c.sid = s.sid
)
SELECT lang, count(*), count(*) FILTER (WHERE shown), count(*) FILTER (WHERE opened_at IS NOT NULL),
       count(*) FILTER (WHERE helpful), count(*) FILTER (WHERE implicit), count(*) FILTER (WHERE helpful OR implicit)
FROM d GROUP BY lang
"""


def widget_figures(p: Period) -> dict[str, WidgetFigures]:
    """Widget funnel and deflection counts per language, plus "" for all languages together.

    A session counts when it asked a question in the period. Explicit deflection: it answered
    "this helped". Implicit: it opened an article and neither it nor the same visitor filed a
    ticket within IMPLICIT_WINDOW of that first opening. Resolved: either.
    """
    with connection.cursor() as cursor:
        cursor.execute(_WIDGET_SQL, {"start": p.start, "end": p.end, "window": IMPLICIT_WINDOW})
        rows = cursor.fetchall()
    by_language: dict[str, WidgetFigures] = {}
    total = WidgetFigures()
    for lang, *counts in rows:
        figures = WidgetFigures(*counts)
        by_language[lang or ""] = figures
        total.add(figures)
    if p.language:
        return {"": by_language.get(p.language, WidgetFigures())}
    return {"": total, **{k: v for k, v in sorted(by_language.items()) if k}}


# --- self-service score ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SelfService:
    sessions: int
    requesters: int
    article_views: int
    tickets: int

    @property
    def score(self) -> Rate:
        """Zendesk's self-service score: widget sessions ÷ distinct requesters who filed tickets."""
        return Rate(self.sessions, self.requesters)

    @property
    def views_per_ticket(self) -> Rate:
        return Rate(self.article_views, self.tickets)


def self_service(p: Period) -> SelfService:
    sessions = WidgetSession.objects.filter(created_at__gte=p.start, created_at__lt=p.end)
    tickets = Ticket.objects.filter(created_at__gte=p.start, created_at__lt=p.end)
    views = Event.objects.filter(kind=Event.Kind.ARTICLE_OPENED, created_at__gte=p.start, created_at__lt=p.end)
    if p.language:
        sessions = sessions.filter(language=p.language)
        tickets = tickets.filter(language=p.language)
        views = views.filter(language=p.language)
    t = tickets.aggregate(n=Count("id"), people=Count("requester_email", distinct=True))
    return SelfService(sessions=sessions.count(), requesters=t["people"], article_views=views.count(), tickets=t["n"])


# --- agents: acceptance, precision@k, MRR ---------------------------------------------------------

def _ticket_language_join(p: Period) -> tuple[str, dict]:
    if not p.language:
        return "", {}
    return "JOIN helpdesk_ticket tk ON tk.id = x.ticket_id AND tk.language = %(language)s", {"language": p.language}


def agent_acceptance(p: Period) -> Rate:
    """Tickets where an agent inserted or marked helpful a suggestion ÷ tickets shown suggestions.

    The agent's panel shows every suggestion, so a `no_answer` showing that has Suggestion rows
    counts as shown too.
    """
    join, params = _ticket_language_join(p)
    sql = f"""
        SELECT count(*) FILTER (WHERE shown), count(*) FILTER (WHERE shown AND accepted) FROM (
            SELECT x.ticket_id,
                   bool_or(x.kind = 'suggestions_shown' OR (x.kind = 'no_answer' AND x.suggestion_id IS NOT NULL)) AS shown,
                   bool_or(x.kind = 'suggestion_inserted'
                           OR (x.kind = 'suggestion_feedback' AND (x.data->>'helpful')::boolean)) AS accepted
            FROM helpdesk_event x {join}
            WHERE x.ticket_id IS NOT NULL AND x.created_at >= %(start)s AND x.created_at < %(end)s
              AND x.kind IN ('suggestions_shown', 'no_answer', 'suggestion_inserted', 'suggestion_feedback')
            GROUP BY x.ticket_id
        ) per_ticket"""
    with connection.cursor() as cursor:
        cursor.execute(sql, {"start": p.start, "end": p.end, **params})
        shown, accepted = cursor.fetchone()
    return Rate(accepted, shown)


@dataclass(frozen=True)
class Precision:
    at_k: dict[int, Rate]
    mrr: float | None
    tickets: int
    shown_at_most: int = 0  # the most suggestions the agents' panel showed on one ticket in the period
    left_out: tuple[int, ...] = ()  # the k asked for that cannot be measured (k > shown_at_most)


def suggestion_precision(p: Period, ks: tuple[int, ...] = (1, 3, 5)) -> Precision:
    """Precision@k over agent-judged suggestions (helpful ÷ judged, rank ≤ k) and MRR over judged tickets.

    Only the k that can be measured: when the panel showed at most n suggestions, precision@5 with
    n = 3 is precision@3 again, so ks above n are left out (and n itself is measured instead).
    MRR: for each ticket with any judged suggestion, 1/rank of its best-ranked helpful one (0 if none).
    """
    join, params = _ticket_language_join(p)
    asked = ks
    with connection.cursor() as cursor:
        cursor.execute(f"""SELECT COALESCE(max(x.rank), 0) FROM helpdesk_suggestion x {join}
            WHERE x.ticket_id IS NOT NULL AND x.created_at >= %(start)s AND x.created_at < %(end)s""",
                       {"start": p.start, "end": p.end, **params})
        shown_at_most = int(cursor.fetchone()[0])
    if shown_at_most:
        ks = tuple(sorted({k for k in ks if k <= shown_at_most} | ({shown_at_most} if shown_at_most < max(ks) else set())))
    else:
        ks = ks[:1]
    per_ticket = ", ".join(
        f"count(*) FILTER (WHERE x.rank <= {int(k)}) AS j{int(k)}, "
        f"count(*) FILTER (WHERE x.rank <= {int(k)} AND x.feedback = 'helpful') AS h{int(k)}" for k in ks)
    totals = ", ".join(f"COALESCE(sum(j{int(k)}), 0), COALESCE(sum(h{int(k)}), 0)" for k in ks)
    sql = f"""SELECT {totals}, count(*), sum(CASE WHEN best IS NULL THEN 0 ELSE 1.0 / best END) FROM (
        SELECT x.ticket_id, {per_ticket}, min(x.rank) FILTER (WHERE x.feedback = 'helpful') AS best
        FROM helpdesk_suggestion x {join}
        WHERE x.ticket_id IS NOT NULL AND x.feedback <> '' AND x.created_at >= %(start)s AND x.created_at < %(end)s
        GROUP BY x.ticket_id) per_ticket"""
    with connection.cursor() as cursor:
        cursor.execute(sql, {"start": p.start, "end": p.end, **params})
        row = cursor.fetchone()
    tickets, reciprocal = row[-2], row[-1]
    at_k = {k: Rate(int(row[2 * i + 1]), int(row[2 * i])) for i, k in enumerate(ks)}
    return Precision(at_k=at_k, mrr=float(reciprocal) / tickets if tickets else None, tickets=tickets,
                     shown_at_most=shown_at_most,
                     left_out=tuple(k for k in asked if k > shown_at_most) if shown_at_most else ())


# --- tickets by language over time ----------------------------------------------------------------

def tickets_by_language(p: Period, *, top: int = 6) -> dict:
    """Ticket counts per day (7-day period) or week, per language; minor languages folded into "other"."""
    trunc = TruncDay if p.days <= 14 else TruncWeek
    qs = Ticket.objects.filter(created_at__gte=p.start, created_at__lt=p.end)
    if p.language:
        qs = qs.filter(language=p.language)
    rows = list(qs.annotate(bucket=trunc("created_at")).values("bucket", "language").annotate(n=Count("id")))
    totals: dict[str, int] = defaultdict(int)
    for r in rows:
        totals[r["language"] or "und"] += r["n"]
    keep = [lang for lang, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]
    buckets = sorted({r["bucket"] for r in rows})
    series = {lang: [0] * len(buckets) for lang in keep}
    index = {b: i for i, b in enumerate(buckets)}
    for r in rows:
        lang = r["language"] or "und"
        if lang not in keep:
            series.setdefault("other", [0] * len(buckets))
            lang = "other"
        series[lang][index[r["bucket"]]] += r["n"]
    return {"labels": [b.date().isoformat() for b in buckets], "series": series, "totals": dict(totals)}


# --- content gaps ---------------------------------------------------------------------------------

@dataclass
class Gap:
    language: str
    example: str
    count: int = 0
    sources: set = field(default_factory=set)
    texts: list = field(default_factory=list)
    words: set = field(default_factory=set)

    @property
    def draft_url(self) -> str:
        from urllib.parse import urlencode

        return reverse("helpdesk:kb-new") + "?" + urlencode({"title": self.example[:200], "locale": self.language,
                                                            "body": "\n".join(self.texts[:5])})


_WORD = re.compile(r"\w{3,}", re.UNICODE)


def _words(text: str) -> set[str]:
    return {w.lower()[:6] for w in _WORD.findall(text)}  # 6-letter prefixes: a crude, language-free stem


def content_gaps(p: Period, *, limit: int = 500, similarity: float = 0.4) -> list[Gap]:
    """Widget queries and tickets with no confident answer, or whose suggestions agents all rejected,
    grouped by language and by similar wording (greedy Jaccard over word stems), largest first."""
    items: list[tuple[str, str, int, set]] = []  # (language, text, times, sources)
    language_filter = "AND language = %(language)s" if p.language else ""
    with connection.cursor() as cursor:
        # Identical wordings are counted in SQL; only distinct texts reach the grouping below.
        cursor.execute(f"""
            SELECT language, COALESCE(data->>'text', '') AS text, count(*),
                   bool_or(ticket_id IS NOT NULL), bool_or(widget_session_id IS NOT NULL)
            FROM helpdesk_event
            WHERE kind = 'no_answer' AND created_at >= %(start)s AND created_at < %(end)s {language_filter}
            GROUP BY 1, 2 ORDER BY 3 DESC, 2 LIMIT %(limit)s""",
            {"start": p.start, "end": p.end, "language": p.language, "limit": limit})
        for lang, text, times, from_ticket, from_widget in cursor.fetchall():
            items.append((lang, text, times, ({"ticket"} if from_ticket else set()) | ({"widget"} if from_widget else set())))
        # Tickets whose judged suggestions were all rejected; grouped on the suggestion table alone,
        # then joined to their tickets (at most `limit`).
        ticket_filter = ("AND ticket_id IN (SELECT id FROM helpdesk_ticket WHERE language = %(language)s)"
                         if p.language else "")
        cursor.execute(f"""
            SELECT t.language, t.subject FROM (
                SELECT ticket_id FROM helpdesk_suggestion
                WHERE ticket_id IS NOT NULL AND feedback <> '' AND created_at >= %(start)s AND created_at < %(end)s
                  {ticket_filter}
                GROUP BY ticket_id HAVING bool_and(feedback <> 'helpful')
                ORDER BY ticket_id DESC LIMIT %(limit)s
            ) r JOIN helpdesk_ticket t ON t.id = r.ticket_id ORDER BY t.id DESC""",
            {"start": p.start, "end": p.end, "language": p.language, "limit": limit})
        for lang, subject in cursor.fetchall():
            items.append((lang, subject, 1, {"rejected"}))
    groups: dict[str, list[Gap]] = defaultdict(list)
    for lang, text, times, sources in items:
        text = " ".join((text or "").split())
        if not text:
            continue
        words = _words(text)
        for gap in groups[lang]:
            union = len(words | gap.words) or 1
            if len(words & gap.words) / union >= similarity:
                break
        else:
            gap = Gap(language=lang, example=text, words=set(words))
            groups[lang].append(gap)
        gap.count += times
        gap.sources |= sources
        if text not in gap.texts:
            gap.texts.append(text)
    return sorted((g for gs in groups.values() for g in gs), key=lambda g: (-g.count, g.language, g.example))


# --- asked in one language, answered only in another ----------------------------------------------

@dataclass
class GapArticle:
    article_id: int
    title: str
    locale: str
    translate_to: str  # the translation to write: its gap's `translate_to`
    shown: int = 0  # confident suggestions of it shown to askers in that language
    sessions: int = 0
    tickets: int = 0

    @property
    def askers(self) -> int:
        return self.sessions + self.tickets

    @property
    def translate_url(self) -> str:
        from urllib.parse import urlencode

        return reverse("helpdesk:kb-edit", args=[self.article_id]) + "?" + urlencode({"locale": self.translate_to})


@dataclass
class TranslationGap:
    """Questions asked in `asked` answered with articles in `answered` that have no published
    translation in `asked` (base languages: es-MX counts as es)."""

    asked: str
    answered: str
    translate_to: str  # the askers' language as a shipped code where there is one (es-MX → es), the most used
    shown: int = 0
    sessions: int = 0
    tickets: int = 0
    articles: list[GapArticle] = field(default_factory=list)  # most askers first

    @property
    def askers(self) -> int:
        return self.sessions + self.tickets


def translation_gaps(p: Period, *, threshold: float | None = None, articles_per_gap: int = 5) -> list[TranslationGap]:
    """Confident suggestions shown in the period (widget questions and tickets) whose article's
    translation group has, now, no published translation in the asker's language, grouped by
    (asked language, shown article's language); the most widget sessions plus tickets first, so the
    first rows are the translations to write first. Each gap keeps its `articles_per_gap` most asked.

    Only suggestions at or above the confidence threshold (default: the effective one) count: the
    widget shows no others, and an agent's low suggestions are mostly not the answer. "Now" because
    a translation written since answers the next asker: its rows leave the report at once.
    """
    from embeddings.language import base_language, same_language
    from helpdesk.languages import shipped_language
    from helpdesk.services.desk_settings import current_confidence_threshold

    threshold = current_confidence_threshold() if threshold is None else threshold
    params = {"start": p.start, "end": p.end, "threshold": threshold, "language": p.language}
    shown_in_period = """s.created_at >= %(start)s AND s.created_at < %(end)s AND s.confidence >= %(threshold)s
              AND s.query_language <> ''""" + (" AND s.query_language = %(language)s" if p.language else "")
    with connection.cursor() as cursor:
        cursor.execute(f"""SELECT s.query_language, s.article_id, count(*) FROM helpdesk_suggestion s
            WHERE {shown_in_period} GROUP BY 1, 2""", params)
        pairs = cursor.fetchall()
    if not pairs:
        return []
    articles = Article.objects.only("id", "title", "locale", "translation_group").in_bulk({a for _l, a, _n in pairs})
    published: dict = defaultdict(list)
    for group, locale in Article.objects.filter(
            translation_group__in={a.translation_group for a in articles.values()},
            status=Article.Status.PUBLISHED).values_list("translation_group", "locale"):
        published[group].append(locale)

    keys: dict[tuple[str, str], int] = {}
    tags: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))  # gap → asked tag → times
    chosen = []  # (asked tag, article id, gap index)
    for tag, article_id, times in pairs:
        article = articles.get(article_id)
        if article is None or same_language(article.locale, tag):
            continue
        if any(same_language(locale, tag) for locale in published[article.translation_group]):
            continue
        key = (base_language(tag), base_language(article.locale))
        index = keys.setdefault(key, len(keys))
        tags[index][shipped_language(tag) or tag] += times
        chosen.append((tag, article_id, index))
    if not chosen:
        return []
    gaps = []
    for (asked, answered), index in keys.items():
        used = tags[index]
        gaps.append(TranslationGap(asked=asked, answered=answered,
                                   translate_to=max(sorted(used), key=lambda t: used[t])))
    # Distinct sessions and tickets per gap and per article in it, in one pass over the chosen rows.
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT c.gap, CASE WHEN GROUPING(s.article_id) = 0 THEN s.article_id END, count(*),
                   count(DISTINCT s.widget_session_id), count(DISTINCT s.ticket_id)
            FROM helpdesk_suggestion s
            JOIN unnest(%(tags)s::text[], %(articles)s::bigint[], %(gaps)s::int[]) AS c(tag, article_id, gap)
              ON c.tag = s.query_language AND c.article_id = s.article_id
            WHERE {shown_in_period}
            GROUP BY GROUPING SETS ((c.gap), (c.gap, s.article_id))""",
                       {**params, "tags": [c[0] for c in chosen], "articles": [c[1] for c in chosen],
                        "gaps": [c[2] for c in chosen]})
        for index, article_id, shown, sessions, tickets in cursor.fetchall():
            gap = gaps[index]
            if article_id is None:
                gap.shown, gap.sessions, gap.tickets = shown, sessions, tickets
            else:
                article = articles[article_id]
                gap.articles.append(GapArticle(article_id=article_id, title=article.title, locale=article.locale,
                                               translate_to=gap.translate_to, shown=shown, sessions=sessions,
                                               tickets=tickets))
    for gap in gaps:
        gap.articles.sort(key=lambda a: (-a.askers, -a.shown, a.title.lower(), a.article_id))
        del gap.articles[articles_per_gap:]
    return sorted(gaps, key=lambda g: (-g.askers, -g.shown, g.asked, g.answered))


# --- translation coverage -------------------------------------------------------------------------

@dataclass
class CoverageRow:
    source: Article
    cells: dict  # locale -> ("missing" | "current" | "outdated", Article | None)


def translation_coverage(*, locales: list[str] | None = None) -> tuple[list[str], list[CoverageRow]]:
    """For each translation group, which locales exist and which are older than the source.

    The source is the group's oldest article; a translation is outdated when the source was
    updated after it.
    """
    articles = list(Article.objects.order_by("created_at", "id").only(
        "id", "title", "locale", "translation_group", "status", "created_at", "updated_at"))
    locales = locales or sorted({a.locale for a in articles})
    groups: dict = defaultdict(list)
    for a in articles:
        groups[a.translation_group].append(a)
    rows = []
    for members in groups.values():
        source = members[0]
        by_locale = {a.locale: a for a in members}
        cells = {}
        for loc in locales:
            a = by_locale.get(loc)
            if a is None:
                cells[loc] = ("missing", None)
            elif a is source or a.updated_at >= source.updated_at:
                cells[loc] = ("current", a)
            else:
                cells[loc] = ("outdated", a)
        rows.append(CoverageRow(source=source, cells=cells))
    rows.sort(key=lambda r: r.source.title.lower())
    return locales, rows


# --- pipeline health ------------------------------------------------------------------------------

def pipeline_health(p: Period | None = None) -> dict:
    """Chunks waiting for the encoder that answers queries, failures, encoders in use, save→embedded
    lag, and a switch of encoder in progress (`switch`: the new encoder and how many passages have
    its vectors; None when not switching).

    Lag is embedded_at − updated_at: `updated_at` is set when a passage is saved, and the worker's
    update does not touch it.
    """
    from helpdesk import encoders

    name, target = encoders.active_encoder_name(), encoders.encoder_name()
    counts = Chunk.objects.aggregate(
        total=Count("id"),
        embedded=Count("id", filter=Q(encoder=name)),
        failed=Count("id", filter=~Q(encoder=name) & ~Q(embed_error="")),
    )
    counts["waiting"] = counts["total"] - counts["embedded"] - counts["failed"]
    in_use = dict(Chunk.objects.exclude(encoder="").values_list("encoder").annotate(n=Count("id")).order_by("-n"))
    start = p.start if p else timezone.now() - timedelta(days=30)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s), percentile_cont(0.95) WITHIN GROUP (ORDER BY s),"
            " count(*) FROM (SELECT extract(epoch FROM embedded_at - updated_at) AS s FROM helpdesk_chunk"
            " WHERE embedded_at IS NOT NULL AND embedded_at >= %s) lag",
            [start],
        )
        median, p95, measured = cursor.fetchone()
    switch = None
    if target != name:
        staged = Chunk.objects.filter(next_encoder=target).count()
        switch = {"to": target, "staged": staged, "total": counts["total"],
                  "percent": int(100 * staged / counts["total"]) if counts["total"] else 100}
    return {"encoder": name, "configured_encoder": target, "switch": switch, **counts, "encoders": in_use,
            "lag_median_s": median, "lag_p95_s": p95, "lag_measured": measured}


def article_embedding_state(article: Article) -> dict:
    """pending / embedded / failed for one article's passages, by the encoder that answers queries."""
    from helpdesk.encoders import active_encoder_name

    name = active_encoder_name()
    chunks = list(article.chunks.values_list("encoder", "embed_error"))
    embedded = sum(1 for enc, _ in chunks if enc == name)
    failed = sum(1 for enc, err in chunks if enc != name and err)
    state = "failed" if failed else ("embedded" if chunks and embedded == len(chunks) else "pending")
    return {"state": state, "encoder": name, "passages": len(chunks), "embedded": embedded, "failed": failed,
            "errors": sorted({err for enc, err in chunks if err})[:3]}


# --- the confidence threshold's effect ------------------------------------------------------------

def threshold_preview(*, threshold: float, days: int = 30, now: datetime | None = None) -> dict:
    """What `threshold` would have done to the last `days` days, counted as the metrics page counts.

    `widget`: sessions with a question (the metrics page's "sessions with a query": a session may
    ask several questions) and how many would have shown suggestions, i.e. whose best confidence
    reaches `threshold`. `tickets`: tickets with suggestions, and how many would have had a
    confident one (what acknowledgement emails offer). A session's or ticket's best confidence is its
    best Suggestion row's, or the `best_confidence` its showing events recorded (a widget query that
    showed nothing has no Suggestion rows).
    `judged`: where agents marked suggestions, the no-answer figures of `evaluate_retrieval`
    (`helpdesk.no_answer`) over those tickets; None without any.
    """
    end = now or timezone.now()
    since = end - timedelta(days=days)
    params = {"t": threshold, "since": since, "end": end}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH asked AS (
                SELECT DISTINCT widget_session_id AS sid FROM helpdesk_event
                WHERE kind = 'query' AND widget_session_id IS NOT NULL
                  AND created_at >= %(since)s AND created_at < %(end)s
            ), best AS (
                SELECT sid, max(c) AS c FROM (
                    SELECT widget_session_id AS sid, confidence AS c FROM helpdesk_suggestion
                    WHERE widget_session_id IS NOT NULL AND created_at >= %(since)s AND created_at < %(end)s
                    UNION ALL
                    SELECT widget_session_id, (data->>'best_confidence')::float FROM helpdesk_event
                    WHERE kind IN ('suggestions_shown', 'no_answer') AND widget_session_id IS NOT NULL
                      AND created_at >= %(since)s AND created_at < %(end)s
                ) x GROUP BY sid
            )
            SELECT count(*), count(*) FILTER (WHERE b.c >= %(t)s) FROM asked a LEFT JOIN best b ON b.sid = a.sid
            """,
            params,
        )
        sessions, sessions_shown = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE c >= %(t)s) FROM (
                SELECT tid, max(c) AS c FROM (
                    SELECT ticket_id AS tid, confidence AS c FROM helpdesk_suggestion
                    WHERE ticket_id IS NOT NULL AND created_at >= %(since)s AND created_at < %(end)s
                    UNION ALL
                    SELECT ticket_id, COALESCE((data->>'best_confidence')::float, 0) FROM helpdesk_event
                    WHERE kind = 'no_answer' AND ticket_id IS NOT NULL
                      AND created_at >= %(since)s AND created_at < %(end)s
                ) x GROUP BY tid
            ) per_ticket
            """,
            params,
        )
        tickets, tickets_shown = cursor.fetchone()
    return {"threshold": threshold, "days": days,
            "widget": {"sessions": sessions, "would_show": sessions_shown, "would_be_gaps": sessions - sessions_shown},
            "tickets": {"tickets": tickets, "would_show": tickets_shown},
            "judged": judged_no_answer(threshold=threshold, since=since, end=end)}


def judged_no_answer(*, threshold: float, since: datetime, end: datetime) -> dict | None:
    """The no-answer figures at `threshold` over tickets whose suggestions agents judged.

    A ticket is answerable when an agent marked one of its suggestions helpful, unanswerable when
    every judged one was marked not helpful. Its suggestions are those of its latest showing (top
    SUGGESTION_LIMIT), right when marked helpful, or unmarked and of an article marked helpful there.
    """
    from helpdesk import conf, no_answer

    rows = list(Suggestion.objects.filter(ticket__isnull=False, created_at__gte=since, created_at__lt=end,
                                          ticket__suggestions__feedback__in=["helpful", "not_helpful"])
                .distinct().values_list("ticket_id", "article_id", "rank", "confidence", "feedback", "created_at"))
    if not rows:
        return None
    by_ticket: dict[int, list] = defaultdict(list)
    for row in rows:
        by_ticket[row[0]].append(row)
    limit = conf.get("SUGGESTION_LIMIT")
    judged = []
    for ticket_rows in by_ticket.values():
        helpful = {article for _, article, _, _, feedback, _ in ticket_rows if feedback == "helpful"}
        latest = max(row[5] for row in ticket_rows)
        shown = sorted((row for row in ticket_rows if row[5] == latest), key=lambda row: row[2])[:limit]
        judged.append(no_answer.Judged(
            answerable=bool(helpful),
            # An agent's mark on the row itself decides; an unmarked row is right when its article helped.
            suggestions=tuple((confidence, feedback == "helpful" or (not feedback and article in helpful))
                              for _, article, _, confidence, feedback, _ in shown)))
    return no_answer.tally(judged, threshold)


# --- the whole page, cached per data version --------------------------------------------------------

SNAPSHOT_SECONDS = 60


def data_version() -> tuple:
    """Highest ids of the rows the figures are computed from: any new event, suggestion, ticket or
    session changes it (agent feedback writes an Event, so a mark changes it too). The newest event
    time is part of it, so a database rebuilt with the same ids does not meet an old snapshot."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT (SELECT max(id) FROM helpdesk_event), (SELECT max(id) FROM helpdesk_suggestion),
                                 (SELECT max(id) FROM helpdesk_ticket), (SELECT max(id) FROM helpdesk_widgetsession),
                                 (SELECT extract(epoch FROM max(created_at)) FROM helpdesk_event)""")
        return tuple(cursor.fetchone())


def snapshot_key(p: Period) -> str:
    """The cache key of `p`'s figures: hashed, since the language filter comes from the query string
    (any characters, any length: a memcached backend refuses such keys)."""
    parts = ":".join(map(str, (connection.settings_dict["NAME"], p.days, p.language, *data_version())))
    return "helpdesk:metrics:" + hashlib.sha256(parts.encode("utf-8", "surrogatepass")).hexdigest()


def metrics_snapshot(p: Period) -> dict:
    """Every figure of the metrics page for `p`, reused for SNAPSHOT_SECONDS while no data changes.

    Pipeline health is not included: it moves without new events and costs little.
    """
    from django.core.cache import cache

    from helpdesk.selectors.email_metrics import email_figures

    key = snapshot_key(p)
    snapshot = _cached(cache.get, key)
    if snapshot is None:
        snapshot = {
            "widget": widget_figures(p),
            "email": email_figures(p),  # selectors/email_metrics.py
            "self_service": self_service(p),
            "acceptance": agent_acceptance(p),
            "precision": suggestion_precision(p),
            "over_time": tickets_by_language(p),
            "gaps": content_gaps(p)[:25],
            "translation_gaps": translation_gaps(p)[:25],
        }
        _cached(cache.set, key, snapshot, SNAPSHOT_SECONDS)
    return snapshot


def _cached(operation, *args):
    """Run a cache operation; with the cache (Redis) unreachable, compute without it instead of failing."""
    import redis

    try:
        return operation(*args)
    except (redis.RedisError, OSError) as exc:
        logger.warning("metrics cache unavailable, figures computed afresh: %s", exc)
        return None
