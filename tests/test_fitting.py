"""Fitting fusion and confidence from labelled data: on stored hits (pure), and through the command
that collects them from a real database, stores the model per encoder and answers with it.
The hashing encoder stands in for the model (the model is not the subject)."""

import json
import random

import pytest
from django.core.management import CommandError, call_command

from helpdesk import fitting, ranking
from helpdesk.models import Article, RankingProfile, Suggestion
from helpdesk.selectors.suggestions import find_suggestions, ranking_model
from helpdesk.services.knowledge import embed_chunks, save_article
from helpdesk.services.suggestions import record_suggestions
from helpdesk.services.tickets import open_ticket


def _record(dataset, *, right, dense, lexical, answerable=True, language="en"):
    """A question whose right article is `right`; `dense` [(article, cosine)], `lexical` [(article, bm25, coverage)]."""
    return fitting.Record(
        dataset=dataset, language=language, answerable=answerable, relevant={right: 1.0} if answerable else {},
        knows_language=True,
        hits={"dense": [(a, a, cos) for a, cos in dense], "lexical": [(a, a, bm25, cov) for a, bm25, cov in lexical]},
    )


def _two_sets():
    """Set "paraphrase": dense finds the answer with a clear lead, lexical prefers a word-sharing
    article. Set "codes": dense cannot tell articles apart (a tie), lexical finds the error code."""
    records = []
    for i in range(30):
        records.append(_record("paraphrase", right=1, dense=[(1, 0.90), (2, 0.85), (3, 0.80)],
                               lexical=[(2, 9.0, 0.6), (1, 6.0, 0.4)]))
        records.append(_record("codes", right=3, dense=[(1, 0.861), (2, 0.86), (3, 0.859)],
                               lexical=[(3, 12.0, 1.0), (1, 2.0, 0.2)]))
    return records


def test_fitted_fusion_ranks_at_least_as_well_as_the_better_retriever_on_every_set():
    records = _two_sets()
    # A fixed dense share of 0.5 loses the paraphrase set to lexical's word match.
    fixed = ranking.RankingModel(dense_tied=0.5, dense_per_lead=0.0, dense_cap=0.5)
    assert fitting.set_scores(records, fixed)["paraphrase"]["hybrid"] < 1.0

    model = fitting.fit_fusion(records, base=ranking.RankingModel())
    scores = fitting.set_scores(records, model)
    for name in ("paraphrase", "codes"):
        assert scores[name]["hybrid"] >= max(scores[name]["dense"], scores[name]["lexical"]) == 1.0
    assert model.dense_per_lead > 0  # dense decides only where it leads


def test_a_dataset_split_into_many_sets_does_not_outvote_the_others_when_grouped():
    """Same-looking questions (dense ties, lexical prefers another article) where lexical is right in
    four language sets of one dataset and dense is right in two other datasets: fitted per set, the
    four outvote the two; fitted per dataset group, the two datasets win 2 to 1."""
    records = []
    for i in range(20):
        for name in ("x-de", "x-fr", "x-es", "x-it"):
            records.append(_record(name, right=2, dense=[(1, 0.861), (2, 0.86)], lexical=[(2, 5.0, 0.5), (1, 4.0, 0.5)]))
        for name in ("faq", "intents"):
            records.append(_record(name, right=1, dense=[(1, 0.861), (2, 0.86)], lexical=[(2, 5.0, 0.5), (1, 4.0, 0.5)]))
    per_set = fitting.set_scores(records, fitting.fit_fusion(records))
    assert per_set["x-de"]["hybrid"] == 1.0 and per_set["faq"]["hybrid"] < 1.0
    groups = {name: "x" for name in ("x-de", "x-fr", "x-es", "x-it")}
    per_group = fitting.set_scores(records, fitting.fit_fusion(records, groups=groups))
    assert per_group["faq"]["hybrid"] == per_group["intents"]["hybrid"] == 1.0 and per_group["x-de"]["hybrid"] < 1.0


def test_the_fitted_confidence_holds_back_questions_the_corpus_does_not_answer():
    rng = random.Random(3)
    records = []
    for i in range(120):
        # Answerable: the right article stands out from the runners-up; out of scope: nothing does.
        top = 0.86 + rng.uniform(-0.03, 0.03)
        records.append(_record("faq", right=1, dense=[(1, top + 0.05), (2, top - 0.02), (3, top - 0.03)],
                               lexical=[(1, 5.0, rng.uniform(0.3, 1.0))]))
        records.append(_record("faq", right=99, answerable=False, dense=[(1, top), (2, top - 0.01), (3, top - 0.015)],
                               lexical=[(2, 1.0, rng.uniform(0.0, 0.3))]))
    model = fitting.fit(records)
    assert model.lift > 0 or model.standout > 0
    figures = fitting.evaluate(records, model, threshold=0.35)["no_answer"]["overall"]
    assert figures["answerable_correct"] >= 0.95 and figures["unanswerable_held_back"] >= 0.95
    # What the command reports as generalisation: one set left out, fitted on the others.
    other = [fitting.Record(**{**vars(r), "dataset": "other"}) for r in records[:100]]
    lodo = fitting.leave_one_out(records + other, threshold=0.35)
    assert set(lodo) == {"faq", "other"}
    assert lodo["faq"]["no_answer"]["overall"]["unanswerable_held_back"] >= 0.9


def test_the_grid_scores_a_fusion_exactly_as_the_engine_ranks():
    rng = random.Random(5)
    records = []
    for i in range(40):
        dense = sorted(((a, round(rng.uniform(0.7, 0.95), 3)) for a in rng.sample(range(30), 15)), key=lambda h: -h[1])
        lexical = sorted(((a, round(rng.uniform(0.5, 12), 2), round(rng.uniform(0, 1), 2)) for a in rng.sample(range(30), 8)),
                         key=lambda h: -h[1])
        records.append(_record("s", right=rng.randrange(30), dense=dense, lexical=lexical))
    for model in (ranking.RankingModel(), ranking.RankingModel(dense_tied=0.97, dense_per_lead=2.0, dense_cap=0.99),
                  ranking.RankingModel(dense_tied=0.8, dense_per_lead=0.0, dense_per_standout=0.05, dense_cap=1.0)):
        for record in records:
            assert fitting._Fusable(record).ndcg(model) == pytest.approx(fitting.ndcg(record, fitting.ranked(record, model)))


def test_stored_hits_survive_a_round_trip_through_json():
    record = _two_sets()[0]
    assert fitting.Record.from_dict(json.loads(json.dumps(record.as_dict()))) == record


def _write_set(root, *, seed):
    """A small FAQ in BEIR layout: 12 articles, paraphrased questions, out-of-scope ones unlabelled."""
    topics = [("Reset your password", "Open the sign-in page and choose forgot password to get a reset link."),
              ("Refund timing", "Refunds reach your card within ten business days of the return."),
              ("Printer error E1234", "The printer shows E1234 when the paper tray is open; close the tray."),
              ("Change delivery address", "Edit the shipping address in your order before it ships."),
              ("Cancel a subscription", "Cancel your plan under billing; it ends at the period's end."),
              ("Two-factor authentication", "Turn on two-factor codes in security settings with an app."),
              ("Invoice download", "Download invoices as PDF from the billing history page."),
              ("Lost package", "If tracking shows delivered but nothing arrived, file a claim within 30 days."),
              ("Gift cards", "Redeem a gift card code at checkout; balances never expire."),
              ("Account deletion", "Delete your account in privacy settings; data is erased after 30 days."),
              ("Student discount", "Students verify with a school email to get 20 percent off."),
              ("Warranty repairs", "Devices have a two-year warranty; book a repair online.")]
    questions = ["how do I {} quickly", "question about {}", "{} help please", "I need help with {}"]
    (root / "qrels").mkdir(parents=True)
    corpus = [{"_id": f"d{i}", "title": title, "text": text} for i, (title, text) in enumerate(topics)]
    rng = random.Random(seed)
    queries, qrels = [], []
    for i, (title, _) in enumerate(topics):
        for j, pattern in enumerate(rng.sample(questions, 3)):
            queries.append({"_id": f"q{i}-{j}", "text": pattern.format(title.lower())})
            qrels.append(f"q{i}-{j}\td{i}\t1")
    for k, text in enumerate(["what is the weather in Oslo", "best pizza recipe", "who won the football match",
                              "translate hello into French", "how tall is Mount Everest", "recommend a novel"]):
        queries.append({"_id": f"oos{k}", "text": text})
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus) + "\n")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(qrels) + "\n")
    return root


@pytest.fixture
def hashing(settings):
    settings.HELPDESK = {"ENCODER": "hashing", "DEFAULT_LOCALE": "en", "CONFIDENCE_THRESHOLD": 0.35}


@pytest.mark.django_db
def test_fit_ranking_stores_a_model_for_the_encoder_and_the_engine_answers_with_it(tmp_path, hashing, capsys):
    article = save_article(title="Refund timing", body="Refunds reach your card within ten business days.",
                           locale="en", status=Article.Status.PUBLISHED)
    embed_chunks(chunk_ids=list(article.chunks.values_list("id", flat=True)))
    before = find_suggestions(text="when do refunds reach my card").suggestions[0].confidence

    call_command("fit_ranking", str(_write_set(tmp_path / "a", seed=1)), str(_write_set(tmp_path / "b", seed=2)),
                 "--save", "--json")

    report = json.loads(capsys.readouterr().out)
    encoder = report["encoder"]  # the encoder's name, dimensions included ("hashing-384")
    profile = RankingProfile.objects.get(encoder=encoder)
    assert profile.model == report["model"] and "2 set(s)" in profile.model["source"]
    assert set(report["leave_one_out"]) == {"a", "b"}
    assert report["fitted"]["hybrid"] >= max(report["fitted"]["dense"], report["fitted"]["lexical"])
    assert ranking_model(encoder) == ranking.RankingModel.from_dict(profile.model)
    after = find_suggestions(text="when do refunds reach my card").suggestions[0]
    expected = ranking.RankingModel.from_dict(profile.model)
    z = expected.bias + sum(getattr(expected, name) * after.evidence[name] for name in ranking.FEATURES)
    assert after.confidence == pytest.approx(1 / (1 + 2.718281828459045 ** -z), rel=1e-4)
    assert after.confidence != pytest.approx(before)
    # The live knowledge base was not touched by the fit's collection.
    assert list(Article.objects.values_list("id", flat=True)) == [article.id]

    call_command("fit_ranking", "--reset")
    assert not RankingProfile.objects.exists()
    assert ranking_model(encoder) == ranking.shipped_model(encoder)


@pytest.mark.django_db
def test_fit_ranking_learns_from_agents_ratings_of_first_suggestions(hashing, capsys):
    good = save_article(title="Refund timing", body="Refunds reach your card within ten business days.",
                        locale="en", status=Article.Status.PUBLISHED)
    embed_chunks(chunk_ids=list(good.chunks.values_list("id", flat=True)))
    ticket = open_ticket(subject="refund", body="when do refunds arrive", requester_email="a@example.com")
    for helpful, query in [(True, "refund card business days")] * 6 + [(False, "weather tomorrow")] * 6:
        shown = find_suggestions(text=query).suggestions[:1]
        rows = record_suggestions(ticket=ticket, suggestions=shown, query=query, query_language="en")
        Suggestion.objects.filter(id=rows[0].id).update(feedback="helpful" if helpful else "not_helpful")
    assert all(Suggestion.objects.values_list("evidence", flat=True))  # what was shown is kept with its evidence

    call_command("fit_ranking", "--feedback", "--save")
    out = capsys.readouterr().out
    assert "12 rated first suggestions (6 helpful)" in out and "saved" in out
    assert RankingProfile.objects.filter(encoder__startswith="hashing").exists()


@pytest.mark.django_db
def test_fit_ranking_refuses_what_it_cannot_fit(tmp_path, hashing):
    with pytest.raises(CommandError, match="at least one labelled set"):
        call_command("fit_ranking")
    with pytest.raises(CommandError, match="not a BEIR-layout"):
        call_command("fit_ranking", str(tmp_path))
    with pytest.raises(CommandError, match="both right and wrong"):
        call_command("fit_ranking", "--feedback")  # no ratings yet
