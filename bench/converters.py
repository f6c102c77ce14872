"""Converters from the public datasets in ../shared/data (or --data PATH) to BEIR layout.

Each reads the original files where they lie (their licences travel with them; nothing is copied
into the repository) and writes a labelled set under var/bench/ (git-ignored).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from bench.beir import write_beir

XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")


def stackfaq(data: Path, out: Path, *, held_out_seed: int = 7) -> list[Path]:
    """StackFAQ: paraphrased questions → the StackExchange thread (question + top answers) they ask for.

    Writes `stackfaq` and `stackfaq-oos` (20% of threads left out, their questions out of scope)."""
    root = json.loads((data / "stackfaq" / "stackExchange-FAQ.json").read_text(encoding="utf-8"))["root"]["qapair"]
    corpus, queries, qrels = [], [], []
    for i, pair in enumerate(root):
        answers = pair.get("answer") or []
        answers = [answers] if isinstance(answers, str) else answers
        doc_id = f"thread-{i}"
        corpus.append({"_id": doc_id, "title": str(pair.get("question", "")).strip(),
                       "text": "\n\n".join(str(a).strip() for a in answers if a), "language": "en"})
        rephrasings = pair.get("rephr") or []
        rephrasings = [rephrasings] if isinstance(rephrasings, str) else rephrasings
        for j, text in enumerate(rephrasings):
            text = str(text or "").strip()
            if len(text) > 3:  # the file marks skipped rephrasings with "*"
                queries.append({"_id": f"q-{i}-{j}", "text": text, "language": "en"})
                qrels.append((f"q-{i}-{j}", doc_id, 1))
    paths = [write_beir(out / "stackfaq", corpus, queries, qrels)]
    # stackfaq-oos: a fifth of the threads left out of the corpus; their rephrasings stay, unlabelled
    # and marked unanswerable (out-of-scope questions about the same site).
    held_out = set(random.Random(held_out_seed).sample([d["_id"] for d in corpus], len(corpus) // 5))
    answer_of = {qid: did for qid, did, _ in qrels}
    paths.append(write_beir(
        out / "stackfaq-oos", [d for d in corpus if d["_id"] not in held_out],
        [q | {"answerable": False} if answer_of[q["_id"]] in held_out else q for q in queries],
        [row for row in qrels if row[1] not in held_out]))
    return paths


def _intent_article(intent: str) -> dict:
    words = intent.replace("_", " ")
    return {"_id": intent, "title": words[:1].upper() + words[1:], "text": f"Help with {words}.", "language": "en"}


def banking77(data: Path, out: Path, *, held_out_share: float = 0.2, seed: int = 7) -> list[Path]:
    """BANKING77: customer queries → one article per intent, written from the intent's name.

    Writes `banking77` (all intents) and `banking77-oos` (20% of intents left out of the corpus, their
    queries kept with no relevant article: out-of-scope queries to calibrate "no good answer").
    """
    base = data / "banking77-nlupp" / "banking_data"
    intents = json.loads((base / "categories.json").read_text(encoding="utf-8"))
    with (base / "test.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    queries = [{"_id": f"t{i}", "text": row["text"], "language": "en"} for i, row in enumerate(rows)]
    qrels = [(f"t{i}", row["category"], 1) for i, row in enumerate(rows)]
    paths = [write_beir(out / "banking77", [_intent_article(i) for i in intents], queries, qrels)]

    held_out = set(random.Random(seed).sample(intents, int(len(intents) * held_out_share)))
    corpus = [_intent_article(i) for i in intents if i not in held_out]
    oos_qrels = [(qid, did, score) if did not in held_out else (qid, "__out_of_scope__", 1)
                 for qid, did, score in qrels]
    paths.append(write_beir(out / "banking77-oos", corpus, queries, oos_qrels))
    return paths


def dstc11(data: Path, out: Path, *, split: str = "val", seed: int = 7) -> list[Path]:
    """DSTC11 track 5: knowledge-seeking turns of multi-turn conversations → the entity FAQs that answer them.

    Also writes `dstc11-oos`, which adds turns only reviews answer as out-of-scope questions.

    The corpus is every FAQ (title "<entity>: <question>", text the answer). Queries are the turns whose
    label cites at least one FAQ: text = the last user turn, history = the earlier turns.
    """
    base = data / "dstc11-track5" / "data"
    knowledge = json.loads((base / "knowledge.json").read_text(encoding="utf-8"))
    corpus = []
    for domain, entities in knowledge.items():
        for entity_id, entity in entities.items():
            for faq_id, faq in (entity.get("faqs") or {}).items():
                corpus.append({"_id": f"{domain}-{entity_id}-{faq_id}", "title": f"{entity['name']}: {faq['question']}",
                               "text": faq["answer"], "language": "en"})
    logs = json.loads((base / split / "logs.json").read_text(encoding="utf-8"))
    labels = json.loads((base / split / "labels.json").read_text(encoding="utf-8"))
    queries, qrels, reviews_only = [], [], []
    for i, (log, label) in enumerate(zip(logs, labels)):
        knowledge = label.get("knowledge") or [] if label.get("target") else []
        faqs = [k for k in knowledge if k.get("doc_type") == "faq"]
        if not log or not knowledge:
            continue
        history = [{"speaker": "customer" if t["speaker"] == "U" else "agent", "text": t["text"]} for t in log[:-1]]
        query = {"_id": f"d{i}", "text": log[-1]["text"], "history": history, "language": "en"}
        if not faqs:  # asks what only guests' reviews answer: no FAQ does
            reviews_only.append(query | {"answerable": False})
            continue
        queries.append(query)
        for k in faqs:
            qrels.append((f"d{i}", f"{k['domain']}-{k['entity_id']}-{k['doc_id']}", 1))
    # dstc11-oos: the FAQ questions plus as many knowledge-seeking turns that only reviews answer
    # (real out-of-scope questions for an FAQ knowledge base, in the same conversations' style).
    oos = random.Random(seed).sample(reviews_only, min(len(queries), len(reviews_only)))
    return [write_beir(out / "dstc11", corpus, queries, qrels),
            write_beir(out / "dstc11-oos", corpus, queries + oos, qrels)]


def _xquad_language(data: Path, language: str, articles: int):
    """Return (sentences {doc id: text}, questions {qa id: text}, answer sentence {qa id: doc id})."""
    squad = json.loads((data / "xquad-r" / "xquad-r" / f"{language}.json").read_text(encoding="utf-8"))
    sentences, questions, answers = {}, {}, {}
    for a, article in enumerate(squad["data"][:articles]):
        for p, paragraph in enumerate(article["paragraphs"]):
            breaks = paragraph["sentence_breaks"]
            for s, sentence in enumerate(paragraph["sentences"]):
                sentences[f"{a}-{p}-{s}"] = sentence
            for qa in paragraph["qas"]:
                start = qa["answers"][0]["answer_start"]
                hit = next((s for s, (lo, hi) in enumerate(breaks) if lo <= start < hi), len(breaks) - 1)
                questions[qa["id"]] = qa["question"]
                answers[qa["id"]] = f"{a}-{p}-{hit}"
    return sentences, questions, answers


def xquad_r(data: Path, out: Path, *, articles: int = 24) -> list[Path]:
    """XQuAD-R: questions → the sentence holding the answer, per language and English-corpus cross-language.

    `xquad-r-LL`: questions in LL against LL's sentences. `xquad-r-cross`: questions in every other
    language against the English sentences (the 11 versions are parallel: same question ids).
    Only the first `articles` of XQuAD's 48 Wikipedia articles are used (default 24: about 600
    sentences and 600 questions per language) so the benchmark embeds in minutes on 2 cores.
    """
    paths = []
    english = _xquad_language(data, "en", articles)
    for language in XQUAD_LANGUAGES:
        sentences, questions, answers = _xquad_language(data, language, articles)
        corpus = [{"_id": f"{language}-{d}", "title": "", "text": t, "language": language} for d, t in sentences.items()]
        queries = [{"_id": f"{language}-{q}", "text": t, "language": language} for q, t in questions.items()]
        qrels = [(f"{language}-{q}", f"{language}-{d}", 1) for q, d in answers.items()]
        paths.append(write_beir(out / f"xquad-r-{language}", corpus, queries, qrels))
    corpus = [{"_id": f"en-{d}", "title": "", "text": t, "language": "en"} for d, t in english[0].items()]
    queries, qrels = [], []
    for language in XQUAD_LANGUAGES:
        if language == "en":
            continue
        _, questions, _ = _xquad_language(data, language, articles)
        for q, t in questions.items():
            queries.append({"_id": f"{language}-{q}", "text": t, "language": language})
            qrels.append((f"{language}-{q}", f"en-{english[2][q]}", 1))
    paths.append(write_beir(out / "xquad-r-cross", corpus, queries, qrels))
    paths += _xquad_out_of_scope(data, out, articles)
    return paths


def _xquad_out_of_scope(data: Path, out: Path, articles: int) -> list[Path]:
    """`xquad-r-LL-oos` and `xquad-r-cross-oos`: the same corpora, plus questions about the XQuAD
    articles left out of them (unlabelled: out of scope; other topics, same languages and style)."""
    paths, english_sentences = [], None
    cross_queries, cross_qrels = [], []
    for language in XQUAD_LANGUAGES:
        sentences, questions, answers = _xquad_language(data, language, 48)
        inside = lambda doc: int(doc.split("-", 1)[0]) < articles  # noqa: E731
        corpus = [{"_id": f"{language}-{d}", "title": "", "text": t, "language": language}
                  for d, t in sentences.items() if inside(d)]
        queries = [{"_id": f"{language}-{q}", "text": t, "language": language} for q, t in questions.items()]
        qrels = [(f"{language}-{q}", f"{language}-{d}", 1) for q, d in answers.items() if inside(d)]
        paths.append(write_beir(out / f"xquad-r-{language}-oos", corpus, queries, qrels))
        if language == "en":
            english_sentences = corpus
            english_answers = answers
        else:
            cross_queries += [{"_id": f"{language}-{q}", "text": t, "language": language} for q, t in questions.items()]
            cross_pending = [(f"{language}-{q}", q) for q in questions]
            cross_qrels += [(qid, q) for qid, q in cross_pending]
    cross_qrels = [(qid, f"en-{english_answers[q]}", 1) for qid, q in cross_qrels
                   if int(english_answers[q].split("-", 1)[0]) < articles]
    paths.append(write_beir(out / "xquad-r-cross-oos", english_sentences, cross_queries, cross_qrels))
    return paths


def tatoeba(data: Path, out: Path, *, per_language: int = 200, seed: int = 11) -> list[Path]:
    """Tatoeba (LASER test set, 112 languages): `text<TAB>language` lines for evaluate_language.

    The file names use ISO 639-3 codes; the expected tag is their BCP 47 form (`embeddings.language.to_bcp47`,
    which folds individual languages into macrolanguages: cmn → zh, arb → ar, zsm → ms).
    """
    from embeddings.language import to_bcp47

    base = data / "tatoeba-laser" / "data" / "tatoeba" / "v1"
    rng = random.Random(seed)
    lines = []
    for path in sorted(base.glob("tatoeba.*-eng.*")):
        code = path.suffix[1:]
        if code == "eng" and not path.name.startswith("tatoeba.eng"):
            continue
        texts = [t.strip() for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
        for text in rng.sample(texts, min(per_language, len(texts))):
            lines.append(f"{text.replace(chr(9), ' ')}\t{to_bcp47(code)}\t{code}")
    out.mkdir(parents=True, exist_ok=True)
    target = out / "tatoeba.tsv"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [target, *tatoeba_cross(data, out, seed=seed)]


def tatoeba_cross(data: Path, out: Path, *, answerable: int = 8, out_of_scope: int = 4, distractors: int = 4,
                  seed: int = 11) -> list[Path]:
    """`tatoeba-cross` and `tatoeba-cross-oos`: sentences in each of Tatoeba's 111 other languages
    against one corpus of English sentences, where the right "article" is the sentence's English
    translation: cross-language retrieval (and the no-answer decision) in far more languages than
    XQuAD-R's 11, many of them ones no set here has otherwise. Per language, `answerable` sentences
    whose translation is in the corpus, `distractors` English sentences nobody asks about, and (the
    -oos set) `out_of_scope` sentences whose translation is not in the corpus. English sentences are
    deduplicated by text (Tatoeba repeats "Tom ..." sentences across languages), and a question
    whose translation's text is in the corpus anyway is labelled with it, never counted out of scope.
    """
    from embeddings.language import to_bcp47

    base = data / "tatoeba-laser" / "data" / "tatoeba" / "v1"
    rng = random.Random(seed)
    corpus: dict[str, str] = {}  # English text → doc id
    picked = []  # (language tag, code, [(foreign, english)] asked, [(foreign, english)] out of scope)
    for path in sorted(base.glob("tatoeba.*-eng.eng")):
        code = path.name.split(".")[1].split("-")[0]
        if code == "eng":
            continue
        english = path.read_text(encoding="utf-8").splitlines()
        foreign = path.with_suffix(f".{code}").read_text(encoding="utf-8").splitlines()
        pairs = [(f.strip(), e.strip()) for f, e in zip(foreign, english) if f.strip() and e.strip()]
        chosen = rng.sample(pairs, min(len(pairs), answerable + distractors + out_of_scope))
        asked, kept, outside = (chosen[:answerable], chosen[answerable:answerable + distractors],
                                chosen[answerable + distractors:])
        for _, text in asked + kept:
            corpus.setdefault(text, f"en-{len(corpus)}")
        picked.append((to_bcp47(code), code, asked, outside))
    queries, oos_queries, qrels = [], [], []
    for tag, code, asked, outside in picked:
        for i, (text, english) in enumerate(asked + outside):
            query = {"_id": f"{code}-{i}", "text": text.replace("\t", " "), "language": tag}
            if english in corpus:
                qrels.append((query["_id"], corpus[english], 1))
                (queries if i < len(asked) else oos_queries).append(query)
            else:
                oos_queries.append(query)
    documents = [{"_id": doc, "title": "", "text": text, "language": "en"} for text, doc in corpus.items()]
    labelled = {qid for qid, _, _ in qrels}
    return [write_beir(out / "tatoeba-cross", documents, queries + [q for q in oos_queries if q["_id"] in labelled],
                       qrels),
            write_beir(out / "tatoeba-cross-oos", documents, queries + oos_queries, qrels)]


CONVERTERS = {"stackfaq": stackfaq, "banking77": banking77, "dstc11": dstc11, "xquad-r": xquad_r, "tatoeba": tatoeba}
