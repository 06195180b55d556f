"""Settings for the test suite: production settings with the few changes tests need."""

import os
import tempfile
from pathlib import Path

from kapcare.config.settings import *  # noqa: F403
from kapcare.config.settings import STORAGES

# The test client speaks plain HTTP; production's HTTPS redirect is checked in test_deploy.
SECURE_SSL_REDIRECT = False
# Argon2 is deliberately slow; tests make many users. Production's hasher is asserted apart.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve assets from the app folders without collectstatic.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Most tests sign staff in with a password alone (force_login, the browser's sign-in form); the
# second-factor tests (accounts/tests/test_mfa*.py) turn the production default back on.
KAPCARE_REQUIRE_MFA = False
# Tests move the clock by tens of minutes around a signed-in client; the automatic-logoff tests
# (accounts/tests/test_idle*.py) set the production default of 900 s themselves.
KAPCARE_IDLE_LOGOUT_SECONDS = 3600
# Never the installation's own checkpoints: the test database is another database (each test
# gets its own file too, conftest.audit_checkpoint_file).
KAPCARE_AUDIT_CHECKPOINT_FILE = Path(tempfile.gettempdir()) / f"kapcare-test-{os.getpid()}.jsonl"

# A file, not SQLite's shared in-memory database, so concurrent tests see the same locking
# (busy timeout, WAL) as a real installation instead of "table is locked" errors.
# One file per test process, so two test runs on one machine never share a database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405  (DATABASES comes from the star import)
    _test_db = Path(tempfile.gettempdir()) / f"kapcare-test-{os.getpid()}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(_test_db)}  # noqa: F405  (as above)

# Tests walk every operation without a token from one address; the throttle's own tests
# (api/tests/test_refusals_throttle.py) set the production default back.
KAPCARE_API_AUTH_FAILURES_PER_MINUTE = 10_000
