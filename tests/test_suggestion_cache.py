"""The widget's cached answers: a repeated question is served without the engine, and whatever can
change an answer (publishing, unpublishing, editing, embedding, the confidence threshold) changes
the very next one. Real Redis and PostgreSQL; the default encoder."""

from __future__ import annotations

import numpy as np
import pytest

from helpdesk import encoders, suggestion_cache
from helpdesk.models import Article
from helpdesk.selectors.suggestions import find_suggestions
from helpdesk.services.desk_settings import set_confidence_threshold
from helpdesk.services.knowledge import embed_chunks, pending_chunk_ids, save_article, set_article_status
from tests.widget_support import HOST_ORIGIN, kb, site  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

QUESTION = "How do I reset my password?"


def suggest(client, site, q=QUESTION, locale="en"):
    response = client.get(f"/desk/widget/v1/{site.key}/suggest/", {"q": q, "locale": locale},
                          HTTP_ORIGIN=HOST_ORIGIN)
    assert response.status_code == 200, response.content
    return response


def test_a_repeated_question_is_answered_from_the_cache_without_a_database_query(client, kb, site,
                                                                                  django_assert_num_queries):
    first = suggest(client, site)
    assert first.json()["results"], "the demo KB answers this question"
    stats = suggestion_cache.answer_stats()
    with django_assert_num_queries(0):
        again = suggest(client, site, q="  How do I   reset my password?  ")  # the same question, other spacing
    assert again.content == first.content
    assert suggestion_cache.answer_stats()["hits"] == stats["hits"] + 1


def test_unpublishing_an_article_takes_it_out_of_the_next_answer(client, kb, site):
    shown = [r["article_id"] for r in suggest(client, site).json()["results"]]
    set_article_status(article=Article.objects.get(pk=shown[0]), status=Article.Status.DRAFT)
    assert shown[0] not in [r["article_id"] for r in suggest(client, site).json()["results"]]


def test_an_edited_article_shows_its_new_title_in_the_next_answer(client, kb, site):
    top = suggest(client, site).json()["results"][0]
    article = Article.objects.get(pk=top["article_id"])
    save_article(title="Password reset, step by step", body=article.body, locale=article.locale, article=article)
    embed_chunks(chunk_ids=pending_chunk_ids())
    titles = [r["title"] for r in suggest(client, site).json()["results"]]
    assert "Password reset, step by step" in titles and top["title"] not in titles


def test_a_new_confidence_threshold_applies_to_the_very_next_answer(client, kb, site):
    assert suggest(client, site).json()["results"]
    set_confidence_threshold(value=1.0)
    assert suggest(client, site).json() == {"no_answer": True, "results": []}
    set_confidence_threshold(value=None)
    assert suggest(client, site).json()["results"]


def test_a_question_is_encoded_once_for_every_process(client, kb, site):
    suggest(client, site, q="my password reset email never came")
    encoder = encoders.query_encoder()
    shared = suggestion_cache.cached_vector(encoder.name, "my password reset email never came")
    assert shared is not None
    np.testing.assert_allclose(shared, encoder.encode_queries(["my password reset email never came"])[0], atol=1e-6)


def test_answers_are_the_same_while_redis_is_down(client, kb, site, settings):
    expected = suggest(client, site).json()
    settings.REDIS_URL = "unix:///nonexistent/polyglot-test/redis.sock"
    assert suggest(client, site).json() == expected
    assert suggestion_cache.kb_version() is None


def test_a_passage_saved_after_a_search_is_found_by_the_next_search(kb):
    # The corpus statistics behind lexical scores are cached until the knowledge base changes.
    assert not find_suggestions(text="zebracorn warranty", mode="lexical", locale="en").suggestions
    article = save_article(title="Zebracorn warranty", body="Every zebracorn comes with a two-year warranty.",
                           locale="en", status=Article.Status.PUBLISHED)
    found = find_suggestions(text="zebracorn warranty", mode="lexical", locale="en").suggestions
    assert [s.article_id for s in found][:1] == [article.pk]
