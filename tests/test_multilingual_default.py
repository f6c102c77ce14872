"""The default encoder is multilingual: questions in languages the knowledge base lacks find the
English article (the demo's content, the real default model: the encoder is the subject here)."""

import pytest

from helpdesk import conf
from helpdesk.selectors.suggestions import find_suggestions
from tests.widget_support import load_kb

KEYS = ("reset-password", "track-order", "refund-timing", "return-item", "two-factor-codes",
        "update-payment-card", "cancel-subscription", "international-shipping-customs")
QUESTIONS = [
    ("¿Cómo cambio la contraseña que olvidé?", "reset-password"),
    ("我的包裹现在在哪里？我想查看物流", "track-order"),
    ("Siparişimi iade etmek istiyorum, nasıl geri gönderirim?", "return-item"),
    ("Kiedy dostanę zwrot pieniędzy na kartę?", "refund-timing"),
    ("Nie dostaję kodu weryfikacyjnego SMS przy logowaniu", "two-factor-codes"),
    ("Wie kann ich mein Abonnement kündigen?", "cancel-subscription"),
    ("関税はいくらかかりますか？海外発送について", "international-shipping-customs"),
]


@pytest.mark.django_db
def test_questions_in_other_languages_find_the_english_only_article(settings):
    settings.HELPDESK = {"ENCODER": conf.DEFAULTS["ENCODER"]}
    kb = load_kb(keys=KEYS, locales=("en",))  # embedded once: the KB is the same for every question
    found = {}
    for question, key in QUESTIONS:
        top = find_suggestions(text=question, limit=3).suggestions[0]
        found[question] = (top.article_id == kb[(key, "en")].id, top.locale, "dense" in top.retrievers)
    assert found == {question: (True, "en", True) for question, _ in QUESTIONS}
