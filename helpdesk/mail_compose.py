"""Build the emails the desk sends: a public reply or an acknowledgement, in the ticket's language.

The words around the agent's text (greeting, "reply above this line", footer, the acknowledgement)
are gettext strings rendered in the ticket's language when the desk ships it (settings.LANGUAGES;
"pt-BR" is written in "pt", "zh-TW" in "zh-hant"), else in HELPDESK["DEFAULT_LOCALE"], else English. Every email has a plain-text part and an HTML part
(the agent's text escaped, linked and cleaned by nh3), our own Message-ID, In-Reply-To/References
from the ticket's earlier emails, Reply-To with the ticket's signed token, the token in the subject,
and the X-Polyglot-Desk mark that stops the inbound side from ingesting our own mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, getaddresses, make_msgid

import nh3
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import linebreaks, urlize
from django.utils.translation import gettext as _

from helpdesk import conf, languages, mail_headers, mail_tokens
from helpdesk.models import Article, Message, OutboundEmail

# A stable ASCII frame around a translated sentence: the inbound side can cut a reply at the line
# with "##-" whatever the language.
MARKER_FRAME = "##- {} -##"
MAX_REFERENCES = 20


def reply_marker() -> str:
    return MARKER_FRAME.format(_("Please type your reply above this line"))


def email_language(code: str | None) -> str:
    """The language to write to a customer in: theirs if the desk ships it (settings.LANGUAGES, each
    with a complete catalog of the email's words), else DEFAULT_LOCALE's, else English."""
    return (languages.shipped_language(code) or languages.shipped_language(conf.get("DEFAULT_LOCALE"))
            or "en")


def new_message_id(ticket_id: int) -> str:
    """A fresh RFC 5322 Message-ID (without <>) in the desk's own domain."""
    domain = _address_of(conf.get("FROM_EMAIL")).rpartition("@")[2] or "localhost"
    return mail_headers.normalise_message_id(make_msgid(idstring=f"t{ticket_id}", domain=domain))


def _address_of(value: str) -> str:
    return getaddresses([value or ""])[0][1]


def _desk_name() -> str:
    name, address = getaddresses([conf.get("FROM_EMAIL")])[0]
    return name or address


@dataclass
class SuggestedArticle:
    title: str
    url: str
    answered_url: str


def compose(email: OutboundEmail) -> EmailMultiAlternatives:
    """Return the email for an OutboundEmail row (its ticket, message and articles loaded by the caller)."""
    from helpdesk.answer_links import answer_url

    ticket = email.ticket
    language = email.language or email_language(ticket.language)
    with translation.override(language):
        greeting = (_("Hello %(name)s,") % {"name": ticket.requester_name.strip()} if ticket.requester_name.strip()
                    else _("Hello,"))
        footer = [_("Your request #%(number)s: %(subject)s") % {"number": ticket.pk, "subject": ticket.subject},
                  _("Reply to this email to add to your request.")]
        context = {"language": language, "direction": "rtl" if translation.get_language_bidi() else "ltr",
                   "marker": reply_marker(), "greeting": greeting, "footer": footer, "paragraphs": [],
                   "articles": [], "body_html": "", "signature": ""}
        if email.kind == OutboundEmail.Kind.REPLY:
            message = email.message
            author = message.author
            agent = (author.get_full_name() or author.get_username()) if author else ""
            context["signature"] = ", ".join(filter(None, [agent, _desk_name()]))
            context["body_html"] = sanitised_html(message.body)
            text_body = message.body
            subject = f"Re: {ticket.subject}"
        else:
            subject = _("We received your request: %(subject)s") % {"subject": ticket.subject}
            context["paragraphs"] = [_("Thank you for writing to us. We have received your request, and an agent "
                                       "will reply as soon as possible.")]
            articles = _suggested(email, answer_url)
            if articles:
                context["paragraphs"].append(_("While you wait, these articles may answer your question:"))
                context["articles"] = articles
                context["answered_label"] = _("This answered my question")
                context["after_articles"] = _("If one of them answers your question, follow its “This answered "
                                              "my question” link and we will close your request. If not, there "
                                              "is nothing to do: an agent will reply.")
            context["signature"] = _desk_name()
            text_body = "\n\n".join(context["paragraphs"])
            if articles:
                text_body += "\n\n" + "\n\n".join(
                    f"* {a.title}\n  {a.url}\n  {context['answered_label']}: {a.answered_url}" for a in articles)
                text_body += "\n\n" + context["after_articles"]
        subject = f"{subject} {mail_tokens.subject_tag(ticket.pk)}"
        context["subject"] = subject
        text = "\n\n".join([context["marker"], greeting, text_body, context["signature"]]).strip()
        text += "\n\n-- \n" + "\n".join(footer) + "\n"
        html = render_to_string("helpdesk/email/message.html", context)

    msg = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=conf.get("FROM_EMAIL"),
        to=[formataddr((ticket.requester_name, ticket.requester_email)) if ticket.requester_name
            else ticket.requester_email],
        reply_to=[mail_tokens.reply_address(ticket.pk)],
        headers=_headers(email, language),
    )
    msg.attach_alternative(html, "text/html")
    return msg


def _headers(email: OutboundEmail, language: str) -> dict[str, str]:
    references = thread_references(email)
    headers = {
        "Message-ID": f"<{email.email_message_id}>",
        mail_headers.HEADER: mail_headers.own_mail_mark(email.email_message_id),
        "Content-Language": language,
        # Ask Exchange and similar not to answer with out-of-office or delivery receipts.
        "X-Auto-Response-Suppress": "All",
    }
    if references:
        headers["In-Reply-To"] = f"<{references[-1]}>"
        headers["References"] = " ".join(f"<{r}>" for r in references)
    if email.kind == OutboundEmail.Kind.ACKNOWLEDGEMENT:
        headers["Auto-Submitted"] = "auto-replied"  # RFC 3834: others must not auto-answer it
    return headers


def thread_references(email: OutboundEmail) -> list[str]:
    """Message-IDs of the ticket's earlier public emails, oldest first (the last is replied to).

    Internal notes are never emailed, so they never appear; only the first and the latest few are
    kept when a thread grows long (RFC 5322 allows trimming the middle).
    """
    messages = Message.objects.filter(ticket_id=email.ticket_id, visibility=Message.Visibility.PUBLIC)
    if email.email_message_id:
        messages = messages.exclude(email_message_id=email.email_message_id)
    if email.message is not None:
        messages = messages.filter(created_at__lte=email.message.created_at).exclude(pk=email.message.pk)
    dated = list(messages.exclude(email_message_id="").values_list("created_at", "email_message_id"))
    acks = OutboundEmail.objects.filter(ticket_id=email.ticket_id, kind=OutboundEmail.Kind.ACKNOWLEDGEMENT,
                                        status=OutboundEmail.Status.SENT).exclude(pk=email.pk)
    if email.message is not None:
        acks = acks.filter(created_at__lte=email.message.created_at)
    dated += list(acks.values_list("created_at", "email_message_id"))
    ids = list(dict.fromkeys(i for _, i in sorted(dated)))
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1):]
    return ids


def sanitised_html(text: str) -> str:
    """The agent's plain text as safe HTML: escaped, paragraphs, links; then cleaned by nh3."""
    html = linebreaks(urlize(text, nofollow=True, autoescape=True), autoescape=False)
    return nh3.clean(html, tags={"p", "br", "a"}, attributes={"a": {"href"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def _suggested(email: OutboundEmail, answer_url) -> list[SuggestedArticle]:
    from django.urls import reverse

    ids = list(email.articles or [])
    articles = Article.objects.in_bulk(ids)
    base = conf.get("SITE_URL").rstrip("/")
    return [SuggestedArticle(title=articles[i].title,
                             url=base + reverse("helpdesk_public:article", args=[i]),
                             answered_url=answer_url(ticket_id=email.ticket_id, article_id=i, email_id=email.pk))
            for i in ids if i in articles]
