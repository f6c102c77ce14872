from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = _("Polyglot Desk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from helpdesk import checks  # noqa: F401  (registers system checks)
        from helpdesk import conf, widget_site_cache

        widget_site_cache.connect_signals()

        model = conf.get("LANGUAGE_MODEL")
        if model:
            from embeddings import language

            try:
                language.configure(fasttext_model=model)
            except FileNotFoundError:
                pass  # helpdesk.E004 says so; detection keeps the bundled model meanwhile
