"""The same code runs on embedded services or on servers named by DATABASE_URL / REDIS_URL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import redis

from tests.conftest import ROOT

SYSTEM_REDIS = "redis://127.0.0.1:6379/13"


def _manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1", **env})


def test_redis_url_points_cache_and_broker_at_an_external_server():
    try:
        external = redis.Redis.from_url(SYSTEM_REDIS, socket_timeout=2)
        external.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379 to test against")
    token = uuid.uuid4().hex
    result = _manage(
        {"REDIS_URL": SYSTEM_REDIS},
        "shell", "-c",
        "from django.core.cache import cache; from django.conf import settings; "
        f"cache.set('probe', '{token}', 60); print(settings.CELERY_BROKER_URL)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == SYSTEM_REDIS
    keys = external.keys("polyglot:*:probe")
    try:
        assert keys and token in external.get(keys[0]).decode(errors="replace")
    finally:
        external.delete(*keys)


def test_embedded_services_keep_data_across_a_restart(tmp_path):
    env = {"POLYGLOT_VAR": str(tmp_path / "var")}
    try:
        assert _manage(env, "migrate", "--verbosity", "0").returncode == 0
        created = _manage(env, "shell", "-c", "from helpdesk.services.knowledge import save_article; "
                          "print(save_article(title='Persisted', body='Still here.', locale='en').pk)")
        assert created.returncode == 0, created.stderr
        stop = subprocess.run([sys.executable, "-m", "config.embedded", "stop"], cwd=ROOT,
                              env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
        assert stop.returncode == 0, stop.stderr
        status = subprocess.run([sys.executable, "-m", "config.embedded", "status"], cwd=ROOT,
                                env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
        assert "postgres: stopped; redis: stopped" in status.stdout

        again = _manage(env, "shell", "-c", "from helpdesk.models import Article; "
                        "print(list(Article.objects.values_list('title', flat=True)))")
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip().splitlines()[-1] == "['Persisted']"
    finally:
        subprocess.run([sys.executable, "-m", "config.embedded", "stop"], cwd=ROOT,
                       env={**os.environ, **env}, capture_output=True, timeout=60)
