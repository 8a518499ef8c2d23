"""Border-crisis engine: people travel toward a destination while crossings open and close.

The day is one fixed list of rule kernels (engine/rules/crisis_*.py), run in this order:

1. departures   people appear at their origins (group, destination, cash drawn per person)
2. policies     the day's slice of the policy tables: status (open / documents / closed) per
                crossing and group, capacity, militarisation, informal price and its success,
                admissions; the route tables of the day's policy epoch
3. route choice at every place reached, the next link toward the destination by cost
                (distance, price, risk, penalty for crossings the group cannot pass), logit
4. travel       up to `speed_km_per_day` (a route's own one where routes.csv gives it), over
                several links; stop at the start of a crossing; held at a stop place
                (locations.csv `stop = yes`) until an event moves them
5. crossings    everyone queued at a crossing, in order: regular (within capacity) → admission →
                paid (price from cash, with a success probability) → stranded (waiting)
6. waiting      everyone who failed today: give up (hazard grows with days waited; go to the
                fallback) → irregular attempt (success falls, pushback rises with militarisation)
                → wait one more day
7. events       transfers, flights, corridors scheduled for today (admissions act in step 5);
                they take people at their origin: waiting, sheltered or held there (not passers-by);
                an event's fare is paid from cash, and whoever cannot pay it is not taken
8. shelters     people in shelters give up at the waiting hazard × shelter_give_up_factor (from
                the day after their transfer), or stay
9. records      population and stranded by place and group, sheltered, held (at stop places),
                travellers, crossings by mode, pushbacks, give-ups, money paid (at crossings;
                fares), days-waited histogram

Travel (4) comes before the crossing attempts (5) so that arriving, queueing and being processed
happen on the same day: when a border is open nobody spends a night at the staging place, and a
camp forms only when people cannot pass. Every draw is keyed by (seed, day, stream, person), so a
seed gives the same results on any number of threads.

>>> res = simulate_crisis(load_scenario("scenarios/chile-peru-2023"), seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import numba as nb
import numpy as np
import xarray as xr

from .. import stopping
from ..provenance import provenance, source_path
from ..scenario.model import Crisis, Group, Scenario, location_climates, location_regions
from . import daycount, seed_text
from .parallel_lock import parallel_section
from .rng import seed_words
from .rules.crisis_cross import cross, wait_decide
from .rules.crisis_depart import depart
from .rules.crisis_events import run_events, shelter_step
from .rules.crisis_plan import (
    M_ADMISSION,
    M_CORRIDOR,
    M_FLIGHT,
    M_REGULAR,
    M_TRANSFER,
    MODES,
    WAIT_BIN_EDGES,
    WAIT_BIN_LABELS,
    CrisisPlan,
    compile_crisis,
)
from .rules.crisis_record import record
from .rules.crisis_state import People
from .rules.crisis_travel import travel


class InvariantError(AssertionError):
    """A check=True invariant failed: a bug in the rules, never a problem of the input."""


@dataclass
class CrisisResults:
    """Stand-in for corredor.results.Results when that module is not available."""

    dataset: xr.Dataset
    manifest: dict[str, Any]


#: Why a border-crisis scenario runs on this engine, whatever was asked (`engine_choice.reason`)
ENGINE_REASON = "a border-crisis scenario ([crisis]): its rules follow each person, on the crisis engine only"


def scenario_hash(scenario: Scenario) -> str:
    """A stable hash of the scenario's content (for manifests and caches): not its name, which
    changes no number (a copy under another name is the same scenario)."""
    text = repr((scenario.start_date, scenario.days, scenario.locations,
                 scenario.routes, scenario.crisis))
    return hashlib.sha256(text.encode()).hexdigest()


def simulate_crisis(
    scenario: Scenario,
    seed: int = 0,
    threads: int | None = None,
    check: bool = False,
    plan: CrisisPlan | None = None,
    state: dict[str, np.ndarray] | None = None,
    first_day: int = 0,
    every: int = 0,
    on_checkpoint: Callable[[int, dict[str, np.ndarray]], None] | None = None,
):
    """Run a crisis scenario for `scenario.days` days; return Results (dataset + manifest).

    `plan` may be passed to reuse compiled arrays across seeds (ensembles, fitting). For
    checkpoints (engine/checkpoint.py): `on_checkpoint(day, state)` is called every `every` days
    with the state before that day, and a run resumes from such a `state` at `first_day`.
    """
    t0 = time.perf_counter()
    plan = plan or compile_crisis(scenario)
    old_threads = nb.get_num_threads()
    if threads is not None:
        # numba.config sets NUMBA_NUM_THREADS at import time, out of mypy's sight
        nb.set_num_threads(max(1, min(int(threads), nb.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    used = nb.get_num_threads()  # (a request beyond the machine's threads is cut to them)
    try:  # (its depart, travel and record kernels are parallel: one thread at a time where
        # numba's threading layer needs it, engine/parallel_lock.py)
        with parallel_section():
            arrays = _run(plan, seed_words(seed), check, state, first_day, every, on_checkpoint)
    finally:
        nb.set_num_threads(old_threads)
    loop_s = time.perf_counter() - t0
    ds = _dataset(scenario, plan, arrays)
    manifest = {
        "scenario": {"name": scenario.name, "sha256": scenario_hash(scenario),
                     "source": source_path(scenario.source),
                     **({"variant": str(scenario.metadata["variant"])} if scenario.metadata.get("variant") else {}),
                     # (what the variant changes, for the first line of its page)
                     **{k: str(scenario.metadata[k]) for k in ("variant_label", "variant_description")
                        if scenario.metadata.get("variant") and scenario.metadata.get(k)},
                     **({"variant_file": source_path(scenario.metadata["variant_file"])}
                        if scenario.metadata.get("variant_file") else {}),
                     # (what it changes in effect, parameters and files: `native_crisis.variant_changes`)
                     **({"variant_changes": scenario.metadata["variant_changes"]}
                        if scenario.metadata.get("variant") and scenario.metadata.get("variant_changes") else {})},
        **({"provided": [dict(p) for p in scenario.crisis.provided]}
           if scenario.crisis is not None and scenario.crisis.provided else {}),
        "seed": int(seed),
        "seed_text": seed_text(seed),  # (every digit: JSON readers that use doubles round past 2^53)
        "engine": "crisis-agents",
        "backend": "cpu",
        "version": _version(),
        "hasten": 1,
        "days": int(plan.n_days),
        "start_date": scenario.start_date.isoformat(),
        "threads": int(used),
        "timing": {"wall_s": time.perf_counter() - t0, "loop_s": loop_s,
                   "agent_steps": int(arrays["agent_steps"])},
        "memory": {"people": int(plan.capacity_people)},
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        # (the plan's parameters are the scenario's; date parameters as YYYY-MM-DD)
        "parameters": replace(scenario.crisis or Crisis(), parameters=plan.params).parameter_dates(scenario.start_date),
        "provenance": provenance(),
        "warnings": [],
    }
    if scenario.metadata.get("overrides"):  # (`apply_overrides`' values: the source with them ran)
        manifest["set"] = dict(scenario.metadata["overrides"])
    # (as `simulate` says it, which puts in the engine asked: a run made here, a comparison's or
    # the main job's, says the same as `corredor run` of the scenario, results.parquet too)
    manifest["engine_choice"] = {"asked": "auto", "engine": "crisis-agents", "reason": ENGINE_REASON}
    return _make_results(ds, manifest)


def _version() -> str:
    try:
        from .. import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover
        return "unknown"


def _make_results(ds: xr.Dataset, manifest: dict[str, Any]):
    try:
        from ..results import Results
    except ImportError:
        return CrisisResults(ds, manifest)
    return Results(ds, manifest)


def pack_state(ppl: People, out: dict[str, np.ndarray], agent_steps: int) -> dict[str, np.ndarray]:
    """Everything the day loop carries to the next day, as flat named arrays (for checkpoints)."""
    st = {f"people.{f.name}": getattr(ppl, f.name) for f in fields(People) if f.name != "n"}
    st.update({f"out.{k}": v for k, v in out.items()})
    st["agent_steps"] = np.array(agent_steps, dtype=np.int64)
    return st


def initial_state(plan: CrisisPlan) -> dict[str, np.ndarray]:
    """The state before day 0 (pack_state's keys): nobody departed, every record 0.

    engine/checkpoint.py checks a saved state against it (keys, shapes, dtypes, the columns of
    people not yet departed).
    """
    T, N, G = plan.n_days, len(plan.names), len(plan.group_names)
    K, C1, B = len(plan.link_from), len(plan.crossing_names), len(WAIT_BIN_EDGES)
    out = {
        "population_by_group": np.zeros((T, N, G), dtype=np.int64),
        "travellers": np.zeros((T, K), dtype=np.int64),
        "stranded": np.zeros((T, N), dtype=np.int64),
        "stranded_by_group": np.zeros((T, N, G), dtype=np.int64),
        "sheltered": np.zeros((T, N), dtype=np.int64),
        "held": np.zeros((T, N), dtype=np.int64),
        "arrivals": np.zeros((T, N), dtype=np.int64),
        "days_waited": np.zeros((T, B), dtype=np.int64),
        "exited": np.zeros(T, dtype=np.int64),
        "crossings": np.zeros((T, C1, len(MODES)), dtype=np.int64),
        "pushbacks": np.zeros((T, C1), dtype=np.int64),
        "give_ups": np.zeros(T, dtype=np.int64),
        "money_paid_usd": np.zeros((T, C1), dtype=np.float64),
        "fares_paid_usd": np.zeros((T, C1), dtype=np.float64),
        "cannot_pay_fare": np.zeros((T, C1), dtype=np.int64),
        "event_moves": np.zeros(len(plan.ev_kind), dtype=np.int64),
    }
    return pack_state(People.empty(max(plan.capacity_people, 1)), out, 0)


def unpack_state(st: dict[str, np.ndarray]) -> tuple[People, dict[str, np.ndarray], int]:
    """The inverse of pack_state."""
    cols: dict[str, Any] = {k[len("people."):]: v for k, v in st.items() if k.startswith("people.")}
    ppl = People(**cols)  # (the columns only: pack_state leaves n out, and _run sets it each day)
    out = {k[len("out."):]: v for k, v in st.items() if k.startswith("out.")}
    return ppl, out, int(st["agent_steps"])


def _run(plan: CrisisPlan, seed: np.uint64, check: bool, state: dict[str, np.ndarray] | None = None,
         first_day: int = 0, every: int = 0,
         on_checkpoint: Callable[[int, dict[str, np.ndarray]], None] | None = None,
         ) -> dict[str, np.ndarray]:
    """The day loop: the kernels of the module docstring, in that order, once per day.

    Days first_day..T−1 from `state` (pack_state) when given; a split run equals a whole one.
    """
    T = plan.n_days
    N = len(plan.names)
    G = len(plan.group_names)
    K = len(plan.link_from)
    p = plan.params
    ppl, out, agent_steps = unpack_state(initial_state(plan) if state is None else state)
    ev_done_day = np.zeros(len(plan.ev_kind), dtype=np.int64)
    # (check: all the cash people were given, which they carry or have paid: `_check_cash`)
    cash_given = float(ppl.cash[:plan.spawn_offset[first_day]].sum() + out["money_paid_usd"][:first_day].sum()
                       + out["fares_paid_usd"][:first_day].sum()) if check else 0.0
    daycount.begin(first_day, T)
    days_done = daycount.DAYS
    for t in range(first_day, T):
        stopping.check()  # (a stop whose KeyboardInterrupt a finalizer swallowed ends the run here)
        days_done[0] = t  # (for `run`'s day counter: engine/daycount.py)
        if on_checkpoint is not None and every > 0 and t > first_day and t % every == 0:
            on_checkpoint(t, pack_state(ppl, out, agent_steps))
        # 1. departures
        lo, hi = int(plan.spawn_offset[t]), int(plan.spawn_offset[t + 1])
        depart(seed, t, lo, hi, plan.person_origin, plan.group_cdf, plan.dest_cdf,
               plan.group_cash_mean, plan.group_cash_sd,
               ppl.state, ppl.group, ppl.node, ppl.link, ppl.dest, ppl.goal, ppl.cash)
        ppl.n = hi
        n = ppl.n
        if check:
            cash_given += float(ppl.cash[lo:hi].sum())
        agent_steps += n
        # 2. policies of the day
        e = int(plan.epoch_of_day[t])
        status, mil = plan.status[t], plan.militarisation[t]
        # 3–4. route choice and travel
        travel(seed, t, n, p["speed_km_per_day"], e, p["route_temperature_km"],
               ppl.state, ppl.group, ppl.node, ppl.link, ppl.km_left, ppl.dest, ppl.returning,
               ppl.at_cross, ppl.hops, ppl.arrived,
               plan.out_start, plan.out_links, plan.link_to, plan.link_travel_km, plan.link_normal,
               plan.link_crossing, plan.link_cost, plan.togo, plan.dest_nodes, plan.stop)
        # 5. crossing attempts
        cross_out = out["crossings"][t]
        cross(seed, t, n, ppl.state, ppl.group, ppl.link, ppl.km_left, ppl.cash, ppl.waited,
              ppl.at_cross, ppl.failed, ppl.hops,
              status, plan.group_docs, plan.admission[t], plan.capacity_pool[t], plan.pool_cap,
              plan.admission_pool[t], plan.admission_pool_cap,
              plan.price[t], plan.bribe[t], plan.cross_link, plan.link_travel_km,
              cross_out, out["money_paid_usd"][t])
        # 6. waiting: give up / irregular attempt / wait
        give_ups = np.zeros(1, dtype=np.int64)
        wait_decide(seed, t, n, ppl.state, ppl.group, ppl.node, ppl.link, ppl.km_left, ppl.dest,
                    ppl.waited, ppl.returning, ppl.gave_up_on, ppl.at_cross, ppl.failed, ppl.hops,
                    p["give_up_base"], p["give_up_per_day"], p["irregular_try"],
                    p["irregular_success"], p["pushback_factor"], mil,
                    plan.cross_irr_link, plan.cross_pushback, plan.link_travel_km, plan.group_fallback,
                    cross_out, out["pushbacks"][t], give_ups)
        # 7. scheduled events
        ev_done_day[:] = 0
        run_events(seed, t, n, ppl.state, ppl.group, ppl.node, ppl.link, ppl.km_left, ppl.waited,
                   ppl.at_cross, ppl.failed, ppl.hops, ppl.arrived, ppl.returning, ppl.gave_up_on,
                   ppl.dest, ppl.goal, give_ups, plan.ev_kind, plan.ev_start, plan.ev_end, plan.ev_origin, plan.ev_dest,
                   plan.ev_people, plan.ev_groups, plan.ev_link, plan.ev_cross, plan.link_travel_km,
                   plan.shelter_cap, cross_out, ev_done_day, plan.stop,
                   plan.ev_fare, ppl.cash, out["fares_paid_usd"][t], out["cannot_pay_fare"][t])
        out["event_moves"] += ev_done_day
        # 8. shelters
        shelter_step(seed, t, n, ppl.state, ppl.group, ppl.dest, ppl.waited, ppl.returning,
                     ppl.gave_up_on,
                     p["give_up_base"], p["give_up_per_day"], p["shelter_give_up_factor"],
                     plan.group_fallback, give_ups)
        out["give_ups"][t] = give_ups[0]
        # 9. records
        pop, trav, strand, shelt, arr, hist, exited, held = record(
            n, N, G, K, WAIT_BIN_EDGES, ppl.state, ppl.group, ppl.node, ppl.link, ppl.waited,
            ppl.arrived)
        out["population_by_group"][t] = pop
        out["travellers"][t] = trav
        out["stranded_by_group"][t] = strand
        out["stranded"][t] = strand.sum(axis=1)
        out["sheltered"][t] = shelt
        out["held"][t] = held
        out["arrivals"][t] = arr
        out["days_waited"][t] = hist
        out["exited"][t] = exited
        if check:
            _check_day(plan, t, hi, out, ev_done_day)
            _check_cash(t, ppl.cash[:hi], cash_given, out)
    days_done[0] = T
    out["agent_steps"] = np.array(agent_steps, dtype=np.int64)  # (0-d, as in pack_state)
    return out


def _check_day(plan: CrisisPlan, t: int, created: int, out: dict[str, np.ndarray],
               ev_done: np.ndarray) -> None:
    """Invariants of one day (check=True): conservation, signs, capacities."""
    present = int(out["population_by_group"][t].sum())
    travelling = int(out["travellers"][t].sum())
    exited = int(out["exited"][t])
    if created != present + travelling + exited:
        raise InvariantError(f"day {t}: created {created} != present {present} + travelling "
                             f"{travelling} + exited {exited}")
    # (`held`: the records of a day loop; a dataset without stop places has none, i.e. nobody held)
    held = out["held"][t] if "held" in out else np.zeros_like(out["sheltered"][t])
    for key in ("population_by_group", "travellers", "stranded", "stranded_by_group", "sheltered", "crossings",
                "pushbacks", "money_paid_usd", "fares_paid_usd", "cannot_pay_fare", "days_waited", "arrivals"):
        if (out[key][t] < 0).any():
            raise InvariantError(f"day {t}: negative {key}")
    stranded = out["stranded"][t]
    if (stranded > out["population_by_group"][t].sum(axis=1)).any():
        raise InvariantError(f"day {t}: more stranded than present")
    if (out["stranded_by_group"][t] > out["population_by_group"][t]).any():
        raise InvariantError(f"day {t}: more of a group stranded than present")
    cap = plan.capacity[t]
    used = out["crossings"][t][:, M_REGULAR]
    limited = cap >= 0
    if (used[limited] > cap[limited]).any():
        raise InvariantError(f"day {t}: crossing capacity exceeded ({used} > {cap})")
    acap = plan.admission_cap[t]
    aused = out["crossings"][t][:, M_ADMISSION]
    if (aused[acap >= 0] > acap[acap >= 0]).any():
        raise InvariantError(f"day {t}: admission capacity exceeded")
    for v in range(len(plan.ev_kind)):
        if plan.ev_people[v] >= 0 and ev_done[v] > plan.ev_people[v]:
            raise InvariantError(f"day {t}: event {v} moved {ev_done[v]} > {plan.ev_people[v]}")
    shelter = plan.shelter_cap >= 0
    if (out["sheltered"][t][shelter] > plan.shelter_cap[shelter]).any():
        raise InvariantError(f"day {t}: shelter over capacity")
    moved = out["crossings"][t][:, [M_FLIGHT, M_TRANSFER, M_CORRIDOR]].sum()
    if moved != ev_done.sum():
        raise InvariantError(f"day {t}: event moves {moved} != {ev_done.sum()}")
    if (held < 0).any():
        raise InvariantError(f"day {t}: negative held")
    if (out["stranded"][t] + out["sheltered"][t] + held > out["population_by_group"][t].sum(axis=1)).any():
        raise InvariantError(f"day {t}: more stranded, sheltered and held than present")


def _check_cash(t: int, cash: np.ndarray, given: float, out: dict[str, np.ndarray]) -> None:
    """Cash is conserved (check=True): what people were given at departure is what they carry
    plus what they have paid, at crossings (`money_paid_usd`) and in fares (`fares_paid_usd`),
    and nobody carries less than nothing."""
    if (cash < 0).any():
        raise InvariantError(f"day {t}: negative cash")
    paid = float(out["money_paid_usd"][: t + 1].sum() + out["fares_paid_usd"][: t + 1].sum())
    held = float(cash.sum())
    if abs(given - (held + paid)) > 1e-9 * max(1.0, given):
        raise InvariantError(f"day {t}: cash given {given:.2f} USD != carried {held:.2f} + paid {paid:.2f}")


def _dataset(scenario: Scenario, plan: CrisisPlan, a: dict[str, np.ndarray]) -> xr.Dataset:
    """The run as an xarray Dataset (docs/architecture.md, crisis variables)."""
    T = plan.n_days
    start = scenario.start_date
    dates = np.array([np.datetime64(start + dt.timedelta(days=t), "ns") for t in range(T)])
    locs = scenario.locations
    climates = location_climates(locs)
    pbg = a["population_by_group"]
    declared = {g.name: g for g in (scenario.crisis.groups if scenario.crisis else ())}
    groups = [declared.get(n, Group(name=n, share=0.0)) for n in plan.group_names]
    spawned = plan.spawn_counts.sum(axis=1)
    coords = {  # (the coords and units of a Flee run's dataset, simulate.results_from_output)
        "day": ("day", np.arange(T), {"units": "day", "long_name": "day index from the start date"}),
        "date": ("day", dates),
        "location": list(plan.names),
        "country": ("location", [loc.country for loc in locs]),
        "kind": ("location", [loc.kind for loc in locs]),
        # locations.csv's region (admin 1; "" where unknown): the tables' `adm1`
        "region": ("location", list(location_regions(locs))),
        "lat": ("location", [loc.lat for loc in locs], {"units": "degrees_north"}),
        "lon": ("location", [loc.lon for loc in locs], {"units": "degrees_east"}),
        "is_camp": ("location", [loc.is_camp for loc in locs]),
        # what a reader calls the place (locations.csv's `label` column; else its name)
        "label": ("location", [str(loc.attributes.get("label") or loc.name) for loc in locs]),
        # beds of a shelter (its capacity); NaN elsewhere: needs count the people beyond it
        # (the plan's: [crisis.capacities] in force; an unlimited shelter holds 10**12 there)
        "shelter_capacity": ("location", [float(c) if 0 <= c < 10**12 else np.nan for c in plan.shelter_cap]),
        # locations.csv's climate (`cold` places get the cold-climate covered space); none given, no coord
        **({"climate": ("location", list(climates))} if climates else {}),
        "route": np.arange(len(plan.link_from)),
        "route_from": ("route", [plan.names[i] for i in plan.link_from]),
        "route_to": ("route", [plan.names[i] for i in plan.link_to]),
        # (copies: a result owns its arrays, the plan is reused)
        "distance_km": ("route", plan.link_km.copy(), {"units": "km"}),
        "group": list(plan.group_names),
        # who each group is (groups.csv): the run's tables and report describe its groups by them
        "group_nationality": ("group", [g.nationality for g in groups]),
        "group_documents": ("group", [bool(g.documents) for g in groups]),
        "group_vulnerable": ("group", [bool(g.vulnerable) for g in groups]),
        # where the group's people go when they give up (the report's glossary names it)
        "group_fallback": ("group", [g.fallback or "" for g in groups]),
        "crossing": list(plan.crossing_names),
        "crossing_from": ("crossing", [plan.names[plan.link_from[k]] if k >= 0 else ""
                                       for k in plan.cross_link]),
        "crossing_to": ("crossing", [plan.names[plan.link_to[k]] if k >= 0 else ""
                                     for k in plan.cross_link]),
        "mode": list(MODES),
        "wait_bin": list(WAIT_BIN_LABELS),
    }
    people = {"units": "people"}
    # dated stock observations (kinds point and range: the reported value) at their place and day
    observed = np.full((T, len(plan.names)), np.nan)
    index = {n: i for i, n in enumerate(plan.names)}
    for ob in (scenario.crisis.observations if scenario.crisis else ()):
        d, j, v = int(ob.get("day", -1)), index.get(str(ob.get("loc", ""))), ob.get("value")
        if ob.get("kind") in ("point", "range") and j is not None and 0 <= d < T and v == v and v is not None:
            observed[d, j] = float(v)
    ds = xr.Dataset(
        {
            "population": (("day", "location"), pbg.sum(axis=2), {**people, "long_name": "people at the place at the end of the day"}),
            "population_by_group": (("day", "location", "group"), pbg, people),
            "arrivals": (("day", "location"), a["arrivals"], {**people, "long_name": "trips ended at the place (destination, fallback or flight)"}),
            "departures": (("day", "location"), plan.spawn_counts.copy(), {**people, "long_name": "people starting their journey at the place"}),
            "travellers": (("day", "route"), a["travellers"], people),
            "spawned": (("day",), spawned, people),
            "total_people": (("day",), np.cumsum(spawned), people),
            "exited": (("day",), a["exited"], {**people, "long_name": "people who left the simulation so far (arrived or flown)"}),
            "stranded": (("day", "location"), a["stranded"], {**people, "long_name": "waiting at a crossing they cannot pass"}),
            "stranded_by_group": (("day", "location", "group"), a["stranded_by_group"],
                                  {**people, "long_name": "stranded (waiting at a crossing they cannot pass), by group"}),
            "observed": (("day", "location"), observed, {**people, "long_name": "reported stock (observations of kind point or range; NaN where none)"}),
            "sheltered": (("day", "location"), a["sheltered"], people),
            # (a scenario with stop places only: the variables of one without stay as they were)
            **({"held": (("day", "location"), a["held"],
                         {**people, "long_name": "held at a stop place, waiting for a transfer, flight or corridor"})}
               if plan.stop.any() else {}),
            "crossings": (("day", "crossing", "mode"), a["crossings"], {**people, "long_name": "passages by mode"}),
            "pushbacks": (("day", "crossing"), a["pushbacks"], people),
            "give_ups": (("day",), a["give_ups"], people),
            "money_paid_usd": (("day", "crossing"), a["money_paid_usd"], {"units": "USD"}),
            # (an event's fares, recorded under the crossing slot its moves are: `crossings`)
            "fares_paid_usd": (("day", "crossing"), a["fares_paid_usd"],
                               {"units": "USD", "long_name": "fares paid for transfers, flights and corridors"}),
            "cannot_pay_fare": (("day", "crossing"), a["cannot_pay_fare"],
                                {**people, "long_name": "people an event passed over as they could not pay its fare"}),
            "days_waited": (("day", "wait_bin"), a["days_waited"], {**people, "long_name": "stranded people by days waited so far"}),
            "crossing_status": (("day", "crossing"), plan.status.max(axis=2) if len(plan.group_names) else np.zeros((T, len(plan.crossing_names)), dtype=np.int8),
                                {"units": "1", "long_name": "most restrictive policy of the day over groups: 0 open, 1 documents, 2 closed"}),
            "militarisation": (("day", "crossing"), plan.militarisation.max(axis=2) if len(plan.group_names) else np.zeros((T, len(plan.crossing_names))),
                               {"units": "1", "long_name": "militarisation level 0..1 (max over groups)"}),
        },
        coords=coords,
        # (hasten and people_per_agent as a Flee run's: every crisis count is of people)
        attrs={"scenario": scenario.name, "start_date": start.isoformat(), "engine": "crisis-agents",
               "hasten": 1, "people_per_agent": 1,
               "step_order": json.dumps(["departures", "policies", "route choice", "travel",
                                         "crossings", "waiting", "events", "shelters", "records"])},
    )
    return ds
