"""The optional cross-encoder stage, with a tiny BERT cross-encoder the test builds (no download)."""

import pytest

from helpdesk import lexical
from helpdesk.encoders import get_encoder
from helpdesk.models import Article, Chunk
from helpdesk.rerank import CrossEncoderReranker, get_reranker, rerank_candidates
from helpdesk.selectors.suggestions import find_suggestions
from helpdesk.services.knowledge import embed_chunks, save_article

WORDS = ["refund", "card", "days", "password", "reset", "link", "printer", "tray", "order", "track", "my", "the"]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    path = tmp_path_factory.mktemp("tiny-cross-encoder")
    vocab = path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=5 + len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(path)
    BertTokenizer(str(vocab)).save_pretrained(path)
    return str(path)


@pytest.fixture
def kb(db, settings):
    settings.HELPDESK = {"ENCODER": "hashing"}
    lexical.forget_stats()
    for title, body in [("Refund timing", "Refunds reach your card in days."),
                        ("Reset password", "Use the reset link."),
                        ("Printer tray", "Close the printer tray."),
                        ("Track order", "Track my order with the link.")]:
        save_article(title=title, body=body, locale="en", status=Article.Status.PUBLISHED)
    embed_chunks(chunk_ids=list(Chunk.objects.values_list("id", flat=True)), encoder=get_encoder())
    yield
    lexical.forget_stats()


def test_reranking_is_off_by_default(kb):
    assert get_reranker() is None


def test_the_configured_cross_encoder_orders_the_candidates_by_its_scores(kb, settings, tiny_cross_encoder):
    query = "refund card link order printer"
    first_stage = find_suggestions(text=query, limit=4, rerank=False)
    settings.HELPDESK = {**settings.HELPDESK, "RERANKER": tiny_cross_encoder}
    reranked = find_suggestions(text=query, limit=4)

    model = CrossEncoderReranker(tiny_cross_encoder)
    passages = {a.id: a.chunks.get().text for a in Article.objects.all()}
    scores = {aid: model.score(query, [text])[0] for aid, text in passages.items()}
    expected = sorted(scores, key=lambda aid: -scores[aid])
    assert [s.article_id for s in reranked.suggestions] == expected[:4]
    assert {s.article_id for s in reranked.suggestions} == {s.article_id for s in first_stage.suggestions}
    # The first-stage confidences, by position: the first article shown is always the most confident.
    assert [s.confidence for s in reranked.suggestions] == [s.confidence for s in first_stage.suggestions]
    assert [s.confidence for s in reranked.suggestions] == sorted((s.confidence for s in reranked.suggestions),
                                                                 reverse=True)


def test_rerank_candidates_without_a_model_keeps_the_order(kb):
    assert rerank_candidates("anything", []) == []
