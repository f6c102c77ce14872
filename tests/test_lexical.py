"""Lexical retrieval: per-language full-text search, CJK/Thai bigrams, BM25 order."""

import pytest

from helpdesk import lexical
from helpdesk.models import Article
from helpdesk.services.knowledge import save_article


def test_unspaced_scripts_become_character_bigrams_and_other_text_is_kept():
    assert lexical.segment("重置密码 reset") == " 重置 置密 密码  reset"
    assert lexical.segment("ดี") == " ดี "
    assert lexical.segment("plain words") == "plain words"


def test_languages_without_a_postgres_configuration_use_simple():
    assert lexical.text_search_config("es-MX") == "spanish"
    assert lexical.text_search_config("nb") == "norwegian"
    assert lexical.text_search_config("no") == "norwegian"
    assert lexical.text_search_config("sh") == "serbian"
    assert lexical.text_search_config("zh") == "simple"
    assert lexical.text_search_config(None) == "simple"


@pytest.fixture
def articles(db):
    lexical.forget_stats()
    made = {
        "zh": save_article(title="如何重置密码", body="在登录页面点击忘记密码，我们会发送重置链接到您的邮箱。", locale="zh",
                           status=Article.Status.PUBLISHED),
        "th": save_article(title="การคืนเงิน", body="เราจะคืนเงินภายในเจ็ดวันทำการหลังจากได้รับสินค้า", locale="th",
                           status=Article.Status.PUBLISHED),
        "es": save_article(title="Cancelar suscripciones", body="Puedes cancelar tu suscripción desde Facturación.",
                           locale="es", status=Article.Status.PUBLISHED),
        "en": save_article(title="Printer error E1234", body="The printer shows E1234 when the paper tray is open.",
                           locale="en", status=Article.Status.PUBLISHED),
        "en2": save_article(title="Printer setup", body="Connect the printer to Wi-Fi from its settings menu.",
                            locale="en", status=Article.Status.PUBLISHED),
    }
    yield made
    lexical.forget_stats()


def _articles(hits):
    """The articles of passage hits, best first, each once (an article's title passage and its body
    can both match)."""
    return list(dict.fromkeys(article_id for _, article_id, _, _ in hits))


def test_chinese_and_thai_passages_are_found_by_a_few_words_of_the_query(articles):
    assert _articles(lexical.search("忘记密码了怎么办", language="zh"))[0] == articles["zh"].id
    assert _articles(lexical.search("คืนเงิน", language="th")) == [articles["th"].id]


def test_spanish_stemming_matches_other_word_forms(articles):
    assert _articles(lexical.search("cómo cancelo mi suscripción", language="es"))[0] == articles["es"].id


def test_rare_exact_terms_outrank_common_ones(articles):
    hits = lexical.search("my printer shows error E1234", language="en")
    assert _articles(hits)[:2] == [articles["en"].id, articles["en2"].id]
    assert hits[0][3] == pytest.approx(1.0)  # the best passage holds every query term
    assert 0 < hits[1][3] < 1


def test_queries_with_no_searchable_words_find_nothing(articles):
    assert lexical.search("🙂🙂 !!", language="en") == []
    assert lexical.search("'; DROP TABLE helpdesk_chunk; --", language="en") == []
    assert isinstance(lexical.search("a:* & | ! <b>o\\'", language="en"), list)  # tsquery syntax is quoted, never parsed


def test_a_query_whose_rare_words_are_unknown_still_searches_with_its_known_ones(db):
    lexical.forget_stats()
    track = save_article(title="Seguimiento de su pedido", body="Abra Pedidos y siga el enlace del paquete.",
                         locale="es", status=Article.Status.PUBLISHED)
    save_article(title="Restablecer la contraseña", body="Use el enlace de su correo para el pedido de cambio.",
                 locale="es", status=Article.Status.PUBLISHED)
    # "gracias", "ahora", "dónde" appear in no article; "pedido" and "paquete" do.
    hits = lexical.search("Ya entré, gracias. Ahora: ¿dónde está mi pedido? Quiero el seguimiento del paquete.",
                          language="es")
    assert hits and hits[0][1] == track.id


def test_a_question_read_in_the_wrong_language_still_matches_articles_as_they_were_indexed(articles):
    # Short questions are where language detection errs; the English article is found through its
    # own (English) analysis of the words, whatever language the question was taken for.
    english = lexical.search("printers showing errors", language="en")
    assert _articles(english)[:2] == [articles["en"].id, articles["en2"].id]
    for language in ("fr", "de", "tr", None):
        assert lexical.search("printers showing errors", language=language) == english, language


def test_title_words_of_a_long_article_are_as_rare_as_the_article_is(db):
    lexical.forget_stats()
    body = "\n\n".join(f"Paragraph {i} explains one more detail of the process with enough words to fill it. " * 6
                       for i in range(6))
    long = save_article(title="Warranty claims", body=body, locale="en", status=Article.Status.PUBLISHED)
    save_article(title="Shipping times", body="Parcels arrive in three days.", locale="en",
                 status=Article.Status.PUBLISHED)
    assert long.chunks.count() > 2  # the title is repeated in every passage
    stats = lexical._corpus_stats()
    assert stats.frequencies["warranti"] == 1 and stats.total == 2  # counted per article, not per passage
    hits = lexical.search("warranty", language="en")
    assert {article_id for _, article_id, _, _ in hits} == {long.id}


def test_one_letter_words_of_languages_without_stop_words_do_not_decide(db):
    lexical.forget_stats()
    wanted = save_article(title="Reklamace zboží", body="Reklamaci podáte do třiceti dnů od převzetí.", locale="cs",
                          status=Article.Status.PUBLISHED)
    for i in range(3):  # passages full of "v", "a", "k", "s" and nothing about complaints
        save_article(title=f"Doprava {i}", body="Balík v pondělí a k vám s kurýrem v úterý a v sobotu.", locale="cs",
                     status=Article.Status.PUBLISHED)
    hits = lexical.search("jak a kde v obchodě podat reklamace zboží s vadou", language="cs")
    assert [article_id for _, article_id, _, _ in hits] == [wanted.id]


def test_passages_with_the_same_words_score_alike_and_tie_on_age(db):
    lexical.forget_stats()
    save_article(title="Opening hours", body="Shops open at nine.", locale="en", status=Article.Status.PUBLISHED)
    twins = [save_article(title="Gift cards and vouchers", body="Gift cards never expire, vouchers expire in a year; "
                          "both work in every shop.", locale="en", status=Article.Status.PUBLISHED) for _ in range(4)]
    hits = lexical.search("do gift cards or vouchers expire", language="en")
    assert _articles(hits) == [twin.id for twin in twins]  # the same score to the last bit: oldest first
    assert len({(score, coverage) for _, _, score, coverage in hits}) == 1


def test_configurations_whose_passages_lack_the_words_are_not_searched_and_the_others_are(articles):
    german = save_article(title="Druckerfehler E1234", body="Der Drucker zeigt E1234, wenn das Papierfach offen ist.",
                          locale="de", status=Article.Status.PUBLISHED)
    lexical.forget_stats()
    stats = lexical._corpus_stats()
    assert stats.held_in("密码", "simple") and not stats.held_in("密码", "german")
    assert stats.held_in("e1234", "english") and stats.held_in("e1234", "german")
    assert not stats.held_in("e1234", "spanish") and not stats.held_in("unknown", "english")
    # A word held in two configurations is found in both; a Chinese question still finds its article.
    assert set(_articles(lexical.search("E1234", language="en"))) == {articles["en"].id, german.id}
    assert _articles(lexical.search("忘记密码了怎么办", language="de"))[0] == articles["zh"].id
