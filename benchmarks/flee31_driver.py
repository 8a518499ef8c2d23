"""Run one Flee 3.1 simulation of a Flee case and record its per-day table as JSON (and CSV).

Why: flee==3.1 (PyPI) ships no driver script, so this module drives Flee's API itself in the order
of its 3.1 ``runscripts/run.py`` (flee-model.md §3.1-3.2): conflicts, spawning (daily total from
``refugees.csv`` differences, i.e. SumFromCamps=False), spawn weights, closures, evolve, record.

Flee keeps module-level globals (the spawning debt, the raw count, loaded demographics), so every
run happens in a fresh process of the Flee virtualenv (``benchmarks/.venv-flee``). Flee is never a
dependency of corredor: this file imports nothing from corredor and, outside the worker process,
nothing from Flee.

Usage as a library (any Python)::

    from benchmarks.flee31_driver import run_flee
    res = run_flee("../shared/data/flee/mali2012", hasten=10, seed=1, days=20)
    res["camps"], res["sim"]["Mentao"][-1], res["daily"]["spawned"][:5]

Usage on the command line::

    python benchmarks/flee31_driver.py ../shared/data/flee/mali2012 --hasten 10 --seed 1 \\
        --days 20 --json /tmp/mali_s1.json --csv /tmp/mali_s1.csv

The JSON keys are documented in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FLEE_VENV = REPO / "benchmarks" / ".venv-flee"
FLEE_PYTHON = FLEE_VENV / "bin" / "python"
SCHEMA = "corredor.flee31-run/2"


# --------------------------------------------------------------------------------------------
# Parent side: start a worker in the Flee virtualenv, one fresh process per run.
# --------------------------------------------------------------------------------------------


def run_flee(
    case_dir: str | os.PathLike,
    hasten: int,
    seed: int,
    days: int | None = None,
    *,
    json_out: str | os.PathLike | None = None,
    csv_out: str | os.PathLike | None = None,
    nice: int = 0,
    python: str | os.PathLike | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run Flee 3.1 once on ``case_dir`` at ``hasten`` with ``seed``; return the run record.

    The run happens in a subprocess of the Flee virtualenv's python (``python`` overrides it), in
    a temporary copy of the case (``conflict_period.csv`` added, agent/link logs off, ``hasten``
    set); the case folder itself is never modified. ``days`` overrides the period length. With
    ``json_out`` / ``csv_out`` the record / an out.csv-like table is also written there.
    """
    py = Path(python) if python else FLEE_PYTHON
    if not Path(py).exists():
        raise FileNotFoundError(
            f"Flee 3.1 virtualenv not found at {py}; create it with "
            "`python3 -m venv benchmarks/.venv-flee && benchmarks/.venv-flee/bin/pip install flee==3.1`"
        )
    with tempfile.TemporaryDirectory(prefix="flee31_") as tmp:
        out = Path(json_out) if json_out else Path(tmp) / "run.json"
        cmd = [str(py), str(Path(__file__).resolve()), "--worker", str(Path(case_dir).resolve()),
               "--hasten", str(int(hasten)), "--seed", str(int(seed)), "--json", str(out)]
        if days is not None:
            cmd += ["--days", str(int(days))]
        if csv_out is not None:
            cmd += ["--csv", str(csv_out)]
        if nice:
            cmd = ["nice", "-n", str(int(nice))] + cmd
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            tail = proc.stderr[-4000:]
            raise RuntimeError(f"Flee 3.1 run failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
        return json.loads(out.read_text())


# --------------------------------------------------------------------------------------------
# Worker side: runs inside the Flee virtualenv.
# --------------------------------------------------------------------------------------------


def _prepare_case(case_dir: Path, dest: Path, hasten: int) -> Path:
    """Copy the case to ``dest`` and adapt it for Flee 3.1 without touching the original."""
    import yaml  # available in the Flee virtualenv (Flee depends on it)

    work = dest / case_dir.name
    shutil.copytree(case_dir, work)
    inp = work / "input_csv"
    if not (inp / "conflict_period.csv").exists():  # 3.1 reads conflict_period.csv
        shutil.copyfile(inp / "sim_period.csv", inp / "conflict_period.csv")
    yml = work / "simsetting.yml"
    settings = yaml.safe_load(yml.read_text()) if yml.exists() else {}
    settings = settings or {}
    logs = settings.setdefault("log_levels", {}) or {}
    settings["log_levels"] = logs
    logs["agent"] = 0  # one line per agent per day: GBs
    logs["link"] = 0  # per-link file output; no effect on dynamics
    opt = settings.get("optimisations") or {}
    opt["hasten"] = int(hasten)
    settings["optimisations"] = opt
    yml.write_text(yaml.safe_dump(settings, sort_keys=False))
    return work


def _worker(case_dir: Path, hasten: int, seed: int, days: int | None) -> dict[str, Any]:
    t_wall0 = time.perf_counter()
    t_cpu0 = time.process_time()
    tmp = Path(tempfile.mkdtemp(prefix="flee31_case_"))
    cwd = os.getcwd()
    try:
        work = _prepare_case(case_dir, tmp, hasten)
        # Flee reads demographics (and location_changes) relative to the CWD: run from the case.
        os.chdir(work)
        return _run_in_case(case_dir, work, hasten, seed, days, t_wall0, t_cpu0)
    finally:
        os.chdir(cwd)
        shutil.rmtree(tmp, ignore_errors=True)


def _run_in_case(case_dir, work, hasten, seed, days, t_wall0, t_cpu0):  # noqa: C901 - one script
    import random
    from datetime import date, timedelta

    import numpy as np
    from flee import InputGeography, flee, spawning
    from flee.datamanager import handle_refugee_data, read_period
    from flee.SimulationSettings import SimulationSettings

    try:
        from importlib.metadata import version

        flee_version = version("flee")
    except Exception:  # pragma: no cover - metadata missing
        flee_version = "unknown"

    inp = "input_csv"
    src = "source_data"
    start_date, length = read_period.read_conflict_period(os.path.join(inp, "conflict_period.csv"))
    if days is not None and int(days) > 0:
        length = int(days)
    SimulationSettings.ReadFromYML("simsetting.yml")
    SimulationSettings.ConflictInputFile = os.path.join(inp, "conflicts.csv")

    # Seed both generators Flee uses before anything random happens.
    random.seed(seed)
    np.random.seed(seed)

    e = flee.Ecosystem()
    ig = InputGeography.InputGeography()
    ig.ReadConflictInputCSV(SimulationSettings.ConflictInputFile)
    ig.ReadLocationsFromCSV(os.path.join(inp, "locations.csv"))
    ig.ReadLinksFromCSV(os.path.join(inp, "routes.csv"))
    ig.ReadClosuresFromCSV(os.path.join(inp, "closures.csv"))
    e, lm = ig.StoreInputGeographyInEcosystem(e)

    d = handle_refugee_data.RefugeeTable(
        csvformat="generic",
        data_directory=src,
        start_date=start_date,
        data_layout="data_layout.csv",
        population_scaledown_factor=SimulationSettings.optimisations["PopulationScaleDownFactor"],
    )
    d.ReadL1Corrections(os.path.join(inp, "registration_corrections.csv"))

    camps = e.get_camp_names()
    capacity_setup = {c: lm[c].capacity for c in camps}
    day0_inserted: dict[str, int] = {}
    for c in camps:
        before = len(e.agents)
        spawning.add_initial_refugees(e, d, lm[c])
        day0_inserted[c] = len(e.agents) - before

    names = [loc.name for loc in e.locations]
    # Conflict zones before day 0 (typed conflict in locations.csv with conflict_date <= 0).
    conflict_initial = {loc.name: float(loc.conflict) for loc in e.locations if loc.conflict > 0.0}
    closures = [list(c) for c in e.closures]
    start = date.fromisoformat(start_date)

    daily: dict[str, list] = {k: [] for k in (
        "spawned", "refugees_raw", "refugee_debt", "total_agents", "agents_at_evolve",
        "camps_sim_total", "camps_data_total", "total_error", "closed_links", "conflict_zones",
        "population_all",
    )}
    sim: dict[str, list[int]] = {c: [] for c in camps}
    data: dict[str, list[int]] = {c: [] for c in camps}
    conflict_events: list[dict[str, Any]] = []
    closure_events: list[dict[str, Any]] = []
    capacity_after_day0: dict[str, Any] = {}
    agent_steps = 0

    t_loop_cpu0 = time.process_time()
    t_loop_wall0 = time.perf_counter()
    for t in range(length):
        before = [(loc.conflict, loc.time_of_conflict) for loc in e.locations]
        ig.AddNewConflictZones(e, t)
        for i, loc in enumerate(e.locations):
            # An event is any change of intensity or of the onset day (add_conflict_zone on a zone
            # that is already in conflict only resets time_of_conflict, which drives the decay).
            if (loc.conflict, loc.time_of_conflict) != before[i]:
                conflict_events.append({"day": t, "location": names[i], "on": bool(loc.conflict > 0.0),
                                        "intensity": float(max(loc.conflict, 0.0)),
                                        "previous": float(max(before[i][0], 0.0)),
                                        "time_of_conflict": int(loc.time_of_conflict)})
        new_refs, refugees_raw, refugee_debt = spawning.spawn_daily_displaced(e, t, d)
        spawning.refresh_spawn_weights(e)
        for row, c in enumerate(closures):  # the rows enact_border_closures acts on today
            if t == c[3]:
                closure_events.append({"day": t, "row": row, "type": c[0], "name1": c[1],
                                       "name2": c[2], "action": "close"})
            if t == c[4]:
                closure_events.append({"day": t, "row": row, "type": c[0], "name1": c[1],
                                       "name2": c[2], "action": "reopen"})
        e.enact_border_closures(t)
        n_alive = len(e.agents)
        agent_steps += n_alive
        e.evolve()
        if t == 0:
            capacity_after_day0 = {c: lm[c].capacity for c in camps}

        loc_data = [d.get_field(c, t) for c in camps]
        sims = [lm[c].numAgents for c in camps]
        # every location's count (order of "locations"): for studies of one place's dynamics
        daily["population_all"].append([int(loc.numAgents) for loc in e.locations])
        for c, s, v in zip(camps, sims, loc_data, strict=True):
            sim[c].append(int(s))
            data[c].append(int(v))
        abs_err = sum(abs(s - v) for s, v in zip(sims, loc_data, strict=True))
        daily["spawned"].append(int(new_refs))
        daily["refugees_raw"].append(int(refugees_raw))
        daily["refugee_debt"].append(int(refugee_debt))
        daily["total_agents"].append(int(e.numAgents()))
        daily["agents_at_evolve"].append(int(n_alive))
        daily["camps_sim_total"].append(int(sum(sims)))
        daily["camps_data_total"].append(int(sum(loc_data)))
        daily["total_error"].append(float(abs_err) / float(refugees_raw) if refugees_raw > 0 else 0.0)
        daily["closed_links"].append(int(sum(len(loc.closed_links) for loc in e.locations)))
        daily["conflict_zones"].append(int(sum(1 for loc in e.locations if loc.conflict > 0.0)))
    cpu_loop = time.process_time() - t_loop_cpu0
    wall_loop = time.perf_counter() - t_loop_wall0

    total_series = [int(d.get_field("total", t)) for t in range(length)]
    return {
        "schema": SCHEMA,
        "flee_version": flee_version,
        "case": Path(case_dir).name,
        "case_dir": str(case_dir),
        "hasten": int(hasten),
        "seed": int(seed),
        "days": int(length),
        "start_date": start_date,
        "dates": [(start + timedelta(days=t)).isoformat() for t in range(length)],
        "sum_from_camps": False,
        "camps": camps,
        "locations": names,
        "closures": closures,
        "capacity_setup": capacity_setup,
        "capacity_after_day0": capacity_after_day0,
        "day0_inserted": day0_inserted,
        "day0_inserted_total": int(sum(day0_inserted.values())),
        "unhcr_total": total_series,
        "daily": daily,
        "sim": sim,
        "data": data,
        "conflict_initial": conflict_initial,
        "conflict_events": conflict_events,
        "closure_events": closure_events,
        "agent_steps": int(agent_steps),
        "cpu_s_loop": cpu_loop,
        "wall_s_loop": wall_loop,
        "cpu_s_total": time.process_time() - t_cpu0,
        "wall_s_total": time.perf_counter() - t_wall0,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }


def write_out_csv(res: dict[str, Any], path: str | os.PathLike) -> None:
    """Write an out.csv-like table (Flee 3.1 column names plus spawn and agent counts)."""
    camps = res["camps"]
    daily = res["daily"]
    header = ["Day", "Date"]
    for c in camps:
        header += [f"{c} sim", f"{c} data", f"{c} error"]
    header += ["Total error", "refugees in camps (UNHCR)", "total refugees (simulation)",
               "raw UNHCR refugee count", "refugees in camps (simulation)", "refugee_debt",
               "spawned", "agents at evolve"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for t in range(res["days"]):
            row: list[Any] = [t, res["dates"][t]]
            for c in camps:
                s, v = res["sim"][c][t], res["data"][c][t]
                err = 0.0 if v < 1e-5 else round(abs(s / v - 1.0), 4)
                row += [s, v, err]
            row += [daily["total_error"][t], daily["camps_data_total"][t], daily["total_agents"][t],
                    daily["refugees_raw"][t], daily["camps_sim_total"][t], daily["refugee_debt"][t],
                    daily["spawned"][t], daily["agents_at_evolve"][t]]
            w.writerow(row)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run one Flee 3.1 simulation and record its daily table.")
    ap.add_argument("case_dir", type=Path, help="Flee case folder (input_csv/, source_data/, simsetting.yml)")
    ap.add_argument("--hasten", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=None, help="override the period length")
    ap.add_argument("--json", type=Path, default=None, help="write the run record here")
    ap.add_argument("--csv", type=Path, default=None, help="write an out.csv-like table here")
    ap.add_argument("--nice", type=int, default=0)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        res = _worker(a.case_dir.resolve(), a.hasten, a.seed, a.days)
        if a.json:
            a.json.parent.mkdir(parents=True, exist_ok=True)
            tmp = a.json.with_suffix(a.json.suffix + ".part")
            tmp.write_text(json.dumps(res))
            tmp.replace(a.json)  # atomic: an interrupted run leaves no half file
        else:
            print(json.dumps(res))
        if a.csv:
            write_out_csv(res, a.csv)
        return 0
    res = run_flee(a.case_dir, a.hasten, a.seed, a.days, json_out=a.json, csv_out=a.csv, nice=a.nice)
    ag = res["daily"]["total_agents"]
    print(f"{res['case']} h{res['hasten']} seed {res['seed']}: {res['days']} days, "
          f"{ag[-1]} agents, {res['agent_steps']} agent-steps, {res['cpu_s_loop']:.1f} CPU-s loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
