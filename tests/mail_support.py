"""A real SMTP server (aiosmtpd) in the test process, on a free port, and the settings that point at it.

`smtp_server.messages` holds what it received, parsed; `smtp_server.mode` makes it answer the next
DATA with a permanent (550) or transient (451) refusal, or drop the connection after receiving the
message without answering (the ambiguous case).
"""

from __future__ import annotations

import socket
import threading
from email import policy
from email.parser import BytesParser

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CollectingHandler:
    def __init__(self):
        self.messages: list = []
        self.envelopes: list = []
        self.mode = "accept"  # "accept", "reject" (550), "defer" (451), "drop" (close after DATA)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.mode == "reject":
            return "550 5.7.1 Relaying denied for this recipient"
        if self.mode == "defer":
            return "451 4.3.0 Mailbox temporarily unavailable"
        with self.lock:
            self.envelopes.append(envelope)
            self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.original_content))
        if self.mode == "drop":  # took the message, then the line went dead before the answer
            server.transport.close()
            return None
        return "250 OK"


class SmtpServer:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.handler = CollectingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list:
        return self.handler.messages

    @property
    def mode(self) -> str:
        return self.handler.mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.handler.mode = value

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp_server(settings):
    """A running aiosmtpd server; Django's SMTP backend in this process points at it."""
    server = SmtpServer()
    server.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    yield server
    server.controller.stop()


def text_of(message) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def html_of(message) -> str:
    part = message.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""
