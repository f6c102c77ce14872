"""One list of shipped languages (settings.LANGUAGES) drives the dashboard's language menu, a widget
site's default language and the catalogs; the dashboard is translated in full where promised."""

import pytest
from django.conf import settings

from helpdesk.languages import DASHBOARD_COMPLETE, direction, shipped_language
from tests.dashboard_support import admin_client_, admin_user_, agent, agent_client  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language, heading, nav", [
    ("fr", "Tickets ouverts", "Base de connaissances"),
    ("de", "Offene Tickets", "Wissensdatenbank"),
    ("ja", "未解決のチケット", "ナレッジベース"),
])
def test_dashboard_speaks_french_german_and_japanese(agent_client, language, heading, nav):
    agent_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = agent_client.get("/desk/").content.decode()
    assert f'<html lang="{language}" dir="ltr">' in html
    assert f"<h1>{heading}</h1>" in html and nav in html


def test_language_menu_offers_every_shipped_language_complete_ones_first(agent_client):
    html = agent_client.get("/desk/").content.decode()
    menu = html[html.index('<select id="ui-language"'):html.index("</select>")]
    offered = [chunk.split('"')[0] for chunk in menu.split('<option value="')[1:]]
    assert sorted(offered) == sorted(code for code, _ in settings.LANGUAGES)
    assert offered[:len(DASHBOARD_COMPLETE)] == [c for c, _ in settings.LANGUAGES if c in DASHBOARD_COMPLETE]
    assert '<option value="th" lang="th">ไทย</option>' in menu
    assert 'label="Customer pages and emails translated; dashboard in English"' in menu


def test_a_widget_sites_default_language_can_be_any_shipped_language(admin_client_):
    html = admin_client_.get("/desk/widget-sites/new/").content.decode()
    for code, _ in settings.LANGUAGES:
        assert f'<option value="{code}"' in html


def test_tags_map_to_shipped_languages_and_their_direction():
    assert [shipped_language(t) for t in ("fr-CA", "pt-BR", "zh-TW", "zh-Hant-HK", "zh-CN", "nn", "iw", "xx")] == [
        "fr", "pt", "zh-hant", "zh-hant", "zh-hans", "nb", "he", None]
    assert [direction(c) for c in ("ar", "he", "fa", "ur", "fr", "ja")] == ["rtl"] * 4 + ["ltr"] * 2


def test_the_widget_catalog_is_readable_from_any_origin_and_cached(client):
    import gzip
    import json

    response = client.get("/desk/widget/v1/catalog.json", HTTP_ORIGIN="https://shop.example.com",
                          HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    assert response["Content-Encoding"] == "gzip" and "max-age" in response["Cache-Control"]
    catalog = json.loads(gzip.decompress(response.content))
    assert catalog["messages"]["fr"]["Contact support"] == "Contacter l’assistance"
    assert catalog["languages"]["he"] == {"dir": "rtl"} and catalog["aliases"]["zh-tw"] == "zh-hant"
    again = client.get("/desk/widget/v1/catalog.json", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert json.loads(client.get("/desk/widget/v1/catalog.json").content) == catalog  # no gzip asked


def test_a_language_without_a_translated_dashboard_keeps_the_english_dashboard_left_to_right(agent_client):
    agent_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "he"
    html = agent_client.get("/desk/").content.decode()
    assert '<html lang="en" dir="ltr">' in html and "<h1>Open tickets</h1>" in html
    assert '<option value="he" lang="he" selected>' in html  # the menu still shows the choice
