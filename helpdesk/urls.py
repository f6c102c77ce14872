from django.urls import path

from helpdesk.views import agent, api, kb

app_name = "helpdesk"

urlpatterns = [
    path("", agent.queue, name="queue"),
    path("kb/<int:pk>/", kb.article_detail, name="article"),
    path("api/suggest/", api.suggest, name="api-suggest"),
]
