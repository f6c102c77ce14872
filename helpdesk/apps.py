from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = _("Polyglot Desk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from helpdesk import checks  # noqa: F401  (registers system checks)
