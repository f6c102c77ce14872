"""Across languages: an answer shown in another language than the question's is marked where it is
shown (the agents' panel here; the widget in tests/browser/test_widget_languages.py) and counted on
the metrics page as "asked in X, answered only in Y", the translations to write first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.models import Article, Suggestion
from helpdesk.selectors import metrics
from helpdesk.services.knowledge import save_article
from helpdesk.services.tickets import open_ticket
from helpdesk.services.widget import save_site, start_session
from tests.dashboard_support import admin_client_, admin_user_, agent, agent_client, hashing_encoder  # noqa: F401
from tests.widget_support import load_kb, site  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
PUBLISHED = Article.Status.PUBLISHED


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def shown_across_languages(now, hashing_encoder):
    """Widget sessions and tickets shown articles, some in another language than the question's."""
    reset_en = save_article(title="Reset your password", body="Choose Forgot password.", locale="en", status=PUBLISHED)
    reset_es = save_article(title="Restablecer la contraseña", body="Elige Olvidé mi contraseña.", locale="es",
                            status=PUBLISHED, translation_group=reset_en.translation_group)
    track_en = save_article(title="Track your order", body="Open Orders and choose Track.", locale="en",
                            status=PUBLISHED)
    # A French draft is no translation a customer can be shown: French askers still get English.
    save_article(title="Suivre votre commande", body="Ouvrez Commandes.", locale="fr", status=Article.Status.DRAFT,
                 translation_group=track_en.translation_group)
    refund_en = save_article(title="When is my refund paid", body="Within five days.", locale="en", status=PUBLISHED)
    invoice_pt = save_article(title="Fatura", body="Abra Pedidos e escolha Fatura.", locale="pt", status=PUBLISHED)
    site = save_site(name="Shop", allowed_origins="https://shop.example.com")
    t0 = now - timedelta(days=3)

    def show(article, confidence=0.8, *, language, session=None, ticket=None, at=t0):
        row = Suggestion.objects.create(widget_session=session, ticket=ticket, article=article, rank=1, score=confidence,
                                        confidence=confidence, query="q", query_language=language)
        Suggestion.objects.filter(pk=row.pk).update(created_at=at)

    def session(visitor, language, at=t0):
        return start_session(site=site, visitor_id=visitor, language=language, at=at)

    s1, s2, s3, s4 = session("v1", "es"), session("v2", "es-MX"), session("v3", "es"), session("v4", "de")
    show(track_en, language="es", session=s1)
    show(track_en, language="es-MX", session=s2)
    show(track_en, language="es-MX", session=s2)  # asked twice in one session: shown twice, one session
    show(refund_en, 0.6, language="es-MX", session=s2)
    show(reset_en, language="es", session=s1)  # a Spanish translation is published: no gap
    show(reset_es, language="es", session=s3)  # in the asker's own language
    show(track_en, 0.1, language="de", session=s4)  # below the threshold: not what a customer is shown
    show(track_en, language="es", session=session("v5", "es", now - timedelta(days=40)),
         at=now - timedelta(days=40))  # outside the period
    ticket_fr = open_ticket(subject="Où est ma commande ?", requester_email="a@example.fr", body="Où ?", language="fr")
    show(track_en, 0.9, language="fr", ticket=ticket_fr)
    ticket_br = open_ticket(subject="Fatura", requester_email="b@example.br", body="Fatura?", language="pt-BR")
    show(invoice_pt, language="pt-BR", ticket=ticket_br)  # pt for pt-BR is the asker's language
    return {"track": track_en, "refund": refund_en, "reset": reset_en}


def test_gaps_count_questions_answered_only_in_another_language_most_asked_first(shown_across_languages, now):
    gaps = metrics.translation_gaps(metrics.period(days=30, now=now), threshold=0.35)
    assert [(g.asked, g.answered) for g in gaps] == [("es", "en"), ("fr", "en")]
    spanish, french = gaps
    assert (spanish.sessions, spanish.tickets, spanish.shown) == (2, 0, 4)
    assert (french.sessions, french.tickets, french.shown) == (0, 1, 1)
    # The articles to translate, the most asked first; es-MX askers want the shipped Spanish, es.
    track, refund = shown_across_languages["track"], shown_across_languages["refund"]
    assert [(a.article_id, a.sessions, a.shown) for a in spanish.articles] == [(track.pk, 2, 3), (refund.pk, 1, 1)]
    assert spanish.translate_to == "es"
    assert spanish.articles[0].translate_url == f"/desk/kb/{track.pk}/edit/?locale=es"
    assert french.articles[0].translate_url == f"/desk/kb/{track.pk}/edit/?locale=fr"


def test_a_published_translation_closes_the_gap_and_the_language_filter_narrows_it(shown_across_languages, now):
    track = shown_across_languages["track"]
    french = Article.objects.get(translation_group=track.translation_group, locale="fr")
    french.status = PUBLISHED
    french.save(update_fields=["status"])
    assert [(g.asked, g.answered) for g in metrics.translation_gaps(metrics.period(days=30, now=now),
                                                                     threshold=0.35)] == [("es", "en")]
    only_es_mx = metrics.translation_gaps(metrics.period(days=30, language="es-MX", now=now), threshold=0.35)
    assert [(g.asked, g.sessions, g.shown) for g in only_es_mx] == [("es", 1, 3)]
    # A lower threshold counts the German question's weak suggestion too; a short period drops all.
    assert ("de", "en") in {(g.asked, g.answered) for g in
                            metrics.translation_gaps(metrics.period(days=30, now=now), threshold=0.05)}
    assert metrics.translation_gaps(metrics.period(days=1, now=now), threshold=0.35) == []


def test_metrics_page_lists_the_gaps_with_links_to_write_each_translation(admin_client_, shown_across_languages):
    html = admin_client_.get("/desk/metrics/").content.decode()
    section = html.split('id="translation-gaps"', 1)[1].split("</section>", 1)[0]
    assert "Asked in one language, answered only in another" in html
    rows = section.split("<tr data-asked=")[1:]
    assert [row[:20] for row in rows] == ['"es" data-answered="', '"fr" data-answered="']
    track = shown_across_languages["track"]
    assert f'href="/desk/kb/{track.pk}/edit/?locale=es"' in rows[0] and "Track your order" in rows[0]
    assert f'href="/desk/kb/{track.pk}/edit/?locale=fr"' in rows[1]
    assert "Spanish" in rows[0] and "English" in rows[0]


def test_metrics_page_says_when_every_question_was_answered_in_its_own_language(admin_client_, hashing_encoder):
    html = admin_client_.get("/desk/metrics/").content.decode()
    assert "No question was answered only in another language in this period." in html


@pytest.fixture
def english_only_kb(hashing_encoder):
    # Track-order exists in English only; reset-password in English and Spanish.
    load_kb(keys=("reset-password",), locales=("en", "es"))
    return load_kb(keys=("track-order",), locales=("en",))


def panel_html(client, ticket) -> str:
    response = client.get(f"/desk/tickets/{ticket.pk}/suggestions/")
    assert response.status_code == 200
    return response.content.decode()


def test_ticket_panel_marks_a_suggestion_shown_in_another_language_than_the_tickets(agent_client, english_only_kb):
    ticket = open_ticket(subject="¿Dónde está mi pedido?", requester_email="ana@example.es", language="es",
                         body="¿Dónde está mi pedido? Quiero rastrear mi paquete, el número de seguimiento no funciona.")
    html = panel_html(agent_client, ticket)
    rows = {s.article.locale: s for s in Suggestion.objects.filter(ticket=ticket).select_related("article")}
    assert "en" in rows and "es" in rows  # the English-only article and a Spanish one were both shown
    items = {s.pk: html.split(f'id="suggestion-{s.pk}"', 1)[1].split("</li>", 1)[0] for s in rows.values()}
    english = items[rows["en"].pk]
    assert 'class="badge other-language"' in english and 'data-locale="en"' in english
    assert "English" in english and "Article language:" in english
    assert "other-language" not in items[rows["es"].pk]


def test_ticket_panel_badge_names_the_language_in_the_agents_language(client, agent, english_only_kb):
    client.force_login(agent)
    ticket = open_ticket(subject="¿Dónde está mi pedido?", requester_email="ana@example.es", language="es",
                         body="¿Dónde está mi pedido? Quiero rastrear mi paquete.")
    html = client.get(f"/desk/tickets/{ticket.pk}/suggestions/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Inglés" in html or "inglés" in html
    assert 'lang="es"' in html.split('class="badge other-language"', 1)[1].split(">", 1)[0]


def test_ticket_panel_does_not_mark_a_regional_variant_of_the_tickets_language(agent_client, hashing_encoder):
    save_article(title="Como rastrear o pedido", body="Abra Pedidos e escolha Rastrear o pedido.", locale="pt",
                 status=PUBLISHED)
    ticket = open_ticket(subject="Rastrear pedido", requester_email="b@example.br", language="pt-BR",
                         body="Como rastrear o pedido? Abra Pedidos e escolha Rastrear.")
    from helpdesk.services.knowledge import embed_chunks, pending_chunk_ids

    embed_chunks(chunk_ids=pending_chunk_ids())
    html = panel_html(agent_client, ticket)
    assert "Como rastrear o pedido" in html
    assert "other-language" not in html


def test_the_widget_api_marks_results_in_another_language_than_the_questions(client, site):
    from tests.test_widget_api import new_session, post, url
    from tests.widget_support import HOST_ORIGIN

    # The real encoder at the shipped threshold.
    kb = load_kb(keys=("track-order",), locales=("en", "pt"))
    english, portuguese = kb[("track-order", "en")], kb[("track-order", "pt")]
    session = new_session(client, site)
    asked = post(client, site, "queries/", {"session": session, "q": "¿Dónde está mi pedido? Quiero rastrear mi paquete."})
    first = asked.json()["results"][0]
    assert asked.json()["language"] == "es"
    assert (first["article_id"], first["locale"], first["other_language"]) == (english.pk, "en", True)
    typed = client.get(url(site, "suggest/"), {"q": "Onde está o meu pedido? Quero rastrear o pacote.",
                                               "locale": "pt-BR"}, HTTP_ORIGIN=HOST_ORIGIN).json()
    assert (typed["results"][0]["article_id"], typed["results"][0]["other_language"]) == (portuguese.pk, False)
