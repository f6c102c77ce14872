"""Language detection and BCP 47 code mapping."""

import pytest

from embeddings.language import detect_language, macrolanguage, same_language, supported_languages, to_bcp47


@pytest.mark.parametrize("label, tag", [
    ("cmn", "zh"), ("zsm", "ms"), ("arb", "ar"), ("pes", "fa"), ("nob", "nb"), ("no", "nb"), ("nno", "nn"),
    ("swh", "sw"), ("lvs", "lv"), ("tgl", "tl"), ("tl", "tl"), ("iw", "he"), ("zh-cn", "zh"), ("zh_Hant", "zh-Hant"),
    ("sr-Latn", "sr-Latn"), ("deu", "de"), ("kzj", "dtp"),
])
def test_labels_map_to_the_bcp47_tags_people_expect(label, tag):
    assert to_bcp47(label) == tag


def test_same_language_accepts_the_macrolanguage_and_ignores_script_but_not_neighbours():
    assert same_language("ar", "arz") and same_language("zh", "yue") and same_language("zh-Hant", "cmn")
    assert same_language("ms", "zsm") and same_language("nb", "nob")
    assert not same_language("nb", "nn") and not same_language("hr", "bs") and not same_language("id", "ms")
    assert not same_language(None, "en")
    assert macrolanguage("arz") == "ar" and macrolanguage("en") is None


def test_the_detector_lists_its_languages():
    languages = supported_languages()
    assert len(languages) > 150
    assert {"en", "zh", "ja", "th", "sw", "nb", "tl"} <= languages
    assert "gsw" not in languages


@pytest.mark.parametrize("text, tag", [
    ("Where is my parcel? It should have arrived last week.", "en"),
    ("¿Dónde está mi paquete? Debería haber llegado la semana pasada.", "es"),
    ("Wo ist mein Paket? Es hätte letzte Woche ankommen sollen.", "de"),
    ("我的包裹在哪里？上周就应该到了。", "zh"),
    ("พัสดุของฉันอยู่ที่ไหน ควรจะมาถึงเมื่อสัปดาห์ที่แล้ว", "th"),
    ("Посылка где? Она должна была прийти на прошлой неделе.", "ru"),
])
def test_common_languages_are_detected_reliably(text, tag):
    detection = detect_language(text)
    assert detection.language == tag and detection.reliable and detection.confidence > 0.5


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "12345 !!!", "E1234", "ok"])
def test_text_too_short_or_without_letters_falls_back_unreliably(text):
    detection = detect_language(text, fallback="fr")
    assert (detection.language, detection.confidence, detection.reliable, detection.guess) == ("fr", 0.0, False, None)
