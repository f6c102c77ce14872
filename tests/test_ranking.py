"""Rank fusion, confidence and the retrieval metrics: pure functions, exact values."""

import math

import pytest

from helpdesk import ranking


def test_best_per_article_keeps_the_best_passage_of_each_article():
    hits = [(1, 10, 0.4), (2, 10, 0.9), (3, 20, 0.5), (4, 30, 0.5)]
    assert ranking.best_per_article(hits) == [(2, 10, 0.9), (3, 20, 0.5), (4, 30, 0.5)]


def test_plain_rrf_adds_reciprocal_ranks_across_retrievers():
    fused = ranking.fuse({"dense": [(1, 10, 0.9), (2, 20, 0.8)], "lexical": [(3, 20, 7.0)]}, method="rrf")
    assert [c.article_id for c in fused] == [20, 10]
    assert fused[0].fused == pytest.approx(1 / 62 + 1 / 61)
    assert fused[0].retrievers == ["dense", "lexical"]
    assert fused[0].chunk_id == 2  # the snippet comes from the first retriever that found it
    assert fused[1].ranks == {"dense": 1}


def test_strength_fusion_lets_a_close_paraphrase_beat_a_single_shared_common_word():
    # Dense: the refund article is a clear match (cos 0.6), the tracking one is not (0.2).
    # Lexical: only the tracking article shares a word ("get"), covering a third of the query's IDF.
    dense = [(1, 10, 0.6), (2, 20, 0.2)]
    lexical = [(3, 20, 1.5, 0.33)]
    assert [c.article_id for c in ranking.fuse({"dense": dense, "lexical": lexical}, method="rrf")] == [20, 10]
    assert [c.article_id for c in ranking.fuse({"dense": dense, "lexical": lexical}, method="strength")] == [10, 20]
    assert [c.article_id for c in ranking.fuse({"dense": dense, "lexical": lexical})] == [10, 20]


def test_weights_scale_a_retrievers_votes():
    lists = {"dense": [(1, 10, 0.9)], "lexical": [(2, 20, 3.0, 1.0)]}
    assert ranking.fuse(lists, weights={"dense": 0.25})[0].article_id == 20
    assert ranking.fuse(lists, weights={"lexical": 0.25})[0].article_id == 10


def test_unknown_fusion_method_is_refused():
    with pytest.raises(ValueError):
        ranking.fuse({}, method="max")


def test_confidence_rises_with_similarity_and_agreement():
    cal = ranking.Calibration(bias=-6.0, dense=10.0, lexical=1.0, agree=1.0)
    weak = ranking.Candidate(article_id=1, ranks={"dense": 1}, scores={"dense": 0.3})
    strong = ranking.Candidate(article_id=1, ranks={"dense": 1}, scores={"dense": 0.7})
    agreed = ranking.Candidate(article_id=1, ranks={"dense": 1, "lexical": 1}, scores={"dense": 0.7, "lexical": 5.0})
    assert ranking.confidence(weak, calibration=cal) == pytest.approx(1 / (1 + math.exp(3.0)))
    assert ranking.confidence(strong, calibration=cal) == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert ranking.confidence(agreed, calibration=cal) == pytest.approx(1 / (1 + math.exp(-3.0)))


def test_calibration_reads_a_settings_dict():
    cal = ranking.Calibration.from_setting({"bias": "-1", "dense": 2, "lexical": 0, "agree": 0})
    assert cal == ranking.Calibration(-1.0, 2.0, 0.0, 0.0)
    assert ranking.Calibration.from_setting(None) == ranking.Calibration()
    # Unset: the coefficients fitted for the encoder (cosine levels differ by model), MiniLM's for others.
    e5 = ranking.Calibration.from_setting(None, encoder="multilingual-e5-small-q4")
    assert e5 == ranking.FITTED["multilingual-e5-small-q4-torch"] != ranking.Calibration()
    assert ranking.Calibration.from_setting(None, encoder="some/other-model") == ranking.Calibration()
    assert ranking.Calibration.from_setting({"bias": 1}, encoder="multilingual-e5-small-q4").bias == 1.0


def test_metrics_match_their_definitions():
    relevant = {"a": 1, "c": 1}
    ranked = ["b", "a", "d", "c"]
    ideal = 1 + 1 / math.log2(3)
    assert ranking.ndcg_at(ranked, relevant, 10) == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)
    assert ranking.recall_at(ranked, relevant, 2) == 0.5
    assert ranking.recall_at(ranked, relevant, 100) == 1.0
    assert ranking.mrr_at(ranked, relevant, 10) == 0.5
    assert ranking.mrr_at(ranked, relevant, 1) == 0.0
    assert ranking.ndcg_at(ranked, {}, 10) == 0.0


def test_convex_fusion_adds_weighted_cosine_and_scaled_bm25_times_coverage():
    dense = [(1, 10, 0.6), (2, 20, 0.2)]
    lexical = [(3, 20, 1.5, 0.5), (4, 30, 0.75, 0.2)]
    fused = ranking.fuse({"dense": dense, "lexical": lexical}, weights={"dense": 0.7, "lexical": 0.3})
    assert [(c.article_id, round(c.fused, 6)) for c in fused] == [(10, 0.42), (20, 0.29), (30, 0.075)]


def test_articles_a_zero_weight_retriever_alone_found_follow_its_own_order_not_article_ids():
    lexical = [(1, 50, 9.0, 1.0)]
    dense = [(2, 30, 0.9), (3, 10, 0.8), (4, 20, 0.7), (1, 50, 0.2)]
    fused = ranking.fuse({"dense": dense, "lexical": lexical}, weights={"dense": 0.0, "lexical": 1.0})
    assert [c.article_id for c in fused] == [50, 30, 10, 20]
