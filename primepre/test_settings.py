"""Settings for the test suite: production settings with a fast hasher, a private cache and
tasks run in-process. DATABASE_URL still chooses SQLite (unset) or Postgres."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from primepre.settings import *  # noqa: F403

SIGN_IN_LINK_BASE_URL = "https://api.primepre.test"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Texts are kept in users.messaging.sms.outbox (emptied per test), unpaced.
SMS_BACKEND = "locmem"
SMS_PER_SECOND = 0.0
# The manifest storage needs collectstatic first; tests serve static files as they are.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The Redis queue, for the tests that run the import on it (skipped when no Redis answers).
if "django_rq" not in INSTALLED_APPS:  # noqa: F405
    INSTALLED_APPS.append("django_rq")  # noqa: F405
RQ_QUEUES = {"default": {"URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")}}
# Each request closes its connection: the live server's request threads must not keep the test
# database open when it is dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# SQLite's test database in a file (in memory where /dev/shm exists), not Django's shared-cache
# memory database: there, parallel writers fail at once ("database table is locked") instead of
# waiting their turn as they do on a real SQLite file, so the race tests could not run.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _SHM = "/dev/shm"  # noqa: S108 (a file name of this process alone, below)
    _SCRATCH = _SHM if os.path.isdir(_SHM) else tempfile.gettempdir()
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(_SCRATCH, f"primepre-test-{os.getpid()}.sqlite3")
    }
