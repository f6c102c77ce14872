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


def test_confidence_rises_with_how_far_the_article_stands_out_its_coverage_and_agreement():
    model = ranking.RankingModel(bias=-3.0, lift=10.0, standout=0.5, coverage=1.0, agree=1.0)
    dense = [(1, 1, 0.7), (2, 2, 0.5), (3, 3, 0.3)]  # runners-up: mean 0.4, spread 0.1
    candidates = ranking.fuse({"dense": dense, "lexical": [(4, 1, 3.0, 0.5)]}, weights={"dense": 0.9, "lexical": 0.1})
    ranking.confidences(candidates, dense, model=model)
    top, second, third = candidates
    # top: lift 0.3 (3 spreads), coverage 0.5, both retrievers rank it first
    assert top.evidence == {"lift": 0.3, "standout": 3.0, "coverage": 0.5, "agree": 1.0, "cross": 0.0, "cosine": 0.7}
    assert top.confidence == pytest.approx(1 / (1 + math.exp(-(-3 + 3 + 1.5 + 0.5 + 1))))
    # second: lift 0.1 (1 spread), no lexical evidence
    assert second.evidence["lift"] == pytest.approx(0.1) and second.evidence["coverage"] == 0.0
    assert second.confidence == pytest.approx(1 / (1 + math.exp(-(-3 + 1 + 0.5))))
    assert third.confidence < second.confidence


def test_the_same_standing_out_gives_the_same_confidence_at_any_cosine_level():
    # A cross-language question's cosines sit lower than a same-language one's; what decides is how
    # far the first article stands out from the runners-up, not the level.
    model = ranking.RankingModel(bias=-3.0, lift=10.0, standout=0.5, coverage=0.0, agree=0.0)
    same = [(1, 1, 0.92), (2, 2, 0.85), (3, 3, 0.84), (4, 4, 0.83)]
    cross = [(1, 1, 0.82), (2, 2, 0.75), (3, 3, 0.74), (4, 4, 0.73)]
    results = []
    for dense in (same, cross):
        candidates = ranking.fuse({"dense": dense})
        ranking.confidences(candidates, dense, model=model)
        results.append(candidates[0].confidence)
    assert results[0] == pytest.approx(results[1])


def test_an_article_dense_search_did_not_return_counts_as_no_closer_than_its_last_article():
    model = ranking.RankingModel(bias=0.0, lift=10.0, standout=0.0, coverage=0.0, agree=0.0)
    dense = [(1, 1, 0.8), (2, 2, 0.6), (3, 3, 0.4)]
    candidates = ranking.fuse({"dense": dense, "lexical": [(9, 7, 5.0, 1.0)]}, weights={"dense": 0.1, "lexical": 0.9})
    ranking.confidences(candidates, dense, model=model)
    lexical_only = next(c for c in candidates if c.article_id == 7)
    assert lexical_only.evidence["lift"] == pytest.approx(0.4 - 0.5)


def test_an_article_ranked_lower_never_shows_a_higher_confidence_than_the_one_above():
    # Lexical pushes article 2 first; article 1 stands out more, so its own confidence would be higher.
    model = ranking.RankingModel(bias=-2.0, lift=10.0, standout=0.0, coverage=0.0, agree=0.0)
    dense = [(1, 1, 0.8), (2, 2, 0.6), (3, 3, 0.6)]
    candidates = ranking.fuse({"dense": dense, "lexical": [(4, 2, 5.0, 1.0)]}, weights={"dense": 0.5, "lexical": 0.5})
    ranking.confidences(candidates, dense, model=model)
    assert [c.article_id for c in candidates][:2] == [2, 1]
    assert candidates[0].confidence == pytest.approx(1 / (1 + math.exp(-(-2 + 10 * (0.6 - 0.6)))))
    assert candidates[1].confidence == candidates[0].confidence


def test_ranking_models_read_from_settings_and_shipped_per_encoder():
    model = ranking.RankingModel.from_dict({"bias": "-1", "lift": 2, "source": "mine"})
    assert (model.bias, model.lift, model.source, model.coverage) == (-1.0, 2.0, "mine", ranking.RankingModel().coverage)
    assert ranking.RankingModel.from_dict(model.as_dict()) == model
    with pytest.raises(ValueError, match="unknown ranking model field"):
        ranking.RankingModel.from_dict({"dense": 8.0})  # the old calibration's name: refused, not ignored
    e5 = ranking.shipped_model("multilingual-e5-small-q4")
    assert e5 == ranking.shipped_model("multilingual-e5-small-q4-torch") != ranking.RankingModel()
    # The int8 default has its own fit: its cosines are not the float model's.
    assert ranking.shipped_model("multilingual-e5-small-int8") not in (e5, ranking.RankingModel())
    assert ranking.shipped_model("some/other-model") == ranking.RankingModel()


def test_the_dense_share_follows_the_lead_of_the_first_dense_article_up_to_its_cap():
    model = ranking.RankingModel(dense_tied=0.65, dense_per_lead=5.0, dense_cap=0.9)
    assert model.dense_share([(1, 10, 0.5), (2, 20, 0.5)]) == 0.65
    assert model.dense_share([(1, 10, 0.52), (2, 20, 0.5)]) == pytest.approx(0.75)
    assert model.dense_share([(1, 10, 0.6), (2, 20, 0.5)]) == 0.9
    assert model.dense_share([(1, 10, 0.6)]) == model.dense_share([]) == 0.65
    assert model.dense_share([(1, 10, 0.6)], knows_language=False) == 0.65  # no off-language share set


def test_the_dense_share_can_follow_the_lead_in_standard_deviations_of_the_runners_up():
    # multilingual-e5: related articles sit within hundredths, so the same 0.04 lead is decisive when
    # the runners-up lie close together and means little when they spread wide.
    model = ranking.RankingModel(dense_tied=0.8, dense_per_lead=0.0, dense_per_standout=0.05, dense_cap=1.0)
    close = [(1, 10, 0.90), (2, 20, 0.86), (3, 30, 0.855), (4, 40, 0.85), (5, 50, 0.845)]
    wide = [(1, 10, 0.90), (2, 20, 0.86), (3, 30, 0.80), (4, 40, 0.74), (5, 50, 0.68)]
    assert model.dense_share(close) == 1.0  # 0.04 is ~7 standard deviations here
    assert 0.8 < model.dense_share(wide) < 0.85  # ~0.6 here
    lead, lead_sd = ranking.leads(close)
    assert lead == pytest.approx(0.04) and lead_sd == pytest.approx(0.04 / 0.00559, rel=0.01)
    # Too few runners-up to measure a spread: the lead in deviations says nothing.
    assert ranking.leads(close[:3]) == (pytest.approx(0.04), 0.0)
    assert model.dense_share(close[:3]) == 0.8


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


def test_an_article_in_another_language_than_the_question_gets_the_fitted_cross_language_term():
    model = ranking.RankingModel(bias=-1.0, lift=0.0, standout=0.0, coverage=0.0, agree=0.0, cross=1.0)
    dense = [(1, 1, 0.8), (2, 2, 0.7), (3, 3, 0.6)]
    candidates = ranking.fuse({"dense": dense})
    ranking.confidences(candidates, dense, model=model, cross=lambda article_id: article_id == 1)
    assert candidates[0].evidence["cross"] == 1.0 and candidates[0].confidence == pytest.approx(0.5)
    assert candidates[1].evidence["cross"] == 0.0 and candidates[1].confidence == pytest.approx(1 / (1 + math.e))
