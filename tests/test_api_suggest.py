"""The agents' JSON suggestion endpoint: answers, reasons, and clear 4xx for bad input."""

import pytest
from django.contrib.auth.models import User

from helpdesk import lexical
from helpdesk.encoders import get_encoder
from helpdesk.models import Article, Chunk
from helpdesk.services.knowledge import embed_chunks, save_article
from tests.dashboard_support import agent, agent_client  # noqa: F401

URL = "/desk/api/suggest/"


@pytest.fixture
def article(db, settings):
    settings.HELPDESK = {"ENCODER": "hashing"}
    lexical.forget_stats()
    made = save_article(title="Refund timing", body="Refunds reach your card within 5 to 10 business days.",
                        locale="en", status=Article.Status.PUBLISHED)
    embed_chunks(chunk_ids=list(Chunk.objects.values_list("id", flat=True)), encoder=get_encoder())
    yield made
    lexical.forget_stats()


def test_agents_get_ranked_articles_with_confidence_and_retrievers(agent_client, article):
    response = agent_client.get(URL, {"q": "when is my refund on my card?", "limit": "3"})
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "en"
    first = body["results"][0]
    assert (first["article_id"], first["title"], first["locale"], first["url"]) == (
        article.id, "Refund timing", "en", f"/desk/kb/{article.id}/")
    assert first["retrievers"] == ["dense", "lexical"]
    assert 0 <= first["confidence"] <= 1 and "business days" in first["snippet"]


@pytest.mark.parametrize("params, status, message", [
    ({}, 400, "the query parameter q is empty"),
    ({"q": "   "}, 400, "the query parameter q is empty"),
    ({"q": "refund " * 1000}, 400, "q is longer than 2000 characters"),
    ({"q": "refund", "limit": "ten"}, 400, "limit must be a whole number"),
    ({"q": "refund", "mode": "psychic"}, 400, "mode must be one of hybrid, dense, lexical"),
])
def test_bad_parameters_are_a_clear_400(agent_client, article, params, status, message):
    response = agent_client.get(URL, params)
    assert response.status_code == status
    assert response.json() == {"error": message}


@pytest.mark.parametrize("q", ["🙂🙂🙂", "\x00\x01\x02🙂", "<script>alert(1)</script>", "' OR 1=1; --", "退款 refund возврат"])
def test_odd_text_is_answered_with_json_never_an_error(agent_client, article, q):
    response = agent_client.get(URL, {"q": q})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body["results"], list)
    if not body["results"]:
        assert body["no_answer_reason"]


def test_signed_out_visitors_and_users_without_permission_are_turned_away(client, article):
    response = client.get(URL, {"q": "refund"})
    assert response.status_code == 401 and response.json()["error"] == "not_signed_in"
    client.force_login(User.objects.create_user("nobody", password="x-long-password"))
    response = client.get(URL, {"q": "refund"})
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
