from embeddings.chunking import chunk_article, text_length


def test_short_article_is_one_passage_carrying_the_title():
    passages = chunk_article("Reset your password", "Open Settings. Choose Security.")
    assert [p.text for p in passages] == ["Reset your password\nOpen Settings. Choose Security."]
    assert passages[0].body == "Open Settings. Choose Security."


def test_long_article_splits_at_sentences_within_the_budget_with_overlap():
    body = " ".join(f"Sentence number {i} has exactly seven words." for i in range(40))
    passages = chunk_article("Title", body, max_words=50, overlap_sentences=1)
    assert len(passages) > 5
    assert all(text_length(p.body) <= 50 for p in passages)
    assert all(p.text.startswith("Title\n") for p in passages)
    # each passage starts with the last sentence of the previous one
    for before, after in zip(passages, passages[1:]):
        assert after.body.split(". ")[0] + "." in before.body
    assert [p.ordinal for p in passages] == list(range(len(passages)))


def test_text_without_spaces_is_measured_per_character():
    body = "お荷物が届かない場合は、追跡番号を確認してください。" * 20
    passages = chunk_article("配送について", body, max_words=60)
    assert len(passages) > 1
    assert all(text_length(p.body) <= 60 for p in passages)


def test_empty_body_still_gives_the_title_as_a_passage_and_hash_tracks_text():
    (only,) = chunk_article("Contact support", "")
    assert only.text == "Contact support"
    assert only.content_hash != chunk_article("Contact us", "")[0].content_hash


def test_the_title_alone_can_be_one_more_passage_without_a_snippet_of_its_own():
    body = "Open Settings and choose Security. " * 6  # 30 words: long enough to dilute the title
    passages = chunk_article("Reset your password", body, title_passage=True)
    assert [(p.ordinal, p.text, p.body) for p in passages] == [
        (0, f"Reset your password\n{body.strip()}", body.strip()),
        (1, "Reset your password", ""),
    ]
    # A short article's one passage is mostly its title already: no second one.
    short = chunk_article("Reset your password", "Open Settings. Choose Security.", title_passage=True)
    assert [p.text for p in short] == ["Reset your password\nOpen Settings. Choose Security."]
    # An article that is all title already has that passage, once.
    assert [p.text for p in chunk_article("Contact support", "", title_passage=True)] == ["Contact support"]
