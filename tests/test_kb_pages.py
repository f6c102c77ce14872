"""Knowledge-base pages: edit beside the source, add a translation, embedding state, drafts from tickets."""

import pytest

from helpdesk.models import Article, Chunk
from helpdesk.services.knowledge import embed_chunks, pending_chunk_ids, save_article
from helpdesk.services.tickets import open_ticket, post_message
from tests.dashboard_support import agent, agent_client, hashing_encoder  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(hashing_encoder):
    article = save_article(title="Track your order", body="Open Orders and follow the carrier link.", locale="en",
                           status=Article.Status.PUBLISHED)
    embed_chunks(chunk_ids=pending_chunk_ids())
    return article


def test_editor_shows_the_source_beside_a_new_translation(agent_client, source):
    html = agent_client.get(f"/desk/kb/{source.pk}/edit/?locale=es").content.decode()
    assert "Open Orders and follow the carrier link." in html  # the source, beside the empty editor
    assert 'name="locale" value="es"' in html


def test_saving_a_translation_joins_the_group_and_is_pending_until_embedded(agent_client, source):
    response = agent_client.post(f"/desk/kb/{source.pk}/edit/?locale=es",
                                 {"title": "Rastrea tu pedido", "body": "Abre Pedidos.", "locale": "es", "category": ""})
    assert response.status_code == 302
    es = Article.objects.get(locale="es")
    assert es.translation_group == source.translation_group and es.status == Article.Status.DRAFT
    html = agent_client.get(f"/desk/kb/{es.pk}/edit/").content.decode()
    assert "Embedding pending" in html and "hashing-256" in html
    embed_chunks(chunk_ids=list(Chunk.objects.filter(article=es).values_list("id", flat=True)))
    assert "Embedded" in agent_client.get(f"/desk/kb/{es.pk}/embedding/").content.decode()


def test_editing_re_embeds_only_after_the_text_changes(agent_client, source):
    # A draft: an agent's edit of a published article waits for review (tests/test_revisions.py).
    source.status = Article.Status.DRAFT
    source.save(update_fields=["status"])
    agent_client.post(f"/desk/kb/{source.pk}/edit/", {"title": source.title, "body": "Open Orders, then Track.",
                                                      "locale": "en", "category": ""})
    assert Chunk.objects.filter(article=source, encoder="").exists()


def test_a_second_article_in_the_same_locale_is_refused(agent_client, source):
    es = save_article(title="Rastrea", body="x", locale="es", translation_group=source.translation_group)
    response = agent_client.post(f"/desk/kb/{source.pk}/edit/",
                                 {"title": "Other", "body": "y", "locale": "es", "category": ""})
    assert response.status_code == 400 and "already has a es version" in response.content.decode()
    source.refresh_from_db(); es.refresh_from_db()
    assert (source.locale, source.title, es.title) == ("en", "Track your order", "Rastrea")


def test_bad_locale_is_refused(agent_client, source):
    response = agent_client.post(f"/desk/kb/{source.pk}/edit/", {"title": "T", "body": "b", "locale": "klingon!!"})
    assert response.status_code == 400
    source.refresh_from_db()
    assert source.title == "Track your order"


def test_coverage_page_links_missing_translations(agent_client, source):
    save_article(title="Solo árabe", body="x", locale="ar")
    html = agent_client.get("/desk/kb/coverage/").content.decode()
    assert f'/desk/kb/{source.pk}/edit/?locale=ar">missing</a>' in html


def test_draft_from_a_solved_ticket_is_prefilled_with_the_conversation(agent_client, agent, source):
    ticket = open_ticket(subject="Gift cards?", requester_email="a@example.com", body="Do you sell gift cards?", language="en")
    post_message(ticket=ticket, author_kind="agent", author=agent, body="Not yet; we plan to next spring.")
    html = agent_client.get(f"/desk/kb/new/?ticket={ticket.pk}").content.decode()
    assert 'value="Gift cards?"' in html and "Do you sell gift cards?" in html and "next spring" in html
    response = agent_client.post("/desk/kb/new/", {"title": "Gift cards", "body": "Not yet.", "locale": "en"})
    assert response.status_code == 302
    assert Article.objects.get(title="Gift cards").status == Article.Status.DRAFT


def test_kb_list_filters_by_locale_and_search(agent_client, source):
    save_article(title="Rastrea tu pedido", body="x", locale="es")
    html = agent_client.get("/desk/kb/?locale=es").content.decode()
    assert "Rastrea tu pedido" in html and "Track your order" not in html
    assert "Track your order" in agent_client.get("/desk/kb/?q=carrier").content.decode()


def test_kb_list_shows_each_article_once_with_its_translations_by_category(agent_client, source):
    Article.objects.filter(pk=source.pk).update(category="orders")
    es = save_article(title="Rastrea tu pedido", body="x", locale="es", translation_group=source.translation_group,
                      category="orders")
    save_article(title="Cambiar la contraseña", body="y", locale="es", category="account")
    html = agent_client.get("/desk/kb/").content.decode()
    # Categories in order, each a heading; the Spanish translation is a chip on the English article's row.
    assert html.index("<h2>Account</h2>") < html.index("<h2>Orders</h2>") < html.index("Track your order")
    assert html.count("<tr>") - html.count("<thead><tr>") == 2  # two articles, not three rows
    assert f'href="/desk/kb/{es.pk}/" lang="es"' in html and "Rastrea tu pedido" in html
    assert "2 articles" in html
    # The Spanish-only article offers its missing English translation.
    only_es = Article.objects.get(title="Cambiar la contraseña")
    assert f'href="/desk/kb/{only_es.pk}/edit/?locale=en"' in html


def test_kb_list_shows_the_translation_in_the_readers_language(agent_client, source):
    save_article(title="Rastrea tu pedido", body="x", locale="es", translation_group=source.translation_group)
    html = agent_client.get("/desk/kb/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert html.index("Rastrea tu pedido") < html.index("Track your order")  # shown first, the source below it


def test_an_articles_page_links_the_public_page_customers_can_open(agent_client, source):
    html = agent_client.get(f"/desk/kb/{source.pk}/").content.decode()
    assert f'href="/help/articles/{source.pk}/" id="public-link"' in html
    draft = save_article(title="Not yet", body="x", locale="en")
    html = agent_client.get(f"/desk/kb/{draft.pk}/").content.decode()
    assert 'id="public-link"' not in html and "customers cannot see it yet" in html


def test_editor_tabs_flag_translations_older_than_the_source(agent_client, source):
    save_article(title="Rastrea", body="x", locale="es", translation_group=source.translation_group)
    assert "outdated" not in agent_client.get(f"/desk/kb/{source.pk}/edit/").content.decode()
    save_article(title=source.title, body="Open Orders, then Track.", locale="en", article=source)
    html = agent_client.get(f"/desk/kb/{source.pk}/edit/").content.decode()
    assert 'Spanish <code>es</code> <span class="badge cov-outdated">outdated</span>' in html


def test_the_category_field_offers_the_categories_already_in_use(agent_client, source):
    Article.objects.filter(pk=source.pk).update(category="Shipping")
    for url in ("/desk/kb/new/", f"/desk/kb/{source.pk}/edit/"):
        html = agent_client.get(url).content.decode()
        assert 'list="kb-categories"' in html and '<datalist id="kb-categories"><option value="Shipping">' in html
