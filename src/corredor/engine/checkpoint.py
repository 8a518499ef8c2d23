"""Checkpoints of the day loops: save the state every N days, resume after a crash.

Why: long runs on shared machines get killed. The agent engine carries everything from one day to
the next in the arrays of `agents.initial_state`, the crisis engine in `crisis.pack_state`, and
every random number is keyed by (seed, day, ...), so a run resumed from a saved state gives exactly
the result of a run that was never interrupted (tests/test_checkpoint.py kills one with SIGKILL).

A checkpoint is one `.npz` file (plain arrays, no pickles) holding that state, the next day to run
and a JSON header with the scenario/plan hash, the seed, the days, the hasten and a SHA-256 of
the header and the arrays; a checkpoint written for another run is refused, naming the setting
that differs. It is written under a temporary name in the same folder, flushed to disk and
renamed, so the file under its final name is always complete.

Loading checks everything a kernel relies on before one runs (the kernels index arrays with the
state's values and do not check bounds: a place index of 2e9 would write outside an array):
header types, the arrays' names, dtypes and shapes against the engine's initial state, the
checksum (a hand edit, of a value or of the day), then each value's range and the records
against the day (`_agent_state_problem`, `_crisis_state_problem`).

>>> res = simulate_with_checkpoints(scenario, seed=1, every=50, path=Path("run.checkpoint.npz"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..plan import Plan, compile_plan
from ..scenario.model import Scenario
from ..targets import remove_stale_temporaries, temporary_prefix
from .agents import initial_state, run_agents

#: Written into every checkpoint; a file with another format is refused.
#: 4: crisis records carry `held` (stop places); 3: the header records a SHA-256 of itself and the
#: arrays; 2: crisis people carry goal and gave_up_on
FORMAT = "corredor-checkpoint-4"
_HEADER = "__header__"
#: The header's keys and their JSON types (a checkpoint whose header differs is refused).
_HEADER_TYPES: dict[str, type] = {"format": str, "engine": str, "scenario": str, "plan_sha256": str,
                                  "n_days": int, "hasten": int, "seed": int, "day": int, "sha256": str}
#: The most bytes of header text read (a real one is a few hundred).
_MAX_HEADER = 1 << 16
_REDO = "delete it or run without --resume"


def _damaged(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"{path}: checkpoint was modified or damaged ({why}); {_REDO}")


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


def _digest(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of the header (without its own `sha256`) and of every array's name, dtype, shape
    and bytes: an edit of the day, or of any value, no longer matches."""
    h = hashlib.sha256(json.dumps({k: v for k, v in header.items() if k != "sha256"},
                                  sort_keys=True).encode())
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(json.dumps([key, a.dtype.str, list(a.shape)]).encode())
        h.update(a.data)  # (C-contiguous: its bytes, without a copy)
    return h.hexdigest()


def save_checkpoint(path: str | os.PathLike, plan: Plan | dict[str, Any], seed: int, day: int,
                    state: dict[str, np.ndarray]) -> Path:
    """Write the state before `day` atomically (temporary file, fsync, rename) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # (values typed Any: numpy's stub would match **arrays against savez's allow_pickle: bool)
    arrays: dict[str, Any] = {k: np.asarray(v) for k, v in state.items()}
    header = _header(plan, seed, day)
    header["sha256"] = _digest(header, arrays)
    arrays[_HEADER] = np.array(json.dumps(header, sort_keys=True))
    remove_stale_temporaries(path.parent, path.name)  # (a killed run's: as big as the state)
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path.name), suffix=".tmp", dir=path.parent)
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


class _Archive:
    """The arrays of an .npz file, each read only when asked for, after its shape and dtype are
    known (from the .npy header), so a damaged or hostile file never allocates more than the
    state it claims to be; never Python objects (allow_pickle=False)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, ValueError, EOFError):
            with open(path, "rb") as fh:
                head = fh.read(4)
            if head == b"PK\x03\x04":
                raise CheckpointError(f"{path}: unreadable checkpoint (truncated or damaged); "
                                      f"{_REDO}") from None
            raise CheckpointError(f"{path}: not a corredor checkpoint (not an .npz archive of "
                                  f"`corredor run --checkpoint-every`); {_REDO}") from None
        names = self.zip.namelist()
        if not names or not all(n.endswith(".npy") for n in names) or len(set(names)) != len(names):
            self.zip.close()
            raise CheckpointError(f"{path}: not a corredor checkpoint (not an .npz archive of "
                                  f"arrays); {_REDO}")
        self.keys = {n[: -len(".npy")] for n in names}
        self.info: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
        try:
            for key in self.keys:
                self.info[key] = self._peek(key)
        except BaseException:
            self.zip.close()
            raise

    def _unreadable(self, key: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: unreadable checkpoint (array {key!r} is damaged); {_REDO}")

    def _peek(self, key: str) -> tuple[tuple[int, ...], np.dtype]:
        from numpy.lib import format as npy

        try:
            with self.zip.open(key + ".npy") as fh:
                version = npy.read_magic(fh)
                if version == (1, 0):
                    shape, fortran, dtype = npy.read_array_header_1_0(fh)
                elif version == (2, 0):
                    shape, fortran, dtype = npy.read_array_header_2_0(fh)
                else:
                    raise ValueError(f"npy version {version}")
        except Exception:  # numpy parses a damaged .npy header with ast/tokenize: any of their errors
            raise self._unreadable(key) from None
        if dtype.hasobject:
            raise CheckpointError(f"{self.path}: not a corredor checkpoint (array {key!r} holds "
                                  f"Python objects, not plain numbers); {_REDO}")
        return tuple(int(n) for n in shape), dtype

    def read(self, key: str) -> np.ndarray:
        from numpy.lib import format as npy

        try:
            with self.zip.open(key + ".npy") as fh:
                return npy.read_array(fh, allow_pickle=False)
        except Exception:  # (as in _peek: a damaged member, whatever the parser raises)
            raise self._unreadable(key) from None

    def close(self) -> None:
        self.zip.close()


def _read_header(arc: _Archive) -> dict[str, Any]:
    """The JSON header: an object of the keys and types of _HEADER_TYPES, in this format."""
    path = arc.path
    not_ours = f"{path}: not a corredor checkpoint"
    if _HEADER not in arc.keys:
        raise CheckpointError(f"{not_ours} (no header); {_REDO}")
    shape, dtype = arc.info[_HEADER]
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * _MAX_HEADER:
        raise CheckpointError(f"{not_ours} (its header is not text); {_REDO}")
    try:
        header = json.loads(str(arc.read(_HEADER)))
    except (ValueError, RecursionError):
        raise CheckpointError(f"{not_ours} (its header is not JSON); {_REDO}") from None
    if not isinstance(header, dict):
        raise _damaged(path, f"its header is a JSON {type(header).__name__}, expected an object")
    fmt = header.get("format")
    if fmt != FORMAT:
        if isinstance(fmt, str) and fmt.startswith("corredor-checkpoint-"):
            raise CheckpointError(f"{path}: checkpoint format {fmt!r} of another corredor version "
                                  f"(this one reads {FORMAT!r}); {_REDO}")
        raise CheckpointError(f"{not_ours} (format {fmt!r}, expected {FORMAT!r}); {_REDO}")
    for key, typ in _HEADER_TYPES.items():
        value = header.get(key)
        if not isinstance(value, typ) or isinstance(value, bool):
            raise _damaged(path, f"header {key!r} is {json.dumps(value)[:40]}, expected "
                                 f"{'a whole number' if typ is int else 'a string'}")
    return header


#: How a mismatch of each identity key is described, in the order they are compared: the
#: settings a user changes first, the scenario's hash (its files and settings) last.
_MISMATCH = (("engine", "engine"), ("scenario", "scenario"), ("seed", "seed (--seed)"),
             ("n_days", "number of days (--days)"), ("hasten", "hasten (--hasten)"))


def _check_identity(path: Path, header: dict[str, Any], want: dict[str, Any]) -> None:
    for key, label in _MISMATCH:
        if header[key] != want[key]:
            raise CheckpointError(f"{path}: written for another {label}: {header[key]!r}, this run "
                                  f"has {want[key]!r}; {_REDO}")
    if header["plan_sha256"] != want["plan_sha256"]:
        raise CheckpointError(
            f"{path}: written for another scenario: the files or settings of {want['scenario']!r} "
            f"differ from when it was written (hash {header['plan_sha256'][:12]}…, now "
            f"{want['plan_sha256'][:12]}…); {_REDO}"
        )


def load_checkpoint(path: str | os.PathLike, plan: Plan | dict[str, Any], seed: int,
                    crisis: Any = None) -> Checkpoint:
    """Read a checkpoint for `plan` (or a crisis identity, with its CrisisPlan as `crisis`) and
    `seed`; CheckpointError if it is not one, is another run's, or was modified or damaged.

    Before any array is handed to a kernel: the header's keys and types, the run it was written
    for, the day, every array's name, dtype and shape (against the plan's initial state), the
    header's SHA-256 of the header and the arrays, then every value's range and the records
    against the day (`_agent_state_problem`, `_crisis_state_problem`).
    """
    path = Path(path)
    if not isinstance(plan, Plan) and crisis is None:
        raise TypeError("load_checkpoint: a crisis identity needs its CrisisPlan (crisis=...)")
    try:
        arc = _Archive(path)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({exc.strerror or exc})") from None
    try:
        header = _read_header(arc)
        want = _header(plan, seed, 0)
        _check_identity(path, header, want)
        day, n_days = header["day"], int(want["n_days"])
        if not 0 < day < n_days:
            raise _damaged(path, f"bad day {day}, expected 1..{n_days - 1}")
        if isinstance(plan, Plan):
            initial = initial_state(plan)
        else:
            from .crisis import initial_state as crisis_initial_state

            initial = crisis_initial_state(crisis)
        names = arc.keys - {_HEADER}
        if names != set(initial):
            odd = sorted(names ^ set(initial))
            raise CheckpointError(f"{path}: the arrays are not this version's state "
                                  f"({', '.join(odd[:4])}{'…' if len(odd) > 4 else ''} missing or "
                                  f"extra); {_REDO}")
        for key, ref in initial.items():
            shape, dtype = arc.info[key]
            if shape != ref.shape or dtype != ref.dtype:
                raise _damaged(path, f"array {key!r} is {dtype}{list(shape)}, this run's is "
                                     f"{ref.dtype}{list(ref.shape)}")
        arrays = {key: arc.read(key) for key in initial}
    finally:
        arc.close()
    if _digest(header, arrays) != header["sha256"]:
        raise _damaged(path, "its contents do not match the checksum in its header")
    problem = (_agent_state_problem(plan, day, arrays, initial) if isinstance(plan, Plan)
               else _crisis_state_problem(crisis, day, arrays, initial))
    if problem:
        raise _damaged(path, problem)
    return Checkpoint(day, arrays, header)


def _out_of(name: str, a: np.ndarray, lo: float, hi: float) -> str | None:
    """The first value of `a` outside lo..hi (or not finite), described; None if all are inside."""
    if a.size == 0:
        return None
    bad = ~((a >= lo) & (a <= hi)) if a.dtype.kind in "iub" else ~(np.isfinite(a) & (a >= lo) & (a <= hi))
    if not bad.any():
        return None
    i = np.unravel_index(int(np.flatnonzero(bad)[0]), a.shape)
    at = ",".join(str(int(k)) for k in i)
    return f"{name}[{at}] = {a[i].item()!r}, expected {lo:g}..{hi:g}"


def _first(checks: list[tuple[str, np.ndarray, float, float]]) -> str | None:
    for name, a, lo, hi in checks:
        problem = _out_of(name, a, lo, hi)
        if problem:
            return problem
    return None


def _records_problem(day: int, arrays: dict[str, np.ndarray], keys: list[str]) -> str | None:
    """The daily records of days ≥ `day` are still 0 (they are written as each day runs)."""
    for key in keys:
        if arrays[key][day:].any():
            return f"{key} holds records of day {day} or later: the day does not match the arrays"
    return None


def _agent_state_problem(plan: Plan, day: int, a: dict[str, np.ndarray],
                         initial: dict[str, np.ndarray]) -> str | None:
    """Ranges of the agent engine's state before `day` (every index a kernel follows stays in its
    array), its records against the day, and the people not yet created as initial_state has
    them. Whether the tallies match the people columns is --check's (every day)."""
    n_loc, n_links, cap = plan.n_locations, plan.n_links, max(plan.total_agents, 1)
    n_paths = len(plan.path_dest)
    big = float(np.iinfo(np.int64).max)
    problem = _first([
        ("where", a["where"], -n_links, n_loc - 1), ("path", a["path"], -1, n_paths - 1),
        ("hop", a["hop"], 0, 127), ("flags", a["flags"], 0, 3), ("scratch", a["scratch"], 0, cap - 1),
        ("toc", a["toc"], -1, day - 1), ("count", a["count"], 0, cap), ("link_count", a["link_count"], 0, cap),
        ("pop", a["pop"], 0, big), ("conflict", a["conflict"], -1.0, np.inf),
        ("mc_base", a["mc_base"], 0.0, np.inf), ("prog", a["prog"], 0.0, np.inf),
        ("rtd", a["rtd"], 0.0, np.inf), ("dday", a["dday"], 0.0, np.inf),
        *((k, a[k].view(np.uint8), 0, 1) for k in ("foreign", "camp", "town", "link_open")),
        *((k, a[k], 0, big) for k in ("pop_rec", "arr_rec", "dep_rec", "link_rec", "spawned", "alive", "rounds")),
    ])
    if problem:
        return problem
    moving = np.flatnonzero(a["path"] >= 0)  # a planned path: the next hop is one of its nodes
    if moving.size:
        p, h = a["path"][moving], a["hop"][moving].astype(np.int64)
        bad = (h < 1) | (plan.path_node_ptr[p] + h >= plan.path_node_ptr[p + 1])
        if bad.any():
            i = int(moving[np.flatnonzero(bad)[0]])
            return f"hop[{i}] = {a['hop'][i]} is past the end of path {a['path'][i]}"
    problem = _records_problem(day, a, ["pop_rec", "arr_rec", "dep_rec", "link_rec", "spawned",
                                        "alive", "rounds"])
    if problem:
        return problem
    created = np.concatenate([[0], np.cumsum(plan.spawn)]) + int(plan.insert0.sum())
    if not np.array_equal(a["alive"][:day], created[1:day + 1]) or \
            not np.array_equal(a["spawned"][:day], plan.spawn[:day]):
        return f"the people created by day {day} are not the plan's: the day does not match the arrays"
    n = int(created[day])
    for key in ("where", "prog", "path", "hop", "flags", "rtd", "dday"):
        if key in ("rtd", "dday") and a[key].shape[0] == 1:
            continue  # (avoid_short_stints off: one unused cell)
        if not np.array_equal(a[key][n:], initial[key][n:]):
            return f"{key} holds people not yet created by day {day}: the day does not match the arrays"
    return None


def _crisis_state_problem(plan: Any, day: int, a: dict[str, np.ndarray],
                          initial: dict[str, np.ndarray]) -> str | None:
    """Ranges of the crisis engine's state before `day`, its records against the day, and the
    people not yet departed as People.empty has them."""
    from .rules.crisis_state import LAST_STATE, UNBORN

    N, G, K = len(plan.names), len(plan.group_names), len(plan.link_from)
    D, C = len(plan.dest_nodes), len(plan.crossing_names) - 1  # (the last is ELSEWHERE: no queue)
    big = float(np.iinfo(np.int64).max)
    n = int(plan.spawn_offset[day])  # people departed before `day`
    p = {k[len("people."):]: v for k, v in a.items() if k.startswith("people.")}
    problem = _first([
        ("people.state", p["state"], UNBORN, LAST_STATE), ("people.group", p["group"], 0, G - 1),
        ("people.node", p["node"][:n], 0, N - 1), ("people.link", p["link"], -1, K - 1),
        ("people.km_left", p["km_left"], 0.0, np.inf), ("people.dest", p["dest"], 0, D - 1),
        ("people.goal", p["goal"], 0, D - 1), ("people.cash", p["cash"], 0.0, np.inf),
        ("people.waited", p["waited"], 0, big),  # (SHELTERED_TODAY never outlives its day)
        ("people.returning", p["returning"], 0, 1),
        ("people.gave_up_on", p["gave_up_on"], -1, day - 1), ("people.at_cross", p["at_cross"], -1, C - 1),
        ("people.prev", p["prev"], -1, N - 1), ("people.hops", p["hops"], 0, big),
        ("people.failed", p["failed"], 0, 1), ("people.arrived", p["arrived"], -1, N - 1),
        ("people.state", p["state"][:n], UNBORN + 1, LAST_STATE),
        ("agent_steps", a["agent_steps"], 0, big),
        *((k, v, 0.0, np.inf) for k, v in a.items() if k.startswith("out.")),
    ])
    if problem:
        return problem
    problem = _records_problem(day, a, [k for k in a if k.startswith("out.") and k != "out.event_moves"])
    if problem:
        return problem
    if int(a["agent_steps"]) != int(plan.spawn_offset[1:day + 1].sum()):
        return f"agent_steps is not the plan's for {day} days: the day does not match the arrays"
    for key, v in p.items():
        if not np.array_equal(v[n:], initial["people." + key][n:]):
            return f"people.{key} holds people not yet departed by day {day}: the day does not match the arrays"
    return None


def auto_would_pick_cohorts(plan: Plan) -> str | None:
    """Where `--engine auto` would have picked the cohort engine for `plan` (and checkpoints make
    the agent engine run instead): what that costs, with both one-thread estimates of
    `cohorts.cost_estimate`; None where auto picks the agent engine anyway.

    Why: at scale the agent engine is many times slower than the cohort engine (14× for car with
    4.8 M people), its memory grows with people and its numbers are not the cohort engine's; a
    user adding `--checkpoint-every` to protect a long run learnt that only after it.
    """
    from .cohorts import cost_estimate, engine_for

    if engine_for(plan)[0] != "cohorts":
        return None
    est = cost_estimate(plan)
    a, c = est["agents_s"], est["cohorts_s"]
    return (f"--engine auto would pick cohorts here: the agent engine is estimated at {a:.2g} CPU-s "
            f"on one thread against {c:.2g} s for cohorts (≈{a / max(c, 1e-12):.0f}×), its memory "
            "grows with people and its results differ from a run without checkpoints")


def simulate_with_checkpoints(
    scenario_or_plan: Scenario | Plan,
    seed: int = 0,
    *,
    every: int,
    path: str | os.PathLike,
    resume: bool = False,
    threads: int | None = None,
    check: bool = False,
    on_resume: Callable[[int, int], None] | None = None,
    asked: str = "agents",
) -> Any:
    """Run saving a checkpoint every `every` days at `path`; Results at the end.

    Flee scenarios run on the agent engine, border-crisis scenarios on the crisis engine. With
    `resume`, an existing checkpoint at `path` is loaded (and checked against the scenario and
    seed), `on_resume(day, n_days)` is called, and the run goes on from its day; without one the
    run starts at day 0. The result equals `simulate(..., engine="agents")` (or `simulate` for a
    crisis); the caller deletes the checkpoint once it has written the results. The manifest's
    `timing` covers this process only (`_timing_of_this_process`). `asked` is the engine the caller
    was asked for (`run --engine`), recorded in `manifest["engine_choice"]`; with "auto", where auto
    would have picked the cohort engine, the reason says so with both cost estimates
    (`auto_would_pick_cohorts`).
    """
    from ..simulate import results_from_output

    t0 = time.perf_counter()
    if isinstance(scenario_or_plan, Scenario) and scenario_or_plan.crisis is not None:
        return _crisis_with_checkpoints(scenario_or_plan, seed, every, Path(path), resume, threads,
                                        check, on_resume)
    plan = scenario_or_plan if isinstance(scenario_or_plan, Plan) else compile_plan(scenario_or_plan)
    path = Path(path)
    state, first, steps_before = None, 0, 0
    if resume and path.exists():
        ck = load_checkpoint(path, plan, seed)
        state, first = ck.state, ck.day
        steps_before = int(ck.state["alive"][:first].sum())  # (agent_steps is alive summed over days)
        if on_resume is not None:
            on_resume(first, int(plan.n_days))

    def save(day: int, st: dict[str, np.ndarray]) -> None:
        save_checkpoint(path, plan, seed, day, st)

    out = run_agents(plan, seed=seed, threads=threads, check=check, state=state, first_day=first,
                     every=max(0, int(every)), on_checkpoint=save if every > 0 else None)
    res = results_from_output(plan, out, seed, "agents", time.perf_counter() - t0)
    reason = "checkpoints need the agent engine"
    instead = auto_would_pick_cohorts(plan) if asked == "auto" else None
    if instead:
        reason += f"; {instead}"
    res.manifest["engine_choice"] = {"asked": asked, "engine": "agents", "reason": reason}
    res.manifest["checkpoint"] = {"every_days": int(every), "resumed_from_day": first or None,
                                  "path": str(path)}
    _timing_of_this_process(res.manifest, first, steps_before)
    if check:
        from .invariants import check_results

        check_results(res)
    return res


def _timing_of_this_process(manifest: dict[str, Any], first: int, steps_before: int) -> None:
    """Make a resumed run's `timing` count what this process ran: its loop time covers days
    `first`..N−1 only, and was paired with the whole run's agent-steps (a throughput 2.3× too
    high, read from the manifest or the `wrote` line). `agent_steps` becomes the steps of those
    days; `resumed_from_day` and `agent_steps_whole_run` say so. A run from day 0: unchanged."""
    if not first:
        return
    timing = manifest.setdefault("timing", {})
    whole = int(timing.get("agent_steps", 0))
    timing["agent_steps"] = whole - int(steps_before)
    timing["agent_steps_whole_run"] = whole
    timing["resumed_from_day"] = int(first)


def _crisis_with_checkpoints(scenario: Scenario, seed: int, every: int, path: Path, resume: bool,
                             threads: int | None, check: bool,
                             on_resume: Callable[[int, int], None] | None = None) -> Any:
    from .crisis import simulate_crisis
    from .rules.crisis_plan import compile_crisis

    plan = compile_crisis(scenario)
    ident = crisis_identity(scenario, plan.n_days)
    state, first, steps_before = None, 0, 0
    if resume and path.exists():
        ck = load_checkpoint(path, ident, seed, crisis=plan)
        state, first = ck.state, ck.day
        steps_before = int(ck.state["agent_steps"])  # (the steps of the days before `first`)
        if on_resume is not None:
            on_resume(first, int(plan.n_days))

    def save(day: int, st: dict[str, np.ndarray]) -> None:
        save_checkpoint(path, ident, seed, day, st)

    res = simulate_crisis(scenario, seed=seed, threads=threads, check=check, plan=plan, state=state,
                          first_day=first, every=max(0, int(every)),
                          on_checkpoint=save if every > 0 else None)
    res.manifest["checkpoint"] = {"every_days": int(every), "resumed_from_day": first or None,
                                  "path": str(path)}
    _timing_of_this_process(res.manifest, first, steps_before)
    if check:
        from .invariants import check_results

        check_results(res)
    return res
