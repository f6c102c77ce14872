from django.urls import path

from helpdesk.views import agent, api, kb, mail, uploads, widget, widget_sites
from helpdesk.views import metrics as metrics_views
from helpdesk.views import settings as settings_views

app_name = "helpdesk"

urlpatterns = [
    path("", agent.queue, name="queue"),
    path("tickets/<int:pk>/", agent.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/reply/", agent.ticket_reply, name="ticket-reply"),
    path("tickets/<int:pk>/update/", agent.ticket_update, name="ticket-update"),
    path("tickets/<int:pk>/suggestions/", agent.suggestions_panel, name="ticket-suggestions"),
    path("emails/<int:pk>/status/", mail.email_status, name="email-status"),
    path("emails/<int:pk>/retry/", mail.email_retry, name="email-retry"),
    path("outbox/", mail.outbox, name="outbox"),
    path("outbox/<str:name>/", mail.outbox_message, name="outbox-message"),
    path("settings/acknowledgements/", settings_views.acknowledgement_settings, name="settings-acknowledgements"),
    path("suggestions/<int:pk>/feedback/", agent.suggestion_feedback, name="suggestion-feedback"),
    path("suggestions/<int:pk>/insert/", agent.suggestion_insert, name="suggestion-insert"),
    path("kb/", kb.article_list, name="kb-list"),
    path("kb/new/", kb.article_new, name="kb-new"),
    path("kb/coverage/", kb.coverage, name="kb-coverage"),
    path("kb/<int:pk>/", kb.article_detail, name="article"),
    path("kb/<int:pk>/edit/", kb.article_edit, name="kb-edit"),
    path("kb/<int:pk>/status/", kb.article_status, name="kb-status"),
    path("kb/<int:pk>/embedding/", kb.embedding_state, name="kb-embedding"),
    path("metrics/", metrics_views.metrics_page, name="metrics"),
    path("settings/", settings_views.desk_settings, name="settings"),
    path("settings/preview/", settings_views.threshold_preview_fragment, name="settings-preview"),
    path("kb/import/", uploads.upload, name="kb-import"),
    path("kb/import/<int:pk>/", uploads.upload_detail, name="kb-import-detail"),
    path("kb/import/<int:pk>/progress/", uploads.upload_progress, name="kb-import-progress"),
    path("kb/export/", uploads.export, name="kb-export"),
    path("api/suggest/", api.suggest, name="api-suggest"),
    path("widget-sites/", widget_sites.site_list, name="widget-sites"),
    path("widget-sites/new/", widget_sites.site_edit, name="widget-site-new"),
    path("widget-sites/<int:pk>/", widget_sites.site_edit, name="widget-site"),
    path("widget-sites/<int:pk>/rotate/", widget_sites.rotate, name="widget-site-rotate"),
    path("widget-sites/<int:pk>/revoke/", widget_sites.revoke, name="widget-site-revoke"),
    path("widget/v1/<str:key>/sessions/", widget.sessions, name="widget-sessions"),
    path("widget/v1/<str:key>/suggest/", widget.suggest, name="widget-suggest"),
    path("widget/v1/<str:key>/queries/", widget.queries, name="widget-queries"),
    path("widget/v1/<str:key>/articles/<int:pk>/", widget.article, name="widget-article"),
    path("widget/v1/<str:key>/votes/", widget.votes, name="widget-votes"),
    path("widget/v1/<str:key>/tickets/", widget.tickets, name="widget-tickets"),
]
