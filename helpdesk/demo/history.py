"""Generate weeks of believable history for the metrics page, through the product's own services.

Widget visitors ask questions (paraphrases of real article titles in seven languages, questions in
five languages the knowledge base has no translation in, and questions it cannot answer), open
articles, vote, and sometimes file tickets; agents see the suggestions on those tickets, insert some,
mark others helpful or not, reply and solve. Every row comes from the same services the live product
calls, with timestamps spread over the weeks (`at=`).
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from helpdesk.models import Article, Message, Suggestion, WidgetSite

KB_FILE = Path(__file__).resolve().parent / "kb.json"
LANGUAGE_WEIGHTS = {"en": 34, "es": 20, "fr": 12, "de": 10, "pt": 8, "ar": 10, "ja": 6,
                    "it": 3, "nl": 2, "pl": 2, "tr": 2, "zh": 3}
# Customers who write in a language the demo has no article in: confident answers come in another
# language and fill the metrics page's "asked in X, answered only in Y" table; the rest are held back.
OTHER_LANGUAGES = {
    "it": ["ho dimenticato la password", "vorrei restituire un prodotto", "quando arriva il rimborso?",
           "non ricevo il codice di verifica in due passaggi", "dov'è il mio ordine?"],
    "nl": ["ik ben mijn wachtwoord vergeten", "ik wil een product retourneren", "wanneer krijg ik mijn geld terug?",
           "waar is mijn bestelling?"],
    "pl": ["chcę zwrócić produkt", "kod weryfikacji dwuetapowej nie przychodzi", "gdzie jest moje zamówienie?",
           "nie pamiętam hasła do konta"],
    "tr": ["iki adımlı doğrulama kodu gelmiyor", "ürünü iade etmek istiyorum", "şifremi sıfırlamak istiyorum"],
    "zh": ["忘记密码怎么办", "我想退货", "收不到两步验证码", "退款什么时候到账", "我的包裹到哪里了？"],
}
ASK = {
    "en": ["{t}", "how do I fix this: {t}", "{t}?", "help - {t}"],
    "es": ["{t}", "ayuda: {t}", "¿{t}?", "tengo un problema: {t}"],
    "fr": ["{t}", "aide : {t}", "{t} ?", "j'ai un problème : {t}"],
    "de": ["{t}", "Hilfe: {t}", "{t}?", "Problem: {t}"],
    "pt": ["{t}", "ajuda: {t}", "{t}?", "tenho um problema: {t}"],
    "ar": ["{t}", "مساعدة: {t}", "{t}؟"],
    "ja": ["{t}", "{t}について教えてください", "{t}？"],
}
# Questions the demo knowledge base has no article for: they become the content gaps.
UNANSWERED = {
    "en": ["Do you sell gift cards?", "Can I buy a gift card for a friend", "Is there a student discount?",
           "How do loyalty points work"],
    "es": ["¿Venden tarjetas regalo?", "¿Puedo comprar una tarjeta regalo?", "¿Hay descuento para estudiantes?"],
    "fr": ["Vendez-vous des cartes cadeaux ?", "Y a-t-il une réduction étudiante ?"],
    "de": ["Gibt es Geschenkgutscheine?", "Gibt es einen Studentenrabatt?"],
    "pt": ["Vocês vendem cartões-presente?", "Existe desconto para estudantes?"],
    "ar": ["هل تبيعون بطاقات الهدايا؟", "هل يوجد خصم للطلاب؟"],
    "ja": ["ギフトカードは販売していますか？", "学割はありますか？"],
}
AGENT_REPLY = {
    "en": "Thanks for writing in. This article explains the steps:", "es": "Gracias por escribirnos. Este artículo explica los pasos:",
    "fr": "Merci de nous avoir écrit. Cet article explique les étapes :", "de": "Danke für Ihre Nachricht. Dieser Artikel erklärt die Schritte:",
    "pt": "Obrigado pelo contato. Este artigo explica os passos:", "ar": "شكرًا لتواصلك معنا. يشرح هذا المقال الخطوات:",
    "ja": "お問い合わせありがとうございます。手順はこちらの記事をご覧ください：",
}


def generate_history(*, weeks: int = 8, seed: int = 7) -> dict:
    """Replay `weeks` of widget sessions and ticket work ending now; return counts of what was made."""
    from helpdesk.selectors.suggestions import find_ticket_suggestions
    from helpdesk.services.feedback import insert_suggestion, mark_suggestion
    from helpdesk.services.knowledge import embed_chunks, pending_chunk_ids
    from helpdesk.services.suggestions import record_suggestions
    from helpdesk.services.tickets import post_message
    from helpdesk.services.tickets import update_ticket
    from helpdesk.services.widget import (
        file_ticket, record_article_opened, record_query, record_vote, save_site, start_session,
    )

    rng = random.Random(seed)
    # Suggestions need vectors: embed what the worker has not reached yet, with the same service.
    pending = pending_chunk_ids()
    for start in range(0, len(pending), 64):
        embed_chunks(chunk_ids=pending[start:start + 64])
    site = (WidgetSite.objects.filter(is_active=True).order_by("id").first()
            or save_site(name="Northwind Shop (demo)", allowed_origins="http://localhost:8001"))
    agent = get_user_model().objects.filter(username="agent").first()
    titles = _titles_by_language()
    languages, weights = zip(*LANGUAGE_WEIGHTS.items())
    now = timezone.now()
    counts = {"sessions": 0, "queries": 0, "no_answer": 0, "articles_opened": 0, "votes": 0, "tickets": 0,
              "agent_feedback": 0, "inserted": 0, "solved": 0}
    visitors: list[str] = []

    for week in range(weeks):
        week_start = now - timedelta(weeks=weeks - week)
        for _ in range(30 + 6 * week + rng.randint(0, 8)):  # traffic grows week on week
            at = week_start + timedelta(seconds=rng.randint(0, 7 * 86400 - 3600))
            if at > now - timedelta(hours=2):
                continue
            language = rng.choices(languages, weights)[0]
            visitor = rng.choice(visitors) if visitors and rng.random() < 0.2 else f"demo-{rng.getrandbits(40):x}"
            visitors.append(visitor)
            session = start_session(site=site, visitor_id=visitor, language=language, at=at)
            counts["sessions"] += 1
            if language in OTHER_LANGUAGES:
                text = rng.choice(OTHER_LANGUAGES[language])
            elif rng.random() < 0.15 or not titles.get(language):
                text = rng.choice(UNANSWERED[language])
            else:
                text = rng.choice(ASK[language]).format(t=rng.choice(titles[language]).lower())
            outcome = record_query(session=session, text=text, at=at)
            counts["queries"] += 1
            at += timedelta(seconds=rng.randint(5, 60))
            if outcome.no_answer:
                counts["no_answer"] += 1
                if rng.random() < 0.55:
                    _file(file_ticket, session, text, language, at + timedelta(minutes=2), rng)
                    counts["tickets"] += 1
                continue
            if rng.random() < 0.7:
                article = Article.objects.get(pk=outcome.suggestions[0 if rng.random() < 0.75 else -1].article_id)
                record_article_opened(session=session, article=article, at=at)
                counts["articles_opened"] += 1
                at += timedelta(minutes=rng.randint(1, 4))
                if rng.random() < 0.6:
                    helpful = rng.random() < 0.7
                    record_vote(session=session, helpful=helpful, article=article, at=at)
                    counts["votes"] += 1
                    if helpful:
                        continue
            if rng.random() < 0.35:
                ticket_at = at + timedelta(minutes=rng.choice([3, 30, 180, 60 * 30]))
                if ticket_at < now:
                    _file(file_ticket, session, text, language, ticket_at, rng)
                    counts["tickets"] += 1

    # Agents work the widget tickets: suggestions shown, some inserted, some judged, most solved.
    from helpdesk.models import Ticket

    for ticket in Ticket.objects.filter(channel=Ticket.Channel.WIDGET, suggestions__isnull=True).order_by("created_at"):
        at = ticket.created_at + timedelta(minutes=rng.randint(10, 240))
        if at > now:
            continue
        result = find_ticket_suggestions(ticket=ticket)
        rows = record_suggestions(suggestions=result.suggestions, query=result.query,
                                  query_language=result.language or ticket.language, ticket=ticket, at=at)
        at += timedelta(minutes=rng.randint(1, 10))
        for row in rows[:3]:
            roll = rng.random()
            good = row.confidence >= 0.5
            if roll < (0.55 if good else 0.15):
                mark_suggestion(suggestion=row, helpful=True, user=agent, at=at)
                counts["agent_feedback"] += 1
            elif roll < 0.75:
                mark_suggestion(suggestion=row, helpful=False, user=agent, at=at)
                counts["agent_feedback"] += 1
        best = Suggestion.objects.filter(pk__in=[r.pk for r in rows]).order_by("rank").first()
        if best is not None and best.confidence >= 0.45 and rng.random() < 0.6:
            snippet = insert_suggestion(suggestion=best, user=agent, at=at)
            post_message(ticket=ticket, author_kind=Message.Author.AGENT, author=agent, at=at,
                         body=f"{AGENT_REPLY.get(ticket.language, AGENT_REPLY['en'])}\n\n{snippet}")
            counts["inserted"] += 1
        if rng.random() < 0.7 and at + timedelta(hours=4) < now:
            update_ticket(ticket=ticket, status=Ticket.Status.SOLVED, assignee=agent, at=at + timedelta(hours=4))
            counts["solved"] += 1
    return counts


# Requesters whose names fit the language they write in (a Japanese question from "Jonas" reads wrong).
NAMES = {
    "en": [("Emily Carter", "emily.carter"), ("James Whitfield", "j.whitfield"), ("Sam Porter", "sam.porter")],
    "es": [("Ana Martínez", "ana.martinez"), ("Diego Herrera", "diego.herrera"), ("Carmen Ruiz", "carmen.ruiz")],
    "fr": [("Léa Moreau", "lea.moreau"), ("Julien Lefèvre", "julien.lefevre"), ("Manon Girard", "manon.girard")],
    "de": [("Jonas Weber", "jonas.weber"), ("Lena Hoffmann", "lena.hoffmann"), ("Felix Schulz", "felix.schulz")],
    "pt": [("Inês Carvalho", "ines.carvalho"), ("Thiago Almeida", "thiago.almeida"), ("Beatriz Souza", "bia.souza")],
    "ar": [("عمر الخطيب", "omar.alkhatib"), ("ليلى منصور", "layla.mansour"), ("كريم حداد", "karim.haddad")],
    "ja": [("山本 優希", "yuki.yamamoto"), ("中村 健太", "kenta.nakamura"), ("小林 彩", "aya.kobayashi")],
    "it": [("Giulia Romano", "giulia.romano"), ("Marco Ricci", "marco.ricci")],
    "nl": [("Sanne de Vries", "sanne.devries"), ("Daan Jansen", "daan.jansen")],
    "pl": [("Agnieszka Nowak", "a.nowak"), ("Piotr Kowalski", "piotr.kowalski")],
    "tr": [("Elif Yılmaz", "elif.yilmaz"), ("Mehmet Demir", "mehmet.demir")],
    "zh": [("王芳", "wang.fang"), ("李伟", "li.wei")],
}


def _file(file_ticket, session, text, language, at, rng):
    name, mailbox = rng.choice(NAMES.get((language or "en").split("-")[0], NAMES["en"]))
    return file_ticket(session=session, email=f"{mailbox}{rng.randint(1, 99)}@example.com", name=name,
                       message=text, at=at)


def _titles_by_language() -> dict[str, list[str]]:
    """Titles of the published demo articles by locale (queries are paraphrases of these)."""
    data = json.loads(KB_FILE.read_text(encoding="utf-8"))
    titles: dict[str, list[str]] = {}
    for item in data["articles"]:
        for locale, text in item["translations"].items():
            titles.setdefault(locale, []).append(text["title"])
    published = set(Article.objects.filter(status=Article.Status.PUBLISHED).values_list("title", flat=True))
    return {loc: [t for t in ts if t in published] for loc, ts in titles.items() if any(t in published for t in ts)}
