"""Edits to published articles: an agent's edit waits for an admin's review, the live text stays live,
and passages are re-embedded only when the edit is published."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from helpdesk.models import Article, ArticleRevision, Chunk
from helpdesk.services.knowledge import embed_chunks, pending_chunk_ids, save_article
from tests.dashboard_support import agent, agent_client, hashing_encoder, make_user  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

LIVE_BODY = "Refunds reach your card within five business days."
EDITED_BODY = "Refunds reach your card within ten business days, or your bank account within three."


@pytest.fixture
def admin_user_(db):
    return make_user("boss", "admin")


@pytest.fixture
def admin_client_(admin_user_):
    # Its own client: `agent_client` is pytest-django's `client`, signed in as the agent.
    client = Client()
    client.force_login(admin_user_)
    return client


@pytest.fixture
def published(hashing_encoder):
    article = save_article(title="Refund timing", body=LIVE_BODY, locale="en", category="billing",
                           status=Article.Status.PUBLISHED)
    embed_chunks(chunk_ids=pending_chunk_ids())
    return article


def chunks_of(article):
    return list(Chunk.objects.filter(article=article).order_by("ordinal").values_list("id", "content_hash", "encoder"))


def edit(client, article, body=EDITED_BODY, title="Refund timing"):
    return client.post(f"/desk/kb/{article.pk}/edit/", {"title": title, "body": body, "locale": "en",
                                                       "category": "billing"})


def test_an_agents_edit_of_a_published_article_waits_and_customers_keep_the_live_text(
        agent_client, agent, published, client, django_capture_on_commit_callbacks):
    vectors = chunks_of(published)
    with django_capture_on_commit_callbacks() as callbacks:
        response = edit(agent_client, published)

    assert response.status_code == 302
    assert callbacks == []  # nothing queued for embedding
    published.refresh_from_db()
    assert (published.body, published.status) == (LIVE_BODY, Article.Status.PUBLISHED)
    assert chunks_of(published) == vectors
    revision = ArticleRevision.objects.get()
    assert (revision.article, revision.body, revision.author, revision.state) == (published, EDITED_BODY, agent,
                                                                                 "pending")
    public = client.get(f"/help/articles/{published.pk}/").content.decode()
    assert "five business days" in public and "ten business days" not in public
    # The agent's next visit to the editor continues the draft, and says the live text stays.
    page = agent_client.get(f"/desk/kb/{published.pk}/edit/").content.decode()
    assert "ten business days" in page and 'id="pending-revision"' in page


def test_a_second_edit_updates_the_same_pending_revision(agent_client, published):
    edit(agent_client, published)
    other = make_user("second-agent", "agent")
    agent_client.force_login(other)
    edit(agent_client, published, body="Refunds take a week.")
    revision = ArticleRevision.objects.get()
    assert (revision.body, revision.author) == ("Refunds take a week.", other)


def test_the_admin_sees_pending_edits_and_publishing_one_makes_it_live_and_re_embeds(
        agent_client, admin_client_, admin_user_, published, client, django_capture_on_commit_callbacks):
    edit(agent_client, published)
    revision = ArticleRevision.objects.get()
    assert "1 edit waiting for review" in admin_client_.get("/desk/kb/").content.decode()
    listing = admin_client_.get("/desk/kb/revisions/").content.decode()
    assert f"/desk/kb/revisions/{revision.pk}/" in listing and "agent" in listing
    review = admin_client_.get(f"/desk/kb/revisions/{revision.pk}/").content.decode()
    assert "five business days" in review and "ten business days" in review
    assert "An edit by agent is waiting for review." in admin_client_.get(f"/desk/kb/{published.pk}/edit/").content.decode()

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client_.post(f"/desk/kb/revisions/{revision.pk}/publish/")

    assert response.status_code == 302
    assert callbacks  # the changed passages are queued for embedding, after commit
    published.refresh_from_db()
    assert published.body == EDITED_BODY and published.status == Article.Status.PUBLISHED
    assert Chunk.objects.filter(article=published, encoder="").exists()
    revision.refresh_from_db()
    assert (revision.state, revision.reviewed_by) == ("published", admin_user_)
    assert "ten business days" in client.get(f"/help/articles/{published.pk}/").content.decode()
    assert "1 edit waiting" not in admin_client_.get("/desk/kb/").content.decode()
    # A reviewed revision cannot be published again.
    again = admin_client_.post(f"/desk/kb/revisions/{revision.pk}/publish/", follow=True)
    assert "already been reviewed" in again.content.decode()


def test_discarding_leaves_the_article_as_it_was(agent_client, admin_client_, published):
    edit(agent_client, published)
    revision = ArticleRevision.objects.get()
    vectors = chunks_of(published)
    assert admin_client_.post(f"/desk/kb/revisions/{revision.pk}/discard/").status_code == 302
    published.refresh_from_db()
    assert published.body == LIVE_BODY and chunks_of(published) == vectors
    revision.refresh_from_db()
    assert revision.state == "discarded"


def test_agents_can_neither_list_publish_nor_discard_revisions(agent_client, published):
    edit(agent_client, published)
    revision = ArticleRevision.objects.get()
    assert agent_client.get("/desk/kb/revisions/").status_code == 403
    assert agent_client.get(f"/desk/kb/revisions/{revision.pk}/").status_code == 403
    assert agent_client.post(f"/desk/kb/revisions/{revision.pk}/publish/").status_code == 403
    assert agent_client.post(f"/desk/kb/revisions/{revision.pk}/discard/").status_code == 403
    published.refresh_from_db()
    assert published.body == LIVE_BODY
    assert ArticleRevision.objects.get().state == "pending"


def test_an_agent_edits_a_draft_directly(agent_client, hashing_encoder):
    draft = save_article(title="Gift cards", body="Gift cards never expire.", locale="en")
    assert edit(agent_client, draft, title="Gift cards", body="Gift cards expire after five years.").status_code == 302
    draft.refresh_from_db()
    assert draft.body == "Gift cards expire after five years." and draft.status == Article.Status.DRAFT
    assert not ArticleRevision.objects.exists()


def test_an_admins_edit_goes_live_at_once(admin_client_, published):
    assert edit(admin_client_, published).status_code == 302
    published.refresh_from_db()
    assert published.body == EDITED_BODY
    assert not ArticleRevision.objects.exists()


def test_the_publish_permission_can_be_granted_to_one_agent(agent_client, agent, published):
    agent.user_permissions.add(Permission.objects.get(codename="publish_article"))
    assert edit(agent_client, published).status_code == 302
    published.refresh_from_db()
    assert published.body == EDITED_BODY
    assert not ArticleRevision.objects.exists()
