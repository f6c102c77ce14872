"""What a deployment gets without asking: no debug page, HTTPS-only cookies and HSTS, a bounded pool,
and a health check that says what is wrong."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, service_env

READ_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "db = s.DATABASES['default']; "
    "print(json.dumps({'debug': s.DEBUG, 'hsts': s.SECURE_HSTS_SECONDS, 'session_secure': s.SESSION_COOKIE_SECURE, "
    "'csrf_secure': s.CSRF_COOKIE_SECURE, 'pool': db.get('OPTIONS', {}).get('pool'), "
    "'conn_max_age': db['CONN_MAX_AGE'], 'app': db.get('OPTIONS', {}).get('application_name')}))"
)


def _settings(**env) -> dict:
    base = service_env(DJANGO_SETTINGS_MODULE="config.settings")
    for name in ("DEBUG", "HTTPS", "SECURE_HSTS_SECONDS", "DATABASE_POOL_SIZE", "DATABASE_APPLICATION_NAME"):
        base.pop(name, None)
    base.update(env)
    result = subprocess.run([sys.executable, "-c", READ_SETTINGS], cwd=ROOT, env=base, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_without_any_setting_debug_is_off_and_cookies_and_hsts_assume_https():
    values = _settings()
    assert values["debug"] is False
    assert values["hsts"] == 31_536_000
    assert values["session_secure"] is True and values["csrf_secure"] is True
    assert values["pool"] is None and values["conn_max_age"] == 60  # one persistent connection per process


@pytest.mark.django_db
def test_plain_http_on_loopback_turns_off_secure_cookies_and_hsts_but_not_debug():
    values = _settings(HTTPS="0")
    assert values == {**values, "debug": False, "hsts": 0, "session_secure": False, "csrf_secure": False}


@pytest.mark.django_db
def test_a_web_process_pools_as_many_connections_as_it_has_threads():
    values = _settings(DATABASE_POOL_SIZE="4", DATABASE_APPLICATION_NAME="polyglot-web")
    assert values["pool"]["max_size"] == 4 and values["pool"]["min_size"] == 1
    assert values["conn_max_age"] == 0 and values["app"] == "polyglot-web"


@pytest.mark.django_db
def test_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok", "encoder": "off"}


FAIL_A_REQUEST = (
    "import django; django.setup(); "
    "from django.core.handlers.exception import response_for_exception; from django.test import RequestFactory; "
    "request = RequestFactory().get('/desk/tickets/7/')\n"
    "try:\n    raise ZeroDivisionError('the bug we need to find')\n"
    "except ZeroDivisionError as exc:\n    print('status', response_for_exception(request, exc).status_code)"
)


@pytest.mark.parametrize("debug", ["0", "1"])
def test_a_server_error_leaves_its_traceback_in_the_web_servers_log_once(debug):
    # Django's defaults print it only with DEBUG=1: with DEBUG=0, the one setting that matters, it vanished.
    env = service_env(DJANGO_SETTINGS_MODULE="config.settings")
    env.update(DEBUG=debug)
    result = subprocess.run([sys.executable, "-c", FAIL_A_REQUEST], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert "status 500" in result.stdout, result.stderr[-2000:]
    assert "Internal Server Error: /desk/tickets/7/" in result.stderr
    assert result.stderr.count("ZeroDivisionError: the bug we need to find") == 1
