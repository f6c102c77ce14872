"""The evaluation commands: a labelled set in BEIR layout, and language identification lines."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from helpdesk.models import Article, Chunk
from helpdesk.services.knowledge import save_article


def _write_set(root):
    (root / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": "d1", "title": "Reset password", "text": "Use the forgot password link on the sign-in page."},
        {"_id": "d2", "title": "Refund timing", "text": "Refunds take ten business days.", "language": "en"},
        {"_id": "d3", "title": "Printer trouble", "text": "Close the paper tray and restart."},
    ]
    queries = [
        {"_id": "q1", "text": "forgot password link", "language": "en"},
        {"_id": "q2", "text": "ten days?", "history": ["I want my money back.", {"speaker": "agent", "text": "Refunds"}],
         "language": "en"},
        {"_id": "q3", "text": "paper tray", "language": "de"},
        {"_id": "q4", "text": "not judged"},
    ]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus) + "\n")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n")
    return root


@pytest.fixture
def hashing(settings):
    settings.HELPDESK = {"ENCODER": "hashing"}


@pytest.mark.django_db
def test_evaluate_retrieval_scores_every_mode_in_a_space_it_then_drops(tmp_path, hashing, capsys):
    live = save_article(title="Live article about password links", body="Forgot password link.", locale="en",
                        status=Article.Status.PUBLISHED)
    chunks_before = Chunk.objects.count()

    call_command("evaluate_retrieval", str(_write_set(tmp_path / "set")), "--mode", "all", "--json")

    report = json.loads(capsys.readouterr().out)
    assert report["documents"] == 3 and report["queries"] == 3
    lexical = report["results"]["lexical"]
    assert lexical["overall"] == {"ndcg@10": 1.0, "recall@10": 1.0, "recall@100": 1.0, "mrr@10": 1.0, "queries": 3}
    assert sorted(lexical["per_language"]) == ["de", "en"]
    assert lexical["per_language"]["de"]["queries"] == 1
    assert set(report["results"]) == {"hybrid", "dense", "lexical"}
    assert report["results"]["hybrid"]["overall"]["recall@100"] == 1.0
    # The live knowledge base was neither read (the live article is not a result) nor written.
    assert list(Article.objects.values_list("id", flat=True)) == [live.id]
    assert Chunk.objects.count() == chunks_before
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'helpdesk_eval_%%'")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SHOW search_path")
        assert "helpdesk_eval" not in cursor.fetchone()[0]


@pytest.mark.django_db
def test_evaluate_retrieval_prints_a_table_and_refuses_bad_input(tmp_path, hashing, capsys):
    call_command("evaluate_retrieval", str(_write_set(tmp_path / "set")), "--mode", "lexical")
    out = capsys.readouterr().out
    assert "lexical  all              3   1.0000  1.0000  1.0000  1.0000" in out
    with pytest.raises(CommandError, match="missing"):
        call_command("evaluate_retrieval", str(tmp_path / "nowhere"))
    with pytest.raises(CommandError, match="unknown mode"):
        call_command("evaluate_retrieval", str(tmp_path / "set"), "--mode", "fuzzy")



def _write_set_with_unanswerable(root):
    _write_set(root)
    more = [
        {"_id": "q5", "text": "printer paper jam", "answerable": False},  # explicit
        {"_id": "q6", "text": "password for refunds", "language": "en"},  # labelled to a document not in the corpus
        {"_id": "q7", "text": "restart", "language": "en"},  # answerable, but the words point elsewhere
    ]
    with (root / "queries.jsonl").open("a") as handle:
        handle.write("\n".join(json.dumps(q) for q in more) + "\n")
    with (root / "qrels" / "test.tsv").open("a") as handle:
        handle.write("q6\td9\t1\nq7\td1\t1\n")
    return root


@pytest.fixture
def rank_confidence(settings):
    """Confidence from lexical coverage alone: all the question's words → 0.99, half → 0.5, none → 0.01."""
    settings.HELPDESK = {"ENCODER": "hashing", "CONFIDENCE_THRESHOLD": 0.6,
                         "RANKING_MODEL": {"bias": -5, "lift": 0, "standout": 0, "coverage": 10, "agree": 0}}


@pytest.mark.django_db
def test_unlabelled_and_unanswerable_questions_are_judged_on_whether_the_desk_holds_back(
        tmp_path, rank_confidence, capsys):
    call_command("evaluate_retrieval", str(_write_set_with_unanswerable(tmp_path / "set")), "--mode", "lexical",
                 "--json")

    report = json.loads(capsys.readouterr().out)
    # q1-q3 and q7 are answerable; q4 (no label), q5 (marked) and q6 (its article is not in the corpus) are not.
    assert (report["queries"], report["out_of_scope"], report["threshold"]) == (4, 3, 0.6)
    assert report["results"]["lexical"]["overall"]["queries"] == 4  # ranking metrics: answerable questions only
    figures = report["results"]["lexical"]["no_answer"]
    overall = figures["overall"]
    # At 0.6 only an article holding (nearly) all the question's words is shown: q1-q3 right, q7 the
    # printer article (wrong); q4 finds nothing; q5 and q6 share only some words with an article.
    assert (overall["answerable"], overall["answerable_correct"], overall["answerable_wrong"],
            overall["answerable_held_back"]) == (4, 0.75, 0.25, 0.0)
    assert (overall["unanswerable"], overall["unanswerable_held_back"]) == (3, 1.0)
    assert figures["per_language"]["de"]["answerable_correct"] == 1.0
    curve = {point["threshold"]: point for point in figures["curve"]}
    # At 0 everything found is shown: q5 and q6 get an article although none answers them.
    assert len(curve) == 20 and curve[0.0]["unanswerable_held_back"] == 0.3333
    # Holding back everything but a confident first place costs answerable questions nothing here.
    assert curve[0.95]["answerable_correct"] == 0.75


@pytest.mark.django_db
def test_the_no_answer_table_is_printed_and_unlabelled_queries_can_be_left_out(tmp_path, rank_confidence, capsys):
    root = _write_set_with_unanswerable(tmp_path / "set")
    call_command("evaluate_retrieval", str(root), "--mode", "lexical")
    out = capsys.readouterr().out
    assert "No-answer decision (lexical) at the configured threshold 0.60" in out
    assert "all                 4    75.0%    25.0%      0.0%              3    100.0%" in out
    assert "0.00                4    75.0%    25.0%      0.0%              3     33.3%" in out

    call_command("evaluate_retrieval", str(root), "--mode", "lexical", "--unlabelled", "skip", "--json")
    report = json.loads(capsys.readouterr().out)
    assert (report["queries"], report["out_of_scope"]) == (4, 2)  # q4 left out; q5 and q6 still judged


LINES = [
    ("Das ist ein ganz normaler deutscher Satz über das Wetter von morgen.", "de"),
    ("This is an ordinary English sentence about tomorrow's weather.", "en"),
    ("Ceci est une phrase française tout à fait ordinaire sur le temps.", "fr"),
    ("今天天气很好，我们一起去公园散步吧。", "cmn"),
    ("Tom wott Wasser.", "gsw"),
]


@pytest.mark.django_db
def test_evaluate_language_reports_accuracy_and_writes_predictions_in_order(tmp_path, capsys):
    source = tmp_path / "lines.tsv"
    source.write_text("".join(f"{text}\t{tag}\n" for text, tag in LINES), encoding="utf-8")
    predictions = tmp_path / "predictions.txt"

    call_command("evaluate_language", str(source), "--predictions", str(predictions), "--json")

    report = json.loads(capsys.readouterr().out)
    assert predictions.read_text().splitlines()[:4] == ["de", "en", "fr", "zh"]
    assert len(predictions.read_text().splitlines()) == 5
    assert report["unsupported"] == ["gsw"]
    assert report["supported"] == {"languages": 4, "lines": 4, "accuracy": 1.0, "macro_accuracy": 1.0}
    assert report["all"]["lines"] == 5 and report["all"]["accuracy"] == 0.8
    assert report["per_language"]["zh"] == {"accuracy": 1.0, "lines": 1}


@pytest.mark.django_db
def test_evaluate_language_counts_script_tagged_labels_as_supported(tmp_path, capsys):
    source = tmp_path / "scripts.tsv"
    source.write_text("我的包裹在哪里？上周就应该到了。\tzh-Hans\n我的包裹在哪裡？上週就應該到了。\tzh-Hant\n"
                      "내 소포는 어디에 있나요? 지난주에 도착했어야 했어요.\tko-Hang\n"
                      "Mənim bağlamam haradadır? O, keçən həftə gəlməli idi.\taz-Latn\n"
                      "Где је мој пакет? Требало је да стигне прошле недеље.\tsr-Cyrl\n", encoding="utf-8")

    call_command("evaluate_language", str(source), "--json")

    report = json.loads(capsys.readouterr().out)
    assert report["unsupported"] == []
    assert sorted(report["per_language"]) == ["az-Latn", "ko-Hang", "sr-Cyrl", "zh-Hans", "zh-Hant"]
    assert report["supported"]["languages"] == 5 and report["supported"]["lines"] == 5
    assert report["supported"]["accuracy"] == report["all"]["accuracy"] == 1.0


def test_evaluate_language_refuses_unlabelled_lines(tmp_path):
    source = tmp_path / "bad.tsv"
    source.write_text("no tab here\n")
    with pytest.raises(CommandError, match="line 1"):
        call_command("evaluate_language", str(source))
