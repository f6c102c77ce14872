"""Settings for the Polyglot Desk project.

Everything that differs between a laptop and production comes from the environment:
DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS, HELPDESK_ENCODER. With no DATABASE_URL
or REDIS_URL, embedded PostgreSQL+pgvector and Redis are started under var/ (see config/embedded.py).
"""

import os
import secrets
from pathlib import Path

from config import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = embedded.var_dir()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    # A per-install key kept out of the repository, created on first start.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Off unless asked: the debug page must never answer the public widget API (`make run` leaves it off too).
DEBUG = _env_bool("DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "helpdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {"default": embedded.postgres_settings()}

# --- Serving and deployment hardening (ops): connections, static files, HTTPS. -------------------
# Web processes bound their PostgreSQL connections with psycopg's pool (DATABASE_POOL_SIZE per
# process; config/serve.py sets it to the web process's threads). Elsewhere (Celery, manage.py) one
# persistent connection per process, checked before reuse.
_pool_size = int(os.environ.get("DATABASE_POOL_SIZE") or 0)
if _pool_size > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them; Django refuses both
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": _pool_size,
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT") or 10),  # wait for a free connection, then fail
        "max_idle": 300,
    }
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if os.environ.get("DATABASE_APPLICATION_NAME"):
    # Shown in pg_stat_activity: which process holds which connections (config/stack.py names them).
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = os.environ["DATABASE_APPLICATION_NAME"]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Gzip/Brotli copies made by collectstatic; WhiteNoise serves them (no manifest: the widget's
    # script keeps one stable URL that customers' pages embed).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# HTTPS: the desk is reached over HTTPS (a TLS proxy in front) unless DEBUG or HTTPS=0 says otherwise
# (`make run` serves plain HTTP on loopback). Then cookies are secure and browsers are told so (HSTS).
HTTPS = _env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or (31_536_000 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", False)  # usually the proxy's job
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the orchestrator's probe speaks plain HTTP
if _env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Only behind a proxy that sets X-Forwarded-Proto itself, overwriting any the visitor sent.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"  # nosniff and the referrer policy: the "sec" block below
# --- end of the ops block ------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL") or embedded.redis_url()

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "polyglot",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
# Every language the product ships (widget, customer emails and pages; the dashboard too, fully for
# helpdesk.languages.DASHBOARD_COMPLETE): the dashboard's language menu, a widget site's default
# language and the catalogs (`python manage.py update_catalogs`) all come from this one list.
# Names are each language's own, as a speaker looks for it in a menu.
LANGUAGES = [
    ("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch"), ("pt", "Português"),
    ("it", "Italiano"), ("nl", "Nederlands"), ("pl", "Polski"), ("sv", "Svenska"), ("da", "Dansk"),
    ("nb", "Norsk bokmål"), ("fi", "Suomi"), ("cs", "Čeština"), ("ro", "Română"), ("hu", "Magyar"),
    ("el", "Ελληνικά"), ("ru", "Русский"), ("uk", "Українська"), ("tr", "Türkçe"), ("ar", "العربية"),
    ("he", "עברית"), ("fa", "فارسی"), ("ur", "اردو"), ("hi", "हिन्दी"), ("ja", "日本語"), ("ko", "한국어"),
    ("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("id", "Bahasa Indonesia"), ("ms", "Bahasa Melayu"),
    ("vi", "Tiếng Việt"), ("th", "ไทย"),
]
LOCALE_PATHS = [BASE_DIR / "helpdesk" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise expects it even when DEBUG serves from the finders
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
# JSON endpoints answer a failed CSRF check with a JSON 403; pages keep Django's.
CSRF_FAILURE_VIEW = "helpdesk.views.json_api.csrf_failure"
LOGIN_REDIRECT_URL = "helpdesk:queue"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Celery: the broker is Redis (redis+socket:// for the embedded one).
CELERY_BROKER_URL = (
    REDIS_URL.replace("unix://", "redis+socket://", 1) if REDIS_URL.startswith("unix://") else REDIS_URL
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# How long a new pool process may take to report UP (Celery's default, 4 s, is tight on a busy machine;
# the model loads in the background after UP, see config/celery.py).
CELERY_WORKER_PROC_ALIVE_TIMEOUT = float(os.environ.get("CELERY_WORKER_PROC_ALIVE_TIMEOUT") or 30)
# On SIGQUIT (how `make run` and docker stop a worker) running tasks get this long, then go back to the queue.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = float(os.environ.get("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT") or 10)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"helpdesk.tasks.embed_*": {"queue": "embeddings"}}
# Both queues declared, so that `celery purge` (and app.control.purge()) empties the embeddings queue
# too; the sweep waits while that queue holds messages, so leftovers there would stall it.
CELERY_TASK_QUEUES = {name: {"exchange": name, "routing_key": name} for name in ("default", "embeddings")}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# How often the sweeps for unembedded passages and stranded imports run (the fault drill's test
# shortens it); passages are swept once they have waited two rounds.
_SWEEP_SECONDS = float(os.environ.get("HELPDESK_SWEEP_SECONDS") or 60)
CELERY_BEAT_SCHEDULE = {
    # Anything a lost message or a killed worker left unembedded is picked up again.
    "sweep-unembedded": {"task": "helpdesk.tasks.sweep_unembedded", "schedule": _SWEEP_SECONDS,
                         "kwargs": {"min_age_seconds": int(2 * _SWEEP_SECONDS)}},
    # Emails whose task was lost are queued again; sends cut off mid-way are marked uncertain.
    "sweep-outbound-email": {"task": "helpdesk.tasks_email.sweep_outbound_email", "schedule": 60.0},
    # Imports no task holds any more (a killed worker, a lost message) carry on where they stopped.
    "sweep-imports": {"task": "helpdesk.tasks_imports.sweep_imports", "schedule": _SWEEP_SECONDS},
}

HELPDESK = {
    "ENCODER": os.environ.get("HELPDESK_ENCODER", "multilingual-e5-small-int8"),
    "EMBEDDING_DIMENSIONS": int(os.environ["HELPDESK_EMBEDDING_DIMENSIONS"])
    if os.environ.get("HELPDESK_EMBEDDING_DIMENSIONS") else None,
    "DEVICE": os.environ.get("HELPDESK_DEVICE") or None,
    "TORCH_THREADS": int(os.environ["HELPDESK_TORCH_THREADS"]) if os.environ.get("HELPDESK_TORCH_THREADS") else None,
    "LANGUAGE_MODEL": os.environ.get("HELPDESK_LANGUAGE_MODEL") or None,
    "TITLE_PASSAGE": os.environ.get("HELPDESK_TITLE_PASSAGE", "1").lower() not in ("0", "false", "no", "off"),
    "TRUSTED_PROXIES": int(os.environ.get("HELPDESK_TRUSTED_PROXIES") or 0),
    "FROM_EMAIL": os.environ.get("HELPDESK_FROM_EMAIL") or "Support <support@localhost>",
    "REPLY_ADDRESS": os.environ.get("HELPDESK_REPLY_ADDRESS") or None,
    "SITE_URL": os.environ.get("HELPDESK_SITE_URL") or "http://localhost:8000",
    "MAIL_CAPTURE_DIR": os.environ.get("HELPDESK_MAIL_CAPTURE_DIR") or None,
    # Inbound email (README "Email in"): IMAP polling and provider webhooks.
    "IMAP_URL": os.environ.get("HELPDESK_IMAP_URL") or None,
    "IMAP_PROCESSED_FOLDER": os.environ.get("HELPDESK_IMAP_PROCESSED_FOLDER") or None,
    "INBOUND_WEBHOOK_SECRET": os.environ.get("HELPDESK_INBOUND_WEBHOOK_SECRET") or None,
    "MAILGUN_SIGNING_KEY": os.environ.get("HELPDESK_MAILGUN_SIGNING_KEY") or None,
    "POSTMARK_INBOUND_SECRET": os.environ.get("HELPDESK_POSTMARK_INBOUND_SECRET") or None,
    "SENDGRID_INBOUND_SECRET": os.environ.get("HELPDESK_SENDGRID_INBOUND_SECRET") or None,
    "IMPORT_STALE_SECONDS": int(os.environ.get("HELPDESK_IMPORT_STALE_SECONDS") or 60),
}
# Stored inbound mail nobody processed (broker outage) is queued again; IMAP is polled only when set.
CELERY_BEAT_SCHEDULE["sweep-inbound-email"] = {"task": "helpdesk.tasks_inbound.sweep_inbound_email", "schedule": 300.0}
if HELPDESK["IMAP_URL"]:
    CELERY_BEAT_SCHEDULE["poll-imap"] = {
        "task": "helpdesk.tasks_inbound.poll_imap", "schedule": float(os.environ.get("HELPDESK_IMAP_POLL_SECONDS") or 60)}

# Outgoing mail: EMAIL_URL (e.g. submission://user:pass@smtp.example.com:587) or EMAIL_HOST & co.
from config import mail_settings  # noqa: E402

globals().update(mail_settings.from_environment(os.environ))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        # Django's own defaults print a 500's traceback only with DEBUG=1 (and otherwise mail it to ADMINS,
        # usually empty): without this, a production error left nothing in the web server's log.
        "server_errors": {"class": "logging.StreamHandler", "level": "ERROR", "filters": ["require_debug_false"]},
    },
    "loggers": {
        "helpdesk": {"handlers": ["console"], "level": os.environ.get("HELPDESK_LOG_LEVEL", "INFO")},
        "django.request": {"handlers": ["server_errors"], "level": "ERROR"},
    },
}

# --- Hostile input, response headers (issue 13, "sec"): keep these together -------------------------
from csp.constants import NONE, SELF  # noqa: E402

MIDDLEWARE += [
    "csp.middleware.CSPMiddleware",
    "helpdesk.middleware.StorableQueryMiddleware",
    "helpdesk.middleware.PrivatePagesMiddleware",
]
# No inline script, style or event handler anywhere: pages load their code and CSS from static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# A Redis that stops answering must not hold a request (the metrics page caches in it).
CACHES["default"]["OPTIONS"] = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
