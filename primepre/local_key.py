"""The signing key of a local installation run with DEBUG on and no SECRET_KEY set.

It used to be a fixed key written in the repository: anyone who read the code could sign
tokens and sessions for any DEBUG server reachable on a network. Instead each installation gets
a random key the first time it starts, appended to its own `.env` (which git ignores), and reads
it from there afterwards, so that sign-ins outlive a restart and the web process and the task
worker share it."""

import fcntl
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

NAME = "SECRET_KEY"


def local_secret_key(env_file: Path) -> str:
    """The SECRET_KEY line of `env_file` with a value, or a new random key appended to it.
    Under an exclusive lock, so that processes starting together (web and worker) agree."""
    try:
        with open(env_file, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            text = handle.read()
            for line in text.splitlines():
                name, _, value = line.partition("=")
                if name.strip() == NAME and value.strip():
                    return value.strip()
            key = secrets.token_urlsafe(50)
            separator = "" if not text or text.endswith("\n") else "\n"
            handle.write(
                f"{separator}# Generated for this installation (DEBUG on, no SECRET_KEY set).\n"
                f"{NAME}={key}\n"
            )
            return key
    except OSError as error:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and {env_file} cannot hold a generated one ({error}). "
            "Set the SECRET_KEY environment variable."
        ) from None
