import secrets
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


def new_site_key() -> str:
    return "pk_" + secrets.token_urlsafe(24)


class WidgetSite(models.Model):
    """A customer-facing site that embeds the widget, identified by a public key."""

    name = models.CharField(_("name"), max_length=200)
    key = models.CharField(max_length=64, unique=True, default=new_site_key)
    allowed_origins = models.TextField(
        _("allowed origins"), blank=True, help_text=_("One origin per line, e.g. https://shop.example.com")
    )
    default_locale = models.CharField(_("default locale"), max_length=35, default="en")
    is_active = models.BooleanField(default=True)
    # Keys are public (they sit in the host page's source): origins and these limits are the protection.
    requests_per_minute = models.PositiveIntegerField(
        _("requests per minute, per key"), default=600, help_text=_("All visitors of the site together")
    )
    client_requests_per_minute = models.PositiveIntegerField(
        _("requests per minute, per visitor address"), default=120
    )
    created_at = models.DateTimeField(auto_now_add=True)
    key_rotated_at = models.DateTimeField(null=True, blank=True)
    # After a rotation the old key keeps working until `previous_key_expires_at` (a grace period for
    # pages that still embed it); revoking ends it at once.
    previous_key = models.CharField(max_length=64, blank=True, db_index=True)
    previous_key_expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.name

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None or not self.is_active

    @property
    def previous_key_works(self) -> bool:
        from django.utils import timezone

        return bool(self.previous_key and self.previous_key_expires_at
                    and self.previous_key_expires_at > timezone.now() and not self.is_revoked)

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.splitlines() if o.strip()]


class WidgetSession(models.Model):
    """One visitor's visit to the widget: ties queries, suggestions, votes and any ticket together."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    site = models.ForeignKey(WidgetSite, on_delete=models.CASCADE, related_name="sessions")
    visitor_id = models.CharField(max_length=64, blank=True, db_index=True)
    language = models.CharField(max_length=35, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return str(self.public_id)
