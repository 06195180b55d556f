"""Django settings, read from the environment (see README, "Configuration")."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KAPCARE_VAR_DIR", Path.cwd() / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Demo mode is the only place DEBUG may be on; production is the default.
DEMO = _env_bool("KAPCARE_DEMO")
DEBUG = DEMO and _env_bool("KAPCARE_DEBUG", default=True)


def _key_file(path: Path, token_bytes: int) -> str:
    """A key generated once per installation into a file only its owner reads (mode 0600).
    Linked into place, so two processes starting at once cannot each write a different key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(token_bytes) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            draft.unlink()
    return path.read_text().strip()


def _secret_key() -> str:
    # Generated once per installation into var/, which git ignores.
    return os.environ.get("KAPCARE_SECRET_KEY") or _key_file(VAR_DIR / "secret_key", 64)


SECRET_KEY = _secret_key()


# The keys of the audit chain (and the ledger's), oldest first: the last seals new entries, the
# others verify older ones. Never in the database or a backup (docs/security.md). From the
# environment, or else a file of one key a line (`kapcare audit rotate-key` appends one).
KAPCARE_AUDIT_KEY_FILE: Path | None = None
if os.environ.get("KAPCARE_AUDIT_KEY"):
    KAPCARE_AUDIT_KEYS = [
        *_env_list("KAPCARE_AUDIT_RETIRED_KEYS", ""),
        os.environ["KAPCARE_AUDIT_KEY"],
    ]
else:
    KAPCARE_AUDIT_KEY_FILE = Path(os.environ.get("KAPCARE_AUDIT_KEY_FILE", VAR_DIR / "audit_keys"))
    KAPCARE_AUDIT_KEYS = _key_file(KAPCARE_AUDIT_KEY_FILE, 32).split()
# The signed chain heads, appended outside the database; best on another disk or host, or made
# append-only by the system (chattr +a).
KAPCARE_AUDIT_CHECKPOINT_FILE = Path(
    os.environ.get("KAPCARE_AUDIT_CHECKPOINT_FILE", VAR_DIR / "audit_checkpoints.jsonl")
)
KAPCARE_AUDIT_CHECKPOINT_SECONDS = int(os.environ.get("KAPCARE_AUDIT_CHECKPOINT_SECONDS", "3600"))
# The key backups are encrypted with: kept apart from them, and from the audit keys.
KAPCARE_BACKUP_KEY = os.environ.get("KAPCARE_BACKUP_KEY") or _key_file(
    Path(os.environ.get("KAPCARE_BACKUP_KEY_FILE", VAR_DIR / "backup_key")), 32
)

ALLOWED_HOSTS = _env_list("KAPCARE_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = _env_list("KAPCARE_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "simple_history",
    "ninja",
    "axes",
    # The second factor (docs/security.md): TOTP apps and one-time recovery codes. Before
    # kapcare.accounts, whose admin takes their admin pages away again.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "kapcare.accounts",
    "kapcare.audit",
    "kapcare.patients",
    "kapcare.intake",
    "kapcare.consultations",
    "kapcare.assessments",
    "kapcare.jobs",
    "kapcare.courses",
    "kapcare.dosing",
    "kapcare.ledger",
    "kapcare.integration",
    "kapcare.api",
    "kapcare.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kapcare.web.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "kapcare.audit.middleware.RequestIdMiddleware",
    # Before anything reads the body: 413 over DATA_UPLOAD_MAX_MEMORY_SIZE, 400 for a NUL in a
    # page's parameter, and the API's error shape on its every 4xx.
    "kapcare.api.guards.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session has passed its second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Automatic logoff after KAPCARE_IDLE_LOGOUT_SECONDS idle (it leaves a message: after
    # MessageMiddleware).
    "kapcare.accounts.middleware.IdleLogoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Outside the access policy, so its 403s are seen: every 401 and 403 is an audit entry.
    "kapcare.web.refusals.RefusalAuditMiddleware",
    "kapcare.accounts.middleware.AccessPolicyMiddleware",
    # After the access policy (a role's refusal stays a refusal): a session without its second
    # factor reaches only enrolment, verification and signing out.
    "kapcare.accounts.middleware.SecondFactorMiddleware",
    # A signature asks for the password again when the last one is too old (clinic policy);
    # after the second factor, so only a fully signed-in session is asked.
    "kapcare.accounts.reauth.SigningNeedsRecentAuthenticationMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kapcare.config.urls"
WSGI_APPLICATION = "kapcare.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kapcare.web.context.navigation",
                "kapcare.web.context.ledger_reminder",
            ],
            "builtins": ["kapcare.web.templatetags.words"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("KAPCARE_DATABASE_URL") or f"sqlite:///{VAR_DIR / 'kapcare.sqlite3'}",
        conn_max_age=int(os.environ.get("KAPCARE_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while one writer commits; IMMEDIATE avoids lock upgrades
    # failing mid-transaction under concurrent writers.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # 12 characters at least (NIST 800-63B asks for 8 at least; 12 is clinic policy here).
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes goes first: it refuses a locked-out sign-in before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sign-in throttling (django-axes). The limit and the cool-off are clinic policy: these are
# policy defaults, to be set per clinic from the environment.
AXES_FAILURE_LIMIT = int(os.environ.get("KAPCARE_LOGIN_FAILURE_LIMIT", "5"))
_cooloff_minutes = int(os.environ.get("KAPCARE_LOGIN_COOLOFF_MINUTES", "15"))
# 0 minutes: no cool-off; a locked-out sign-in stays locked until the clinic admin unlocks it.
AXES_COOLOFF_TIME = timedelta(minutes=_cooloff_minutes) if _cooloff_minutes > 0 else None
# Lock out a username only from the address that failed, so one attacker cannot lock every
# clinician out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The login form's field is "username" (Django's LoginView), though users sign in by email.
AXES_USERNAME_FORM_FIELD = "username"
# Failures are counted per normalised email: changing its case starts no new count.
AXES_USERNAME_CALLABLE = "kapcare.accounts.signin.axes_username"
AXES_RESET_ON_SUCCESS = True
# A further attempt while locked out starts the cool-off again (the lockout page says so).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_HTTP_RESPONSE_CODE = 429

# Staff need a second factor (TOTP or a recovery code) after the password; off by default in
# the demo only, where one demo account is enrolled to try it (README).
KAPCARE_REQUIRE_MFA = _env_bool("KAPCARE_REQUIRE_MFA", default=not DEMO)
OTP_TOTP_ISSUER = "kapcare"
# An emailed password-reset link works once, for an hour.
PASSWORD_RESET_TIMEOUT = 3600

LOGIN_URL = "web:login"
# Each role's own landing page (staff: today; a patient: their home page).
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "en-us"
# Times are stored in UTC and shown in the clinic's time zone.
TIME_ZONE = os.environ.get("KAPCARE_TIME_ZONE", "America/New_York")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEMO
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In demo the assets are served straight from the app folders, without collectstatic.
WHITENOISE_USE_FINDERS = DEMO
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

EMAIL_BACKEND = os.environ.get(
    "KAPCARE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("KAPCARE_FROM_EMAIL", "kapcare@localhost")

# Security headers. HTTPS-only cookies and HSTS everywhere except the local HTTP demo.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Signing an order or a note after this long without giving the password asks for it again
# (clinic policy; kapcare.accounts.reauth).
KAPCARE_REAUTH_SIGN_MINUTES = int(os.environ.get("KAPCARE_REAUTH_SIGN_MINUTES", "10"))
SESSION_COOKIE_HTTPONLY = True
# KAPCARE_SESSION_SECONDS: the absolute limit of a session from sign-in, however active.
SESSION_COOKIE_AGE = int(os.environ.get("KAPCARE_SESSION_SECONDS", str(8 * 3600)))
# Automatic logoff (HIPAA 164.312(a)(2)(iii)) after this long without activity; clinic policy.
KAPCARE_IDLE_LOGOUT_SECONDS = int(os.environ.get("KAPCARE_IDLE_LOGOUT_SECONDS", "900"))
# The session cookie goes when the browser closes.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = _env_bool("KAPCARE_SSL_REDIRECT", default=not DEMO)
SESSION_COOKIE_SECURE = not DEMO
CSRF_COOKIE_SECURE = not DEMO
SECURE_HSTS_SECONDS = 0 if DEMO else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEMO
SECURE_HSTS_PRELOAD = not DEMO
if _env_bool("KAPCARE_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KAPCARE_LOG_LEVEL", "WARNING")},
}

NINJA_PAGINATION_PER_PAGE = 50
# How long the API keeps a POST's Idempotency-Key and its response (clinic policy): a client
# may retry with the key this long. The background worker purges them after.
KAPCARE_IDEMPOTENCY_HOURS = int(os.environ.get("KAPCARE_IDEMPOTENCY_HOURS", "24"))
