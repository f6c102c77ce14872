"""Admin pages for widget sites: allowed origins, default locale, limits, and the public key."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from helpdesk.models import WidgetSite
from helpdesk.services import widget as widget_service

MANAGE_SITES = "helpdesk.change_widgetsite"


class WidgetSiteForm(forms.ModelForm):
    class Meta:
        model = WidgetSite
        fields = ["name", "allowed_origins", "default_locale", "requests_per_minute", "client_requests_per_minute"]
        widgets = {
            "allowed_origins": forms.Textarea(attrs={"rows": 3}),
            "default_locale": forms.Select(choices=settings.LANGUAGES),
        }

    def clean_allowed_origins(self):
        origins = widget_service.clean_origins(self.cleaned_data["allowed_origins"])
        if not origins:
            raise ValidationError(_("Enter at least one origin, e.g. https://shop.example.com"))
        return origins


def _guard(view):
    return login_required(permission_required(MANAGE_SITES, raise_exception=True)(view))


@_guard
def site_list(request):
    sites = WidgetSite.objects.order_by("name")
    return render(request, "helpdesk/widget_sites.html", {"sites": sites})


@_guard
def site_edit(request, pk: int | None = None):
    site = get_object_or_404(WidgetSite, pk=pk) if pk else None
    form = WidgetSiteForm(request.POST or None, instance=site)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        site = widget_service.save_site(site=site, **data)
        messages.success(request, _("Widget site saved."))
        return redirect("helpdesk:widget-site", pk=site.pk)
    embed = None
    if site is not None:
        script = request.build_absolute_uri(settings.STATIC_URL + "helpdesk/widget/widget.js")
        embed = f'<script src="{script}" data-key="{site.key}" async></script>'
    return render(request, "helpdesk/widget_site_form.html", {"form": form, "site": site, "embed": embed,
                                                              "rotate_form": RotateKeyForm()})


class RotateKeyForm(forms.Form):
    grace_hours = forms.TypedChoiceField(
        label=_("The old key keeps working for"), coerce=int, initial=24, required=False, empty_value=0,
        choices=[(0, _("no time: it stops at once")), (1, _("1 hour")), (24, _("24 hours")), (168, _("7 days"))],
        help_text=_("Time to update the embed code on every page of the site."))


@require_http_methods(["GET", "POST"])
@_guard
def rotate(request, pk: int):
    """GET: ask for confirmation (and a grace period); POST: issue the new key."""
    site = get_object_or_404(WidgetSite, pk=pk)
    form = RotateKeyForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        return render(request, "helpdesk/widget_site_confirm.html",
                      {"site": site, "action": "rotate", "rotate_form": form},
                      status=400 if request.method == "POST" else 200)
    was_revoked = site.is_revoked
    site = widget_service.rotate_key(site=site, grace=timedelta(hours=form.cleaned_data["grace_hours"]))
    if site.previous_key_works:
        messages.success(request, _("A new key was issued. The old key keeps working until %(when)s: update the "
                                    "embed code before then.") % {"when": date_format(
                                        localtime(site.previous_key_expires_at), "DATETIME_FORMAT")})
    elif was_revoked:
        messages.success(request, _("A new key was issued; the widget answers again with the new embed code."))
    else:
        messages.success(request, _("A new key was issued; the old key no longer works. Update the embed code."))
    return redirect("helpdesk:widget-site", pk=site.pk)


@require_http_methods(["GET", "POST"])
@_guard
def revoke(request, pk: int):
    """GET: ask for confirmation; POST: revoke the key (and any old key still in its grace period)."""
    site = get_object_or_404(WidgetSite, pk=pk)
    if request.method == "GET":
        return render(request, "helpdesk/widget_site_confirm.html", {"site": site, "action": "revoke"})
    site = widget_service.revoke_key(site=site)
    messages.success(request, _("The key was revoked; the widget stops answering on this site."))
    return redirect("helpdesk:widget-site", pk=site.pk)
