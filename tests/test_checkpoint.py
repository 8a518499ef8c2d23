"""Checkpoints and atomic outputs: a run killed with SIGKILL resumes to byte-identical results.

Also: a checkpoint of another seed or scenario is refused; a truncated one is refused; a corrupted
state is caught by check=True; no checkpoint or run folder ever appears half-written under its
final name; an existing run folder is kept unless --force.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from corredor.engine.agents import EngineError
from corredor.engine.checkpoint import (
    CheckpointError,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
    simulate_with_checkpoints,
)
from corredor.plan import compile_plan
from corredor.scenario import load_scenario
from corredor.simulate import simulate

ENTRY = "from corredor.cli import main; main()"
#: Manifest keys that describe how a run was executed (wall time, threads, resume), not its result.
VOLATILE = ("timing", "threads", "checkpoint", "invocation")  # (invocation: the command line and folders)


def corredor(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, text=True,
                          timeout=600, **kw)


def assert_same_run_folders(a: Path, b: Path) -> None:
    """Every file byte-identical, except manifest.json compared without its volatile keys."""
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert "results.parquet" in names and "population.csv" in names
    for name in names:
        if name == "manifest.json":
            ma, mb = (json.loads((d / name).read_text()) for d in (a, b))
            for m in (ma, mb):
                for k in VOLATILE:
                    m.pop(k, None)
            assert ma == mb
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


def header_day(path: Path) -> int:
    with np.load(path, allow_pickle=False) as data:
        return int(json.loads(str(data["__header__"]))["day"])


def test_sigkill_midway_then_resume_gives_identical_results(flee_cases: Path, tmp_path: Path) -> None:
    """car at hasten 10, 400 days, a checkpoint every 20 days: kill after the 2nd, resume."""
    args = ["run", str(flee_cases / "car"), "--hasten", "10", "--days", "400", "--seed", "7",
            "--engine", "agents", "--checkpoint-every", "20", "--threads", "2", "-q"]
    victim_out = tmp_path / "victim"
    ckpt = checkpoint_path(victim_out)
    proc = subprocess.Popen([sys.executable, "-c", ENTRY, *args, "--out", str(victim_out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 500
    killed_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        if ckpt.exists() and header_day(ckpt) >= 40:
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = header_day(ckpt)
            break
        time.sleep(0.05)
    proc.wait(timeout=60)
    assert killed_at is not None, f"no checkpoint before the end: {proc.stderr.read()}"
    assert proc.returncode == -signal.SIGKILL
    assert not victim_out.exists(), "a killed run left a run folder under its final name"
    assert 40 <= header_day(ckpt) < 400  # the checkpoint is whole and loadable
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("victim.checkpoint.npz",)]
    assert all(name.startswith(".") for name in leftovers), leftovers  # only hidden temporaries

    resumed = corredor(*args, "--out", str(victim_out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "starting from day 0" not in resumed.stderr
    manifest = json.loads((victim_out / "manifest.json").read_text())
    assert manifest["checkpoint"]["resumed_from_day"] >= 40
    assert not ckpt.exists(), "the checkpoint is removed once the run folder is written"

    ref_out = tmp_path / "reference"
    ref = corredor(*args, "--out", str(ref_out), "--threads", "1")
    assert ref.returncode == 0, ref.stderr
    assert_same_run_folders(victim_out, ref_out)


@pytest.fixture(scope="module")
def mali(flee_cases: Path):
    return load_scenario(flee_cases / "mali2012", hasten=20, days=90)


@pytest.fixture(scope="module")
def saved(mali, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A run with checkpoints every 30 days; its last checkpoint (day 60) stays on disk."""
    path = tmp_path_factory.mktemp("ckpt") / "mali.checkpoint.npz"
    res = simulate_with_checkpoints(mali, seed=3, every=30, path=path, check=True)
    assert header_day(path) == 60
    return path, res


def test_checkpointed_run_equals_plain_agent_run(mali, saved) -> None:
    _, res = saved
    plain = simulate(mali, seed=3, engine="agents")
    assert res.dataset.equals(plain.dataset)


def test_resume_from_checkpoint_equals_uninterrupted(mali, saved, tmp_path: Path) -> None:
    path, res = saved
    copy = tmp_path / "c.npz"
    copy.write_bytes(path.read_bytes())
    resumed = simulate_with_checkpoints(mali, seed=3, every=30, path=copy, resume=True, threads=1)
    assert resumed.manifest["checkpoint"]["resumed_from_day"] == 60
    assert resumed.dataset.equals(res.dataset)


def test_a_resumed_run_times_only_the_days_it_ran(mali, saved, tmp_path: Path) -> None:
    """Found by a review at scale: a resumed run's manifest paired the whole run's agent-steps
    with the loop time of the days after the checkpoint (a throughput 2.3× too high). Its timing
    now counts the steps of the days it ran, and says from which day and the whole run's."""
    path, res = saved
    copy = tmp_path / "c.npz"
    copy.write_bytes(path.read_bytes())
    before = int(load_checkpoint(copy, compile_plan(mali), 3).state["alive"][:60].sum())
    told: list[tuple[int, int]] = []
    resumed = simulate_with_checkpoints(mali, seed=3, every=30, path=copy, resume=True,
                                        on_resume=lambda day, days: told.append((day, days)))
    assert told == [(60, 90)]
    whole = res.manifest["timing"]["agent_steps"]
    assert 0 < before < whole and "resumed_from_day" not in res.manifest["timing"]
    timing = resumed.manifest["timing"]
    assert timing["agent_steps"] == whole - before
    assert timing["agent_steps_whole_run"] == whole and timing["resumed_from_day"] == 60


def test_checkpoint_of_another_seed_or_scenario_is_refused(mali, saved) -> None:
    path, _ = saved
    plan = compile_plan(mali)
    assert load_checkpoint(path, plan, 3).day == 60
    with pytest.raises(CheckpointError, match="another seed"):
        load_checkpoint(path, plan, 4)
    with pytest.raises(CheckpointError, match="another scenario"):
        load_checkpoint(path, compile_plan(mali.with_settings(move_rules={"camp_weight": 3.0})), 3)
    with pytest.raises(CheckpointError, match="another"):
        load_checkpoint(path, compile_plan(mali.with_days(80)), 3)


def test_cli_refuses_a_checkpoint_of_another_seed(flee_cases: Path, saved, tmp_path: Path) -> None:
    path, _ = saved
    out = tmp_path / "run"
    checkpoint_path(out).write_bytes(path.read_bytes())
    r = corredor("run", str(flee_cases / "mali2012"), "--hasten", "20", "--days", "90", "--seed",
                 "4", "--resume", "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert "written for another seed" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "warning" not in r.stderr  # (auto picks the agent engine here anyway: nothing to warn of)
    assert not out.exists()


def test_checkpointing_where_auto_would_pick_cohorts_warns_before_the_run(
        flee_cases: Path, tmp_path: Path) -> None:
    """mali2012 at hasten 1: auto picks cohorts, checkpoints force agents. The warning, with both
    estimates, comes before the run (here the checkpoint is refused before any day runs); asked
    for agents, or with -q, nothing is said."""
    out = tmp_path / "run"
    checkpoint_path(out).write_bytes(b"not a checkpoint")
    args = ["run", str(flee_cases / "mali2012"), "--hasten", "1", "--checkpoint-every", "100", "--resume",
            "--out", str(out)]
    r = corredor(*args)
    assert r.returncode == 2, r.stderr
    warning, refusal = r.stderr.index("warning: --checkpoint-every runs the agent engine"), r.stderr.index(
        "not a corredor checkpoint")
    assert warning < refusal
    assert re.search(r"estimated at [\d.e+-]+ CPU-s on one thread against [\d.e+-]+ s for cohorts", r.stderr)
    for extra in (["--engine", "agents"], ["-q"]):
        r = corredor(*args, *extra)
        assert r.returncode == 2 and "warning" not in r.stderr, r.stderr


def test_checkpointed_auto_run_records_what_auto_would_have_picked(flee_cases: Path, tmp_path: Path) -> None:
    plan = compile_plan(load_scenario(flee_cases / "mali2012", hasten=1))
    res = simulate_with_checkpoints(plan, seed=1, every=0, path=tmp_path / "c.npz", asked="auto")
    choice = res.manifest["engine_choice"]
    assert (choice["asked"], choice["engine"]) == ("auto", "agents")
    assert "would pick cohorts" in choice["reason"] and "CPU-s" in choice["reason"]
    res = simulate_with_checkpoints(plan, seed=1, every=0, path=tmp_path / "c.npz")
    assert res.manifest["engine_choice"]["reason"] == "checkpoints need the agent engine"


def test_truncated_checkpoint_is_refused(mali, saved, tmp_path: Path) -> None:
    path, _ = saved
    bad = tmp_path / "bad.npz"
    raw = path.read_bytes()
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(bad, compile_plan(mali), 3)


def test_corrupted_state_is_caught_by_check(mali, saved, tmp_path: Path) -> None:
    """Move one person to another place without updating the counts: check=True must notice."""
    path, _ = saved
    plan = compile_plan(mali)
    ck = load_checkpoint(path, plan, 3)
    where = ck.state["where"]
    i = int(np.flatnonzero(where[: int(ck.state["alive"][59])] >= 0)[0])
    where[i] = (where[i] + 1) % plan.n_locations
    bad = save_checkpoint(tmp_path / "bad.npz", plan, 3, ck.day, ck.state)
    with pytest.raises(EngineError, match="invariant broken"):
        simulate_with_checkpoints(mali, seed=3, every=30, path=bad, resume=True, check=True)


def test_failed_checkpoint_write_leaves_the_old_one_whole(mali, saved, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = saved
    target = tmp_path / "x.npz"
    target.write_bytes(path.read_bytes())
    plan = compile_plan(mali)
    state = load_checkpoint(target, plan, 3).state

    def boom(fh, **arrays):  # write half a file, then fail like a full disk would
        fh.write(b"PK\x03\x04 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        save_checkpoint(target, plan, 3, 60, state)
    monkeypatch.undo()
    assert target.read_bytes() == path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]  # no temporary left


def test_run_folder_is_never_overwritten_without_force(flee_cases: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    (out / "manifest.json").write_text('{"engine": "agents", "seed": 1, "version": "0.1.0"}')  # an earlier run's (--force replaces only those)
    args = ["run", str(flee_cases / "mali2012"), "--hasten", "50", "--days", "20", "--out", str(out)]
    r = corredor(*args)
    assert r.returncode == 2
    assert "exists; use --force" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt", "manifest.json"]
    r = corredor(*args, "--force", "-q")
    assert r.returncode == 0, r.stderr
    assert not (out / "keep.txt").exists() and (out / "manifest.json").is_file()


def test_a_failing_writer_leaves_no_run_folder_and_keeps_the_old_one(
    mali, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corredor.outputs import runfolder

    res = simulate(mali.with_days(10), seed=1, engine="cohorts")

    def fail(results, folder: Path, plot_worker=None) -> None:
        (folder / "half.csv").write_text("day,")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runfolder, "EXTRA_WRITERS", [*runfolder.EXTRA_WRITERS, fail])
    out = tmp_path / "new"
    with pytest.raises(OSError):
        runfolder.write_run_folder(res, out)
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its temporary

    old = tmp_path / "old"
    old.mkdir()
    before = '{"engine": "agents", "seed": 1, "version": "0.1.0"}'  # an earlier run's
    (old / "manifest.json").write_text(before)
    with pytest.raises(OSError, match="No space left"):
        runfolder.write_run_folder(res, old, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["old"]
    assert (old / "manifest.json").read_text() == before


def test_a_folder_written_meanwhile_by_another_command_is_kept_without_force(
    mali, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `run --out same` at once: both found no folder at the start, and the one that finished
    second silently replaced the other's run folder although neither had --force."""
    from corredor.outputs import runfolder

    res = simulate(mali.with_days(10), seed=1, engine="cohorts")
    out = tmp_path / "same"
    theirs = '{"engine": "agents", "seed": 5, "version": "0.1.0"}'

    def other_command_finishes(results, folder: Path, plot_worker=None) -> None:
        out.mkdir()
        (out / "manifest.json").write_text(theirs)

    monkeypatch.setattr(runfolder, "EXTRA_WRITERS", [*runfolder.EXTRA_WRITERS, other_command_finishes])
    with pytest.raises(FileExistsError, match="another command"):
        runfolder.write_run_folder(res, out)
    assert [p.name for p in tmp_path.iterdir()] == ["same"]  # no temporary
    assert [p.name for p in out.iterdir()] == ["manifest.json"]
    assert (out / "manifest.json").read_text() == theirs
    shutil.rmtree(out)
    runfolder.write_run_folder(res, out, force=True)  # (with --force it is replaced)
    assert json.loads((out / "manifest.json").read_text())["seed"] == 1


# ---- stop signals: SIGINT and SIGTERM -----------------------------------------------------------

#: `corredor run` that sends itself a signal once population.csv is in its temporary folder
STOP_WHILE_WRITING = """
import os, signal, sys, time
import corredor.outputs.runfolder as runfolder
real = runfolder.write_population_csv
def write_then_stop(results, folder):
    path = real(results, folder)
    os.kill(os.getpid(), signal.SIG{name})
    time.sleep(600)  # (the handler's exception ends this at once)
    return path
runfolder.write_population_csv = write_then_stop
from corredor.cli import main
sys.argv[0] = "corredor"
main()
"""


@pytest.mark.parametrize("name", ["TERM", "INT"])
def test_a_stop_signal_while_writing_leaves_the_old_folder_and_no_temporary(
        tmp_path: Path, name: str) -> None:
    """SIGTERM's default action ended the process inside `swap_in` and left its hidden
    temporary folder behind; SIGINT ended silently (typer's exit 130, no message)."""
    from scenario_cases import write_mini_flee

    case = write_mini_flee(tmp_path / "case")
    runs = tmp_path / "runs"
    runs.mkdir()
    old = runs / "r"
    old.mkdir()
    before = '{"engine": "agents", "seed": 1, "version": "0.1.0"}'  # an earlier run's
    (old / "manifest.json").write_text(before)
    for args in (["--out", str(runs / "new")], ["--out", str(old), "--force"]):
        proc = subprocess.run([sys.executable, "-c", STOP_WHILE_WRITING.format(name=name), "run",
                               str(case), "--engine", "cohorts", "-q", *args],
                              capture_output=True, text=True, timeout=600)
        sig = getattr(signal, f"SIG{name}")
        assert proc.returncode == 128 + sig, proc.stderr
        assert proc.stderr == f"error: interrupted (SIG{name}); no output was left half-written\n"
        assert sorted(p.name for p in runs.iterdir()) == ["r"]  # no temporary, no new folder
        assert [p.name for p in old.iterdir()] == ["manifest.json"]
        assert (old / "manifest.json").read_text() == before


#: a stop signal inside `at_once` (as during the agent engine's kernel), and the engine's use of it
STOP_AT_ONCE = """
import os, signal, sys, time
from corredor import stopping
stopping.install()
if sys.argv[1] == "kernel":
    import corredor.engine.agents as agents
    from corredor.scenario import load_scenario
    from corredor.simulate import simulate
    real = agents._run
    def spy(*args):
        print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL,
              signal.getsignal(signal.SIGINT) is signal.SIG_DFL)
        return real(*args)
    agents._run = spy
    simulate(load_scenario(sys.argv[2]), seed=1, engine="agents")
    print(signal.getsignal(signal.SIGTERM) is stopping._stop)
else:
    with stopping.at_once():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(600)  # (the default action ends the process at once)
"""


def test_stop_signals_end_a_compiled_kernel_at_once(tmp_path: Path) -> None:
    """Python runs a handler only between bytecodes: a SIGTERM during the agent engine's day loop
    (one compiled call, hours on a large run) waited for the whole loop. Around the kernel the
    signals take their default action; after it, the handler is back."""
    from scenario_cases import write_mini_flee

    proc = subprocess.run([sys.executable, "-c", STOP_AT_ONCE, "signal"], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == -signal.SIGTERM and proc.stderr == ""
    case = write_mini_flee(tmp_path / "case")
    proc = subprocess.run([sys.executable, "-c", STOP_AT_ONCE, "kernel", str(case)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True", "True"]


# ---- the crisis engine ----------------------------------------------------------------------------

CHILE_PERU = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"


@pytest.fixture(scope="module")
def crisis_saved(tmp_path_factory: pytest.TempPathFactory):
    """Chile–Peru with a checkpoint every 40 days; the last one (day 120) stays on disk."""
    scenario = load_scenario(CHILE_PERU)
    path = tmp_path_factory.mktemp("ckpt") / "cp.checkpoint.npz"
    res = simulate_with_checkpoints(scenario, seed=9, every=40, path=path, check=True)
    assert header_day(path) == 120
    return scenario, path, res


def test_crisis_checkpointed_run_equals_plain_run(crisis_saved) -> None:
    scenario, _, res = crisis_saved
    assert res.dataset.equals(simulate(scenario, seed=9).dataset)


def test_crisis_resume_equals_uninterrupted_and_refuses_other_seeds(crisis_saved, tmp_path: Path) -> None:
    scenario, path, res = crisis_saved
    copy = tmp_path / "c.npz"
    copy.write_bytes(path.read_bytes())
    resumed = simulate_with_checkpoints(scenario, seed=9, every=40, path=copy, resume=True, threads=1)
    assert resumed.manifest["checkpoint"]["resumed_from_day"] == 120
    assert resumed.dataset.equals(res.dataset)
    with pytest.raises(CheckpointError, match="another seed"):
        simulate_with_checkpoints(scenario, seed=10, every=40, path=copy, resume=True)
    from corredor.scenario.native_crisis import load_variant

    variant = load_variant(CHILE_PERU / "variants" / "bribe_0.toml")
    with pytest.raises(CheckpointError, match="another scenario"):
        simulate_with_checkpoints(variant, seed=9, every=40, path=copy, resume=True)


def test_crisis_checkpoint_is_refused_for_the_agent_engine(crisis_saved, mali) -> None:
    _, path, _ = crisis_saved
    with pytest.raises(CheckpointError, match="another engine"):
        load_checkpoint(path, compile_plan(mali), 9)


def test_crisis_cli_resume_writes_the_same_run_folder(crisis_saved, tmp_path: Path) -> None:
    """`corredor run --resume` on a crisis checkpoint; the folder equals an uninterrupted run."""
    _, path, _ = crisis_saved
    args = ["run", str(CHILE_PERU), "--seed", "9", "--checkpoint-every", "40", "-q"]
    resumed_out = tmp_path / "resumed"
    checkpoint_path(resumed_out).write_bytes(path.read_bytes())
    r = corredor(*args, "--out", str(resumed_out), "--resume")
    assert r.returncode == 0, r.stderr
    assert json.loads((resumed_out / "manifest.json").read_text())["checkpoint"]["resumed_from_day"] == 120
    assert not checkpoint_path(resumed_out).exists()
    whole_out = tmp_path / "whole"
    r = corredor(*args, "--out", str(whole_out))
    assert r.returncode == 0, r.stderr
    assert not checkpoint_path(whole_out).exists()
    assert_same_run_folders(resumed_out, whole_out)


def test_a_resumed_crisis_run_says_so_and_times_only_the_days_it_ran(crisis_saved,
                                                                     tmp_path: Path) -> None:
    """Found by a review at scale: `run --resume` printed nothing of the resume (a user could not
    tell it from a restart), and its `wrote` line gave the whole run's agent-steps "in" the last
    segment's seconds. It now says `resuming from day D of N (checkpoint)` first, and its line
    and manifest count the steps of the days it ran."""
    scenario, path, res = crisis_saved
    out = tmp_path / "resumed"
    ckpt = checkpoint_path(out)
    ckpt.write_bytes(path.read_bytes())
    before = int(np.load(ckpt)["agent_steps"])
    r = corredor("run", str(CHILE_PERU), "--seed", "9", "--checkpoint-every", "40", "--out", str(out),
                 "--resume")
    assert r.returncode == 0, r.stderr
    n = res.manifest["days"]
    assert f"resuming from day 120 of {n} ({ckpt})" in r.stderr.splitlines(), r.stderr
    timing = json.loads((out / "manifest.json").read_text())["timing"]
    whole = res.manifest["timing"]["agent_steps"]
    assert 0 < before < whole and timing["agent_steps"] == whole - before
    assert timing["agent_steps_whole_run"] == whole and timing["resumed_from_day"] == 120
    assert (f"seed 9, resumed from day 120: {whole - before:,} agent-steps of days 120–{n - 1} in "
            in r.stdout), r.stdout


def test_an_earlier_checkpoint_is_not_overwritten_without_resume_or_force(crisis_saved,
                                                                         tmp_path: Path) -> None:
    """Found by an error audit: running again without --resume silently overwrote an interrupted
    run's checkpoint (and deleted it at the end). Refused now; --resume or --force say which."""
    _, path, _ = crisis_saved
    args = ["run", str(CHILE_PERU), "--seed", "9", "--checkpoint-every", "40", "-q"]
    out = tmp_path / "again"
    ckpt = checkpoint_path(out)
    ckpt.write_bytes(path.read_bytes())
    r = corredor(*args, "--out", str(out))
    assert r.returncode == 2 and "--resume" in r.stderr and "--force" in r.stderr
    assert ckpt.read_bytes() == path.read_bytes() and not out.exists()
    r = corredor(*args, "--out", str(out), "--force")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "manifest.json").read_text())["checkpoint"]["resumed_from_day"] is None
    assert not ckpt.exists()  # (started again from day 0, then removed once the folder was whole)


@settings(max_examples=4, deadline=None)
@given(every=st.integers(3, 89), resume_at=st.integers(1, 89))
@example(every=3, resume_at=3).via("the first checkpoint day")
@example(every=89, resume_at=89).via("one checkpoint, just before the last day")
def test_any_segmenting_and_any_resume_day_give_the_same_result(mali, saved, every: int,
                                                                resume_at: int) -> None:
    """Checkpoints every `every` days, then a resume from the state before day `resume_at`."""
    import tempfile

    assume(resume_at >= every)  # (the first checkpoint is before day `every`: a resume needs one)

    _, reference = saved
    from corredor.engine.agents import run_agents

    states: dict[int, dict[str, np.ndarray]] = {}
    plan = compile_plan(mali)
    out = run_agents(plan, seed=3, every=every,
                     on_checkpoint=lambda t, st: states.update({t: {k: v.copy() for k, v in st.items()}}))
    assert np.array_equal(out.population, reference.dataset["population"].values)
    day = max([t for t in states if t <= resume_at], default=None)
    assert day is not None, sorted(states)
    with tempfile.TemporaryDirectory() as tmp:
        path = save_checkpoint(Path(tmp) / "c.npz", plan, 3, day, states[day])
        resumed = simulate_with_checkpoints(mali, seed=3, every=every, path=path, resume=True)
    assert resumed.dataset.equals(reference.dataset)


# ---- hand-edited, damaged and foreign checkpoints: refused before any kernel runs ---------------


def hand_edit(src: Path, dst: Path, header: dict | list | None = None, values: dict | None = None) -> Path:
    """Rewrite a checkpoint as an editor would: change header keys or array cells (`{key: (index,
    value)}`), keep the rest, and leave the checksum in the header as it was."""
    with np.load(src, allow_pickle=False) as data:
        arrays = {k: data[k].copy() for k in data.files}
    if header is not None:
        old = json.loads(str(arrays["__header__"]))
        arrays["__header__"] = np.array(json.dumps({**old, **header} if isinstance(header, dict) else header))
    for key, (index, value) in (values or {}).items():
        arrays[key][index] = value
    np.savez(dst, **arrays)
    return dst


@pytest.mark.parametrize("header, values, message", [
    (None, {"where": (0, 2_000_000_000)}, "do not match the checksum"),
    (None, {"prog": (5, np.nan)}, "do not match the checksum"),
    ([], {}, "its header is a JSON list, expected an object"),
    ({"day": "abc"}, {}, "header 'day' is \"abc\", expected a whole number"),
    ({"day": 30}, {}, "do not match the checksum"),  # (saved before day 60)
    ({"day": 900}, {}, "bad day 900"),
])
def test_hand_edited_checkpoints_are_refused(mali, saved, tmp_path: Path, header, values,
                                             message) -> None:
    """Found by a review: an index of 2e9 made `run --resume` segfault (even with --check), a
    header `[]` or a day "abc" raised a traceback, and a day moved from 60 to 30 was accepted
    (the result silently differed)."""
    path, _ = saved
    bad = hand_edit(path, tmp_path / "bad.npz", header, values)
    with pytest.raises(CheckpointError, match="checkpoint was modified or damaged") as err:
        load_checkpoint(bad, compile_plan(mali), 3)
    assert message in str(err.value) and str(bad) in str(err.value)


def test_cli_refuses_a_hand_edited_checkpoint_instead_of_crashing(flee_cases: Path, saved,
                                                                  tmp_path: Path) -> None:
    path, _ = saved
    out = tmp_path / "run"
    hand_edit(path, checkpoint_path(out), values={"where": (0, 2_000_000_000)})
    r = corredor("run", str(flee_cases / "mali2012"), "--hasten", "20", "--days", "90", "--seed",
                 "3", "--resume", "--check", "--out", str(out))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"{checkpoint_path(out)}: checkpoint was modified or damaged" in " ".join(r.stderr.split())
    assert "Traceback" not in r.stdout + r.stderr and not out.exists()


def _resigned(plan, seed: int, state: dict, day: int, dst: Path, values: dict) -> Path:
    """A checkpoint written through save_checkpoint (a valid checksum) with cells changed."""
    state = {k: v.copy() for k, v in state.items()}
    for key, (index, value) in values.items():
        state[key][index] = value
    return save_checkpoint(dst, plan, seed, day, state)


@pytest.mark.parametrize("values, message", [
    ({"where": (0, 2_000_000_000)}, "where[0] = 2000000000, expected -"),
    ({"where": (1, -10_000)}, "where[1] = -10000"),
    ({"path": (0, 10**9)}, "path[0] = 1000000000"),
    ({"toc": (0, 10**6)}, "toc[0] = 1000000"),
    ({"pop": (0, -5)}, "pop[0] = -5"),
    ({"prog": (0, np.inf)}, "prog[0] = inf"),
    ({"flags": (0, 9)}, "flags[0] = 9"),
    ({"spawned": (70, 4)}, "records of day 60 or later"),
])
def test_every_array_of_an_agent_checkpoint_is_range_checked(mali, saved, tmp_path: Path, values,
                                                             message) -> None:
    """Even with a valid checksum (written through the API), no index a kernel follows leaves its
    array, and the records agree with the day."""
    path, _ = saved
    plan = compile_plan(mali)
    ck = load_checkpoint(path, plan, 3)
    bad = _resigned(plan, 3, ck.state, ck.day, tmp_path / "bad.npz", values)
    with pytest.raises(CheckpointError, match="modified or damaged") as err:
        load_checkpoint(bad, plan, 3)
    assert message in str(err.value)


def test_the_day_must_match_the_arrays_it_is_stored_with(mali, saved, tmp_path: Path) -> None:
    """The day-60 state stored as day 30 or day 75 (checksum recomputed): refused, not a
    silently different run."""
    path, _ = saved
    plan = compile_plan(mali)
    ck = load_checkpoint(path, plan, 3)
    for day in (30, 75):
        bad = save_checkpoint(tmp_path / f"d{day}.npz", plan, 3, day, ck.state)
        with pytest.raises(CheckpointError, match="modified or damaged"):  # (day 30: a conflict
            load_checkpoint(bad, plan, 3)                                  # began on day 30)


def test_a_crisis_checkpoint_is_range_checked_and_tied_to_its_day(crisis_saved, tmp_path: Path) -> None:
    from corredor.engine.checkpoint import crisis_identity
    from corredor.engine.rules.crisis_plan import compile_crisis

    scenario, path, _ = crisis_saved
    plan = compile_crisis(scenario)
    ident = crisis_identity(scenario, plan.n_days)
    ck = load_checkpoint(path, ident, 9, crisis=plan)
    n = int(plan.spawn_offset[ck.day])
    for values, message in [
        ({"people.node": (0, 2_000_000_000)}, "people.node[0] = 2000000000"),
        ({"people.at_cross": (0, len(plan.crossing_names) - 1)}, "people.at_cross[0]"),  # ELSEWHERE
        ({"people.dest": (3, -1)}, "people.dest[3] = -1"),
        ({"people.state": (n, 1)}, "people.state"),  # someone departed before their day
        ({"out.exited": (ck.day + 1, 5)}, "records of day 120 or later"),
    ]:
        hand = _resigned(ident, 9, ck.state, ck.day, tmp_path / "bad.npz", values)
        with pytest.raises(CheckpointError, match="modified or damaged") as err:
            load_checkpoint(hand, ident, 9, crisis=plan)
        assert message in str(err.value), values
    for day in (80, 140):  # the day-120 state stored as another day, checksum recomputed
        moved = save_checkpoint(tmp_path / "moved.npz", ident, 9, day, ck.state)
        with pytest.raises(CheckpointError, match="modified or damaged"):
            load_checkpoint(moved, ident, 9, crisis=plan)
    edited = hand_edit(path, tmp_path / "edited.npz", header={"day": 80})
    with pytest.raises(CheckpointError, match="do not match the checksum"):
        load_checkpoint(edited, ident, 9, crisis=plan)


def test_a_garbage_file_is_not_a_corredor_checkpoint(mali, tmp_path: Path) -> None:
    """Found by a review: numpy's text about `allow_pickle` and loading unsafely was shown."""
    plan = compile_plan(mali)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(bytes(range(256)) * 8)
    pickled = tmp_path / "objects.npz"
    np.savez(pickled, __header__=np.array("{}"), where=np.array([{"x": 1}], dtype=object))
    import io
    import struct
    import zipfile

    broken = tmp_path / "broken.npz"  # an .npy header cut mid-expression (numpy raised TokenError)
    text = b"{'descr': '<i4', 'fortran_order': False, 'shape': (3,\n"
    with zipfile.ZipFile(broken, "w") as zf:
        buf = io.BytesIO()
        np.save(buf, np.array("{}"))
        zf.writestr("__header__.npy", buf.getvalue())
        zf.writestr("where.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text)
    for bad, message in ((garbage, "not a corredor checkpoint"), (pickled, "Python objects"),
                         (broken, "array 'where' is damaged")):
        with pytest.raises(CheckpointError, match=message) as err:
            load_checkpoint(bad, plan, 3)
        assert "pickle" not in str(err.value) and "unsafe" not in str(err.value)


def test_a_mismatch_names_the_setting_that_differs(flee_cases: Path, mali, saved) -> None:
    """Found by a review: --days and --hasten mismatches were reported as "another scenario
    (plan hash)" with two 64-character hashes."""
    path, _ = saved
    for plan, message in [
        (compile_plan(mali.with_days(80)), "written for another number of days (--days): 90, this run has 80"),
        (compile_plan(load_scenario(flee_cases / "mali2012", hasten=10, days=90)),
         "written for another hasten (--hasten): 20, this run has 10"),
        (compile_plan(mali.with_settings(move_rules={"camp_weight": 3.0})),
         "written for another scenario: the files or settings of 'mali2012' differ"),
    ]:
        with pytest.raises(CheckpointError, match=re.escape(message)) as err:
            load_checkpoint(path, plan, 3)
        assert not re.search(r"[0-9a-f]{64}", str(err.value))
    older = hand_edit(path, path.with_name("older.npz"), header={"format": "corredor-checkpoint-2"})
    with pytest.raises(CheckpointError, match="'corredor-checkpoint-2' of another corredor version"):
        load_checkpoint(older, compile_plan(mali), 3)
