"""Admin pages for widget sites: allowed origins, default locale, limits, and the public key."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

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
    return render(request, "helpdesk/widget_site_form.html", {"form": form, "site": site, "embed": embed})


@require_POST
@_guard
def rotate(request, pk: int):
    site = widget_service.rotate_key(site=get_object_or_404(WidgetSite, pk=pk))
    messages.success(request, _("A new key was issued; the old key no longer works. Update the embed code."))
    return redirect("helpdesk:widget-site", pk=site.pk)


@require_POST
@_guard
def revoke(request, pk: int):
    site = widget_service.revoke_key(site=get_object_or_404(WidgetSite, pk=pk))
    messages.success(request, _("The key was revoked; the widget stops answering on this site."))
    return redirect("helpdesk:widget-site", pk=site.pk)
