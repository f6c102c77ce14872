"""Public pages (no sign-in); include them at a path of your choice, e.g. `path("help/", include(...))`."""

from django.urls import path

from helpdesk.views import public

app_name = "helpdesk_public"

urlpatterns = [path("articles/<int:pk>/", public.article, name="article")]
