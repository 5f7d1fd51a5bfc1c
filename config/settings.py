"""Settings for the catalog, read from the environment.

Every setting that differs between a laptop and a server comes from an environment
variable; the defaults run a fresh clone on SQLite with no other service.
"""

import os
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
    database = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    return database


DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("DJANGO_REQUIRE_SECRET_KEY"):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required")
    # Local use only: a fixed key keeps sessions valid across restarts of a dev server.
    SECRET_KEY = "insecure-local-development-key-set-DJANGO_SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

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
    "catalog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "catalog.middleware.PrefectApiMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve app static files straight from the apps when `collectstatic` has not been run.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Prefect's routes decide their own trailing slashes; Django must not rewrite them.
APPEND_SLASH = False

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["catalog.renderers.PrefectJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "catalog.errors.prefect_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "catalog.auth.ApiKeyAuthentication",
        "catalog.auth.UserBasicAuthentication",
        "catalog.auth.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["catalog.auth.CatalogAccess"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "catalog.openapi.PrefectAutoSchema",
}
# Who may use the API (catalog/auth.py): writes always need an API key or a user with the
# model permission; reads need nothing while CATALOG_ANONYMOUS_READ is on (for local use;
# turn it off in production). CATALOG_BASIC_AUTH checks PREFECT_API_AUTH_STRING's
# "user:password" against Django users.
CATALOG_ANONYMOUS_READ = env_bool("CATALOG_ANONYMOUS_READ", default=True)
CATALOG_BASIC_AUTH = env_bool("CATALOG_BASIC_AUTH", default=False)

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
        "catalog.openapi.add_model_components",
        "catalog.openapi.add_answers_before_the_view",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would send the schema to an online validator.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}
