"""The widget speaks the customer's language: first the browser's, then the question's.

Chromium runs with a French, a Japanese, a Hebrew and a Spanish locale (navigator.languages); every
word the widget shows comes from catalog.json, generated from the .po files, and the names of
languages (the badge on an answer in another language) from the browser's Intl.DisplayNames.
"""

import re

import pytest
from playwright.sync_api import expect

from helpdesk.services.desk_settings import set_confidence_threshold
from tests.browser.a11y_support import serious_violations, with_axe
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_widget import host, kb  # noqa: F401 - fixtures
from tests.widget_support import load_kb

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_in(browser):
    contexts = []

    def open_page(locale: str):
        context = browser.new_context(viewport=DESKTOP, locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def test_a_french_browser_sees_buttons_and_forms_in_french(browser_in, host, kb, screenshot_dir):
    # The subject is the French wording of the no-answer path. This knowledge base has five topics
    # in English, Spanish and Arabic only, and against so few articles every French question's best
    # one, "How long refunds take", stands out from the other four (confidence 0.35-0.75 for a
    # drone, a recipe or the weather, either e5 backend): the threshold is raised to reach the path.
    set_confidence_threshold(value=0.95)
    page = browser_in("fr-FR")
    page.goto(host())
    page.get_by_role("button", name="Aide", exact=True).click()
    assert page.get_by_role("heading", name="Comment pouvons-nous vous aider ?").is_visible()
    assert page.get_by_role("searchbox", name="Posez une question").get_attribute("placeholder") == "Saisissez votre question…"
    assert page.get_by_role("button", name="Rechercher").is_visible()

    page.get_by_role("searchbox", name="Posez une question").fill("Vendez-vous des hélices de rechange pour le drone X9 de 2019 ?")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_text("Nous n’avons pas encore de bonne réponse à cette question.").wait_for()
    page.get_by_role("button", name="Contacter l’assistance").click()
    assert page.get_by_text("Envoyez-nous votre question, nous vous répondrons par e-mail.").is_visible()
    page.get_by_label("Votre adresse e-mail").fill("pas-une-adresse")
    assert page.get_by_label("Votre nom (facultatif)").is_visible() and page.get_by_label("Message").is_visible()
    page.get_by_role("button", name="Envoyer").click()
    page.get_by_text("Veuillez saisir une adresse e-mail valide.").wait_for()
    assert page.locator(".root").get_attribute("lang") == "fr"
    page.screenshot(path=screenshot_dir / "widget-french.png")


def test_a_japanese_browser_sees_buttons_and_forms_in_japanese(browser_in, host, kb, screenshot_dir):
    page = browser_in("ja-JP")
    page.goto(host())
    page.get_by_role("button", name="ヘルプ", exact=True).click()
    assert page.get_by_role("heading", name="どのようなご用件でしょうか？").is_visible()
    page.get_by_role("searchbox", name="質問する").fill("注文した商品が届きません。配送状況を確認するには？")
    page.get_by_role("button", name="検索").click()
    page.locator("#pd-results .result").first.wait_for()
    page.locator("#pd-results .result").first.click()
    page.get_by_text("この記事で疑問は解決しましたか？").wait_for()
    assert page.get_by_role("button", name="はい").is_visible()
    page.get_by_role("button", name="いいえ").click()
    page.get_by_label("メールアドレス").wait_for()
    assert page.get_by_label("お名前（任意）").is_visible()
    assert page.get_by_role("button", name="送信").is_visible()
    assert page.get_by_role("button", name="検索結果に戻る").is_visible()
    page.screenshot(path=screenshot_dir / "widget-japanese.png")


def test_a_hebrew_browser_gets_a_right_to_left_widget_before_any_question(browser_in, host, kb, screenshot_dir):
    page = browser_in("he-IL")
    page.goto(host())
    launcher = page.get_by_role("button", name="עזרה", exact=True)
    launcher.click()
    assert page.locator(".root").get_attribute("dir") == "rtl"
    assert page.locator(".root").get_attribute("lang") == "he"
    assert page.locator(".panel").evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert page.get_by_role("button", name="חיפוש").is_visible()
    # Right to left puts the launcher and the panel at the left edge.
    assert page.locator(".panel").bounding_box()["x"] < page.viewport_size["width"] / 2
    page.screenshot(path=screenshot_dir / "widget-hebrew-rtl.png")


def test_the_question_language_wins_over_an_unshipped_browser_language(browser_in, host, kb):
    page = browser_in("sw-KE")  # Swahili: not shipped, so English until the question says otherwise
    page.goto(host())
    page.get_by_role("button", name="Help", exact=True).click()
    page.get_by_role("searchbox", name="Ask a question").fill("Wie kann ich meine Bestellung verfolgen? Wo ist mein Paket?")
    page.get_by_role("searchbox", name="Ask a question").press("Enter")
    page.get_by_role("button", name="Suchen").wait_for()
    assert page.locator(".root").get_attribute("lang") == "de"


@pytest.fixture
def english_only_kb(transactional_db):
    """Order tracking written in English only; password resets in English and Spanish."""
    from helpdesk.services.desk_settings import set_confidence_threshold

    # Two articles leave no runners-up to measure how far an answer stands out from (the confidence
    # falls back on the encoder's typical cosine): 0.22 here. The subject is the marker, so the
    # admin's threshold is lower; the demo questions below run at the shipped one.
    set_confidence_threshold(value=0.2)
    return {**load_kb(keys=("reset-password",), locales=("en", "es")),
            **load_kb(keys=("track-order",), locales=("en",))}


def test_an_english_answer_to_a_spanish_question_says_it_is_in_english(browser_in, host, english_only_kb,
                                                                       screenshot_dir):
    blank = browser_in("es-ES")
    page = with_axe(blank.context).new_page()  # axe is injected into pages opened after with_axe
    blank.close()
    page.set_default_timeout(15_000)
    page.goto(host())
    page.get_by_role("button", name="Ayuda", exact=True).click()
    page.get_by_role("searchbox", name="Haz una pregunta").fill("¿Dónde está mi pedido? Quiero rastrear mi paquete.")
    page.get_by_role("searchbox", name="Haz una pregunta").press("Enter")
    english = english_only_kb[("track-order", "en")]
    result = page.locator("#pd-results .result", has=page.locator(".title", has_text=english.title))
    result.wait_for()
    # The badge names the article's language in the widget's language (the browser's CLDR names, no
    # catalog string), marked as Spanish text inside an English button, and is part of the button's name.
    badge = result.locator(".lang")
    assert badge.inner_text() == "Inglés"
    assert (badge.get_attribute("lang"), badge.get_attribute("data-locale")) == ("es", "en")
    expect(page.get_by_role("button", name=re.compile(re.escape(english.title) + r"\s*Inglés"))).to_be_visible()
    # Answers in the question's own language carry no badge.
    spanish = page.locator("#pd-results .result", has=page.locator(".title",
                                                                    has_text=english_only_kb[("reset-password", "es")].title))
    if spanish.count():
        assert spanish.locator(".lang").count() == 0
    assert serious_violations(page) == []
    page.screenshot(path=screenshot_dir / "widget-other-language-results.png")
    page.set_viewport_size(PHONE)
    page.screenshot(path=screenshot_dir / "widget-other-language-results-390.png")
    page.set_viewport_size(DESKTOP)

    result.click()
    heading = page.locator("#pd-article-title")
    expect(heading).to_have_text(english.title)
    article_badge = page.locator(".article .lang")
    assert article_badge.inner_text() == "Inglés" and article_badge.get_attribute("lang") == "es"
    # Focus lands on the heading; the badge is its description, so a screen reader says both.
    assert heading.get_attribute("aria-describedby") == article_badge.get_attribute("id") == "pd-article-lang"
    assert serious_violations(page) == []
    page.screenshot(path=screenshot_dir / "widget-other-language-article.png")
    page.set_viewport_size(PHONE)
    page.screenshot(path=screenshot_dir / "widget-other-language-article-390.png")


@pytest.fixture
def demo_kb(transactional_db):
    """The demo articles the questions below are about, in every language the demo has them in: the
    app and shipping-address articles exist in English, Spanish and French only."""
    keys = ("reset-password", "app-crash", "app-sync-login-loop", "change-shipping-address", "track-order")
    return load_kb(keys=keys, locales=("en", "es", "fr", "de", "pt", "ar", "ja"))


@pytest.mark.parametrize("locale,question,key", [
    ("zh-CN", "应用一打开就闪退", "app-crash"),
    ("tr-TR", "uygulama sürekli giriş ekranına geri dönüyor", "app-sync-login-loop"),
    ("pl-PL", "jak zmienić adres dostawy po złożeniu zamówienia?", "change-shipping-address"),
])
def test_a_question_in_a_language_the_kb_lacks_gets_the_english_article_marked_as_english(
        browser_in, host, demo_kb, locale, question, key):
    # At the shipped threshold: the fitted confidence must be high enough across languages.
    page = browser_in(locale)
    page.goto(host())
    page.locator(".launcher").click()
    page.locator("#pd-q").fill(question)
    page.locator("#pd-q").press("Enter")
    english = demo_kb[(key, "en")]
    first = page.locator("#pd-results .result").first
    first.wait_for()
    assert first.locator(".title").inner_text() == english.title
    ui = page.locator(".root").get_attribute("lang")
    expected = page.evaluate("ui => new Intl.DisplayNames([ui], {type: 'language'}).of('en')", ui)
    assert first.locator(".lang").inner_text().lower() == expected.lower()
    assert first.locator(".lang").get_attribute("data-locale") == "en"


def test_the_arabic_password_question_gets_the_arabic_article_above_the_threshold(browser_in, host, demo_kb):
    page = browser_in("ar-EG")
    page.goto(host())
    page.locator(".launcher").click()
    page.locator("#pd-q").fill("نسيت كلمة المرور، كيف أعيد تعيينها؟")
    page.locator("#pd-q").press("Enter")
    first = page.locator("#pd-results .result").first
    first.wait_for()
    assert first.locator(".title").inner_text() == demo_kb[("reset-password", "ar")].title
    assert first.locator(".lang").count() == 0  # in the question's language: no marker
