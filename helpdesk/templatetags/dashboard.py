"""Template filters of the agent dashboard."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from embeddings.language import language_name as _language_name
from embeddings.language import same_language
from helpdesk import system_notes

register = template.Library()


@register.filter
def language_name(tag: str) -> str:
    """The language's name in the dashboard's own language ("Spanish", "Español", "الإسبانية")."""
    if not tag:
        return _("unknown")
    try:
        return _language_name(tag, in_language=(get_language() or "en").split("-")[0])
    except Exception:  # an unusual tag must never break a page
        return tag


@register.filter
def other_language(locale: str, language: str) -> bool:
    """True when an article in `locale` answers in another language than `language` (a ticket's):
    base languages compared, so pt-BR for pt, or nb for a Norwegian `no`, is the same language."""
    return bool(locale and language) and not same_language(locale, language)


@register.simple_tag
def interface_language_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The language menu: every shipped language, those with a fully translated dashboard first."""
    from django.conf import settings

    from helpdesk.languages import DASHBOARD_COMPLETE

    full = [(code, name) for code, name in settings.LANGUAGES if code in DASHBOARD_COMPLETE]
    partial = [(code, name) for code, name in settings.LANGUAGES if code not in DASHBOARD_COMPLETE]
    groups = [(_("Dashboard translated"), full)]
    if partial:
        groups.append((_("Customer pages and emails translated; dashboard in English"), partial))
    return groups


@register.simple_tag
def dashboard_document_language() -> dict[str, str]:
    """lang and dir for the dashboard's <html>: the chosen language where the dashboard is translated
    in full, else English (its text is English there; a Hebrew menu choice must not mirror it)."""
    from helpdesk.languages import DASHBOARD_COMPLETE, direction

    code = get_language() or "en"
    code = code if code in DASHBOARD_COMPLETE else "en"
    return {"lang": code, "dir": direction(code)}


@register.filter
def system_note(body: str) -> str:
    """A note the desk wrote (stored in English), in the dashboard's language."""
    return system_notes.translated(body)


@register.filter
def age(value) -> str:
    """Compact age: 45m, 5h, 3d."""
    if not value:
        return ""
    seconds = max(0, int((timezone.now() - value).total_seconds()))
    if seconds < 3600:
        return _("%(n)dm") % {"n": seconds // 60}
    if seconds < 86400:
        return _("%(n)dh") % {"n": seconds // 3600}
    return _("%(n)dd") % {"n": seconds // 86400}


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@register.filter
def seconds(value) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


@register.filter
def whole_sentences(text: str, length: int = 400) -> str:
    """The opening of `text` in whole sentences (about `length` characters): never cut mid-sentence."""
    from helpdesk.summaries import summary

    return summary(text or "", length=int(length))


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def kb_categories() -> list[str]:
    """The knowledge base's categories, offered while typing one (so "Billing" does not become "billing ")."""
    from helpdesk.models import Article

    return list(Article.objects.exclude(category="").order_by("category").values_list("category", flat=True).distinct())


@register.simple_tag(takes_context=True)
def query_with(context, **kwargs) -> str:
    """The current query string with some parameters replaced (for sort and page links)."""
    params = context["request"].GET.copy()
    for key, value in kwargs.items():
        params[key] = value
    return params.urlencode()


@register.simple_tag
def outbox_enabled() -> bool:
    """Whether the admins' Outbox page exists here (a capture server is configured, or DEBUG)."""
    from helpdesk.views.mail import outbox_enabled as enabled

    return enabled()
