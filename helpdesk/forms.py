"""Forms of the agent dashboard: they parse and validate input; services do the writing."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Message, Ticket
from helpdesk.roles import ADMINS, AGENTS
from helpdesk.selectors.queue import DEFAULT_SORT, SORTS, QueueFilters
from helpdesk.services.tickets import MAX_MESSAGE_CHARS


def desk_users():
    """Users who can be assigned tickets: members of either dashboard group."""
    return (get_user_model().objects.filter(is_active=True)
            .filter(Q(groups__name__in=[AGENTS, ADMINS]) | Q(is_superuser=True)).distinct().order_by("username"))


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("open", _("Open (all)")), ("all", _("Any status"))] + list(Ticket.Status.choices))
    language = forms.CharField(label=_("Language"), required=False, max_length=35)
    assignee = forms.CharField(label=_("Assignee"), required=False, max_length=20)
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=[
        ("attention", _("New and unassigned first")),
        ("-priority", _("Priority, highest first")), ("priority", _("Priority, lowest first")),
        ("age", _("Oldest first")), ("-age", _("Newest first")),
    ])

    def filters(self) -> QueueFilters:
        data = self.cleaned_data if self.is_valid() else {}
        sort = data.get("sort") or DEFAULT_SORT
        return QueueFilters(status=data.get("status") or "open", language=data.get("language", ""),
                            assignee=data.get("assignee", ""), q=data.get("q", ""),
                            sort=sort if sort in SORTS else DEFAULT_SORT)


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 6}), max_length=MAX_MESSAGE_CHARS)
    # A public reply is emailed to the customer; an internal note stays among agents.
    visibility = forms.ChoiceField(choices=Message.Visibility.choices, initial=Message.Visibility.PUBLIC,
                                   widget=forms.RadioSelect, required=False)

    def clean_visibility(self):
        return self.cleaned_data.get("visibility") or Message.Visibility.PUBLIC


class AcknowledgementForm(forms.Form):
    send_acknowledgements = forms.BooleanField(label=_("Acknowledge new tickets by email"), required=False)
    acknowledgement_suggestions = forms.BooleanField(label=_("Suggest articles in the acknowledgement"),
                                                     required=False)


class TicketUpdateForm(forms.ModelForm):
    class Meta:
        model = Ticket
        fields = ["status", "priority", "assignee"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = desk_users()
        self.fields["assignee"].required = False
        self.fields["assignee"].empty_label = _("Unassigned")  # not Django's "---------"


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(choices=[("1", "helpful"), ("0", "not helpful")], coerce=lambda v: v == "1")


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    body = forms.CharField(label=_("Body"), widget=forms.Textarea(attrs={"rows": 14}), required=False)
    locale = forms.CharField(label=_("Locale"), max_length=35, help_text=_("BCP 47 tag, e.g. en, es, pt-BR"))
    category = forms.CharField(label=_("Category"), max_length=100, required=False,
                               widget=forms.TextInput(attrs={"list": "kb-categories"}))

    def clean_locale(self):
        import langcodes

        from embeddings.language import to_bcp47

        tag = to_bcp47(self.cleaned_data["locale"].strip())
        if not tag or not langcodes.tag_is_valid(tag):
            raise forms.ValidationError(_("Not a language tag we know."))
        return tag


class ThresholdForm(forms.Form):
    confidence_threshold = forms.FloatField(label=_("Confidence threshold"), min_value=0.0, max_value=1.0,
                                            widget=forms.NumberInput(attrs={"step": "0.01"}))


class PeriodForm(forms.Form):
    days = forms.TypedChoiceField(label=_("Period"), coerce=int, required=False, empty_value=30,
                                  choices=[(7, _("7 days")), (30, _("30 days")), (90, _("90 days"))])
    language = forms.CharField(label=_("Language"), required=False, max_length=35)

