"""Language detection and BCP 47 code mapping."""

import struct

import numpy as np
import pytest

from embeddings import language
from embeddings.language import (base_language, detect_language, is_supported, macrolanguage, same_language,
                                 supported_languages, text_direction, to_bcp47)


@pytest.mark.parametrize("label, tag", [
    ("cmn", "zh"), ("zsm", "ms"), ("arb", "ar"), ("pes", "fa"), ("nob", "nb"), ("nno", "nn"),
    # fastText's Norwegian and Serbo-Croatian labels are macrolanguages, not one of their members.
    ("no", "no"), ("nor", "no"), ("sh", "sh"), ("hbs", "sh"),
    ("swh", "sw"), ("lvs", "lv"), ("tgl", "tl"), ("tl", "tl"), ("iw", "he"), ("zh-cn", "zh"), ("zh_Hant", "zh-Hant"),
    ("sr-Latn", "sr-Latn"), ("deu", "de"), ("kzj", "dtp"), ("eng_Latn", "en"), ("spa_Latn", "es"),
])
def test_labels_map_to_the_bcp47_tags_people_expect(label, tag):
    assert to_bcp47(label) == tag


def test_same_language_accepts_the_macrolanguage_and_ignores_script_but_not_neighbours():
    assert same_language("ar", "arz") and same_language("zh", "yue") and same_language("zh-Hant", "cmn")
    assert same_language("ms", "zsm") and same_language("nb", "nob")
    assert same_language("no", "nob") and same_language("no", "nn") and same_language("nb", "no")
    assert same_language("sh", "hr") and same_language("sh", "bs") and same_language("sr-Latn", "sh")
    assert not same_language("nb", "nn") and not same_language("hr", "bs") and not same_language("hr", "sr")
    assert not same_language("id", "ms") and not same_language("da", "no")
    assert not same_language(None, "en")
    assert macrolanguage("arz") == "ar" and macrolanguage("hr") == "sh" and macrolanguage("en") is None


@pytest.mark.parametrize("tag, base", [
    ("zh-Hans", "zh"), ("zh-Hant", "zh"), ("cmn-Hans-CN", "zh"), ("ko-Hang", "ko"), ("az-Latn", "az"),
    ("uz-Latn", "uz"), ("uzn-Cyrl", "uz"), ("sr-Cyrl", "sr"), ("en-Latn-US", "en"), ("pt_BR", "pt"),
    # Legacy and grandfathered codes become the current ones.
    ("iw", "he"), ("in", "id"), ("ji", "yi"), ("mo", "ro"), ("zh-yue", "yue"), ("i-klingon", "tlh"),
    ("sh", "sh"), ("hbs", "sh"), ("nob", "nb"), ("no", "no"), ("", ""), (None, ""),
])
def test_base_language_drops_script_and_region_and_modernises_codes(tag, base):
    assert base_language(tag) == base


def test_script_subtags_are_kept_where_they_tell_writings_apart_and_dropped_where_they_do_not():
    assert [to_bcp47(t) for t in ("zh-Hant", "sr-Latn", "az-Arab", "en-Latn", "ja-Jpan", "ko-Kore")] == \
        ["zh-Hant", "sr-Latn", "az-Arab", "en", "ja", "ko"]
    assert macrolanguage("sh") is None and macrolanguage("hbs") is None  # not langcodes' sh → sr-Latn
    assert macrolanguage("sr-Cyrl") == "sh" and macrolanguage("yue-Hant") == "zh"


@pytest.mark.parametrize("tag", ["zh-Hans", "zh-Hant", "ko-Hang", "az-Latn", "uz-Latn", "sr-Cyrl", "cmn-Hans",
                                 "nob", "arz", "yue-Hant", "iw", "pt-BR", "fil", "sh"])
def test_script_and_region_tagged_labels_of_detected_languages_are_supported(tag):
    assert is_supported(tag)


@pytest.mark.parametrize("tag", ["gsw", "kab", "x-klingon", "", None])
def test_languages_the_detector_cannot_name_are_not_supported(tag):
    assert not is_supported(tag)


def test_support_is_judged_against_the_given_languages():
    assert is_supported("zh-Hant", frozenset({"zh"})) and is_supported("hr", frozenset({"sh"}))
    assert is_supported("sh", frozenset({"hr"}))  # answering hr for a Serbo-Croatian label is right
    assert not is_supported("zh-Hant", frozenset({"ja"}))


@pytest.mark.parametrize("tag, direction", [
    ("ar", "rtl"), ("he", "rtl"), ("fa-IR", "rtl"), ("dv", "rtl"), ("yi", "rtl"), ("iw", "rtl"),
    ("az-Arab", "rtl"), ("pa-Arab", "rtl"), ("en", "ltr"), ("az", "ltr"), ("sd-Deva", "ltr"),
    ("zh-Hant", "ltr"), ("", "ltr"), (None, "ltr"), ("not a tag!", "ltr"),
])
def test_text_direction_follows_the_script(tag, direction):
    assert text_direction(tag) == direction


def test_the_detector_lists_its_languages():
    languages = supported_languages()
    assert len(languages) > 150
    assert {"en", "zh", "ja", "th", "sw", "no", "nn", "sh", "hr", "tl"} <= languages
    assert "gsw" not in languages


@pytest.mark.parametrize("text, tag", [
    ("Where is my parcel? It should have arrived last week.", "en"),
    ("¿Dónde está mi paquete? Debería haber llegado la semana pasada.", "es"),
    ("Wo ist mein Paket? Es hätte letzte Woche ankommen sollen.", "de"),
    ("我的包裹在哪里？上周就应该到了。", "zh"),
    ("พัสดุของฉันอยู่ที่ไหน ควรจะมาถึงเมื่อสัปดาห์ที่แล้ว", "th"),
    ("Посылка где? Она должна была прийти на прошлой неделе.", "ru"),
    # Shouting customers: capitals must not read as another language.
    ("WHERE IS MY PARCEL? IT SHOULD HAVE ARRIVED LAST WEEK.", "en"),
    # Close neighbours the pooled detectors tell apart.
    ("Eg veit ikkje kvar pakken min er, han skulle ha kome i går.", "nn"),
    ("Saya tidak bisa masuk ke akun saya.", "id"),
    ("איך האָב נישט באַקומען מיין פּעקל, ווו איז עס?", "yi"),
    ("הזמנתי חבילה והיא לא הגיעה, איפה היא?", "he"),
    ("Где је мој пакет? Требало је да стигне прошле недеље.", "sr"),
])
def test_common_languages_are_detected_reliably(text, tag):
    detection = detect_language(text)
    assert detection.language == tag and detection.reliable and detection.confidence > 0.5


def test_croatian_is_croatian_or_serbo_croatian_never_serbian():
    detection = detect_language("Gdje je moj paket? Trebao je stići prošli tjedan.")
    assert detection.language in {"hr", "sh"} and same_language(detection.language, "hr")


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "12345 !!!", "E1234", "ok"])
def test_text_too_short_or_without_letters_falls_back_unreliably(text):
    detection = detect_language(text, fallback="fr")
    assert (detection.language, detection.confidence, detection.reliable, detection.guess) == ("fr", 0.0, False, None)


@pytest.mark.parametrize("text", [
    "where is my order \ud800 it is late",  # a lone surrogate, as JSON's "\\ud800" decodes
    "\x00\x01 where is my order\x00",
    bytes(range(256)).decode("latin-1") * 20,
    "x" * 1_000_000,
])
def test_junk_gets_an_answer_not_an_exception(text):
    detection = detect_language(text, fallback="en")
    assert detection.language and 0.0 <= detection.confidence <= 1.0


def write_fasttext_model(path, vocabulary: dict[str, str]):
    """Write a supervised fastText model (file format 12, softmax loss) mapping each word to a label."""
    labels = sorted(set(vocabulary.values()))
    words = list(vocabulary)
    with open(path, "wb") as out:
        out.write(struct.pack("<ii", 793712314, 12))  # magic, version
        # dim ws epoch minCount neg wordNgrams loss(softmax) model(supervised) bucket minn maxn lrUpdateRate, t
        out.write(struct.pack("<12id", len(labels), 5, 1, 1, 5, 1, 3, 3, 0, 0, 0, 100, 1e-4))
        out.write(struct.pack("<iiiqq", len(words) + len(labels), len(words), len(labels), len(words), -1))
        for word in words:
            out.write(word.encode() + b"\0" + struct.pack("<qb", 1, 0))
        for label in labels:
            out.write(f"__label__{label}".encode() + b"\0" + struct.pack("<qb", 1, 1))
        embeddings = np.zeros((len(words), len(labels)), dtype="<f4")
        for row, word in enumerate(words):
            embeddings[row, labels.index(vocabulary[word])] = 10.0
        for matrix in (embeddings, np.eye(len(labels), dtype="<f4")):
            out.write(struct.pack("<?qq", False, *matrix.shape) + matrix.tobytes())


@pytest.fixture
def configured_model(tmp_path):
    yield tmp_path / "glotlid-style.bin"
    language.configure(fasttext_model=None)


def test_a_configured_fasttext_model_replaces_the_bundled_one(configured_model):
    # GlotLID-style labels (ISO 639-3 + script), as an operator's downloaded model would have.
    write_fasttext_model(configured_model, {"parcel": "eng_Latn", "arrived": "eng_Latn",
                                            "paquete": "spa_Latn", "llegado": "spa_Latn"})
    language.configure(fasttext_model=configured_model)
    assert supported_languages() == {"en", "es"}
    assert detect_language("paquete llegado paquete").language == "es"

    language.configure(fasttext_model=None)
    assert len(supported_languages()) > 150


def test_a_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="language-ID model not found"):
        language.configure(fasttext_model=tmp_path / "lid.176.bin")
    assert len(supported_languages()) > 150
