"""Files only the app's own user may read: the instance folder, the generated secret key
and the SQLite database.

Each is created private (0700 / 0600) in the same system call that creates it. Writing a
file and then chmod-ing it leaves a moment in which another local user can open it, and an
open file descriptor keeps working after the chmod.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dir(path: Path) -> None:
    """Create the folder 0700 if missing (an existing folder is left as its owner set it)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def create_private_file(path: Path) -> bool:
    """Create an empty 0600 file if none exists; True if this call created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def read_or_create_secret(path: Path) -> str:
    """The key in `path`, made (64 hex characters, 0600) by the first process that needs it.

    Several gunicorn workers may start at once: the key is written in full to a private
    temporary file and then hard-linked into place, which fails if another process got there
    first. So no process ever reads a half-written key, and all of them end up with the same one.
    """
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mkstemp: O_EXCL, 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()
