"""Settings for the catalog, read from the environment.

Every setting that differs between a laptop and a server comes from an environment
variable; the defaults run a fresh clone on SQLite with no other service.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def sqlite_database(path: Path) -> dict:
    """An SQLite database tuned for a small web server: WAL, IMMEDIATE writes, a busy wait."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA busy_timeout=20000;"
                "PRAGMA foreign_keys=ON;"
            ),
        },
    }


def database_from_url(url: str | None) -> dict:
    if not url:
        (BASE_DIR / "var").mkdir(exist_ok=True)
        return sqlite_database(BASE_DIR / "var" / "catalog.sqlite3")
    if url.startswith("sqlite:"):
        parsed = dj_database_url.parse(url)
        return sqlite_database(Path(parsed["NAME"]))
    # Each worker keeps its connection between requests for CONN_MAX_AGE seconds, checked
    # before reuse, so a restarted PostgreSQL costs one failed check, not a failed request.
    database = dj_database_url.parse(
        url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    if database["ENGINE"] == "django.db.backends.postgresql":
        database["ENGINE"] = "catalog.backends.postgresql"  # checks without a round trip
        # No JIT: it compiles a query PostgreSQL expects to cost much (a page walking an
        # index of a million rows that stops after 200), spending 30-50 ms to save none.
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    return database


def replica_databases(urls: list[str]) -> dict[str, dict]:
    """Read replicas as `replica_1`, `replica_2`, … In tests each one mirrors the primary's
    test database, since nothing replicates into a separate test database."""
    replicas = {}
    for number, url in enumerate(urls, start=1):
        replicas[f"replica_{number}"] = database_from_url(url) | {"TEST": {"MIRROR": "default"}}
    return replicas


LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "testserver"}


def development_secret_key(allowed_hosts: list[str]) -> str:
    """The fixed key of a laptop, which keeps sessions valid across dev server restarts;
    refused as soon as the site answers for any host but this machine."""
    if set(allowed_hosts) - LOCAL_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_ALLOWED_HOSTS names hosts other "
            "than this machine"
        )
    return "insecure-local-development-key-set-DJANGO_SECRET_KEY-in-production"


DEBUG = env_bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", sorted(LOCAL_HOSTS))
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or development_secret_key(ALLOWED_HOSTS)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# HTTPS, when a TLS-terminating proxy sits in front (README.md, "Production"). The proxy
# must set X-Forwarded-Proto itself, replacing whatever a client sent.
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
# A load balancer probes the app servers themselves, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^api/ready$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=False)

# How many proxies in front append to X-Forwarded-For; the request log takes the client's
# address from there, that many entries from the right (the ones a client cannot forge).
CATALOG_PROXY_COUNT = env_int("CATALOG_PROXY_COUNT", 0)
# 1 MiB holds the largest deployment bodies ten times over (a parameter schema takes 100
# to 150 bytes a parameter); see README.md, "Production".
CATALOG_MAX_BODY_BYTES = env_int("CATALOG_MAX_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = CATALOG_MAX_BODY_BYTES

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "catalog",
]

MIDDLEWARE = [
    "catalog.api.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "catalog.api.middleware.RequestBodyLimitMiddleware",
    "catalog.api.middleware.ReadReplicaMiddleware",
    "catalog.api.middleware.PrefectApiMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "catalog.api.middleware.AdminMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last: it times the view (see its docstring).
    "catalog.api.middleware.RequestDeadlineMiddleware",
]

# django-axes' backend first: a locked-out login is refused before any password is hashed.
AUTHENTICATION_BACKENDS = [
    "catalog.api.logins.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(os.environ.get("DATABASE_URL")),
    **replica_databases(env_list("DATABASE_REPLICA_URLS", [])),
}
CATALOG_READ_REPLICAS = [alias for alias in DATABASES if alias != "default"]
DATABASE_ROUTERS = ["catalog.routers.ReadReplicaRouter"]
# How long a client that wrote keeps reading from the primary: longer than replication lag.
CATALOG_REPLICA_PIN_SECONDS = env_int("CATALOG_REPLICA_PIN_SECONDS", 10)
# How long a replica that could not be reached is left out before it is tried again.
CATALOG_REPLICA_RETRY_SECONDS = env_int("CATALOG_REPLICA_RETRY_SECONDS", 5)
# Deployment bodies each worker process holds in memory for the pages it serves again
# (`catalog.rendering.body_memory`), in MB; 0 turns it off. PostgreSQL only.
CATALOG_BODY_MEMORY_MB = env_int("CATALOG_BODY_MEMORY_MB", 32)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are PostgreSQL's; SQLite makes the index without the
# included columns and reads them from the row, which is all the warning says.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "var" / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve app static files straight from the apps when `collectstatic` has not been run;
# production collects them (compressed) and turns this off.
WHITENOISE_USE_FINDERS = env_bool("DJANGO_STATIC_USE_FINDERS", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Prefect's routes decide their own trailing slashes; Django must not rewrite them.
APPEND_SLASH = False

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["catalog.api.renderers.PrefectJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "catalog.api.renderers.JsonOnly",
    "EXCEPTION_HANDLER": "catalog.api.errors.prefect_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "catalog.api.auth.ApiKeyAuthentication",
        "catalog.api.auth.UserBasicAuthentication",
        "catalog.api.auth.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["catalog.api.auth.CatalogAccess"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "catalog.api.openapi.PrefectAutoSchema",
}
# Who may use the API (catalog/auth.py): writes always need an API key or a user with the
# model permission; reads need nothing while CATALOG_ANONYMOUS_READ is on (for local use;
# turn it off in production). CATALOG_BASIC_AUTH checks PREFECT_API_AUTH_STRING's
# "user:password" against Django users.
CATALOG_ANONYMOUS_READ = env_bool("CATALOG_ANONYMOUS_READ", default=True)
CATALOG_BASIC_AUTH = env_bool("CATALOG_BASIC_AUTH", default=False)

# The change history (README.md, "Change history"): every write through every door
# records a version of each object whose configuration it changed. Off, writes record
# nothing (benchmarks compare the two). Versions older than the retention (days; empty:
# kept forever) go with `manage.py prune_history`; each object's latest version stays.
CATALOG_HISTORY = env_bool("CATALOG_HISTORY", default=True)
CATALOG_HISTORY_RETENTION_DAYS = env_int("CATALOG_HISTORY_RETENTION_DAYS", default=0) or None

# Budgets and limits on what users send (README.md, "Security"). Each is a named setting
# with a test just past it (tests/test_security_*.py).
# -- schedules
# Steps finding a schedule's next runs may take (catalog/rules/schedule_budget.py): a
# rule past it is refused on write; a stored one shows "too costly to compute" on reads.
CATALOG_SCHEDULE_BUDGET = env_int("CATALOG_SCHEDULE_BUDGET", 100_000)
# A schedule that has not ended must fire within this many years from now.
CATALOG_SCHEDULE_HORIZON_YEARS = env_int("CATALOG_SCHEDULE_HORIZON_YEARS", 100)
# Steps all the schedules of one admin list or change page, or of one write (an API
# request, an admin save, an imported deployment), may take together; those past it show
# "too costly to compute" on reads, and are refused on writes.
CATALOG_SCHEDULE_PAGE_BUDGET = env_int("CATALOG_SCHEDULE_PAGE_BUDGET", 200_000)
# The fleet calendar expands each distinct schedule definition once a window (and keeps
# it in the database for every process): those expansions share this many steps a page;
# definitions past it are named on the page, not counted. Each one also has
# CATALOG_SCHEDULE_BUDGET. At most CATALOG_CALENDAR_MAX_DEFINITIONS distinct definitions
# (the most shared first) are counted; the page says when others were left out.
CATALOG_CALENDAR_BUDGET = env_int("CATALOG_CALENDAR_BUDGET", 2_000_000)
CATALOG_CALENDAR_MAX_DEFINITIONS = env_int("CATALOG_CALENDAR_MAX_DEFINITIONS", 20_000)

# -- filter patterns and API parameters
# The longest text a filter matches: a `like_` pattern, a `startswith_` prefix, a name,
# type or tag in an `any_`/`all_` list, a `GET /api/deployments/` parameter. As long as
# the longest name, so that any stored name can be searched for whole.
CATALOG_MAX_PATTERN_LENGTH = env_int("CATALOG_MAX_PATTERN_LENGTH", 255)
# The most values a filter's list holds (`any_`, `not_any_`, `all_`, `startswith_`, a
# worker's `deployment_ids`, repeated `tag=` parameters): more than a page (200) of ids,
# and well within SQLite's 1,000 levels of expression, which each `startswith_` prefix
# (an OR) deepens by a level or two.
CATALOG_MAX_FILTER_VALUES = env_int("CATALOG_MAX_FILTER_VALUES", 250)

# -- parameter schemas: regular expressions and the cost of a check
# The patterns of parameter and job-variable schemas run with RE2 (linear time). The most
# characters a pattern may have, the memory RE2 may use for one (its program and its DFA
# cache), and per match the characters times the pattern's RE2 program size.
CATALOG_SCHEMA_MAX_PATTERN_LENGTH = env_int("CATALOG_SCHEMA_MAX_PATTERN_LENGTH", 1000)
CATALOG_SCHEMA_PATTERN_MAX_MEMORY = env_int("CATALOG_SCHEMA_PATTERN_MAX_MEMORY", 4 * 1024 * 1024)
CATALOG_SCHEMA_PATTERN_MATCH_BUDGET = env_int("CATALOG_SCHEMA_PATTERN_MATCH_BUDGET", 50_000_000)
# Keyword evaluations (a reference counts 4) one check of parameters or job variables
# against their schema may take: references nested ten deep and ten wide, or an allOf of a
# hundred references over a thousand items, stop here (catalog/rules/schema_patterns.py).
CATALOG_SCHEMA_CHECK_BUDGET = env_int("CATALOG_SCHEMA_CHECK_BUDGET", 50_000)

# -- untrusted prefect.yaml and flow files
# The largest prefect.yaml the importer reads, in bytes.
CATALOG_YAML_MAX_BYTES = env_int("CATALOG_YAML_MAX_BYTES", 1_000_000)
# The most nodes a prefect.yaml may hold once its aliases are expanded (an alias counts
# every node it stands for), so a few hundred bytes cannot unfold into billions. PyYAML
# composes some 15,000 nodes a second here: the budget bounds a file's time too.
CATALOG_YAML_MAX_NODES = env_int("CATALOG_YAML_MAX_NODES", 50_000)
# The most levels of lists and mappings a prefect.yaml, JSON or JSON Lines document may
# nest: room for the 254 levels any JSON value may take (catalog.rules.limits).
CATALOG_IMPORT_MAX_DEPTH = env_int("CATALOG_IMPORT_MAX_DEPTH", 300)
# JSON and JSON Lines files larger than this many bytes are read as a stream, record by
# record, rather than whole (smaller ones are read whole: their errors name line and column).
CATALOG_IMPORT_STREAM_BYTES = env_int("CATALOG_IMPORT_STREAM_BYTES", 4_000_000)
# The longest line a streamed JSON Lines file may hold, in characters (a deployment's JSON
# fields may each take 1 MiB): a longer line is refused without being held in memory.
CATALOG_IMPORT_MAX_LINE_BYTES = env_int("CATALOG_IMPORT_MAX_LINE_BYTES", 16 * 1024 * 1024)
# How many deployments an import checks and writes at a time: memory stays bounded by it,
# whatever the input's size (all batches are still one transaction).
CATALOG_IMPORT_BATCH = env_int("CATALOG_IMPORT_BATCH", 2_000)
# How many problems a refused import keeps, and how many per-deployment changes a result
# keeps (a dry run prints them, the admin's preview shows them); past these, counts only.
CATALOG_IMPORT_PROBLEMS_KEPT = env_int("CATALOG_IMPORT_PROBLEMS_KEPT", 1_000)
CATALOG_IMPORT_CHANGES_KEPT = env_int("CATALOG_IMPORT_CHANGES_KEPT", 10_000)
# The largest flow source file an entrypoint may name, in bytes.
CATALOG_FLOW_SOURCE_MAX_BYTES = env_int("CATALOG_FLOW_SOURCE_MAX_BYTES", 500_000)
# The most levels an expression in a flow file may nest, and a default or annotation
# may nest when read through the names it refers to.
CATALOG_FLOW_SOURCE_MAX_DEPTH = env_int("CATALOG_FLOW_SOURCE_MAX_DEPTH", 100)
# The total size of what reading one flow file computes (defaults, Literal choices, enum
# values, annotation schemas): a character of text, a digit of a number, an item.
CATALOG_FLOW_SOURCE_MAX_VALUE_SIZE = env_int("CATALOG_FLOW_SOURCE_MAX_VALUE_SIZE", 1_000_000)

# -- import_deployments --from-api
# Pages (requests, each page of each listing) one import reads: 200,000 records at 200 a
# page. A server that says there are always more pages is stopped here.
CATALOG_REMOTE_MAX_PAGES = env_int("CATALOG_REMOTE_MAX_PAGES", 1000)
# Bytes of one answer, counted while it streams: 200 deployments of 40 KB (a full one is
# 3 KB). Parsed, JSON takes 3 times its size in memory, and up to 27 times if made to.
CATALOG_REMOTE_MAX_RESPONSE_BYTES = env_int("CATALOG_REMOTE_MAX_RESPONSE_BYTES", 8 * 1024 * 1024)
# Bytes of all the answers of one import together (about 10,000 full deployments): the
# importer holds every record in memory until it writes, so this bounds its memory.
CATALOG_REMOTE_MAX_TOTAL_BYTES = env_int("CATALOG_REMOTE_MAX_TOTAL_BYTES", 32 * 1024 * 1024)
# Redirects followed for one request; only to the same origin, keeping the POST (307, 308).
CATALOG_REMOTE_MAX_REDIRECTS = env_int("CATALOG_REMOTE_MAX_REDIRECTS", 3)
# Seconds to connect, and between two reads from the server, for one request.
CATALOG_REMOTE_REQUEST_TIMEOUT = env_int("CATALOG_REMOTE_REQUEST_TIMEOUT", 30)
# Seconds for the whole reading of one import, however the server trickles its answers.
CATALOG_REMOTE_TOTAL_TIMEOUT = env_int("CATALOG_REMOTE_TOTAL_TIMEOUT", 600)
# Retries of a request answered 408, 429, 502 or 503 (a busy server), as Prefect's client
# makes: after the server's Retry-After, or else after 1, 2, 4, 8 and 16 s. A wait that
# would end past the total timeout is refused at once.
CATALOG_REMOTE_RETRIES = env_int("CATALOG_REMOTE_RETRIES", 5)
CATALOG_REMOTE_RETRY_SECONDS = env_int("CATALOG_REMOTE_RETRY_SECONDS", 1)

# -- login throttling and basic auth
# Failed logins (the admin's form, and basic auth) are counted per username and client
# address together, so nobody can lock a user out from another address. The limit-th
# failure in a row, each within the cool-off of the one before, locks that pair out for
# the cool-off; a success clears the count. django-axes keeps the count in the database,
# which every worker shares (catalog/api/logins.py).
CATALOG_LOGIN_FAILURE_LIMIT = env_int("CATALOG_LOGIN_FAILURE_LIMIT", 5)
CATALOG_LOGIN_COOLOFF_MINUTES = env_int("CATALOG_LOGIN_COOLOFF_MINUTES", 15)
# Basic auth credentials, once the password hasher has verified them, are trusted for this
# long without hashing again (a table of HMACs every worker reads; 0 turns it off).
CATALOG_BASIC_AUTH_CACHE_SECONDS = env_int("CATALOG_BASIC_AUTH_CACHE_SECONDS", 60)
AXES_FAILURE_LIMIT = CATALOG_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=CATALOG_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "catalog.api.middleware.client_address"
AXES_LOCKOUT_CALLABLE = "catalog.admin.logins.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_ON_SUCCESS = True
# Tries while locked out are refused without being counted: the lock ends a cool-off
# after it began, and a client retrying in a loop grows no rows.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False

# -- request deadline
# Each web request answers within this many seconds, a 503 past it (catalog/api/deadline.py):
# PostgreSQL's statement_timeout, SQLite's progress handler and a timer on Python work.
# Gunicorn kills a worker silent for GUNICORN_TIMEOUT seconds and its client gets an HTML
# 500, so the deadline must end first; commands and migrations have none.
GUNICORN_TIMEOUT = env_int("GUNICORN_TIMEOUT", 30)


def request_deadline_seconds(name: str, default: int, worker_timeout: int) -> int:
    seconds = env_int(name, default)
    if not 0 < seconds < worker_timeout:
        raise ImproperlyConfigured(
            f"{name} must be at least 1 and less than GUNICORN_TIMEOUT ({worker_timeout}), "
            f"got {seconds}"
        )
    return seconds


CATALOG_REQUEST_DEADLINE_SECONDS = request_deadline_seconds(
    "CATALOG_REQUEST_DEADLINE_SECONDS", 10, GUNICORN_TIMEOUT
)

# -- admin pages
# A list's search: its characters (a substring filter from a link takes as many) and words.
CATALOG_ADMIN_MAX_SEARCH_LENGTH = env_int("CATALOG_ADMIN_MAX_SEARCH_LENGTH", 200)
CATALOG_ADMIN_MAX_SEARCH_WORDS = env_int("CATALOG_ADMIN_MAX_SEARCH_WORDS", 10)
# Any other value of a list's query string (two dozen ids in an `__in` list).
CATALOG_ADMIN_MAX_FILTER_LENGTH = env_int("CATALOG_ADMIN_MAX_FILTER_LENGTH", 1000)
# Tags (and labels) shown in a list row, each cut to a width; the rest count as "+N".
CATALOG_ADMIN_TAGS_SHOWN = env_int("CATALOG_ADMIN_TAGS_SHOWN", 5)
CATALOG_ADMIN_TAG_WIDTH = env_int("CATALOG_ADMIN_TAG_WIDTH", 40)
# Choices a filter beside a list offers (tags, flows, work pools, work queues).
CATALOG_ADMIN_FILTER_CHOICES = env_int("CATALOG_ADMIN_FILTER_CHOICES", 50)
# Tags the deployment list may be filtered by at once (?tag=a&tag=b); more is refused
# with a message, as a search past its budget is.
CATALOG_ADMIN_MAX_FILTER_TAGS = env_int("CATALOG_ADMIN_MAX_FILTER_TAGS", 10)
# Deployments "export all matching" on the deployment list renders within one request and
# its deadline: 1,000 take 1.1-1.6 s as JSON and 2-2.3 s as prefect.yaml on PostgreSQL
# (bench/admin_list_tags_export.py). Past the bound the admin says so; `manage.py
# export_deployments` has none.
CATALOG_ADMIN_EXPORT_MAX_DEPLOYMENTS = env_int("CATALOG_ADMIN_EXPORT_MAX_DEPLOYMENTS", 2000)

# -- imports and exports on the admin's import page (catalog/admin/imports.py)
# The largest file the page takes, in bytes; for this page only, the body limit is this
# plus CATALOG_MAX_BODY_BYTES for the rest of the form.
CATALOG_ADMIN_IMPORT_MAX_BYTES = env_int("CATALOG_ADMIN_IMPORT_MAX_BYTES", 4 * 1024 * 1024)
# The most deployments one import on the page may hold: the page plans an import and,
# once confirmed, plans and writes it, each within CATALOG_REQUEST_DEADLINE_SECONDS.
# 1,000 deployments with 3 schedules each took 4-15 s on a busy 2-core machine
# (bench/admin_import.py), 500 half that; larger imports: `manage.py import_deployments`.
CATALOG_ADMIN_IMPORT_MAX_DEPLOYMENTS = env_int("CATALOG_ADMIN_IMPORT_MAX_DEPLOYMENTS", 500)
# A zipped project folder: its entries, and the bytes of the files the import reads
# (prefect.yaml and .py files) once unzipped, all together; each file also within
# CATALOG_YAML_MAX_BYTES or CATALOG_FLOW_SOURCE_MAX_BYTES.
CATALOG_ADMIN_IMPORT_ZIP_MAX_ENTRIES = env_int("CATALOG_ADMIN_IMPORT_ZIP_MAX_ENTRIES", 5000)
CATALOG_ADMIN_IMPORT_ZIP_MAX_BYTES = env_int("CATALOG_ADMIN_IMPORT_ZIP_MAX_BYTES", 20 * 1024 * 1024)
# Hosts a superuser may import from over HTTP on the page: names, addresses or networks
# (comma-separated). Empty: none. A private, loopback, link-local or cloud metadata
# address is read only when the address or its network is listed too.
CATALOG_ADMIN_IMPORT_ALLOWED_HOSTS = env_list("CATALOG_ADMIN_IMPORT_ALLOWED_HOSTS", [])
# Where an upload waits between its plan and the confirmation, and for how long; with
# several app servers, a folder they all share.
CATALOG_ADMIN_IMPORT_DIR = os.environ.get("CATALOG_ADMIN_IMPORT_DIR") or ""
CATALOG_ADMIN_IMPORT_PENDING_MINUTES = env_int("CATALOG_ADMIN_IMPORT_PENDING_MINUTES", 60)

# The Prefect server version this catalog speaks for (`GET /api/admin/version`), and the
# REST API version (`GET /api/version`) and the oldest client API version it accepts.
PREFECT_VERSION = "3.9.1"
PREFECT_API_VERSION = "0.8.4"
PREFECT_MINIMUM_API_VERSION = "0.8.0"

# The OpenAPI schema at /api/openapi.json, with Swagger UI and ReDoc served from the
# static files of drf-spectacular-sidecar (catalog/openapi.py).
SPECTACULAR_SETTINGS = {
    "TITLE": "Prefect deployment catalog",
    "DESCRIPTION": "The Prefect 3 REST API routes the catalog serves, as a Prefect server "
    "answers them.",
    "VERSION": PREFECT_API_VERSION,
    "OAS_VERSION": "3.1.0",
    "SERVERS": [{"url": "/api"}],
    "SCHEMA_PATH_PREFIX": "/api",
    "SCHEMA_PATH_PREFIX_TRIM": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "PATH_CONVERTER_OVERRIDES": {"prefect_uuid": {"type": "string", "format": "uuid"}},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "catalog.api.openapi.add_model_components",
        "catalog.api.openapi.add_answers_before_the_view",
        "catalog.api.openapi.add_change_reason_header",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would send the schema to an online validator.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# One JSON object a line on stderr, and one line a request from `catalog.requests`.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "catalog.logs.JsonLineFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
    "loggers": {
        "catalog.requests": {"level": os.environ.get("CATALOG_REQUEST_LOG_LEVEL", "INFO")},
    },
}
