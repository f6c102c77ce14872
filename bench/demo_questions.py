"""The demo knowledge base asked as customers would, in many languages, and asked what it does not cover.

    python -m bench demo_questions

Loads the demo articles (helpdesk/demo/kb.json: 18 articles, each in English and 2-6 other
languages) into a throwaway schema with the configured encoder, asks 40 questions the demo covers
(20 languages; many in languages the demo has no translation in, so the answer is an English
article) and 20 it does not cover (weather, recipes, sport... in 10 languages), and prints for each
the first article, its confidence and whether the widget would show it at the shipped threshold.
These questions were written once and are not used to fit anything: a check of the fitted
confidence on data it has not seen.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict

# (article key the question is about, language, question)
COVERED = [
    ("reset-password", "en", "I forgot my password and can't log in"),
    ("reset-password", "es", "no puedo entrar a mi cuenta, olvidé la contraseña"),
    ("reset-password", "ar", "نسيت كلمة المرور، كيف أعيد تعيينها؟"),
    ("reset-password", "tr", "şifremi unuttum, nasıl sıfırlarım?"),
    ("two-factor-codes", "en", "the verification code never arrives by SMS"),
    ("two-factor-codes", "vi", "tôi không nhận được mã xác thực hai bước"),
    ("change-email", "it", "come posso cambiare l'indirizzo email del mio account?"),
    ("delete-account", "sv", "hur raderar jag mitt konto och mina uppgifter?"),
    ("update-payment-card", "nl", "hoe wijzig ik mijn betaalkaart?"),
    ("update-payment-card", "en", "my card expired, how do I add a new one"),
    ("duplicate-charge", "en", "I was charged twice for one order"),
    ("duplicate-charge", "pt", "fui cobrado duas vezes no cartão"),
    ("duplicate-charge", "ko", "같은 주문이 두 번 결제되었어요"),
    ("invoices-vat", "de", "Ich brauche eine Rechnung mit Umsatzsteuer für meine Firma"),
    ("cancel-subscription", "en", "how do I cancel Northwind Plus"),
    ("cancel-subscription", "ru", "как отменить подписку Northwind Plus?"),
    ("track-order", "en", "where is my order? I want to track it"),
    ("track-order", "de", "Wo ist meine Bestellung gerade?"),
    ("track-order", "ja", "注文した商品の配送状況を確認したい"),
    ("track-order", "zh", "我想查看我的订单物流信息"),
    ("delivery-delays-lost", "en", "my package never came"),
    ("delivery-delays-lost", "pl", "moja paczka nigdy nie dotarła"),
    ("delivery-delays-lost", "tr", "kargom hâlâ gelmedi, kayboldu mu?"),
    ("change-shipping-address", "pl", "jak zmienić adres dostawy po złożeniu zamówienia?"),
    ("change-shipping-address", "en", "I moved, can I change where my order ships?"),
    ("international-shipping-customs", "hi", "क्या मुझे अंतरराष्ट्रीय शिपमेंट पर सीमा शुल्क देना होगा?"),
    ("international-shipping-customs", "en", "why do I have to pay import duties on delivery"),
    ("return-item", "en", "how do I send back something I bought"),
    ("return-item", "fr", "comment retourner un article ?"),
    ("refund-timing", "en", "how long until I get my money back"),
    ("refund-timing", "zh", "退款需要多长时间才能到账？"),
    ("refund-timing", "id", "berapa lama pengembalian dana saya diproses?"),
    ("damaged-wrong-item", "en", "the item arrived broken"),
    ("damaged-wrong-item", "uk", "мені надіслали не той товар"),
    ("app-crash", "en", "the app keeps crashing when I open it"),
    ("app-crash", "pl", "aplikacja zamyka się zaraz po uruchomieniu"),
    ("app-crash", "zh", "应用一打开就闪退"),
    ("app-sync-login-loop", "tr", "uygulama sürekli giriş ekranına geri dönüyor"),
    ("contact-support", "en", "how can I talk to a human agent"),
    ("contact-support", "th", "ติดต่อฝ่ายบริการลูกค้าได้อย่างไร"),
]
NOT_COVERED = [
    ("en", "what's the weather going to be like tomorrow in Paris"),
    ("en", "my dog ate my homework, what should I tell my teacher"),
    ("en", "does the X9 drone support 4K video recording"),
    ("en", "can you recommend a good pizza place nearby"),
    ("en", "who won the football world cup in 2018"),
    ("en", "how do I bake sourdough bread at home"),
    ("es", "¿cuál es la receta tradicional de la paella valenciana?"),
    ("es", "¿a qué hora empieza el partido del Real Madrid?"),
    ("de", "Wie wird das Wetter morgen in Berlin?"),
    ("de", "Welche Zimmerpflanzen brauchen wenig Licht?"),
    ("fr", "quel est le meilleur film de l'année ?"),
    ("fr", "comment apprendre à jouer de la guitare ?"),
    ("tr", "en yakın nöbetçi eczane nerede?"),
    ("zh", "今天股市行情怎么样？"),
    ("zh", "周末去哪里爬山比较好？"),
    ("ar", "ما هي عاصمة أستراليا؟"),
    ("ja", "おすすめのラーメン屋はどこですか"),
    ("pl", "jak naprawić przebitą dętkę w rowerze?"),
    ("ru", "сколько калорий в банане?"),
    ("pt", "qual é a melhor praia do Brasil?"),
]


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench demo_questions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the answers to this JSON file")
    args = parser.parse_args(argv)

    from helpdesk import conf
    from helpdesk.management.commands.load_demo import DEMO_FILE
    from helpdesk.encoders import get_encoder
    from helpdesk.management.commands.evaluate_retrieval import EvaluationSpace, load_corpus
    from helpdesk.models import Article
    from helpdesk.selectors.suggestions import find_suggestions

    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    corpus = [{"_id": f"{entry['key']}:{locale}", "title": text["title"], "text": text["body"], "language": locale}
              for entry in data["articles"] for locale, text in entry["translations"].items()]
    threshold = conf.DEFAULTS["CONFIDENCE_THRESHOLD"]
    print(f"encoder {get_encoder().name}, threshold {threshold}, {len(corpus)} demo articles; "
          f"load average {_load()}", flush=True)
    started, rows = time.monotonic(), []
    with EvaluationSpace():
        ids = load_corpus(corpus, default_language="en")
        groups = defaultdict(list)
        for article_id, external in ids.items():
            groups[external.split(":")[0]].append(article_id)
        for key, members in groups.items():  # one translation group per demo article, as load_demo makes them
            Article.objects.filter(id__in=members).update(translation_group=Article.objects.get(id=members[0]).translation_group)
        for key, language, question in COVERED + [(None, lang, q) for lang, q in NOT_COVERED]:
            result = find_suggestions(text=question, locale=language)
            top = result.suggestions[0] if result.suggestions else None
            found = ids.get(top.matched_article_id or top.article_id, "?:").split(":")[0] if top else None
            rows.append({"expected": key, "language": language, "question": question, "found": found,
                         "shown_locale": top.locale if top else None, "confidence": top.confidence if top else 0.0,
                         "shown": bool(top and top.confidence >= threshold)})

    print(f"\n{'':3} {'lang':4} {'conf':>5} {'shown':5} {'first article (locale)':38} question")
    for row in rows:
        mark = "" if row["expected"] is None else ("ok " if row["found"] == row["expected"] else "XX ")
        print(f"{mark:3} {row['language']:4} {row['confidence']:5.2f} {'yes' if row['shown'] else 'no':5} "
              f"{(row['found'] or '-') + ' (' + (row['shown_locale'] or '-') + ')':38} {row['question']}")
    covered = [r for r in rows if r["expected"]]
    outside = [r for r in rows if not r["expected"]]
    right_shown = sum(r["shown"] and r["found"] == r["expected"] for r in covered)
    wrong_shown = sum(r["shown"] and r["found"] != r["expected"] for r in covered)
    first_right = sum(r["found"] == r["expected"] for r in covered)
    print(f"\ncovered questions: {len(covered)}; first article right {first_right}; shown and right {right_shown}, "
          f"shown but wrong {wrong_shown}, held back {len(covered) - right_shown - wrong_shown}")
    print(f"questions the demo does not cover: {len(outside)}; held back {sum(not r['shown'] for r in outside)}, "
          f"shown {sum(r['shown'] for r in outside)}")
    print(f"{time.monotonic() - started:.0f}s, load average {_load()}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, ensure_ascii=False, indent=1)
    return 0
