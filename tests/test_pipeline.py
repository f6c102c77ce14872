"""End to end through real parts: save → on-commit task → Celery worker → pgvector → retrieval."""

import pytest

from helpdesk.encoders import encoder_name
from helpdesk.models import Article, Chunk
from helpdesk.selectors.suggestions import suggest_articles
from helpdesk.services import knowledge
from helpdesk.services.knowledge import save_article, sync_chunks
from helpdesk.tasks import sweep_unembedded
from tests.conftest import wait_until

ARTICLES = [
    ("Reset a forgotten password",
     "If you forgot your password, open the sign-in page and choose 'Forgot password'. "
     "We email you a link that is valid for 30 minutes. Follow it and choose a new password."),
    ("Track your order",
     "Every order gets a tracking number once it ships. Open Orders, select the order and follow the "
     "carrier link to see where your parcel is."),
    ("Refund timing",
     "Refunds are issued to the original payment method. Card refunds take 5 to 10 business days "
     "to appear on your statement."),
]


def _all_embedded(articles):
    pending = Chunk.objects.filter(article__in=articles).exclude(encoder=encoder_name())
    return not pending.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_saved_articles_are_embedded_by_the_worker_and_found_by_paraphrase(celery_worker):
    articles = [save_article(title=t, body=b, locale="en", status=Article.Status.PUBLISHED) for t, b in ARTICLES]

    wait_until(lambda: _all_embedded(articles), timeout=120, message=f"embedding\n{celery_worker.tail()}")

    chunk = Chunk.objects.filter(article=articles[0]).first()
    assert chunk.encoder == encoder_name()
    assert len(chunk.embedding) == 384
    assert [r.article_id for r in suggest_articles(text="I can't log in, I don't remember my pass", limit=3)][0] == articles[0].id
    assert suggest_articles(text="where is my package??", limit=1)[0].article_id == articles[1].id
    assert suggest_articles(text="when do I get my money back", limit=1)[0].article_id == articles[2].id


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sweep_embeds_chunks_whose_task_was_lost(celery_worker):
    article = Article.objects.create(title="Change your email address", body="Open Settings, then Account, "
                                     "and enter the new address. We send a confirmation link to it.",
                                     locale="en", status=Article.Status.PUBLISHED)
    sync_chunks(article)  # rows written, but no task queued: as if the broker lost the message
    assert Chunk.objects.filter(article=article, encoder="").count() == 1

    sweep_unembedded.delay(min_age_seconds=0)

    wait_until(lambda: _all_embedded([article]), timeout=120, message=f"sweep\n{celery_worker.tail()}")
    assert suggest_articles(text="how do I update my e-mail", limit=1)[0].article_id == article.id


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_after_an_upgrade_the_sweep_splits_old_articles_again_and_embeds_only_what_is_new(celery_worker, settings):
    body = ("Open Settings, then Account, and enter the new address. We send a confirmation link to it, "
            "valid for a day; until you follow it, mail keeps going to the old address. If the link has "
            "expired, change the address again to get a new one.")
    settings.HELPDESK = {**settings.HELPDESK, "TITLE_PASSAGE": False}  # how an older version split it
    article = save_article(title="Change your email address", body=body, locale="en",
                           status=Article.Status.PUBLISHED)
    wait_until(lambda: _all_embedded([article]), timeout=120, message=f"embedding\n{celery_worker.tail()}")
    (old,) = Chunk.objects.filter(article=article)
    Article.objects.filter(pk=article.pk).update(chunked_with="")  # as the migration leaves existing rows
    settings.HELPDESK = {**settings.HELPDESK, "TITLE_PASSAGE": True}

    sweep_unembedded.delay(min_age_seconds=0)  # the worker runs with the defaults: title passages on

    wait_until(lambda: Chunk.objects.filter(article=article).count() == 2 and _all_embedded([article]),
               timeout=120, message=f"sweep\n{celery_worker.tail()}")
    body_chunk, title_chunk = Chunk.objects.filter(article=article).order_by("ordinal")
    assert title_chunk.text == "Change your email address" and title_chunk.embedding is not None
    assert (body_chunk.id, body_chunk.embedded_at) == (old.id, old.embedded_at)  # its vector was kept
    article.refresh_from_db()
    assert article.chunked_with == knowledge.current_chunking()


@pytest.mark.django_db
def test_saving_queues_embedding_only_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        article = save_article(title="Cancel a subscription", body="Open Billing and choose Cancel plan.",
                               locale="en", status=Article.Status.PUBLISHED)
        assert Chunk.objects.filter(article=article).count() == 1
    from helpdesk.services.knowledge import queue_batches

    # One embedding batch (the suggestion cache's version bump is another after-commit callback).
    assert [c.args for c in callbacks if getattr(c, "func", None) is queue_batches] == [
        ([Chunk.objects.get(article=article).id],)]


@pytest.mark.django_db
def test_editing_one_paragraph_keeps_the_other_vectors():
    from helpdesk.services.knowledge import embed_chunks

    body = "\n\n".join(f"Paragraph {i}. " + ("word " * 100) for i in range(6))
    article = save_article(title="Long article", body=body, locale="en")
    ids = list(Chunk.objects.filter(article=article).values_list("id", flat=True))
    assert embed_chunks(chunk_ids=ids) == len(ids) >= 6

    save_article(article=article, title="Long article", body=body.replace("Paragraph 5.", "Paragraph five."), locale="en")

    pending = Chunk.objects.filter(article=article, encoder="")
    assert 1 <= pending.count() <= 2  # the edited passage (and the one sharing its overlap sentence)
    assert any("Paragraph five." in c.text for c in pending)
    assert Chunk.objects.get(article=article, ordinal=0).encoder == encoder_name()
    assert embed_chunks(chunk_ids=ids) == pending.count()
    assert embed_chunks(chunk_ids=ids) == 0  # running the same batch again writes nothing new


@pytest.mark.django_db
def test_a_passage_edited_while_its_batch_was_encoded_keeps_no_stale_vector():
    import numpy as np

    from helpdesk.encoders import get_encoder
    from helpdesk.services.knowledge import embed_chunks

    articles = [save_article(title=title, body=body, locale="en") for title, body in ARTICLES]
    ids = list(Chunk.objects.filter(article__in=articles).order_by("id").values_list("id", flat=True))
    real = get_encoder()

    class EditedMeanwhile:  # the real model; an agent saves the second passage while it encodes
        name, dimensions = real.name, real.dimensions

        def encode_documents(self, texts):
            save_article(article=articles[1], title="Track your order", body="Orders ship within a day.",
                         locale="en")
            return real.encode_documents(texts)

    assert embed_chunks(chunk_ids=ids, encoder=EditedMeanwhile()) == len(ids) - 1
    chunks = {c.article_id: c for c in Chunk.objects.filter(article__in=articles)}
    edited = chunks[articles[1].id]
    assert edited.text.startswith("Track your order") and "Orders ship within a day." in edited.text
    assert (edited.encoder, edited.embedding, edited.embedded_at) == ("", None, None)  # its own task embeds it
    for article in (articles[0], articles[2]):
        chunk = chunks[article.id]
        assert chunk.encoder == real.name and chunk.embedded_at is not None and chunk.embed_error == ""
        np.testing.assert_allclose(np.asarray(chunk.embedding), real.encode_documents([chunk.text])[0],
                                   atol=1e-6)
