from django.urls import path

from helpdesk.views import agent, api, inbound, kb, mail_admin, uploads, widget, widget_sites
from helpdesk.views import metrics as metrics_views
from helpdesk.views import settings as settings_views

app_name = "helpdesk"

urlpatterns = [
    path("", agent.queue, name="queue"),
    path("tickets/<int:pk>/", agent.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/reply/", agent.ticket_reply, name="ticket-reply"),
    path("tickets/<int:pk>/update/", agent.ticket_update, name="ticket-update"),
    path("tickets/<int:pk>/suggestions/", agent.suggestions_panel, name="ticket-suggestions"),
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
    path("email/inbound/", inbound.receive, name="email-inbound"),
    path("email/inbound/mailgun/", inbound.receive_mailgun, name="email-inbound-mailgun"),
    path("email/inbound-mail/", mail_admin.inbound_list, name="inbound-mail"),
    path("email/inbound-mail/<int:pk>/", mail_admin.inbound_detail, name="inbound-mail-detail"),
    path("email/inbound-mail/<int:pk>/reprocess/", mail_admin.reprocess, name="inbound-mail-reprocess"),
    path("email/inbound-mail/<int:pk>/raw/", mail_admin.raw, name="inbound-mail-raw"),
    path("attachments/<int:pk>/", mail_admin.attachment, name="attachment"),
]
