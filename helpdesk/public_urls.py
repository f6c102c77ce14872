"""Public pages (no sign-in); include them at a path of your choice, e.g. `path("help/", include(...))`."""

from django.urls import path

from helpdesk.views import public

app_name = "helpdesk_public"

urlpatterns = [
    path("articles/<int:pk>/", public.article, name="article"),
    # An acknowledgement email's "this answered my question" link: GET asks, POST closes the ticket.
    path("answered/<str:token>/", public.answered, name="answered"),
]
