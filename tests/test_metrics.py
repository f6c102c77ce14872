"""Every metric of the dashboard, computed from a small journey whose figures are known by hand."""

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.models import Article, Chunk, Event, Suggestion, Ticket
from helpdesk.selectors import metrics
from helpdesk.services.feedback import insert_suggestion, mark_suggestion
from helpdesk.services.knowledge import embed_chunks, save_article
from helpdesk.services.tickets import open_ticket
from helpdesk.services.widget import save_site, start_session
from tests.dashboard_support import admin_client_, admin_user_, agent, agent_client, hashing_encoder  # noqa: F401

pytestmark = pytest.mark.django_db
K = Event.Kind


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def journey(now, hashing_encoder):
    """Five widget sessions with a query in the period, one outside it, three tickets with agent feedback."""
    site = save_site(name="Shop", allowed_origins="https://shop.example.com")
    article = save_article(title="Reset your password", body="Open sign-in and choose Forgot password.",
                           locale="en", status=Article.Status.PUBLISHED)
    t0 = now - timedelta(days=10)

    def session(visitor, language, at):
        return start_session(site=site, visitor_id=visitor, language=language, at=at)

    def event(kind, s, at, **kw):
        return Event.objects.create(kind=kind, widget_session=s, language=s.language, created_at=at, **kw)

    s1, s2, s3, s4, s5 = (session(f"v{i}", lang, t0) for i, lang in enumerate(["es", "es", "en", "en", "en"], 1))
    for s in (s1, s2, s3, s4, s5):
        event(K.QUERY, s, t0, data={"text": "q"})
    for s, best in ((s1, 0.9), (s2, 0.5), (s3, 0.7), (s5, 0.45)):
        event(K.SUGGESTIONS_SHOWN, s, t0, data={"best_confidence": best})
        event(K.ARTICLE_OPENED, s, t0 + timedelta(minutes=1), article=article)
    event(K.VOTE_HELPFUL, s1, t0 + timedelta(minutes=2))
    event(K.NO_ANSWER, s4, t0, data={"text": "How do I change my shipping address", "best_confidence": 0.1})
    event(K.NO_ANSWER, s4, t0, data={"text": "how to change shipping address?", "best_confidence": 0.3})
    event(K.NO_ANSWER, s4, t0, data={"text": "Can I pay with bitcoin", "best_confidence": 0.0})
    old = session("v6", "en", now - timedelta(days=40))
    event(K.QUERY, old, now - timedelta(days=40))

    # s2 files a ticket itself; v3 files one from a second session within 24 h; v5 only after 30 h.
    t1 = open_ticket(subject="Password reset mail never came", requester_email="a@example.com", body="No mail",
                     widget_session=s2, language="es", at=t0 + timedelta(hours=2))
    s3b = session("v3", "en", t0 + timedelta(hours=5))
    t2 = open_ticket(subject="Still locked out", requester_email="b@example.com", body="Locked",
                     widget_session=s3b, language="en", at=t0 + timedelta(hours=5))
    t3 = open_ticket(subject="Invoice in euros", requester_email="a@example.com", body="Need an invoice",
                     widget_session=s5, language="en", at=t0 + timedelta(hours=30))

    def shown(ticket, confidences):
        Event.objects.create(kind=K.SUGGESTIONS_SHOWN, ticket=ticket, language=ticket.language, created_at=t0)
        rows = [Suggestion.objects.create(ticket=ticket, article=article, rank=r, score=c, confidence=c, query="q")
                for r, c in enumerate(confidences, 1)]
        Suggestion.objects.filter(ticket=ticket).update(created_at=t0)
        return rows

    r1, r2, r3 = shown(t1, [0.9, 0.6, 0.5]), shown(t2, [0.5, 0.45]), shown(t3, [0.2])
    mark_suggestion(suggestion=r1[0], helpful=True, at=t0 + timedelta(days=2))
    mark_suggestion(suggestion=r1[1], helpful=False, at=t0 + timedelta(days=2))
    mark_suggestion(suggestion=r2[0], helpful=False, at=t0 + timedelta(days=2))
    mark_suggestion(suggestion=r2[1], helpful=True, at=t0 + timedelta(days=2))
    mark_suggestion(suggestion=r3[0], helpful=False, at=t0 + timedelta(days=2))
    insert_suggestion(suggestion=r1[2], at=t0 + timedelta(days=2))
    return {"tickets": (t1, t2, t3), "article": article}


def test_widget_funnel_and_deflection_rates(journey, now):
    figures = metrics.widget_figures(metrics.period(days=30, now=now))
    total = figures[""]
    assert total.funnel == [("query", 5), ("shown", 4), ("opened", 4), ("resolved", 2)]
    assert (total.explicit_deflection.numerator, total.explicit_deflection.denominator) == (1, 5)
    # s1 and s5 opened an article with no ticket from the same visitor within 24 h.
    assert (total.implicit_deflection.numerator, total.implicit_deflection.denominator) == (2, 5)
    assert total.implicit_deflection.percent == "40.0%"
    assert (figures["es"].sessions_with_query, figures["es"].voted_helpful, figures["es"].implicitly_deflected) == (2, 1, 1)
    assert (figures["en"].sessions_with_query, figures["en"].voted_helpful, figures["en"].implicitly_deflected) == (3, 0, 1)


def test_widget_figures_for_one_language_and_a_short_period(journey, now):
    assert metrics.widget_figures(metrics.period(days=30, language="es", now=now))[""].sessions_with_query == 2
    assert metrics.widget_figures(metrics.period(days=7, now=now))[""].sessions_with_query == 0
    assert metrics.widget_figures(metrics.period(days=90, now=now))[""].sessions_with_query == 6


def test_self_service_score_and_article_views_per_ticket(journey, now):
    figures = metrics.self_service(metrics.period(days=30, now=now))
    assert (figures.sessions, figures.requesters, figures.article_views, figures.tickets) == (6, 2, 4, 3)
    assert figures.score.value == 3.0
    assert figures.views_per_ticket.numerator == 4 and figures.views_per_ticket.denominator == 3


def test_agent_acceptance_counts_tickets_with_an_insert_or_a_helpful_mark(journey, now):
    rate = metrics.agent_acceptance(metrics.period(days=30, now=now))
    assert (rate.numerator, rate.denominator) == (2, 3)
    es = metrics.agent_acceptance(metrics.period(days=30, language="es", now=now))
    assert (es.numerator, es.denominator) == (1, 1)


def test_precision_at_k_and_mrr_from_agent_feedback(journey, now):
    p = metrics.suggestion_precision(metrics.period(days=30, now=now))
    # The panel showed at most 3 suggestions: precision@5 would repeat precision@3, so it is not given.
    assert {k: (r.numerator, r.denominator) for k, r in p.at_k.items()} == {1: (1, 3), 3: (2, 5)}
    assert all(type(r.numerator) is int for r in p.at_k.values())
    assert p.tickets == 3 and p.shown_at_most == 3 and p.left_out == (5,)
    assert p.mrr == pytest.approx((1 + 1 / 2 + 0) / 3)


def test_content_gaps_group_similar_wording_and_rejected_tickets(journey, now):
    gaps = metrics.content_gaps(metrics.period(days=30, now=now))
    summary = [(g.language, g.example, g.count, sorted(g.sources)) for g in gaps]
    assert summary == [
        ("en", "How do I change my shipping address", 2, ["widget"]),
        ("en", "Can I pay with bitcoin", 1, ["widget"]),
        ("en", "Invoice in euros", 1, ["rejected"]),
    ]
    assert gaps[0].texts == ["How do I change my shipping address", "how to change shipping address?"]
    assert gaps[0].draft_url.startswith("/desk/kb/new/?title=How+do+I+change+my+shipping+address")


def test_tickets_by_language_over_time(journey, now):
    data = metrics.tickets_by_language(metrics.period(days=30, now=now))
    assert data["totals"] == {"es": 1, "en": 2}
    assert sum(sum(v) for v in data["series"].values()) == 3


def test_threshold_preview_counts_sessions_as_the_metrics_page_does(journey, now):
    # Widget sessions' best confidences: 0.9, 0.5, 0.7, 0.45 (shown) and 0.3 (s4's best no-answer query);
    # tickets' best: 0.9, 0.5, 0.2.
    preview = metrics.threshold_preview(threshold=0.4)
    assert preview["widget"] == {"sessions": 5, "would_show": 4, "would_be_gaps": 1}
    assert preview["widget"]["sessions"] == metrics.widget_figures(metrics.period(days=30, now=now))[""].sessions_with_query
    assert preview["tickets"] == {"tickets": 3, "would_show": 2}
    assert metrics.threshold_preview(threshold=0.6)["widget"]["would_show"] == 2
    assert metrics.threshold_preview(threshold=0.25)["widget"]["would_be_gaps"] == 0


def test_threshold_preview_judges_the_no_answer_decision_on_tickets_agents_marked(journey):
    # t1 (0.9 helpful, 0.6 not, 0.5 unmarked) and t2 (0.5 not, 0.45 helpful) had an answer; t3 (0.2 not) none.
    judged = metrics.threshold_preview(threshold=0.4)["judged"]
    assert (judged["answerable"], judged["answerable_correct"], judged["answerable_wrong"],
            judged["answerable_held_back"]) == (2, 1.0, 0.0, 0.0)
    assert (judged["unanswerable"], judged["unanswerable_held_back"]) == (1, 1.0)
    # At 0.48 t2 shows only its wrong first suggestion; at 0.1 the unanswerable t3 is shown one too.
    assert metrics.threshold_preview(threshold=0.48)["judged"]["counts"]["wrong"] == 1
    assert metrics.threshold_preview(threshold=0.1)["judged"]["unanswerable_held_back"] == 0.0
    assert metrics.threshold_preview(threshold=0.95)["judged"]["answerable_held_back"] == 1.0


def test_translation_coverage_marks_missing_and_outdated(hashing_encoder):
    source = save_article(title="Track your order", body="Open Orders.", locale="en")
    es = save_article(title="Rastrea tu pedido", body="Abre Pedidos.", locale="es", translation_group=source.translation_group)
    save_article(title="Solo", body="x", locale="ar")
    locales, rows = metrics.translation_coverage()
    assert locales == ["ar", "en", "es"]
    row = next(r for r in rows if r.source == source)
    assert {loc: state for loc, (state, _) in row.cells.items()} == {"ar": "missing", "en": "current", "es": "current"}
    save_article(title="Track your order", body="Open Orders, then Track.", locale="en", article=source)
    row = next(r for r in metrics.translation_coverage()[1] if r.source == source)
    assert row.cells["es"] == ("outdated", es)


def test_pipeline_health_counts_waiting_failed_and_lag(hashing_encoder):
    articles = [save_article(title=f"Article {i}", body=f"Body number {i}.", locale="en") for i in range(5)]
    chunk_ids = list(Chunk.objects.filter(article__in=articles).order_by("id").values_list("id", flat=True))
    assert embed_chunks(chunk_ids=chunk_ids[:3]) == 3
    Chunk.objects.filter(id=chunk_ids[3]).update(embed_error="model exploded", embed_attempts=1)
    saved = timezone.now() - timedelta(hours=1)
    for cid, lag in zip(chunk_ids[:3], (10, 20, 60)):
        Chunk.objects.filter(id=cid).update(updated_at=saved, embedded_at=saved + timedelta(seconds=lag))
    health = metrics.pipeline_health()
    assert (health["total"], health["embedded"], health["waiting"], health["failed"]) == (5, 3, 1, 1)
    assert health["encoder"] == "hashing-256" and health["encoders"] == {"hashing-256": 3}
    assert health["lag_median_s"] == pytest.approx(20.0)
    assert health["lag_p95_s"] == pytest.approx(56.0)
    state = metrics.article_embedding_state(articles[3])
    assert state["state"] == "failed" and state["errors"] == ["model exploded"]
    assert metrics.article_embedding_state(articles[0])["state"] == "embedded"
    assert metrics.article_embedding_state(articles[4])["state"] == "pending"


def test_metrics_page_shows_rates_with_counts(agent_client, journey):
    html = agent_client.get("/desk/metrics/?days=30").content.decode()
    assert "66.7%" in html and "2 of 3 tickets shown suggestions" in html
    assert "How do I change my shipping address" in html
    assert agent_client.get("/desk/metrics/?days=12345").status_code == 200


def test_metrics_page_gives_precision_only_at_the_depths_the_panel_showed(agent_client, journey):
    html = agent_client.get("/desk/metrics/?days=30").content.decode()
    table = html.split('id="precision-table"', 1)[1].split("</table>", 1)[0]
    assert 'data-k="1"' in table and 'data-k="3"' in table and 'data-k="5"' not in table
    assert "showed at most 3 suggestions per ticket in this period, so precision is measured at k ≤ 3 only" in html


def test_threshold_settings_preview_and_bad_input(admin_client_, journey):
    html = admin_client_.get("/desk/settings/preview/?confidence_threshold=0.4").content.decode()
    assert ("of the 5 widget sessions with a question in the last 30 days, <strong>4</strong> would show suggestions "
            "and <strong>1</strong> would say there is no good answer") in html
    assert "counted as on the metrics page" in html
    assert "of the 2 where a suggestion helped" in html
    for bad in ("abc", "1.5", "-0.1", ""):
        response = admin_client_.get(f"/desk/settings/preview/?confidence_threshold={bad}")
        assert response.status_code == 400
        html = response.content.decode()
        assert "Enter a number between 0 and 1" in html and "would show suggestions" not in html
    response = admin_client_.post("/desk/settings/", {"confidence_threshold": "1.5"})
    assert response.status_code == 400
    from helpdesk.models import DeskSettings
    assert not DeskSettings.objects.exists()


def test_metrics_snapshot_is_reused_until_new_data_arrives(journey, now):
    p = metrics.period(days=30)
    first = metrics.metrics_snapshot(p)
    assert metrics.metrics_snapshot(p)["acceptance"] == first["acceptance"]
    t3 = journey["tickets"][2]
    insert_suggestion(suggestion=Suggestion.objects.get(ticket=t3, rank=1))  # writes an Event: new data version
    later = metrics.period(days=30)  # as the next page view would: the insert happened after `p` ended
    assert (metrics.metrics_snapshot(later)["acceptance"].numerator, first["acceptance"].numerator) == (3, 2)


def test_the_metrics_cache_key_is_safe_for_any_cache_backend_whatever_language_is_asked_for():
    # The language filter comes from the query string; memcached refuses keys with control
    # characters, spaces or over 250 bytes (Django warns with CacheKeyWarning).
    import warnings

    from django.core.cache.backends.base import BaseCache, CacheKeyWarning

    hostile = metrics.period(language="HÈ\x9c\tB h\U000cb34a" * 40)
    key = metrics.snapshot_key(hostile)
    assert key != metrics.snapshot_key(metrics.period(language="de"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        BaseCache({}).validate_key(key)
