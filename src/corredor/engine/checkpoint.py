"""Checkpoints of the day loops: save the state every N days, resume after a crash.

Why: long runs on shared machines get killed. The agent engine carries everything from one day to
the next in the arrays of `agents.initial_state`, the crisis engine in `crisis.pack_state`, and
every random number is keyed by (seed, day, ...), so a run resumed from a saved state gives exactly
the result of a run that was never interrupted (tests/test_checkpoint.py kills one with SIGKILL).

A checkpoint is one `.npz` file (plain arrays, no pickles) holding that state, the next day to run
and a JSON header with the scenario/plan hash and the seed; a checkpoint written for another plan
or seed is refused. It is written under a temporary name in the same folder, flushed to disk and
renamed, so the file under its final name is always complete.

>>> res = simulate_with_checkpoints(scenario, seed=1, every=50, path=Path("run.checkpoint.npz"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..plan import Plan, compile_plan
from ..scenario.model import Scenario
from .agents import initial_state, run_agents

#: Written into every checkpoint; a file with another format is refused.
FORMAT = "corredor-checkpoint-2"  # 2: crisis people carry goal and gave_up_on
_HEADER = "__header__"


class CheckpointError(ValueError):
    """A checkpoint cannot be used: unreadable, or written for another plan, seed or format."""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the day to run next and the engine state before it."""

    day: int
    state: dict[str, np.ndarray]
    header: dict[str, Any]


def checkpoint_path(out_dir: str | os.PathLike) -> Path:
    """Where `corredor run --out DIR` keeps its checkpoint: `DIR.checkpoint.npz` beside DIR.

    Beside, not inside: the run folder itself appears only once complete (outputs/runfolder.py).
    """
    out = Path(out_dir)
    return out.with_name(out.name + ".checkpoint.npz")


def _identity(target: Plan | dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint must match: engine, scenario hash, days, hasten (a Plan: the agent engine)."""
    if isinstance(target, Plan):
        return {"engine": "agents", "scenario": target.name, "plan_sha256": target.scenario_sha256,
                "n_days": int(target.n_days), "hasten": int(target.hasten)}
    return dict(target)


def crisis_identity(scenario: Scenario, n_days: int) -> dict[str, Any]:
    """The identity of a crisis run (the crisis engine has no Plan hash of its own)."""
    from .crisis import scenario_hash

    return {"engine": "crisis", "scenario": scenario.name, "plan_sha256": scenario_hash(scenario),
            "n_days": int(n_days), "hasten": 1}


def _header(target: Plan | dict[str, Any], seed: int, day: int) -> dict[str, Any]:
    return {"format": FORMAT, **_identity(target), "seed": int(seed), "day": int(day)}


def save_checkpoint(path: str | os.PathLike, plan: Plan | dict[str, Any], seed: int, day: int,
                    state: dict[str, np.ndarray]) -> Path:
    """Write the state before `day` atomically (temporary file, fsync, rename) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # (values typed Any: numpy's stub would match **arrays against savez's allow_pickle: bool)
    arrays: dict[str, Any] = {k: np.asarray(v) for k, v in state.items()}
    arrays[_HEADER] = np.array(json.dumps(_header(plan, seed, day), sort_keys=True))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, plan: Plan | dict[str, Any], seed: int) -> Checkpoint:
    """Read a checkpoint for `plan` (or a crisis identity) and `seed`; CheckpointError if another run's."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint ({exc})") from exc
    try:
        header = json.loads(str(arrays.pop(_HEADER)))
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a corredor checkpoint (no header)") from exc
    want = _header(plan, seed, 0)
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {header.get('format')!r}, expected {FORMAT!r}")
    for key, label in (("engine", "engine"), ("plan_sha256", "scenario (plan hash)"),
                       ("seed", "seed"), ("n_days", "number of days"), ("hasten", "hasten")):
        if header.get(key) != want[key]:
            raise CheckpointError(
                f"{path}: written for another {label} ({header.get(key)!r}, this run has "
                f"{want[key]!r}); delete it or run without --resume"
            )
    if isinstance(plan, Plan):
        expected = {k: (v.shape, v.dtype) for k, v in initial_state(plan).items()}
    else:  # crisis: the hash fixes every shape; the columns must be there
        expected = {k: (v.shape, v.dtype) for k, v in arrays.items()}
        if not any(k.startswith("people.") for k in arrays) or "agent_steps" not in arrays:
            raise CheckpointError(f"{path}: not a crisis checkpoint (no people columns)")
        from .rules.crisis_state import People

        columns = {f"people.{f.name}" for f in fields(People) if f.name != "n"}
        if columns != {k for k in arrays if k.startswith("people.")}:
            raise CheckpointError(f"{path}: the people columns are not this version's; "
                                  "delete it or run without --resume")
    for key, (shape, dtype) in expected.items():
        got = arrays.get(key)
        if got is None or got.shape != shape or got.dtype != dtype:
            raise CheckpointError(f"{path}: array {key!r} missing or of the wrong shape")
    day = int(header.get("day", -1))
    n_days = int(want["n_days"])
    if not 0 < day < n_days:
        raise CheckpointError(f"{path}: bad day {day} (expected 1..{n_days - 1})")
    return Checkpoint(day, {k: arrays[k] for k in expected}, header)


def simulate_with_checkpoints(
    scenario_or_plan: Scenario | Plan,
    seed: int = 0,
    *,
    every: int,
    path: str | os.PathLike,
    resume: bool = False,
    threads: int | None = None,
    check: bool = False,
) -> Any:
    """Run saving a checkpoint every `every` days at `path`; Results at the end.

    Flee scenarios run on the agent engine, border-crisis scenarios on the crisis engine. With
    `resume`, an existing checkpoint at `path` is loaded (and checked against the scenario and
    seed) and the run goes on from its day; without one the run starts at day 0. The result
    equals `simulate(..., engine="agents")` (or `simulate` for a crisis); the caller deletes the
    checkpoint once it has written the results.
    """
    from ..simulate import results_from_output

    t0 = time.perf_counter()
    if isinstance(scenario_or_plan, Scenario) and scenario_or_plan.crisis is not None:
        return _crisis_with_checkpoints(scenario_or_plan, seed, every, Path(path), resume, threads,
                                        check)
    plan = scenario_or_plan if isinstance(scenario_or_plan, Plan) else compile_plan(scenario_or_plan)
    path = Path(path)
    state, first = None, 0
    if resume and path.exists():
        ck = load_checkpoint(path, plan, seed)
        state, first = ck.state, ck.day

    def save(day: int, st: dict[str, np.ndarray]) -> None:
        save_checkpoint(path, plan, seed, day, st)

    out = run_agents(plan, seed=seed, threads=threads, check=check, state=state, first_day=first,
                     every=max(0, int(every)), on_checkpoint=save if every > 0 else None)
    res = results_from_output(plan, out, seed, "agents", time.perf_counter() - t0)
    res.manifest["engine_choice"] = {"asked": "agents", "engine": "agents",
                                     "reason": "checkpoints need the agent engine"}
    res.manifest["checkpoint"] = {"every_days": int(every), "resumed_from_day": first or None,
                                  "path": str(path)}
    if check:
        from .invariants import check_results

        check_results(res)
    return res


def _crisis_with_checkpoints(scenario: Scenario, seed: int, every: int, path: Path, resume: bool,
                             threads: int | None, check: bool) -> Any:
    from .crisis import simulate_crisis
    from .rules.crisis_plan import compile_crisis

    plan = compile_crisis(scenario)
    ident = crisis_identity(scenario, plan.n_days)
    state, first = None, 0
    if resume and path.exists():
        ck = load_checkpoint(path, ident, seed)
        state, first = ck.state, ck.day

    def save(day: int, st: dict[str, np.ndarray]) -> None:
        save_checkpoint(path, ident, seed, day, st)

    res = simulate_crisis(scenario, seed=seed, threads=threads, check=check, plan=plan, state=state,
                          first_day=first, every=max(0, int(every)),
                          on_checkpoint=save if every > 0 else None)
    res.manifest["checkpoint"] = {"every_days": int(every), "resumed_from_day": first or None,
                                  "path": str(path)}
    if check:
        from .invariants import check_results

        check_results(res)
    return res


def remove_checkpoint(path: str | os.PathLike) -> None:
    """Delete a checkpoint once its run folder is written (missing is fine)."""
    Path(path).unlink(missing_ok=True)
