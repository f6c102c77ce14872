"""`/healthz`: is this web process able to serve? For load balancers, orchestrators and `make run`."""

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from redis.exceptions import RedisError

from config import warmup


@never_cache
@require_GET
def healthz(request):
    """200 when PostgreSQL and Redis answer this process, else 503 naming the one that did not.

    `encoder` says whether this process has loaded its query model yet (loading | ready | failed |
    off = loaded on first use); suggestions wait for it, nothing else does.
    """
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError:
        checks["database"] = "unavailable"
    try:
        cache.get("healthz")  # a round trip to Redis
        checks["redis"] = "ok"
    except (RedisError, OSError):
        checks["redis"] = "unavailable"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks, "encoder": warmup.state()},
                        status=200 if healthy else 503)
