"""Mail settings from the environment, the local capture SMTP server, and the admins' Outbox page."""

from __future__ import annotations

import pytest

from config import mail_capture, mail_settings
from helpdesk.models import OutboundEmail
from helpdesk.services import email_out
from helpdesk.services.tickets import open_ticket, post_reply
from tests.dashboard_support import admin_client_, admin_user_, agent  # noqa: F401
from tests.mail_support import free_port


def test_email_url_configures_smtp_with_tls_and_quoted_credentials():
    conf = mail_settings.from_environment(
        {"EMAIL_URL": "submission://desk%40northwind.test:p%40ss%2Fword@smtp.northwind.test"})
    assert conf["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (conf["EMAIL_HOST"], conf["EMAIL_PORT"], conf["EMAIL_USE_TLS"], conf["EMAIL_USE_SSL"]) == (
        "smtp.northwind.test", 587, True, False)
    assert (conf["EMAIL_HOST_USER"], conf["EMAIL_HOST_PASSWORD"]) == ("desk@northwind.test", "p@ss/word")
    assert conf["EMAIL_TIMEOUT"] == 30
    implicit = mail_settings.from_environment({"EMAIL_URL": "smtp://relay.internal:465?ssl=1&timeout=5"})
    assert (implicit["EMAIL_PORT"], implicit["EMAIL_USE_SSL"], implicit["EMAIL_TIMEOUT"]) == (465, True, 5)


def test_usual_email_variables_work_without_email_url():
    conf = mail_settings.from_environment({"EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "2525",
                                           "EMAIL_HOST_USER": "u", "EMAIL_HOST_PASSWORD": "p",
                                           "EMAIL_USE_TLS": "true"})
    assert conf == {"EMAIL_TIMEOUT": 30, "EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": 2525,
                    "EMAIL_HOST_USER": "u", "EMAIL_HOST_PASSWORD": "p", "EMAIL_USE_TLS": True}
    with pytest.raises(ValueError, match="exclusive"):
        mail_settings.from_environment({"EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"})


@pytest.fixture
def capture(tmp_path, settings):
    port = free_port()
    controller = mail_capture.start(host="127.0.0.1", port=port, directory=tmp_path / "mail")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "MAIL_CAPTURE_DIR": str(tmp_path / "mail"),
                         "ENCODER": "hashing"}
    yield tmp_path / "mail"
    controller.stop()


@pytest.mark.django_db
def test_capture_server_writes_each_email_and_admins_read_it_in_the_outbox(capture, admin_client_, agent, client):
    ticket = open_ticket(subject="Where is my parcel?", requester_email="marcus@example.com",
                         body="My parcel says delivered but it is not here.", language="en")
    reply = post_reply(ticket=ticket, author=agent, body="Sorry about that! I have opened a trace with the carrier.")
    email_out.deliver(email_id=OutboundEmail.objects.get(message=reply).pk)

    [eml] = list(capture.glob("*.eml"))
    assert b"I have opened a trace with the carrier." in eml.read_bytes()
    listing = admin_client_.get("/desk/outbox/").content.decode()
    assert "Re: Where is my parcel?" in listing and str(capture) in listing
    # When it was received, as a date people read (not the file name's stamp).
    stamp = eml.name[:15]
    assert f'<time datetime="{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}' in listing
    assert f"{stamp[4:6]}/{stamp[6:8]}/{stamp[:4]} " in listing and f"<code>{stamp}" not in listing
    detail = admin_client_.get(f"/desk/outbox/{eml.name}/").content.decode()
    assert "I have opened a trace with the carrier." in detail and "X-Polyglot-Desk" in detail
    raw = admin_client_.get(f"/desk/outbox/{eml.name}/?raw=1")
    assert raw["Content-Type"] == "message/rfc822" and raw.content == eml.read_bytes()
    assert admin_client_.get("/desk/outbox/..%2Fsecret_key/").status_code == 404
    assert admin_client_.get("/desk/outbox/nope.eml/").status_code == 404

    client.force_login(agent)
    assert client.get("/desk/outbox/").status_code == 403  # admins only


@pytest.mark.django_db
def test_outbox_does_not_exist_without_a_capture_server_outside_debug(admin_client_, settings):
    settings.DEBUG = False
    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "MAIL_CAPTURE_DIR": None}
    assert admin_client_.get("/desk/outbox/").status_code == 404
    assert "/desk/outbox/" not in admin_client_.get("/desk/").content.decode()


def test_production_without_a_real_sender_or_site_address_is_warned_about(settings):
    from helpdesk.checks import check_outgoing_email

    settings.DEBUG = False
    settings.HELPDESK = {"FROM_EMAIL": "Support <support@localhost>", "SITE_URL": "http://localhost:8000"}
    assert [w.id for w in check_outgoing_email()] == ["helpdesk.W020", "helpdesk.W021"]
    settings.HELPDESK = {"FROM_EMAIL": "Acme <help@acme.test>", "SITE_URL": "https://desk.acme.test"}
    assert check_outgoing_email() == []
