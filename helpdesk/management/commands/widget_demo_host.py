"""Serve a stand-in customer site that embeds the widget, on its own port (so on its own origin).

    python manage.py widget_demo_host --port 8001 --api http://127.0.0.1:8000 [--key pk_...]

Without --key the demo site's key (from `load_demo`) is used. The page is served by a tiny
http.server, not by Django, so the widget's requests to the desk are real cross-origin requests.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string

from helpdesk.models import WidgetSite

DEMO_SITE_NAME = "Northwind Shop (demo)"


def host_page(*, api: str, key: str, extra_css: str = "") -> str:
    """Return the host page's HTML: the one script tag a customer pastes, plus optional page CSS."""
    api = api.rstrip("/")
    return render_to_string("helpdesk/widget_demo_host.html", {
        "script_url": f"{api}/static/helpdesk/widget/widget.js", "key": key, "extra_css": extra_css,
    })


def make_server(*, html: str = "", host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server answering GET / with `server.page_html` (port 0 picks a free port: server.server_port),
    and `server.page_csp` as its Content-Security-Policy when set."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] not in ("/", "/index.html"):
                self.send_error(404)
                return
            payload = self.server.page_html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            if self.server.page_csp:  # a customer site with a strict Content-Security-Policy of its own
                self.send_header("Content-Security-Policy", self.server.page_csp)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, fmt, *args):  # quiet: the desk's own log is the interesting one
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.page_html = html
    server.page_csp = ""
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


class Command(BaseCommand):
    help = "Serve a demo customer page embedding the widget, on a different port (origin) than the desk."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--bind", default="127.0.0.1")
        parser.add_argument("--api", default="http://127.0.0.1:8000", help="the desk's origin")
        parser.add_argument("--key", help="the widget site's public key (default: the demo site's)")

    def handle(self, *args, **options):
        key = options["key"]
        if not key:
            site = (WidgetSite.objects.filter(name=DEMO_SITE_NAME, is_active=True).first()
                    or WidgetSite.objects.filter(is_active=True, revoked_at=None).order_by("pk").first())
            if site is None:
                raise CommandError("no widget site yet: run `manage.py load_demo` or pass --key")
            key = site.key
        origin = f"http://{options['bind']}:{options['port']}"
        site = WidgetSite.objects.filter(key=key).first()
        if site is not None and origin not in site.origins:
            self.stderr.write(f"warning: {origin} is not an allowed origin of {site.name!r}; the widget will get 403")
        server = make_server(html=host_page(api=options["api"], key=key), host=options["bind"], port=options["port"])
        self.stdout.write(f"demo customer site: {origin}/  (widget API at {options['api']})", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
