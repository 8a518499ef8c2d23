"""simulate(): run a scenario (or a compiled Plan) and return Results.

Why here and not in the engine: this is where engines are chosen, the Plan is compiled once, the
engine's arrays become a labelled xarray.Dataset (docs/architecture.md) and the manifest is filled
(scenario hash, seed, engine, timing, metrics against the observations).

>>> res = simulate(load_scenario("../shared/data/flee/mali2012"), seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
import time
from collections.abc import Callable
from os import PathLike
from typing import Any

import numpy as np
import xarray as xr

from .engine import seed_text
from .plan import Plan, compile_plan, links_closed
from .provenance import provenance, source_path
from .results import Results
from .scenario.model import Scenario, whole_number_refusal

ENGINES = ("auto", "agents", "cohorts")
BACKENDS = ("cpu", "gpu")


def _probe_dask_lazily() -> None:
    """Let xarray ask "is this a dask array?" without importing dask.array until dask.array is
    imported by someone else.

    Why: xarray answers that question for every variable it makes by importing dask.array (0.25 s
    of CPU, a tenth of a whole `corredor run` on burundi) when dask is installed. No object can be
    a dask array before dask.array is imported, so until then the answer "no" is exact; afterwards
    xarray's own probe takes over. Does nothing if xarray's internals are not as expected.
    """
    try:
        from xarray.namedarray import pycompat
    except ImportError:
        return
    # (Any: private xarray names, checked below before use)
    cache: Any = getattr(pycompat, "_cached_duck_array_modules", None)
    probe: Any = getattr(pycompat, "DuckArrayModule", None)
    if not isinstance(cache, dict) or probe is None or "dask" in cache:
        return

    class _LazyDask:
        def _real(self) -> Any:
            mod = probe("dask")
            cache["dask"] = mod
            return mod

        @property
        def type(self) -> tuple[type, ...]:
            return self._real().type if "dask.array" in sys.modules else ()

        def __getattr__(self, name: str) -> Any:  # module, version, available: ask for real
            return getattr(self._real(), name)

    cache["dask"] = _LazyDask()


_probe_dask_lazily()


def _version() -> str:
    from . import __version__

    return __version__


def results_from_output(plan: Plan, out: Any, seed: int, engine: str, wall_s: float) -> Results:
    """Label an engine's arrays (agents) as the Results dataset and write the manifest.

    The dataset owns its arrays: the Plan's (observations, coordinates, distances) are copied, so
    editing a result in place (`ds["observed"] *= h`) cannot change a later run of the same Plan.
    """
    days = np.arange(plan.n_days)
    dates = np.array([np.datetime64(plan.start_date + dt.timedelta(days=int(t))) for t in days],
                     dtype="datetime64[ns]")
    loc = list(plan.location_names)
    names = np.array(loc, dtype=object)
    coords = {
        "day": ("day", days, {"units": "day", "long_name": "day index from the start date"}),
        "date": ("day", dates),
        "location": ("location", names),
        "country": ("location", np.array(plan.countries, dtype=object)),
        "kind": ("location", np.array(plan.kinds, dtype=object)),
        # locations.csv's region (admin 1; "" where unknown): the tables' `adm1`
        "region": ("location", np.array(plan.regions or [""] * len(loc), dtype=object)),
        "lat": ("location", plan.lat.copy(), {"units": "degrees_north"}),
        "lon": ("location", plan.lon.copy(), {"units": "degrees_east"}),
        "is_camp": ("location", plan.camp0.copy()),
        "route": ("route", np.arange(plan.n_links)),
        "route_from": ("route", np.array([loc[i] for i in plan.link_from], dtype=object)),
        "route_to": ("route", np.array([loc[i] for i in plan.link_to], dtype=object)),
        "distance_km": ("route", plan.link_km.copy(), {"units": "km"}),
    }
    if plan.climates:  # locations.csv's climate: `cold` places get the cold-climate covered space
        coords["climate"] = ("location", np.array(plan.climates, dtype=object))
    h = plan.hasten
    people = {"units": "people" if h == 1 else "agents"}  # at hasten h one agent stands for h people
    data_vars = {
        "population": (("day", "location"), out.population, {**people, "long_name": "people at the location at the end of the day (not on links)"}),
        "arrivals": (("day", "location"), out.arrivals, {**people, "long_name": "arrivals during the day"}),
        "departures": (("day", "location"), out.departures, {**people, "long_name": "departures during the day"}),
        "travellers": (("day", "route"), out.travellers, {**people, "long_name": "people on the link at the end of the day"}),
        "spawned": (("day",), out.spawned, {**people, "long_name": "people created that day"}),
        "total_people": (("day",), np.cumsum(out.spawned) + int(plan.insert0.sum()), {**people, "long_name": "people ever created up to the end of the day"}),
        "observed": (("day", "location"), plan.observed.copy(), {**people, "long_name": "observed daily data (Flee's data column)"}),
        "observed_total": (("day",), plan.observed_total.copy(), {**people, "long_name": "refugees in camps (UNHCR)"}),
        "refugee_debt": (("day",), plan.debt.copy(), {**people, "long_name": "Flee's refugee_debt"}),
        "refugees_raw": (("day",), plan.raw_total.copy(), {**people, "long_name": "Flee's raw UNHCR refugee count (Σ daily differences)"}),
    }
    closed = links_closed(plan)
    if closed.any():  # closures.csv's border and link closures, for the map and the tables
        data_vars["route_closed"] = (("day", "route"), closed,
                                     {"units": "1", "long_name": "the link is closed (closures.csv)"})
    ds = xr.Dataset(data_vars=data_vars, coords=coords,
                    attrs={"scenario": plan.name, "hasten": h, "start_date": plan.start_date.isoformat(),
                           "people_per_agent": h, "engine": engine})
    manifest: dict[str, Any] = {
        "scenario": {"name": plan.name, "sha256": plan.scenario_sha256,
                     **({"source": source_path(plan.source)} if plan.source else {})},
        "seed": int(seed),
        "seed_text": seed_text(seed),  # (every digit: JSON readers that use doubles round past 2^53)
        "engine": engine,
        "backend": "cpu",
        "version": _version(),
        "hasten": h,
        "days": plan.n_days,
        "start_date": plan.start_date.isoformat(),
        "threads": int(out.threads),
        "timing": {"wall_s": float(wall_s), "loop_s": float(out.loop_s), "agent_steps": int(out.agent_steps)},
        "memory": {"bytes_per_agent": float(out.bytes_per_person), "agents": plan.total_agents},
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "provenance": provenance(),
        "warnings": list(plan.warnings),
    }
    if plan.overrides:  # (`apply_overrides`' values: the source folder with them is what ran)
        manifest["set"] = dict(plan.overrides)
    if plan.sources:  # (a Flee case's observed data: its page credits them from the run folder)
        manifest["sources"] = [dict(x) for x in plan.sources]
    if plan.provided:  # (what the loader read as provided: the needs' gaps, outputs/tables.needs_for)
        manifest["provided"] = [dict(x) for x in plan.provided]
    res = Results(ds, manifest)
    if plan.has_observations and plan.camp0.any():
        from .analysis.metrics import ard_summary

        manifest["metrics"] = ard_summary(res)
    return res


def draws_refusal(draws: str, engine: str, scenario_or_plan: Scenario | Plan) -> str | None:
    """Why `draws` cannot run with `engine` on this scenario, or None if it can (simulate and the
    CLI refuse with this message)."""
    from .engine.agents import DRAWS

    if draws not in DRAWS:
        return f"unknown draws '{draws}'; choose one of {', '.join(DRAWS)}"
    if draws != "gaps" and engine == "cohorts":
        return (f"draws '{draws}' is how the agent engine draws movers; the cohort engine moves "
                "counts (use engine 'agents' or 'auto')")
    if draws != "gaps" and isinstance(scenario_or_plan, Scenario) and scenario_or_plan.crisis is not None:
        return f"draws '{draws}' applies to Flee's rules, not to border-crisis scenarios"
    return None


def simulate(scenario_or_plan: Scenario | Plan, seed: int = 0, engine: str = "auto",
             threads: int | None = None, check: bool = False, backend: str = "cpu",
             draws: str = "gaps") -> Results:
    """Run one replica; `engine` is "auto" (default), "agents" or "cohorts".

    "auto" picks the engine with the lower estimated one-thread cost (agent-steps against the cohort
    engine's cells × days, `corredor.engine.cohorts.engine_for`); a rule that needs each person's
    history (avoid_short_stints) forces the agent engine. The choice and its reason are in
    `manifest["engine_choice"]` (for a border-crisis scenario too: its engine, whatever was asked;
    a `caveat` where the cohort engine ran a case with camp capacities, approximate there). The same
    seed gives identical Results on any number of threads. Border-crisis scenarios
    (`scenario.crisis` set) go to `corredor.engine.crisis.simulate_crisis` whatever `engine` is;
    they simulate every person, and one with a hasten other than 1 is refused with a ValueError
    (as `run --hasten` refuses it), not run at hasten 1.
    `backend="gpu"` runs the agent engine on CUDA (`corredor.engine.gpu`, docs/performance.md).
    `draws` is how the agent engine draws who moves (`corredor.engine.agents.DRAWS`): "gaps" (the
    default) or "bernoulli" (one draw per person; the GPU's fast pass A). Both give the same
    distribution, each its own numbers for a seed; "bernoulli" runs the agent engine (a Flee case
    with engine "auto" too) and is refused with "cohorts" and border-crisis scenarios.

    `scenario_or_plan` is a Scenario or a Plan; anything else (a path too: `load_scenario` it
    first) is a TypeError. `seed` is a whole number from 0 to 2**64-1 (the engines' 64-bit key word); anything else is
    refused with a ValueError (a larger seed would repeat a smaller one's numbers). `threads` is
    None (numba's default: every core) or a whole number ≥ 1, cut to the machine's threads; else a
    ValueError, as `run --threads` refuses it.

    `manifest["timing"]["compile_s"]` is the time numba spent compiling kernels during the call
    (a first run on a machine; later runs load them from numba's cache).

    >>> res = simulate(scenario, seed=3, threads=1)  # doctest: +SKIP
    """
    return _timing_compiles(lambda: _simulate(scenario_or_plan, seed, engine, threads, check, backend, draws))


def simulate_crisis_plan(scenario: Scenario, plan: Any, seed: int = 0, threads: int | None = None,
                         check: bool = False) -> Results:
    """`simulate(scenario, seed)` of a border-crisis scenario whose plan (`compile_crisis`) is
    compiled already: a comparison's runs compile it once for all their seeds. The same Results,
    its manifest's `engine_choice` and `timing.compile_s` included (the main job's run folders had
    neither: docs/outputs.md says every run folder has both)."""
    return _timing_compiles(lambda: _crisis(scenario, seed, threads, check, "auto", plan))


def _timing_compiles(run: Callable[[], Results]) -> Results:
    """`run()`, with the seconds numba spent compiling during it in `manifest["timing"]["compile_s"]`."""
    from numba.core import event

    with event.install_recorder("numba:compile") as recorder:
        res = run()
    res.manifest.setdefault("timing", {})["compile_s"] = round(compile_seconds(recorder.buffer), 3)
    return res


def _crisis(scenario: Scenario, seed: int, threads: int | None, check: bool, engine: str,
            plan: Any = None) -> Results:
    """A border-crisis run on the crisis engine, whatever `engine` was asked, saying so in
    `manifest["engine_choice"]`."""
    from .engine.crisis import simulate_crisis

    res = simulate_crisis(scenario, seed=seed, threads=threads, check=check, plan=plan)
    res.manifest["engine_choice"]["asked"] = engine  # (the engine's record, with what was asked)
    if check:  # the dataset too, not only the engine's state (engine/invariants.py)
        from .engine.invariants import check_results

        check_results(res)
    return res


def capacity_caveat(plan: Plan) -> str | None:
    """What a run of the cohort engine on `plan` should say of itself: approximate where a camp's
    capacity binds, with a wider spread there; None for a plan without camp capacities, where it
    is exact in distribution. Why: every shipped Flee case has capacity-bound camps, and at
    mali2012's Tabareybarey (hasten 10, day 50) the cohorts' 5–95 % band is 2.5–2.8 times as wide
    as the agents', their SD 1.5–1.8 times (docs/validation.md, "Cohorts vs agents")."""
    capped = int(np.count_nonzero(np.asarray(plan.capacity) >= 1))
    if not capped:
        return None
    return (f"{capped} camp{'s have' if capped != 1 else ' has'} a capacity here: the cohort engine is "
            "exact in distribution only where no capacity binds, approximate at a camp near its "
            "capacity, where its spread over seeds can be wider than the agent engine's (about twice "
            "at one of mali2012's camps; docs/validation.md, \"Cohorts vs agents\"); --engine agents "
            "follows Flee's serial order there")


def compile_seconds(events: list[tuple[float, Any]]) -> float:
    """Seconds within outermost numba compile events (a kernel compiles the functions it calls
    inside its own event: nested events are not counted twice)."""
    depth, start, total = 0, 0.0, 0.0
    for ts, ev in events:
        if ev.is_start:
            if depth == 0:
                start = ts
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                total += ts - start
    return total


def _simulate(scenario_or_plan: Scenario | Plan, seed: int, engine: str, threads: int | None,
              check: bool, backend: str, draws: str) -> Results:
    """The body of `simulate` (see there)."""
    t0 = time.perf_counter()
    if not isinstance(scenario_or_plan, Scenario | Plan):  # (a path failed deep inside, 'str' has no 'crisis')
        hint = " (load_scenario(path) first)" if isinstance(scenario_or_plan, str | PathLike) else ""
        raise TypeError(f"simulate takes a Scenario or a Plan, found {type(scenario_or_plan).__name__}{hint}")
    from .engine.rng import seed_refusal

    if (why := seed_refusal(seed)) is not None:
        raise ValueError(why)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    refusal = draws_refusal(draws, engine, scenario_or_plan)
    if refusal:
        raise ValueError(refusal)
    if threads is not None and (why := whole_number_refusal("threads", threads, 1)) is not None:
        raise ValueError(why)  # (0, -1 and 1.5 ran on one thread, as if asked for)
    if backend == "gpu":
        from .engine.gpu import simulate_gpu

        return simulate_gpu(scenario_or_plan, seed=seed, engine=engine, check=check, draws=draws)
    if isinstance(scenario_or_plan, Scenario) and scenario_or_plan.crisis is not None:
        return _crisis(scenario_or_plan, seed, threads, check, engine)
    plan = scenario_or_plan if isinstance(scenario_or_plan, Plan) else compile_plan(scenario_or_plan)
    from .engine.cohorts import engine_for

    chosen, reason = engine_for(plan)
    if engine != "auto":
        chosen, reason = engine, "asked for"
    elif draws != "gaps":
        chosen, reason = "agents", f"draws {draws!r} is an agent-engine option"
    if chosen == "cohorts":
        from .engine.cohorts import run_cohorts

        out = run_cohorts(plan, seed=seed, threads=threads, check=check)
    else:
        from .engine.agents import run_agents

        out = run_agents(plan, seed=seed, threads=threads, check=check, draws=draws)
    res = results_from_output(plan, out, seed, chosen, time.perf_counter() - t0)
    if chosen == "agents":
        res.manifest["draws"] = draws
    res.manifest["engine_choice"] = {"asked": engine, "engine": chosen, "reason": reason}
    if chosen == "cohorts":  # (approximate where a camp's capacity binds: said where it may)
        if (caveat := capacity_caveat(plan)) is not None:
            res.manifest["engine_choice"]["caveat"] = caveat
    stats = getattr(out, "cohort_stats", None)
    if stats is not None:
        from .engine.cohorts import BYTES_PER_CELL

        res.manifest["cohorts"] = {"cells_max": int(stats.cells.max(initial=0)),
                                   "binomial_draws": int(stats.draws.sum())}
        # the cohort engine has no per-agent columns (its 0 bytes per agent read as a fault): its
        # memory grows with the cells, whatever the number of agents
        res.manifest["memory"] = {"bytes_per_cell": BYTES_PER_CELL, "agents": plan.total_agents}
    if check:  # the dataset too, not only the engine's state (engine/invariants.py)
        from .engine.invariants import check_results

        check_results(res)
    return res
