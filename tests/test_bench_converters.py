"""The Tatoeba cross-language set `bench fit` scores every fit on: honest labels from the pairs."""

import json

from bench.converters import tatoeba_cross


def _pairs(base, code, pairs):
    (base / f"tatoeba.{code}-eng.{code}").write_text("".join(f"{f}\n" for f, _ in pairs), encoding="utf-8")
    (base / f"tatoeba.{code}-eng.eng").write_text("".join(f"{e}\n" for _, e in pairs), encoding="utf-8")


def _read(directory):
    corpus = [json.loads(line) for line in (directory / "corpus.jsonl").read_text().splitlines()]
    queries = [json.loads(line) for line in (directory / "queries.jsonl").read_text().splitlines()]
    qrels = {}
    for line in (directory / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, doc, _ = line.split("\t")
        qrels[qid] = doc
    return corpus, queries, qrels


def test_questions_point_at_their_translation_and_out_of_scope_ones_have_none(tmp_path):
    base = tmp_path / "tatoeba-laser" / "data" / "tatoeba" / "v1"
    base.mkdir(parents=True)
    # Both languages share "Tom is here.": the corpus holds it once and both questions point at it.
    _pairs(base, "deu", [(f"Satz {i}.", f"Sentence {i}.") for i in range(10)] + [("Tom ist hier.", "Tom is here.")])
    _pairs(base, "tur", [(f"Cümle {i}.", f"Phrase {i}.") for i in range(10)] + [("Tom burada.", "Tom is here.")])
    # English files of the other direction and of English itself are not question languages.
    (base / "tatoeba.eng-eng.eng").write_text("x\n", encoding="utf-8")

    paths = tatoeba_cross(tmp_path, tmp_path / "out", answerable=4, out_of_scope=3, distractors=2, seed=1)
    corpus, queries, qrels = _read(paths[1])
    texts = {doc["_id"]: doc["text"] for doc in corpus}
    assert len(texts) == len(set(texts.values())), "an English sentence is in the corpus twice"
    assert all(doc["language"] == "en" for doc in corpus)
    assert {q["language"] for q in queries} == {"de", "tr"}  # BCP 47, not Tatoeba's ISO 639-3 file names

    translation = {}
    for code, foreign_name in (("deu", "deu"), ("tur", "tur")):
        foreign = (base / f"tatoeba.{code}-eng.{foreign_name}").read_text().splitlines()
        english = (base / f"tatoeba.{code}-eng.eng").read_text().splitlines()
        translation.update(zip(foreign, english))
    labelled = [q for q in queries if q["_id"] in qrels]
    unlabelled = [q for q in queries if q["_id"] not in qrels]
    assert len(queries) == 2 * (4 + 3)
    assert labelled and unlabelled
    for query in labelled:  # the document it points at is its own English translation
        assert texts[qrels[query["_id"]]] == translation[query["text"]]
    for query in unlabelled:  # out of scope: its translation is nowhere in the corpus
        assert translation[query["text"]] not in texts.values()

    # The set without out-of-scope questions holds exactly the labelled ones.
    _, answerable_only, qrels_only = _read(paths[0])
    assert {q["_id"] for q in answerable_only} == {q["_id"] for q in labelled} == set(qrels_only)
