"""Which folders a command may replace: never the one it runs in, one above it, or a scenario it reads.

Every writer of a folder (run folders, native conversions, ensembles, the main job) replaces an
existing target only with `--force`, and then only after the new one is complete. That guards
against half-written results, not against a target that is itself precious: `--out . --force`
would swap the current folder for a run folder, and `convert case case --force` would put the
converted scenario where the Flee files were, and `--out ~/notes --force` would delete notes.
`check_replaceable` refuses such targets before anything runs, and the writers call it again, so
the library is as safe as the command line: `--force` replaces only an empty folder or one that
corredor wrote (`written_by_corredor`), never a file or someone else's folder. It also refuses,
with or without `--force`, an output that is a scenario folder being read or lies inside one
(`check_outside_scenarios`): results are never written among a scenario's inputs.

Every temporary a writer makes beside or inside an output (`temporary_prefix`, `old_name`) names
the process and machine that write it, so that the leftover of a writer killed hard (SIGKILL,
power loss) is known as such (`stale_temporary`): it neither blocks the next command nor passes
for the user's data, and the next writer there removes it (`remove_stale_temporaries`), saying so.
A temporary of a process that still runs, or of another machine, is never touched.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from . import stopping

#: What `corredor compare --out` and the main job write at the top of a folder that may be the
#: user's (they write into it, not in place of it); run folders are the main job's subfolders.
COMPARISON_OUTPUTS = frozenset({"comparison.csv", "comparison.json", "comparison.png", "comparison.html",
                                "observation_check.json"})


def written_by_corredor(folder: Path) -> bool:
    """Whether `folder` holds a file corredor writes at the top of its output folders, with what
    corredor puts in it (a hand-written scenario has a scenario.toml, other programs write a
    manifest.json): a run's manifest.json (engine, seed, version), an ensemble's or calibration's
    (`kind`), a comparison.json (summary, per_seed; compare and the main job) beside nothing but
    their other outputs (`only_comparison_outputs`), or a scenario.toml that starts with
    `corredor convert`'s header beside nothing but the other files convert wrote, all unedited
    (`scenario.convert.conversion_changes`: a converted scenario is where a researcher starts
    editing, and once edited or added to it is theirs)."""
    import json

    from .scenario.convert import is_conversion

    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if isinstance(manifest, dict) and (
                manifest.get("kind") in ("ensemble", "calibration")
                or {"engine", "seed", "version"} <= manifest.keys()):
            return True
    except (OSError, ValueError):
        pass
    try:
        comparison = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
        if (isinstance(comparison, dict) and {"summary", "per_seed"} <= comparison.keys()
                and only_comparison_outputs(folder)):
            return True
    except (OSError, ValueError):
        pass
    return is_conversion(folder) and _conversion_changes(folder) is None


def _conversion_changes(folder: Path) -> str | None:
    """`conversion_changes` for `folder`, a killed writer's leftovers in it not counted."""
    from .scenario.convert import conversion_changes

    return conversion_changes(folder, ignore=lambda name: stale_temporary(name, folder))


def only_comparison_outputs(folder: Path) -> bool:
    """Whether `folder` holds nothing but what compare and the main job write: a comparison.json
    proves only that compare wrote into the folder, which may also hold the user's own files.
    (The leftovers of their killed writers count as theirs: `stale_temporary`.)"""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name in COMPARISON_OUTPUTS and entry.is_file(follow_symlinks=False):
                continue
            if stale_temporary(entry.name, folder):
                continue
            if entry.is_dir(follow_symlinks=False) and (
                    _is_empty(entry.path) or written_by_corredor(Path(entry.path))):
                continue  # (an empty folder, or a run folder of the main job)
            return False
    return True


def _is_empty(folder: str) -> bool:
    with os.scandir(folder) as entries:
        return next(entries, None) is None


class UnsafeTarget(FileExistsError):
    """Replacing this folder would delete the current folder, a parent of it, a scenario, a file,
    or a folder corredor did not write."""


def _real(path: str | os.PathLike[str]) -> Path | None:
    try:
        return Path(os.path.realpath(os.path.abspath(path)))
    except (OSError, ValueError):  # (a NUL in the name: no such folder can exist)
        return None


def check_replaceable(out: str | os.PathLike[str],
                      sources: Iterable[str | Path | None] = (), replace: bool = True) -> None:
    """Raise UnsafeTarget when `out` is one of the scenario folders in `sources` or lies inside
    one (`check_outside_scenarios`, whether or not it exists), when a file or a link that is no
    folder stands at `out` (`check_folder_or_new`, with or without `replace`), or when `out`
    exists and replacing it would delete the current folder, a folder above it, one of those
    scenario folders (or one inside it), or a non-empty folder corredor did not write
    (`written_by_corredor`). A target that does not exist yet replaces nothing and passes the
    last part.

    The one check every writer of an output folder makes (run folders, ensembles, calibrations,
    conversions, the main job; the command line calls it too, before any work), so the library
    refuses what the commands refuse. Without `replace` (no `--force`) an existing `out` is the
    caller's to refuse ("exists; use --force") and only the first two checks apply to it: a
    folder that will not be replaced needs no more.
    """
    check_outside_scenarios(out, sources)
    check_folder_or_new(out)
    if not os.path.lexists(out) or (not replace and os.path.exists(out)):
        return
    target = _real(out)
    if target is None:
        return
    if target == Path(target.anchor):
        raise UnsafeTarget(f"{out} is the file system's root; choose another output folder")
    here = _real(Path.cwd())
    if here is not None and (target == here or target in here.parents):
        raise UnsafeTarget(f"{out} is the current folder or holds it; choose another output folder")
    for source in sources:
        src = _real(source) if source else None
        if src is None:
            continue
        if target == src or target in src.parents or src in target.parents:
            raise UnsafeTarget(f"{out} would replace the scenario {source} or part of it; "
                               "choose another output folder")
    try:
        names = {entry.name for entry in os.scandir(target)
                 if not stale_temporary(entry.name, target)}
    except OSError as exc:
        raise UnsafeTarget(f"{out} cannot be read ({exc.strerror or exc}); choose another "
                           "output folder") from None
    for name in sorted(names):
        writer = _writer(name, target)
        if writer is not None:
            m = _TEMPORARY.fullmatch(name)
            elsewhere = m is not None and m["host"] != _host()  # (its process cannot be asked)
            raise UnsafeTarget(f"{out} is being written by another corredor command ({writer}: "
                               f"{name}); wait for it to end or choose another output folder"
                               + (f"; if it no longer runs there, remove {Path(out) / name} "
                                  "yourself" if elsewhere else ""))
    if names and not written_by_corredor(target):
        from .scenario.convert import is_conversion

        why = _conversion_changes(target) if is_conversion(target) else None
        if why is not None:
            raise UnsafeTarget(f"{out} is a scenario corredor convert wrote, but {why}: it is "
                               "yours now; --force replaces a converted scenario only while it "
                               "holds just what convert wrote, unedited: remove it yourself or "
                               "choose another output folder")
        raise UnsafeTarget(f"{out} holds files corredor did not write (no run, ensemble or "
                           "calibration manifest.json, comparison.json or converted scenario.toml); "
                           "--force replaces only corredor's own output folders: remove it "
                           "yourself or choose another output folder")


def check_folder_or_new(out: str | os.PathLike[str]) -> None:
    """Raise UnsafeTarget when something other than a folder stands at `out`: a file, or a link
    to a file, to nowhere or in a loop. Every command that writes an output folder, or into one
    (`compare`), makes this check first, with or without `--force`.

    Why: `run --out FILE` said "exists; use --force", and with --force "is a file, not an output
    folder": the way it had suggested was refused. No `--force` makes a file a folder."""
    if os.path.lexists(out) and not os.path.isdir(out):
        raise UnsafeTarget(f"{out} is {_not_a_folder(out)}, not an output folder (expected a "
                           "folder, or a name that does not exist yet)")


def check_outside_scenarios(out: str | os.PathLike[str],
                            sources: Iterable[str | Path | None] = ()) -> None:
    """Raise UnsafeTarget when `out` is one of the scenario folders in `sources` or lies inside
    one, whether or not it exists yet.

    Why: `--out scenarios/chile-peru-2023/` (a typo for `runs/...`) wrote results among the
    scenario's own files: compare's comparison files into the folder itself, a run or an
    ensemble folder under it, to be versioned, copied and shared as part of the scenario. (A
    folder that holds a scenario is refused by `check_replaceable` when replacing it would delete
    the scenario; `compare`, which only adds its files to a folder, may write there: `--out .`.)
    `check_replaceable` starts with this check, so the writers of output folders need only that
    one; `compare` (and `analysis.compare.write_comparison`), which replaces no folder, calls
    this one alone.
    """
    target = _real(out)
    if target is None:
        return
    for source in sources:
        src = _real(source) if source else None
        if src is None or not src.is_dir():
            continue
        if target == src or src in target.parents:
            where = "is the scenario folder" if target == src else "is inside the scenario folder"
            raise UnsafeTarget(f"{out} {where} {source}: results would be written among its input "
                               "files; choose another output folder, outside it")


class UnwritableTarget(OSError):
    """The output cannot be written there: a file stands where a folder must be, the folder is
    read-only, or its name cannot be encoded."""


def check_writable(out: str | Path) -> None:
    """Raise UnwritableTarget when `out` (a folder to be written, or replaced through a sibling
    temporary) cannot be: checked before any work, so that a long run does not end in a write
    error. The nearest existing folder above it must be a writable folder. (A command that
    writes files into an existing folder passes a file in it: `out / "comparison.json"`.)"""
    text = str(out)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnwritableTarget(f"{text.encode('utf-8', 'backslashreplace').decode()}: the output "
                               "folder's name is not valid UTF-8; choose another name") from None
    path = Path(os.path.abspath(out))
    above = path.parent
    while not os.path.lexists(above) and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise UnwritableTarget(f"{above} is {_not_a_folder(above)}, not a folder: {out} cannot be "
                               "written under it")
    if not os.access(above, os.W_OK | os.X_OK):
        raise UnwritableTarget(f"cannot write in {above} (permission denied or read-only); "
                               "choose another output folder")


def _not_a_folder(path: str | os.PathLike[str]) -> str:
    """What stands at `path` where a folder was expected: "a file", or the link it is (a link to
    nowhere or to itself was called a file, and `ls` showed none there)."""
    if not os.path.islink(path):
        return "a file"
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a link in a loop"
        try:
            return f"a link to {os.readlink(path)!r} (which does not exist)"
        except OSError:
            return "a link to nowhere"
    return "a link to a file"


def _host() -> str:
    """This machine's name as temporaries carry it: its first label, in letters, digits and -."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])[:40]


def _owner() -> str:
    return f"{os.getpid()}-{_host()}"


def temporary_prefix(name: str) -> str:
    """The `prefix` (with `suffix=".tmp"`) of tempfile's temporaries for an output called `name`:
    `.NAME.PID-HOST.RANDOM.tmp`, so that a later command can tell a killed writer's leftover."""
    return f".{name}.{_owner()}."


def old_name(name: str) -> str:
    """Where an output called `name` waits, between two renames, for its replacement to land."""
    return f".{name}.{_owner()}.old"


#: temporary_prefix's and old_name's names: (output name, process id, machine).
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]{1,9})-(?P<host>[A-Za-z0-9-]*)"
                        r"\.(?:[A-Za-z0-9_]+\.tmp|old)")


def _alive(pid: int, since: float | None = None) -> bool:
    """Whether process `pid` of this machine runs (someone else's process runs, too) and, given
    `since` (when its temporary was made or last changed, seconds since the epoch), is the one
    that made it: where /proc tells, a process that started after `since` only reuses the id of
    a writer that was killed (`_started_after`)."""
    if pid <= 0:
        return True  # (never a writer's: kill(0) would signal this process's own group)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (PermissionError: it runs, as another user)
        pass
    return since is None or not _started_after(pid, since)


#: Seconds a process may seem to have started after its temporary was made: /proc/stat's btime
#: is whole seconds and follows the clock when it is set (an NTP step, a VM resumed), while the
#: temporary's time was stamped before. Generous, since erring the other way would let another
#: command remove a live writer's temporary; a PID reused within it is taken for the writer, as
#: without /proc (the command then refuses and names the process).
_START_TOLERANCE = 300.0


def _boot_time() -> float | None:
    """When this machine booted (seconds since the epoch), from /proc/stat; None without it."""
    try:
        with open("/proc/stat", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _started_after(pid: int, since: float) -> bool:
    """Whether process `pid` is not the writer of a temporary made at `since`: it started more
    than `_START_TOLERANCE` seconds later (/proc/PID/stat's starttime, field 22, in clock ticks
    since boot), or it is a zombie (killed, not yet reaped by its parent). False where /proc
    cannot tell (another system, hidepid): the process is then taken for the writer."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
        fields = stat[stat.rindex(")") + 2:].split()  # (the name in () may hold spaces)
        state, ticks = fields[0], int(fields[19])  # fields 3 and 22
        boot = _boot_time()
        hertz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return False
    if state in ("Z", "X"):
        return True
    if boot is None or hertz <= 0:
        return False
    return boot + ticks / hertz > since + _START_TOLERANCE


def _made_at(path: str | os.PathLike[str], old: bool) -> float | None:
    """When a temporary at `path` was made or last written: a `.tmp`'s mtime; an `.old`'s ctime
    (an earlier output renamed there keeps its own mtime; the rename sets the ctime). None when
    it cannot be read (gone meanwhile)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_ctime if old else st.st_mtime


def _writer(name: str, folder: str | os.PathLike[str]) -> str | None:
    """For a corredor temporary (in `folder`) whose writer may still run: "process PID" (or
    "process PID on HOST", another machine's, which cannot be asked); None for any other name."""
    m = _TEMPORARY.fullmatch(name)
    if m is None:
        return None
    if m["host"] != _host():
        return f"process {m['pid']} on {m['host'] or 'another machine'}"
    return f"process {m['pid']}" if _running(m, name, folder) else None


def _running(m: re.Match[str], name: str, folder: str | os.PathLike[str]) -> bool:
    """Whether the writer of temporary `name` (matched by `_TEMPORARY`, in `folder`) still runs."""
    return _alive(int(m["pid"]), _made_at(os.path.join(folder, name), name.endswith(".old")))


def is_temporary(name: str) -> bool:
    """Whether `name` is a temporary of a corredor writer (`temporary_prefix`, `old_name`), of
    this process or another, running or not."""
    return _TEMPORARY.fullmatch(name) is not None


def stale_temporary(name: str, folder: str | os.PathLike[str]) -> bool:
    """Whether `name` (in `folder`) is a temporary corredor's writers make (`temporary_prefix`,
    `old_name`) left by a process of this machine that no longer runs: a leftover of a writer
    killed hard, which nothing will finish or remove. A process that runs under the writer's id
    but started after the temporary was made (the id reused) does not count."""
    m = _TEMPORARY.fullmatch(name)
    return m is not None and m["host"] == _host() and not _running(m, name, folder)


def remove_stale_temporaries(folder: str | os.PathLike[str], name: str | None = None) -> list[Path]:
    """Remove the stale temporaries (`stale_temporary`) in `folder` — only those made for the
    output `name`, when given — with a warning for each; return their paths."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for entry in sorted(entries):
        m = _TEMPORARY.fullmatch(entry)
        if m is None or (name is not None and m["name"] != name) or not stale_temporary(entry, folder):
            continue
        path = Path(folder) / entry
        _remove(path)
        removed.append(path)
        warnings.warn(f"removed {path}: left by corredor process {m['pid']}, which no longer "
                      "runs (killed while writing)", stacklevel=2)
    return removed


def holds_anything(folder: str | os.PathLike[str]) -> bool:
    """Whether `folder` holds an entry other than stale temporaries (a killed writer's leftovers
    do not make a folder an earlier output)."""
    with os.scandir(folder) as entries:
        return any(not stale_temporary(entry.name, folder) for entry in entries)


def swap_in(out: str | os.PathLike[str], write: Callable[[Path], None],
            replace: bool = True) -> Path:
    """Write a folder atomically and return its path: `write` fills a temporary sibling of `out`,
    which is renamed into place when complete; what was at `out` goes only then (a link is
    unlinked, not followed). A failure leaves `out` as it was and no temporary behind.

    The callers check first that `out` may be replaced (`--force`, `check_replaceable`). Without
    `replace` (no `--force`) an `out` that appeared meanwhile — another command writing the same
    folder — is kept and FileExistsError raised: checked at the start, a folder made later was
    replaced silently.
    """
    out = Path(os.path.abspath(out))  # (`.` has no name to build a sibling from)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out.parent, out.name)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(out.name), suffix=".tmp", dir=out.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; an output folder gets the usual mode
        with stopping.filling():
            write(tmp)
        if os.path.lexists(out) and not replace:
            raise FileExistsError(f"{out} was written by another command while this one ran; "
                                  "it is kept: use --force to replace it")
        stopping.check()  # (a stop seen but swallowed meanwhile: nothing is put in place)
        if os.path.lexists(out):
            old = out.with_name(old_name(out.name))
            _remove(old)
            try:
                with stopping.held():  # (a stop between the renames left no folder at `out`)
                    out.rename(old)
                    try:
                        tmp.rename(out)
                    except BaseException:
                        old.rename(out)
                        raise
                    stopping.committed(out)
            finally:
                if os.path.lexists(out):  # (else `old` is all there is of the earlier output)
                    _remove(old)
        else:
            with stopping.held():
                tmp.rename(out)
                stopping.committed(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _umask() -> int:
    """This process's umask (read by setting it, then putting it back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write one text file atomically (UTF-8, line ends as given): a temporary file beside it,
    renamed over `path` when complete, so a reader never sees half of it and a failure leaves the
    old file and no temporary. The file gets the usual mode (mkstemp makes 0600: comparison.csv
    was unreadable to the others who share a report)."""
    path = Path(path)
    return write_texts_atomic(path.parent, {path.name: text})[0]


def write_texts_atomic(folder: str | os.PathLike[str], texts: dict[str, str | bytes],
                       replace: bool = True) -> list[Path]:
    """Write text files into `folder` together (`write_text_atomic` for several): every one to a
    temporary beside it first, and only when all are complete renamed into place, in the order
    given (the last marks the set as finished), with stop signals held (`stopping.held`) between
    the renames. A failure while writing, or a stop, leaves the old files, all of them, and no
    temporary; only a rename that fails after an earlier one landed (renames within one folder
    hardly do), a SIGKILL or a power cut between two renames could part them. A bytes value is
    written as it is (a figure beside its tables). Without `replace` (no `--force`) a file
    that appeared meanwhile — another command writing the same folder — is kept, with the
    others, and FileExistsError raised (`swap_in`'s rule for files). Return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in texts]
    for path in paths:
        if path.is_dir() and not path.is_symlink():  # (known before any file is replaced)
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    temporaries: list[str] = []
    try:
        for path, text in zip(paths, texts.values(), strict=True):
            remove_stale_temporaries(folder, path.name)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=temporary_prefix(path.name),
                                       suffix=".tmp")
            temporaries.append(tmp)
            if isinstance(text, bytes):
                with os.fdopen(fd, "wb") as fb:
                    fb.write(text)
            else:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                    f.write(text)
            os.chmod(tmp, 0o666 & ~_umask())
        stopping.check()  # (a stop seen but swallowed meanwhile: nothing is put in place)
        with stopping.held():
            if not replace:
                _refuse_written_meanwhile([p for p in paths if os.path.lexists(p)])
            for tmp, path in zip(temporaries, paths, strict=True):
                os.replace(tmp, path)
            stopping.committed(paths[0] if len(paths) == 1 else folder)
    except BaseException:
        for tmp in temporaries:
            Path(tmp).unlink(missing_ok=True)
        raise
    return paths


def written_meanwhile(there: list[Path]) -> str:
    """What a command started without `--force` says of outputs `there` that another command
    wrote while it ran (they are kept)."""
    one = len(there) == 1
    return (f"{', '.join(map(str, there))} {'was' if one else 'were'} written by another command "
            f"while this one ran; {'it is' if one else 'they are'} kept: use --force to replace "
            f"{'it' if one else 'them'}")


def _refuse_written_meanwhile(there: list[Path]) -> None:
    """Raise FileExistsError naming `there` (outputs found when this command, started without
    `--force`, was to put its own in place: another command wrote them meanwhile)."""
    if there:
        raise FileExistsError(written_meanwhile(there))


def _remove(path: Path) -> None:
    """Delete a folder, file or link at `path` (a link itself, never what it points to)."""
    if path.is_symlink() or (os.path.lexists(path) and not path.is_dir()):
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
