"""Django settings for PACSweb, read from the environment with safe defaults."""

import datetime
import os
import tempfile
from pathlib import Path

import dj_database_url

from .env import env_bool, env_int, env_list, env_origins, env_secret, env_str
from .sso_ldap import LDAP_BACKEND, ldap_settings
from .sso_oidc import OIDC_BACKEND, OIDC_CONTEXT_PROCESSOR, oidc_settings

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("PACSWEB_DATA", str(BASE_DIR / "var"))).resolve()
PACSWEB_STORAGE = Path(env_str("PACSWEB_STORAGE", str(DATA_DIR / "archive"))).resolve()
# Frames encoded for the browser (JPEG-LS), kept so each is encoded once; disposable.
PACSWEB_FRAME_CACHE = Path(env_str("PACSWEB_FRAME_CACHE", str(DATA_DIR / "frame-cache"))).resolve()
# Its size limit in MB (0: none); the least recently used entries go beyond it.
PACSWEB_FRAME_CACHE_MB = env_int("PACSWEB_FRAME_CACHE_MB", 10_000)

DEBUG = env_bool("PACSWEB_DEBUG", False)
SECRET_KEY = env_secret("PACSWEB_SECRET_KEY", DATA_DIR / "secret_key")
ALLOWED_HOSTS = env_list("PACSWEB_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("PACSWEB_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "corsheaders",
    "viewer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything that may answer on its own (WhiteNoise, CommonMiddleware), as
    # django-cors-headers asks, so those answers carry CORS headers too.
    "corsheaders.middleware.CorsMiddleware",
    "viewer.web.streaming.AsyncStreamingMiddleware",
    # WhiteNoise, with a gzip copy of each text file (viewer/web/static_files.py).
    "viewer.web.static_files.CompressedStaticMiddleware",
    "viewer.web.middleware.NoStoreByDefaultMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # HTTP Basic and API tokens on /dicom-web/ and /wado (the session elsewhere).
    "viewer.web.machine_auth.MachineAuthMiddleware",
    "viewer.web.middleware.audit_middleware",
    "viewer.web.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in with its page.
    "axes.middleware.AxesMiddleware",
]

# Sign-in throttling (django-axes): after PACSWEB_SIGNIN_FAILURE_LIMIT wrong passwords
# for one user name from one address, that pair is locked out for the cool-off time.
# By the pair, not the address alone: a ward PC is shared, and one person's typos must
# not lock the ward out. Admins see and lift lockouts in the admin (Access attempts).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("PACSWEB_SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("PACSWEB_SIGNIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# LDAP / Active Directory sign-in (pacsweb/sso_ldap.py), when PACSWEB_LDAP_URI is set:
# checked after axes's lockout and before ModelBackend, which keeps local accounts working.
_LDAP_SETTINGS = ldap_settings()
if _LDAP_SETTINGS:
    AUTHENTICATION_BACKENDS.insert(1, LDAP_BACKEND)
    globals().update(_LDAP_SETTINGS)


# CORS for a viewer hosted elsewhere (OHIF...) calling DICOMweb and WADO-URI with an API
# token or Basic credentials: only the listed origins, only those paths. No cookies
# across sites (CORS_ALLOW_CREDENTIALS stays off): a session is for our own pages.
CORS_ALLOWED_ORIGINS = env_origins("PACSWEB_CORS_ORIGINS")
CORS_URLS_REGEX = r"^/(dicom-web|wado)(/|$)"
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "if-modified-since",
    "if-none-match",
    "range",
]
CORS_EXPOSE_HEADERS = [
    "Content-Location",
    "Content-Type",
    "Content-Length",
    "Content-Disposition",
    "ETag",
    "Last-Modified",
    "Location",
    "Warning",
    "WWW-Authenticate",
]

# Messages wait in the session (the database), not in a cookie: an API token is shown
# once through one, and a cookie is signed, not encrypted.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "pacsweb.urls"
# Threads that run HTTP requests side by side (viewer/web/sync_chain.py); a request
# waiting on a slow peer holds one.
PACSWEB_HTTP_THREADS = env_int("PACSWEB_HTTP_THREADS", 32)
# The largest instance one STOW-RS request part may carry (the importer's file limit).
PACSWEB_STOW_MAX_BYTES = env_int("PACSWEB_STOW_MAX_BYTES", 2 * 1024**3)
ASGI_APPLICATION = "pacsweb.asgi.application"

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

# OpenID Connect sign-in (pacsweb/sso_oidc.py), when PACSWEB_OIDC_ISSUER is set: its
# backend right after axes's lockout, its button on the sign-in page, its routes in urls.py.
_OIDC_SETTINGS = oidc_settings()
if _OIDC_SETTINGS:
    globals().update(_OIDC_SETTINGS)
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.insert(1, OIDC_BACKEND)
    TEMPLATES[0]["OPTIONS"]["context_processors"].append(OIDC_CONTEXT_PROCESSOR)


def _database(url: str) -> dict:
    sqlite = url.startswith("sqlite:")
    # Kept on SQLite: opening one (with Django's SQL functions registered on it) was half
    # of a frame request's time in its pool thread. On PostgreSQL each kept one is a
    # server process per thread (PACSWEB_HTTP_THREADS of them per web process): a
    # deployment sizes max_connections first, then sets this.
    max_age = env_int("PACSWEB_DB_CONN_MAX_AGE", 600 if sqlite else 0)
    config = dj_database_url.parse(url, conn_max_age=max_age, conn_health_checks=max_age > 0)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the viewer read while the importer and worker write; IMMEDIATE
        # transactions avoid "database is locked" on lock upgrades.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        # An in-memory test database uses shared-cache table locks, which ignore the
        # busy timeout: the worker's concurrent writers need a real file, as in use.
        # One per process, so test runs side by side never share one.
        test_name = Path(tempfile.gettempdir()) / f"pacsweb-test-{os.getpid()}.sqlite3"
        config["TEST"] = {"NAME": str(test_name)}
    elif config.get("NAME"):
        # Test runs side by side on one server must not drop each other's database.
        config["TEST"] = {"NAME": f"test_{config['NAME']}_{os.getpid()}"}
    return config


DATABASES = {
    "default": _database(env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'pacsweb.sqlite3'}"))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Scale-out: on PostgreSQL, retrieve jobs reach the workers through Procrastinate's queue
# (its locks, heartbeats and retries); on SQLite the workers poll the job table.
USE_JOB_QUEUE = DATABASES["default"]["ENGINE"].endswith("postgresql")
if USE_JOB_QUEUE:
    INSTALLED_APPS.insert(0, "procrastinate.contrib.django")
PROCRASTINATE_IMPORT_PATHS = ["viewer.retrieve.tasks"]
# A worker that misses heartbeats this long is dead and its jobs are queued again.
PACSWEB_WORKER_HEARTBEAT_SECONDS = env_int("PACSWEB_WORKER_HEARTBEAT_SECONDS", 5)
# A node that stops answering pauses its jobs, probed with back-off up to this wait
# between probes, until it has been down this long; then the job ends failed (Retry).
PACSWEB_NODE_OUTAGE_DEADLINE = env_int("PACSWEB_NODE_OUTAGE_DEADLINE", 900)
PACSWEB_NODE_BACKOFF_MAX_SECONDS = env_int("PACSWEB_NODE_BACKOFF_MAX_SECONDS", 60)
PACSWEB_WORKER_STALLED_SECONDS = env_int("PACSWEB_WORKER_STALLED_SECONDS", 30)
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": PACSWEB_WORKER_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": PACSWEB_WORKER_STALLED_SECONDS,
    "fetch_job_polling_interval": 1,
    # Finished queue entries carry nothing ours: the job table keeps the history.
    "delete_jobs": "successful",
}

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "study_list"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
# Ward PCs are shared: a session ends after a working shift, or when the browser closes.
SESSION_COOKIE_AGE = env_int("PACSWEB_SESSION_SECONDS", 12 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = env_bool("PACSWEB_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = env_str("PACSWEB_LANGUAGE", "en")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("PACSWEB_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Only for deployments that run collectstatic; the embedded default needs none.
STATIC_ROOT = env_str("PACSWEB_STATIC_ROOT") or None
# Serve straight from the source folders so the embedded default needs no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# The gzip copies of static files, named by their content's hash (made at start).
PACSWEB_STATIC_GZIP_DIR = Path(
    env_str("PACSWEB_STATIC_GZIP_DIR", str(DATA_DIR / "static-gzip"))
).resolve()

PACSWEB_PAGE_SIZE = env_int("PACSWEB_PAGE_SIZE", 25)
PACSWEB_AE_TITLE = env_str("PACSWEB_AE_TITLE", "PACSWEB")
PACSWEB_DICOM_PORT = env_int("PACSWEB_DICOM_PORT", 11112)
# Empty: our SCP listens where the web side does under `serve`, on loopback under
# `run_scp`; a DICOM port open to the network is a choice, never a default.
PACSWEB_DICOM_HOST = env_str("PACSWEB_DICOM_HOST", "")
PACSWEB_SCP_ALLOWED_AETS = env_list("PACSWEB_SCP_ALLOWED_AETS", [])
PACSWEB_SCP_MAX_ASSOCIATIONS = env_int("PACSWEB_SCP_MAX_ASSOCIATIONS", 16)
PACSWEB_SCP_MAX_ASSOCIATIONS_PER_ADDRESS = env_int("PACSWEB_SCP_MAX_ASSOCIATIONS_PER_ADDRESS", 8)
PACSWEB_SCP_NETWORK_TIMEOUT = env_int("PACSWEB_SCP_NETWORK_TIMEOUT", 60)
# How long a new connection may take to send its A-ASSOCIATE-RQ (the ARTIM timer): idle
# connections count against the association limits, so they must not hold a slot long.
PACSWEB_SCP_ACSE_TIMEOUT = env_int("PACSWEB_SCP_ACSE_TIMEOUT", 10)
PACSWEB_SCP_MAX_INSTANCE_MB = env_int("PACSWEB_SCP_MAX_INSTANCE_MB", 2048)


def _peer_policy(name: str, default: str) -> str:
    from django.core.exceptions import ImproperlyConfigured

    value = env_str(name, default).strip().lower() or default
    if value not in ("known", "any"):
        raise ImproperlyConfigured(f"{name} must be 'known' or 'any', not {value!r}")
    return value


# Who may query and retrieve (C-FIND, C-GET, C-MOVE) and store (C-STORE): "known" is
# callers configured as DIMSE nodes (AE title, and address where the node names a
# host); "any" is everyone. C-ECHO is always answered.
PACSWEB_SCP_QUERY_FROM = _peer_policy("PACSWEB_SCP_QUERY_FROM", "known")
PACSWEB_SCP_STORE_FROM = _peer_policy("PACSWEB_SCP_STORE_FROM", "any")

# Retrieve engine: a worker's claim on a job lasts this long unless renewed, so a dead
# worker's job is taken over within it; failed transfers retry with doubling waits.
PACSWEB_LEASE_SECONDS = env_int("PACSWEB_LEASE_SECONDS", 30)
PACSWEB_RETRY_ATTEMPTS = env_int("PACSWEB_RETRY_ATTEMPTS", 5)
PACSWEB_RETRY_BASE_SECONDS = env_int("PACSWEB_RETRY_BASE_SECONDS", 1)
PACSWEB_RETRY_MAX_SECONDS = env_int("PACSWEB_RETRY_MAX_SECONDS", 60)
# Instances of one series a C-MOVE request names at most (consecutive in the scheduler's
# order): the node sends them over one store association instead of one each.
PACSWEB_MOVE_BATCH = max(1, env_int("PACSWEB_MOVE_BATCH", 8))
# Run the retrieve worker inside ``manage.py serve`` (the embedded default).
PACSWEB_EMBEDDED_WORKER = env_bool("PACSWEB_EMBEDDED_WORKER", True)
# Retrieve jobs a worker runs at once (each within its node's shared slots): a study
# opened in a viewer need not wait for a long prefetch or a paused job to end.
PACSWEB_WORKER_JOBS = env_int("PACSWEB_WORKER_JOBS", 4)
# Processes of `manage.py serve` answering web requests (one interpreter serves one
# request at a time); more than one needs REDIS_URL for live messages.
PACSWEB_WEB_PROCESSES = env_int("PACSWEB_WEB_PROCESSES", 1)
# Processes of `manage.py run_scp` accepting associations on its port: C-STOREs of
# several senders on every core.
PACSWEB_SCP_PROCESSES = env_int("PACSWEB_SCP_PROCESSES", 1)
# Remote priors fetched ahead, at background priority, when a study is opened or
# arrives: the most recent comparable ones, this many (0: none; the rest on demand).
PACSWEB_PRIOR_PREFETCH = env_int("PACSWEB_PRIOR_PREFETCH", 1)
# How long a launch URL waits for all the nodes it asks (side by side); a node that has
# not answered by then is listed as one that could not be asked.
PACSWEB_LAUNCH_DEADLINE_SECONDS = env_int("PACSWEB_LAUNCH_DEADLINE_SECONDS", 20)
# The demo remote node that ``serve`` starts: a throttled link, like a hospital's.
PACSWEB_DEMO_NODE_PORT = env_int("PACSWEB_DEMO_NODE_PORT", 8042)
# Megabytes (10^6 bytes) a second, as the name says.
PACSWEB_DEMO_NODE_MEGABYTES_PER_SECOND = env_int("PACSWEB_DEMO_NODE_MEGABYTES_PER_SECOND", 10)
PACSWEB_DEMO_NODE_LATENCY_MS = env_int("PACSWEB_DEMO_NODE_LATENCY_MS", 20)


def _audit_syslog(name: str) -> str:
    from django.core.exceptions import ImproperlyConfigured

    value = env_str(name, "").strip()
    if value and value.split("://", 1)[0].lower() not in ("udp", "tcp", "tls"):
        raise ImproperlyConfigured(f"{name} must be udp://, tcp:// or tls://host:port")
    return value


def _audit_source_id() -> str:
    import socket

    return env_str("PACSWEB_AUDIT_SOURCE_ID", "").strip() or f"PACSweb@{socket.gethostname()}"


# The audit trail also goes, as DICOM audit messages (PS3.15 A.5) in RFC 5424 syslog, to
# an audit record repository: udp://host:514, tcp://host:601 or tls://host:6514. Empty
# keeps it in the database only. TLS verifies the collector against the CA file (else the
# system's CAs) and offers the client certificate and key when given.
PACSWEB_AUDIT_SYSLOG = _audit_syslog("PACSWEB_AUDIT_SYSLOG")
PACSWEB_AUDIT_SYSLOG_CA = env_str("PACSWEB_AUDIT_SYSLOG_CA", "")
PACSWEB_AUDIT_SYSLOG_CERT = env_str("PACSWEB_AUDIT_SYSLOG_CERT", "")
PACSWEB_AUDIT_SYSLOG_KEY = env_str("PACSWEB_AUDIT_SYSLOG_KEY", "")
# Messages waiting for a slow or absent collector; beyond this they are dropped (and
# counted in a warning) while the rows stay in the database.
PACSWEB_AUDIT_SYSLOG_QUEUE = env_int("PACSWEB_AUDIT_SYSLOG_QUEUE", 10000)
PACSWEB_AUDIT_SOURCE_ID = _audit_source_id()
PACSWEB_AUDIT_ENTERPRISE_SITE = env_str("PACSWEB_AUDIT_ENTERPRISE_SITE", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("PACSWEB_LOG_LEVEL", "INFO")},
    # pynetdicom logs whole query identifiers (patient names) at INFO.
    "loggers": {
        "pydicom": {"level": "CRITICAL"},
        "pynetdicom": {"level": "WARNING"},
        # httpx logs every request URL at INFO: one line per instance fetched.
        "httpx": {"level": "WARNING"},
        # Procrastinate logs every periodic check at INFO.
        "procrastinate": {"level": "WARNING"},
        # django-axes logs its version at every start and every sign-in at INFO; the
        # audit trail keeps sign-ins, and lockouts still log at WARNING.
        "axes": {"level": "WARNING"},
        # django-auth-ldap names users and DNs even in its warnings; directory errors
        # are logged by viewer.accounts.ldap_backend instead, without names.
        "django_auth_ldap": {"level": "CRITICAL"},
    },
}
