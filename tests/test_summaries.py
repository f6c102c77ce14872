"""What "Insert into reply" puts before the link: the article's opening in whole sentences."""

import json
from pathlib import Path

import pytest

from helpdesk.summaries import preview, summary

DEMO_KB = Path(__file__).resolve().parents[1] / "helpdesk" / "demo" / "kb.json"


def test_a_short_article_is_given_whole():
    body = "Refunds take 5 to 10 days.\n\nCard refunds can take longer."
    assert summary(body) == body


def test_a_long_article_stops_between_sentences_not_inside_one():
    body = " ".join(f"Sentence number {i} says something useful about refunds." for i in range(40))
    text = summary(body, length=200)
    assert text.endswith("refunds.") and len(text) <= 200
    assert text.count("Sentence number") == 3


def test_list_items_keep_their_numbers_and_lines():
    body = "Do this:\n\n1. Open Orders.\n2. Select the order. Then select Return.\n3. Print the label."
    assert summary(body) == body


def test_a_list_flattened_into_one_line_is_not_cut_after_its_numbers():
    passage = "The time depends on how you paid: 1. Card: 3 to 5 days. 2. PayPal: one day."
    assert summary(passage, length=40) == "The time depends on how you paid: 1. Card: 3 to 5 days."


def test_the_first_sentence_is_kept_whole_however_long():
    body = "word " * 300 + "end. Second sentence."
    assert summary(body.strip(), length=100) == ("word " * 300 + "end.").strip()


def test_japanese_sentences_split_at_the_full_stop_and_count_double():
    body = "パスワードを忘れた場合は、サインインページから再設定できます。" * 30
    text = summary(body, length=300)
    assert text.endswith("。") and 0 < len(text) * 2 <= 300 + 2 * 31
    assert body.startswith(text)


@pytest.mark.parametrize("key", [a["key"] for a in json.loads(DEMO_KB.read_text())["articles"]])
def test_every_demo_translation_gives_whole_sentences_from_its_start(key):
    item = next(a for a in json.loads(DEMO_KB.read_text())["articles"] if a["key"] == key)
    for locale, translation in item["translations"].items():
        text = summary(translation["body"])
        assert translation["body"].startswith(text), locale
        assert text[-1] in ".。!?！？:」)»\"", (locale, text[-40:])


def test_a_preview_stops_between_words_and_says_it_was_cut():
    text = "Standard shipping costs 4.95 and is free over 50; express shipping costs 9.95 and arrives next day."
    assert preview(text, 200) == text
    cut = preview(text, 40)
    assert cut == "Standard shipping costs 4.95 and is…"
    assert len(cut) <= 40 and text.startswith(cut[:-1])


def test_a_preview_of_text_without_spaces_is_cut_at_the_limit():
    text = "ご注文の配送状況は、マイページの注文履歴からいつでも確認できます。" * 5
    cut = preview(text, 30)
    assert len(cut) == 30 and cut.endswith("…") and text.startswith(cut[:-1])
