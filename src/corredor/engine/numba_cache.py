"""Where numba keeps the engines' compiled code, and a private folder when it can write nowhere.

The engines' kernels are compiled with `cache=True`: numba writes the machine code beside the
sources (`engine/__pycache__`, `engine/rules/__pycache__`), or, where the package cannot be
written, in the user's cache (`~/.cache/numba`, `$XDG_CACHE_HOME/numba`); `NUMBA_CACHE_DIR` comes
before both. Where none can be written (a read-only install and a HOME that cannot be written: a
container, a service user), numba raised "cannot cache function …: no locator available" when
the engine was imported, a traceback for every command that runs it (and `report`). `ensure`,
called when the `engine` package is imported (before any kernel is defined), then points
`NUMBA_CACHE_DIR` at a private temporary folder, removed when the process ends: the engine is
compiled again by every command (about a minute), and the command line says so once.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_HERE = Path(__file__).resolve().parent
#: The folders of the modules whose kernels are cached (engine/*.py, engine/rules/*.py).
_SOURCE_DIRS = (_HERE, _HERE / "rules")


@dataclass
class Fallback:
    """The temporary cache folder this process made, and the folders numba could not write."""

    folder: str
    pid: int
    tried: tuple[str, ...]

    def used(self) -> bool:
        """Whether numba wrote anything into it (an engine was compiled)."""
        try:
            return any(files for _, _, files in os.walk(self.folder))
        except OSError:
            return False

    def note(self) -> str:
        """What the command line says of it: why each command compiles again, and the fix."""
        return (f"numba could not write its cache ({', '.join(self.tried)}): the engine was "
                "compiled into a temporary folder, removed at exit, and will be compiled again "
                "by the next command; set NUMBA_CACHE_DIR to a writable folder to keep it")

    def remove(self) -> None:
        """Delete the folder (at exit of the process that made it, not of a forked child)."""
        if os.getpid() == self.pid:
            shutil.rmtree(self.folder, ignore_errors=True)


_fallback: list[Fallback] = []


def writable(folder: str | os.PathLike[str]) -> bool:
    """Whether a file can be made in `folder` (made if missing), as numba checks it: by making
    one (permission bits say nothing of a read-only mount, nor of root)."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except (OSError, ValueError):  # (ValueError: a NUL in the name)
        return False
    return True


def user_cache_dir() -> str | None:
    """numba's user-wide cache folder (its appdirs' rule), or None where it is not known."""
    if sys.platform.startswith("linux"):
        return os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "numba")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Caches/numba")
    return None


def ensure() -> Fallback | None:
    """Make sure numba has somewhere to write the engine's cache; return the temporary folder
    made for it (once per process), or None when numba's own places will do."""
    if _fallback:
        return _fallback[0]
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given and writable(given):
        return None
    if all(writable(d / "__pycache__") for d in _SOURCE_DIRS):
        return None
    user = user_cache_dir()
    if user is None or writable(user):
        return None
    try:
        folder = tempfile.mkdtemp(prefix="corredor-numba-")
    except OSError:  # (no temporary folder either: numba says so when a kernel is defined)
        return None
    os.environ["NUMBA_CACHE_DIR"] = folder
    numba = sys.modules.get("numba")
    if numba is not None:  # (imported already: its config read the variable then)
        numba.config.CACHE_DIR = folder
    tried = tuple(p for p in (given, str(_HERE / "__pycache__"), user) if p)
    fallback = Fallback(folder, os.getpid(), tried)
    atexit.register(fallback.remove)
    _fallback.append(fallback)
    return fallback
