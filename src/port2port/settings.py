"""Settings, read from the environment (docs/OPERATIONS.md lists every variable)."""

import os
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(os.environ.get("PORT2PORT_HOME", Path.cwd())).resolve()
VAR_DIR = Path(os.environ.get("PORT2PORT_VAR", BASE_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment, else generated once into var/ (never committed)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "ninja",
    "port2port.core",
    "port2port.sharing",
    "port2port.sites",
    "port2port.access",
    "port2port.reporting",
    "port2port.detection",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "port2port.core.middleware.BadRequestGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "port2port.core.middleware.SecondFactorMiddleware",
    "port2port.core.middleware.AppErrorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "port2port.urls"
ASGI_APPLICATION = "port2port.asgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:dashboard"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "port2port.core.context_processors.shell",
                "port2port.sharing.context_processors.sharing_nav",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'port2port.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: writers queue instead of failing on a read-to-write upgrade; WAL lets
        # readers go on while one transaction writes.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling per account (core.services.login_*).
LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", "15"))

# Sessions and cookies: secure flags whenever the platform is served over HTTPS.
HTTPS = env_bool("HTTPS")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = HTTPS and not env_bool("HTTPS_BEHIND_PROXY_NO_REDIRECT")
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
if env_bool("TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "port2port.core.views.csrf_failure"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("nl", "Nederlands"),
    ("fr", "Français"),
    ("de", "Deutsch"),
]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Brussels"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "port2port@localhost")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

# Detection: live updates through Redis pub/sub (several web nodes, separate ingest workers);
# empty: in this process only.
LIVE_REDIS_URL = os.environ.get("LIVE_REDIS_URL", "")
# Web push: the VAPID key pair (base64url) and the contact the push services may write to.
WEBPUSH_PRIVATE_KEY = os.environ.get("WEBPUSH_PRIVATE_KEY", "")
WEBPUSH_PUBLIC_KEY = os.environ.get("WEBPUSH_PUBLIC_KEY", "")
WEBPUSH_CONTACT = os.environ.get("WEBPUSH_CONTACT", "mailto:security@port2port.example")

# OpenID Connect login (itsme or any provider): enabled when OIDC_ISSUER is set.
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "")
OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
OIDC_SCOPES = os.environ.get("OIDC_SCOPES", "openid profile")
OIDC_DISPLAY_NAME = os.environ.get("OIDC_DISPLAY_NAME", "itsme")
# A provider that itself proves two factors (itsme does) satisfies the second-factor rule.
OIDC_COUNTS_AS_SECOND_FACTOR = env_bool("OIDC_COUNTS_AS_SECOND_FACTOR", True)

OTP_TOTP_ISSUER = "Port 2 Port"

# Map tiles are optional: the port map works on our own GeoJSON alone. A tile URL such as
# https://tiles.example.be/{z}/{x}/{y}.png is allowed by the content security policy.
SITES_TILE_URL = os.environ.get("SITES_TILE_URL", "")
if SITES_TILE_URL:
    from urllib.parse import urlsplit

    _tiles = urlsplit(SITES_TILE_URL)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(
        f"{_tiles.scheme}://{_tiles.netloc.split('{')[0]}"
    )

PORT2PORT_DEMO_PASSWORD = os.environ.get("PORT2PORT_DEMO_PASSWORD", "")

# Gate decisions are logged through a local journal, batched into the database ("journal"), or
# written one by one ("direct"). The allow-lists gates keep for offline work are signed with
# ACCESS_SIGNING_KEY (base64 of 32 random bytes; derived from SECRET_KEY when unset).
ACCESS_DECISION_LOG = os.environ.get("ACCESS_DECISION_LOG", "journal")
ACCESS_JOURNAL_DIR = Path(os.environ.get("ACCESS_JOURNAL_DIR", VAR_DIR / "journal"))
ACCESS_SIGNING_KEY = os.environ.get("ACCESS_SIGNING_KEY", "")

# Anonymous reporting: REPORTING_KEY (base64 of 32 random bytes) wraps the triage teams' private
# keys; it is never stored in the database (default: var/reporting.key, created once, mode 600).
# REPORTING_POW_BITS: the proof of work a reporter's browser does before a report is accepted.
REPORTING_KEY = os.environ.get("REPORTING_KEY", "")
REPORTING_POW_BITS = int(os.environ.get("REPORTING_POW_BITS", "16"))
# Uploads stay in memory (a report's attachments until they are encrypted): never a temporary
# file in clear; a file over 10 MB is dropped and refused by its size. Limit the request size in
# the reverse proxy as well (docs/OPERATIONS.md).
FILE_UPLOAD_HANDLERS = ["port2port.core.uploads.MemoryOnlyUploadHandler"]

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_PER_PAGE_SIZE = 500

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
