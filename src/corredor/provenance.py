"""What a manifest says of the software that made it: corredor's and its dependencies' versions.

Why: the same scenario and seed give the same numbers only with the same numerics; a run folder,
ensemble or calibration that says which numpy, numba and xarray made it can be re-run (or its
difference explained) later. One function, so that every manifest says it the same way.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

#: the packages whose versions every manifest records, besides Python and corredor: each can change
#: a byte of some output (numbers: numpy, numba, xarray, pandas; Parquet: pyarrow; figures:
#: matplotlib; pages: jinja2; reading scenarios and settings: pyyaml, pydantic). Optional ones a
#: command uses are added by that command (`provenance(extra=...)`: calibrate's optuna).
DEPENDENCIES = ("numpy", "numba", "xarray", "pandas", "pyarrow", "matplotlib", "jinja2", "pyyaml",
                "pydantic")

#: the files of the package that make its behaviour (code, page templates, data tables); numba's
#: cache files and bytecode are left out
SOURCE_SUFFIXES = (".py", ".html", ".css", ".js", ".toml")


@functools.cache
def source_digest() -> str:
    """The sha256 (first 16 hex digits) of corredor's own source files, by relative path and
    content. Why: the version number stays the same between releases, so two builds that give
    different numbers would otherwise carry the same manifest; this tells them apart."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in SOURCE_SUFFIXES and p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


@functools.cache
def source_commit() -> str | None:
    """The git commit of the checkout corredor runs from (read from `.git` without running git),
    None when it is not run from a checkout (an installed wheel) or the commit cannot be read."""
    top = Path(__file__).resolve().parents[2]
    git = top / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head or None
        ref = head[5:]
        loose = git / ref
        if loose.is_file():
            return loose.read_text(encoding="utf-8").strip() or None
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    except (OSError, UnicodeDecodeError):
        return None
    return None


@functools.cache
def source_dirty() -> bool | None:
    """Whether corredor's own files (src/corredor) differ from `source_commit` in the checkout it
    runs from (edited, added or removed files: `git status --porcelain`); None when it is not run
    from a checkout or git cannot say (not installed, a refusal). Why: a modified checkout
    recorded the clean commit, and `git checkout <commit>` gave other code than the run used
    (`corredor_source`, the digest of the files themselves, stays the authority)."""
    if source_commit() is None:
        return None
    import subprocess

    package = Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", "--no-optional-locks", "-C", str(package.parents[1]), "status", "--porcelain", "--",
                               str(package)], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def version_text() -> str:
    """`corredor --version`'s line: "corredor 0.1.0 (source 1a2b…, commit 3c4d…)", the commit
    followed by "+modified" where corredor's files differ from it (`source_dirty`)."""
    from . import __version__

    commit = source_commit()
    mark = "+modified" if commit and source_dirty() else ""
    return f"corredor {__version__} (source {source_digest()}" + (f", commit {commit[:12]}{mark})" if commit else ")")


def package_version(name: str) -> str:
    """The installed distribution's version, read without importing the package; "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


@functools.cache
def _versions() -> tuple[tuple[str, str | bool], ...]:
    from . import __version__

    out: list[tuple[str, str | bool]] = [("corredor", str(__version__)), ("corredor_source", source_digest())]
    commit = source_commit()
    if commit:
        out.append(("corredor_commit", commit))
        dirty = source_dirty()
        if dirty is not None:  # (true: the files that ran are not that commit's; corredor_source says which)
            out.append(("corredor_commit_dirty", dirty))
    out.append(("python", platform.python_version()))
    out.extend((name, package_version(name)) for name in DEPENDENCIES)
    return tuple(out)


def provenance(extra: tuple[str, ...] = ()) -> dict[str, str | bool]:
    """The `provenance` block of a manifest: {"corredor": "0.1.0", "corredor_source": digest of
    its source files, "corredor_commit": the checkout's git commit and "corredor_commit_dirty":
    whether corredor's files differ from it (only when run from a checkout, the flag where git
    can say),
    "python": "3.12.3", then each of `DEPENDENCIES` and `extra` by its version} (a fresh dict).
    `extra`: the optional packages the command used (calibrate: ("optuna",): its sampler's draws
    differ between versions)."""
    return {**dict(_versions()), **{name: package_version(name) for name in extra}}


def scenario_digest(scenario: Any) -> str | None:
    """The hash a run's manifest gives `scenario` (`scenario.sha256`): the crisis engine's
    `scenario_hash` for a border-crisis scenario, else the Flee plan's `scenario_sha256`; None
    for anything that is no Scenario (a test's stand-in)."""
    from .scenario.model import Scenario

    if not isinstance(scenario, Scenario):
        return None
    if scenario.crisis is not None:
        from .engine.crisis import scenario_hash

        return scenario_hash(scenario)
    from .plan import scenario_sha256

    return scenario_sha256(scenario)


def scenario_entry(scenario: Any, sha256: str | None = None) -> dict[str, Any]:
    """`scenario` as every manifest names it, a run's shape: {"name", "sha256", "source"} (the
    source folder absolute, `source_path`), and a policy variant's `variant_file`, absolute."""
    meta = getattr(scenario, "metadata", None) or {}
    variant_file = meta.get("variant_file") if isinstance(meta, dict) else None
    return {"name": str(getattr(scenario, "name", scenario)),
            "sha256": sha256 if sha256 is not None else scenario_digest(scenario),
            "source": source_path(getattr(scenario, "source", "") or ""),
            **({"variant_file": source_path(variant_file)} if variant_file else {})}


def overrides_set(scenario: Any) -> dict[str, Any]:
    """The values `analysis.ensemble.apply_overrides` changed from the source's (a manifest's
    `set`; {} when none): `apply_overrides(load_scenario(source), set)` is `scenario` again."""
    meta = getattr(scenario, "metadata", None) or {}
    return dict(meta.get("overrides") or {})


def source_path(path: Any) -> str:
    """A scenario's path as a manifest records it: absolute and normalised ("" for none), so that
    it names the same folder from any working directory (`scenarios/x`, `./x/` and `/abs/x` are
    one path). Why: the path as typed was relative to a folder nobody recorded."""
    return os.path.abspath(str(path)) if path else ""


#: names an input file list leaves out: version control, editors' and Python's caches
_SKIPPED_NAMES = ("__pycache__",)


def input_files(source: Any, variant_file: Any = None) -> dict[str, str]:
    """{path relative to the scenario folder: sha256} of every file in it (hidden files and caches
    left out), and of `variant_file` (by its absolute path) where it lies outside the folder; {}
    when `source` is no folder. Why: a manifest's `scenario.sha256` says that the inputs changed,
    these say which file did (`changed_inputs`, `corredor rerun`)."""
    if not source:
        return {}
    root = Path(str(source))
    out: dict[str, str] = {}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(p.startswith(".") or p in _SKIPPED_NAMES for p in rel.parts) or not path.is_file():
                continue
            out[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    if variant_file:
        vf = Path(str(variant_file))
        inside = root.is_dir() and vf.resolve().is_relative_to(root.resolve())
        if not inside and vf.is_file():
            out[source_path(vf)] = hashlib.sha256(vf.read_bytes()).hexdigest()
    return out


def changed_inputs(recorded: dict[str, str], now: dict[str, str]) -> list[str]:
    """The files that differ between two `input_files` maps, each as "NAME (changed)",
    "NAME (removed)" or "NAME (new)", sorted by name.

    >>> changed_inputs({"a.csv": "1", "b.csv": "2"}, {"a.csv": "9", "c.csv": "3"})
    ['a.csv (changed)', 'b.csv (removed)', 'c.csv (new)']
    """
    names = sorted(set(recorded) | set(now))
    return [f"{n} ({'removed' if n not in now else 'new' if n not in recorded else 'changed'})"
            for n in names if recorded.get(n) != now.get(n)]


def invocation(options: dict[str, Any], out: Any = None) -> dict[str, Any]:
    """A manifest's `invocation`: how the command was run, as data: `argv` (the command line as
    run), `cwd` (the folder it was run from, which its relative paths were relative to),
    `options` (the command's options that leave no other trace in the manifest: --flee-out,
    --no-csv, --no-plots, --check, --threads, ...) and, given `out`, its folder absolute."""
    return {"argv": list(sys.argv), "cwd": os.getcwd(), "options": dict(options),
            **({"out": source_path(out)} if out is not None else {})}
