"""A private matplotlib configuration folder where matplotlib's own cannot be written.

matplotlib keeps its font list in `~/.config/matplotlib` and `~/.cache/matplotlib` (or
`MPLCONFIGDIR`). Where those cannot be written (a service user with HOME=/nonexistent, a
read-only HOME), it logged two warnings on stderr (under `--quiet` too) and made a
`/tmp/matplotlib-*` folder that only its atexit handler removes: the figure helper
(`plotworker`) leaves with `os._exit`, so every `corredor run` left one behind. `ensure`, called
before matplotlib is imported, points `MPLCONFIGDIR` at a private temporary folder instead,
removed when the process that made it ends (the forked helper inherits it).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

_made: list[str] = []


def _writable(folder: str) -> bool:
    """Whether a file can be made in `folder` (made if missing)."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except (OSError, ValueError):
        return False
    return True


def _remove(folder: str, pid: int) -> None:
    if os.getpid() == pid:  # (not in a forked child: the parent may still use it)
        shutil.rmtree(folder, ignore_errors=True)


def ensure() -> str | None:
    """Before matplotlib is imported: give it a private temporary configuration folder when its
    own cannot be written; return that folder (None: matplotlib's own will do, or it is imported
    already and has chosen)."""
    if _made:
        return _made[0]
    if "matplotlib" in sys.modules:
        return None
    given = os.environ.get("MPLCONFIGDIR")
    if given:
        wanted = [given]
    else:
        home = os.path.expanduser("~")
        wanted = [os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "matplotlib"),
                  os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "matplotlib")]
    if all(_writable(folder) for folder in wanted):
        return None
    try:
        folder = tempfile.mkdtemp(prefix="corredor-matplotlib-")
    except OSError:
        return None
    os.environ["MPLCONFIGDIR"] = folder
    atexit.register(_remove, folder, os.getpid())
    _made.append(folder)
    return folder
