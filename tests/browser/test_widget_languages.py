"""The widget speaks the customer's language: first the browser's, then the question's.

Chromium runs with a French, a Japanese and a Hebrew locale (navigator.languages); every word the
widget shows comes from catalog.json, generated from the .po files.
"""

import pytest

from tests.browser.conftest import DESKTOP
from tests.browser.test_widget import host, kb  # noqa: F401 - fixtures

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
