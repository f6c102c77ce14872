"""Public pages (no sign-in); include them at a path of your choice, e.g. `path("help/", include(...))`."""

from django.urls import path

from helpdesk.views import public

app_name = "helpdesk_public"

urlpatterns = [
    path("articles/<int:pk>/", public.article, name="article"),
    # An acknowledgement email's "this answered my question" link: GET asks, POST closes the ticket.
    path("answered/<str:token>/", public.answered, name="answered"),
]


def public_article_url(article_id: int) -> str:
    """The absolute address of an article's public page, as links sent to customers use it."""
    from django.urls import reverse

    from helpdesk import conf

    return conf.get("SITE_URL").rstrip("/") + reverse("helpdesk_public:article", args=[article_id])
