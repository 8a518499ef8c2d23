"""Running unattended (cron, a batch scheduler, a container): a stop is never lost, a stop after
the output is in place does not fail the command, exit statuses tell a retry from a fix, and a
HOME or install that cannot be written neither breaks the engine nor litters /tmp."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

#: `corredor` (cli.main) whose SIGTERM arrives inside a weakref callback (as during a garbage
#: collection in xarray, pandas or numba): Python swallows its KeyboardInterrupt there. WHEN says
#: when: "before" the run (nothing written yet), "after" the run folder is in place.
SWALLOWED = """
import os, signal, sys, time, weakref
import corredor.outputs.runfolder as runfolder
import corredor.cli as cli
WHEN = sys.argv.pop(1)

def stop_in_a_callback():
    class A: pass
    def cb(ref):
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(1000))  # (the handler runs here, inside the callback)
    a = A(); r = weakref.ref(a, cb); del a

real = runfolder.write_run_folder
def write(res, out, **kw):
    if WHEN == "before":
        stop_in_a_callback()
        time.sleep(0.5)
    path = real(res, out, **kw)
    if WHEN == "after":
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(1000))
    return path
runfolder.write_run_folder = write
sys.argv[0] = "corredor"
cli.main()
"""


def _run(tmp_path: Path, script: str, *args: str, env: dict[str, str] | None = None,
         stdout: object = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], stdout=stdout,  # type: ignore[call-overload]
                          stderr=subprocess.PIPE, text=True, timeout=600, env=env)


def test_a_stop_swallowed_in_a_finalizer_still_stops_the_command(tmp_path: Path) -> None:
    """Seen for real: a SIGTERM that arrived inside a weakref callback was dropped ("Exception
    ignored in …"), every later signal ignored, and the command went on to replace its output
    and exit 0. The stop now ends it before the output is put in place: 143, one line."""
    from scenario_cases import write_mini_flee

    case = write_mini_flee(tmp_path / "case")
    out = tmp_path / "o"
    r = _run(tmp_path, SWALLOWED, "before", "run", str(case), "--engine", "cohorts", "-q",
             "--out", str(out))
    assert r.returncode == 128 + signal.SIGTERM, r.stderr
    assert r.stderr == "error: interrupted (SIGTERM); no output was left half-written\n"
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["case"]  # (no temporary)


def test_a_signal_after_a_swallowed_one_is_not_ignored() -> None:
    """After a swallowed stop, `_stop` ignored every later SIGTERM and SIGINT: the process could
    only be killed. The swallowed stop is sent again, and raised where it can end the work."""
    script = """
import os, signal, time, weakref
from corredor import stopping
stopping.install()
class A: pass
def cb(ref):
    os.kill(os.getpid(), signal.SIGTERM)
    sum(range(1000))
a = A(); r = weakref.ref(a, cb); del a
try:
    time.sleep(5)
    print("went on")
except KeyboardInterrupt:
    print("stopped", stopping.stopped_by())
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.stdout == f"stopped {int(signal.SIGTERM)}\n", r.stderr
    assert r.stderr == ""  # (no "Exception ignored": the stop was not lost)


#: Found by review: the stop state was the process's. A command stopped in a process that goes
#: on (a notebook, a script) made every later command exit 130/143 and `simulate()` raise
#: KeyboardInterrupt, with no signal sent. argv: the case folder, the run's output folder.
LEAKED_STOP = """
import os, signal, sys, time, weakref
import corredor.cli as cli
import corredor.outputs.runfolder as runfolder
from corredor import load_scenario, simulate, stopping
case, out = sys.argv[1:3]

def command(*args):
    sys.argv = ["corredor", *args]
    try:
        cli.main()
    except SystemExit as e:
        return e.code
    return 0

def simulates():
    try:
        simulate(load_scenario(case, days=3), seed=0, engine="cohorts")
        return "ok"
    except KeyboardInterrupt:
        return "KeyboardInterrupt"

# a command stopped by a SIGTERM whose KeyboardInterrupt a weakref callback swallowed
real = runfolder.write_run_folder
def write(res, out, **kw):
    class A: pass
    def cb(ref):
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(1000))
    a = A(); r = weakref.ref(a, cb); del a
    time.sleep(0.5)
    return real(res, out, **kw)
runfolder.write_run_folder = write
print("run", command("run", case, "--engine", "cohorts", "-q", "--out", out))
runfolder.write_run_folder = real
print("handlers back", signal.getsignal(signal.SIGTERM) is signal.SIG_DFL,
      signal.getsignal(signal.SIGINT) is signal.default_int_handler)
print("info", command("info", case))
print("library", simulates())

# the finding's reproduction: a Ctrl-C in an earlier command, then the notebook's own handler back
stopping.install()
try:
    os.kill(os.getpid(), signal.SIGINT); time.sleep(0.2)
except KeyboardInterrupt:
    pass
signal.signal(signal.SIGINT, signal.default_int_handler)
print("library", simulates())
print("info", command("info", case))
print("library", simulates())
"""


def test_a_stopped_command_does_not_stop_the_next_one_nor_the_library(tmp_path: Path) -> None:
    """One command's stop is that command's: the next command in the same process runs (exit 0),
    and so does `simulate()`; the command put the process's own handlers back."""
    from scenario_cases import write_mini_flee

    case = write_mini_flee(tmp_path / "case")
    r = subprocess.run([sys.executable, "-c", LEAKED_STOP, str(case), str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=600)
    assert [line for line in r.stdout.splitlines() if line.split(" ")[0] in
            ("library", "info", "run", "handlers")] == [
        f"run {128 + signal.SIGTERM}", "handlers back True True", "info 0", "library ok",
        "library ok", "info 0", "library ok"], r.stderr
    assert not (tmp_path / "o").exists()


def test_a_recorded_stop_is_raised_at_the_next_safe_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stop whose KeyboardInterrupt something swallowed is raised by `stopping.check` (the
    engines' day loops, the executors, every writer before it puts its output in place)."""
    from corredor import stopping, targets

    stopping.install()
    try:
        monkeypatch.setattr(stopping, "_stopped_by", [signal.SIGTERM])
        monkeypatch.setattr(stopping, "_committed", [])
        with pytest.raises(KeyboardInterrupt):
            stopping.check()
        with pytest.raises(KeyboardInterrupt):  # (nothing is put in place)
            targets.write_text_atomic(Path(os.devnull).parent / "corredor-never-written", "x")
    finally:
        stopping.uninstall()
    monkeypatch.setattr(stopping, "_stopped_by", [signal.SIGTERM])
    stopping.check()  # (no handler of a command installed: the library is not stopped)


def test_a_stop_after_the_output_is_in_place_lets_the_command_finish(tmp_path: Path) -> None:
    """A SIGTERM once the run folder was complete made the command say "interrupted" and exit
    143; the scheduler's retry of the same command then failed for good ("exists; use
    --force"). The output is complete: the command finishes and exits 0."""
    from scenario_cases import write_mini_flee

    case = write_mini_flee(tmp_path / "case")
    out = tmp_path / "o"
    r = _run(tmp_path, SWALLOWED, "after", "run", str(case), "--engine", "cohorts",
             "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"wrote {out}: ")
    assert (out / "manifest.json").is_file()


def test_stop_signals_are_ignored_while_a_finished_command_exits(tmp_path: Path) -> None:
    """After the command, while the interpreter tore down (half a second), SIGTERM took its
    default action again: exit 143 and nothing said, the output complete."""
    script = """
import atexit, signal, sys
atexit.register(lambda: print(signal.getsignal(signal.SIGTERM) is signal.SIG_IGN,
                              signal.getsignal(signal.SIGINT) is signal.SIG_IGN))
from corredor.__main__ import main
sys.argv = ["corredor", "--version"]
main()
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "True True"


def test_a_full_disk_is_an_environment_failure(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 2 meant both "fix the input" and "the disk is full": a scheduler could not tell
    what to retry. A full disk, an I/O error, a lost worker are 4 (docs/reliability.md)."""
    import errno

    import corredor.cli as cli_module
    from corredor.analysis.executors import WorkerLost

    for exc, status in ((OSError(errno.ENOSPC, "No space left on device", "runs/x/a.parquet"), 4),
                        (OSError(errno.EIO, "Input/output error", "runs/x/a.parquet"), 4),
                        (OSError(errno.EACCES, "Permission denied", "runs/x/a.parquet"), 2),
                        (WorkerLost("a worker process ended"), 4)):
        def fail(*a: object, exc: BaseException = exc, **k: object) -> None:
            raise exc

        monkeypatch.setattr(cli_module, "app", fail)
        with pytest.raises(SystemExit) as exit_:
            cli_module.main()
        assert exit_.value.code == status, exc
    capsys.readouterr()


def test_an_unreachable_dask_scheduler_is_an_environment_failure(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import corredor.analysis.executors as executors
    from corredor.cli import app

    def unreachable(*a: object, **k: object) -> None:
        raise executors.SchedulerUnreachable("cannot reach the Dask scheduler at tcp://x:1: Timed out")

    monkeypatch.setattr(executors, "make_executor", unreachable)
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "chile-peru-2023"
    r = CliRunner().invoke(app, ["compare", str(scenario), "--seeds", "1", "--executor", "dask",
                                 "--address", "tcp://x:1"])
    assert r.exit_code == 4, r.output
    assert "cannot reach the Dask scheduler" in r.output


def test_a_full_stdout_after_the_output_is_written_says_so(tmp_path: Path) -> None:
    """`run … > /dev/full`: "error: No space left on device", exit 2, though the run folder
    was complete; the retry then failed with "exists". Now a warning naming stdout and the
    complete output, exit 0."""
    from scenario_cases import write_mini_flee

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    case = write_mini_flee(tmp_path / "case")
    out = tmp_path / "o"
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "corredor", "run", str(case), "--engine",
                            "cohorts", "--out", str(out)], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stderr == (f"warning: could not write to stdout (No space left on device); {out} "
                        "was written and is complete\n")
    assert (out / "manifest.json").is_file()


#: a package folder numba cannot write (as a read-only install), checked as numba checks it
READ_ONLY_PACKAGE = """
import os, sys, tempfile
import corredor
pkg = os.path.dirname(corredor.__file__)
real = tempfile.TemporaryFile
def refuse(*a, dir=None, **k):
    if dir is not None and os.path.abspath(dir).startswith(pkg):
        raise OSError(30, "Read-only file system", dir)
    return real(*a, dir=dir, **k)
tempfile.TemporaryFile = refuse
import numpy as np
from corredor.engine import rng
rng.mix64(np.uint64(1))  # (compiles one kernel into the cache)
from corredor.cli import _numba_cache_note
print(os.environ["NUMBA_CACHE_DIR"])
_numba_cache_note()
"""


def test_an_unwritable_numba_cache_falls_back_to_a_temporary_one(tmp_path: Path) -> None:
    """A read-only install with a HOME and NUMBA_CACHE_DIR that cannot be written: importing the
    engine raised numba's "cannot cache function 'mix64': no locator available" (a traceback,
    exit 1, for run, compare and report). numba now caches into a private temporary folder,
    removed at exit, and the command line says so once."""
    afile = tmp_path / "afile"
    afile.write_text("")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(afile), NUMBA_CACHE_DIR=str(afile / "sub"), TMPDIR=str(tmp))
    r = subprocess.run([sys.executable, "-c", READ_ONLY_PACKAGE], capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    folder = Path(r.stdout.strip())
    assert folder.parent == tmp
    assert not folder.exists()  # removed at exit
    assert list(tmp.iterdir()) == []
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: numba could not write its cache")
    assert "NUMBA_CACHE_DIR" in lines[0]


def test_an_unwritable_home_leaves_no_matplotlib_folder_and_quiet_stays_quiet(
        tmp_path: Path) -> None:
    """With a HOME that cannot be written, every `run` left a /tmp/matplotlib-* folder (the
    figure helper leaves with os._exit, so matplotlib's atexit cleanup never ran) and printed
    matplotlib's two warnings, under --quiet too."""
    from scenario_cases import write_mini_flee

    case = write_mini_flee(tmp_path / "case")
    afile = tmp_path / "afile"
    afile.write_text("")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_") and k != "MPLCONFIGDIR"}
    env.update(HOME=str(afile), TMPDIR=str(tmp))
    r = subprocess.run([sys.executable, "-m", "corredor", "run", str(case), "--engine", "cohorts",
                        "-q", "--out", str(tmp_path / "o")], capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert (tmp_path / "o" / "camps.png").is_file()
    assert list(tmp.iterdir()) == []
