"""The cohort engine against the agent engine (its reference), day by day, and against Flee 3.1.

Small synthetic Flee cases exercise what could go wrong when people are counted instead of followed:
a location closure that sends people on its links back (bounce), multi-day links (a link of exactly
2 × speed takes 3 days: arrival needs progress > length), same-day chaining over short links, and in
the second case awareness 2 (planned paths held across days, a marker), walk_probability on a link
and start_on_foot (the "completed a link" flag as an extra state dimension).

Exact in distribution: with capacities that never bind, people never affect each other, so for
every (location, day) the counts of N agent-engine seeds and N cohort seeds must pass a chi-square
test of homogeneity (values pooled into bins of ≥ 10 runs); family-wise α = 0.01 with a Bonferroni
correction over all tested (place, day) cells of a case. CI runs N = 300 seeds per engine; the
documented measurement (docs/validation.md, "Cohorts vs agents") used N = 1,000
(`CORREDOR_COHORT_SEEDS=1000`).

Where a camp's capacity binds, the agent engine follows Flee's serial order person by person (each
departure and arrival changes the next person's capacity multiplier) and counts cannot know that
order; the cohort engine approximates it (capped places first in pass A, live counts and one person
at a time near a threshold in pass B). That difference is measured, not hidden: the daily L1 distance
between the two engines' mean populations, relative to the people created, must stay ≤ 3 %.

"""

import os
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from corredor.engine.agents import run_agents
from corredor.engine.cohorts import run_cohorts
from corredor.engine.rng import replica_seeds
from corredor.plan import compile_plan
from corredor.scenario import load_scenario

N_SEEDS = int(os.environ.get("CORREDOR_COHORT_SEEDS", "300"))
ALPHA = 0.01  # family-wise, Bonferroni over all compared (place, day) cells of a case

LOCATIONS = """\
#name,region,country,gps_x,gps_y,location_type,conflict_date,population
A,R,Land,0,0,conflict_zone,0,20000
B,R,Land,0,1,town,,800
C,R,Land,1,1,town,,300
M,R,Land,1,2,marker,,0
D,R,Other,2,1,camp,,{cap_d}
E,R,Other,3,1,camp,,0
F,R,Other,0,3,camp,,5000
"""

ROUTES = """\
#name1,name2,distance,forced_redirection,walk_probability
A,B,50,0,0
B,C,30,0,0
B,D,120,0,0
C,D,60,0,0
C,M,200,0,{walk}
M,E,250,0,{walk}
A,F,{a_f},0,0
D,E,80,0,0
"""

CLOSURES = """\
#closure_type,name1,name2,closure_start,closure_end
location,C,,{c_from},{c_to}
"""


def write_case(folder: Path, *, days: int = 12, cap_d: int = 40, awareness: int = 1,
               walk: str = "0", start_on_foot: bool = False, a_f: int = 400, c_from: int = 4,
               c_to: int = 7, total_end: int = 1500, speed: float = 200.0) -> Path:
    """A seven-place Flee case (text files) that exercises capacity, closures and chaining."""
    files = {
        "input_csv/locations.csv": LOCATIONS.format(cap_d=cap_d),
        "input_csv/routes.csv": ROUTES.format(walk=walk, a_f=a_f),
        "input_csv/closures.csv": CLOSURES.format(c_from=c_from, c_to=c_to),
        "input_csv/conflicts.csv": "#Day,A\n" + "".join(f"{d},1\n" for d in range(days)),
        "input_csv/sim_period.csv": f"StartDate,2020-01-01\nLength,{days}\n",
        "source_data/data_layout.csv": "total,refugees.csv\nD,d.csv\nE,e.csv\nF,f.csv\n",
        "source_data/refugees.csv": f"Date,Refugee_numbers\n2020-01-01,30\n2020-01-{days + 1:02d},{total_end}\n",
        "source_data/d.csv": "2020-01-01,20\n2020-01-10,60\n",
        "source_data/e.csv": "2020-01-01,0\n2020-01-10,600\n",
        "source_data/f.csv": "2020-01-01,10\n2020-01-10,600\n",
        "simsetting.yml": (
            "spawn_rules:\n  insert_day0: True\n"
            f"move_rules:\n  max_move_speed: {speed}\n  max_walk_speed: 35.0\n  awareness_level: {awareness}\n"
            f"  camp_weight: 2.0\n  capacity_buffer: 0.9\n  start_on_foot: {start_on_foot}\n"
            "optimisations:\n  hasten: 1\n"
        ),
    }
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def homogeneity_p(x: np.ndarray, y: np.ndarray, min_bin: int = 10) -> float:
    """Chi-square test that two integer samples come from one distribution.

    Sorted distinct values are pooled left to right into bins holding ≥ min_bin runs of both samples
    together (a short last bin joins the one before); one bin means nothing to test (p = 1).
    """
    values = np.union1d(x, y)
    cx = np.array([(x == v).sum() for v in values])
    cy = np.array([(y == v).sum() for v in values])
    bins_x: list[int] = []
    bins_y: list[int] = []
    ax = ay = 0
    for a, b in zip(cx, cy, strict=True):
        ax += int(a)
        ay += int(b)
        if ax + ay >= min_bin:
            bins_x.append(ax)
            bins_y.append(ay)
            ax = ay = 0
    if ax + ay > 0:
        if bins_x:
            bins_x[-1] += ax
            bins_y[-1] += ay
        else:
            bins_x.append(ax)
            bins_y.append(ay)
    if len(bins_x) < 2:
        return 1.0
    return float(stats.chi2_contingency(np.array([bins_x, bins_y]), correction=False)[1])


def ensemble(plan, run, n: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Population (seed, day, location) and travellers (seed, day, link) of n seeds."""
    pops, links = [], []
    for s in range(offset, offset + n):
        out = run(plan, seed=s)
        pops.append(out.population)
        links.append(out.travellers)
    return np.array(pops), np.array(links)


def compare(plan, n: int) -> dict[str, object]:
    """p-values per (place, day) of agents vs cohorts; the smallest and where it is."""
    pa, la = ensemble(plan, run_agents, n, 0)
    pc, lc = ensemble(plan, run_cohorts, n, 100_000)
    cells = []
    for arr_a, arr_c, kind in ((pa, pc, "location"), (la, lc, "link")):
        for t in range(arr_a.shape[1]):
            for j in range(arr_a.shape[2]):
                x, y = arr_a[:, t, j], arr_c[:, t, j]
                if x.max() == x.min() == y.max() == y.min():
                    continue  # the same constant in both: nothing to test
                cells.append((homogeneity_p(x, y), kind, t, j, x.mean(), y.mean()))
    cells.sort()
    return {"n_tests": len(cells), "worst": cells[0], "pa": pa, "pc": pc}


OPEN_CAP = 100_000  # camp D capacity that never binds


@pytest.fixture(scope="module")
def open_plan(tmp_path_factory):
    return compile_plan(load_scenario(write_case(tmp_path_factory.mktemp("open"), cap_d=OPEN_CAP)))


@pytest.fixture(scope="module")
def paths_plan(tmp_path_factory):
    folder = write_case(tmp_path_factory.mktemp("paths"), awareness=2, walk="0.3",
                        start_on_foot=True, cap_d=OPEN_CAP)
    return compile_plan(load_scenario(folder))


@pytest.fixture(scope="module")
def capped_plan(tmp_path_factory):
    return compile_plan(load_scenario(write_case(tmp_path_factory.mktemp("capped"), cap_d=40)))


@pytest.fixture(scope="module")
def capped_paths_plan(tmp_path_factory):
    folder = write_case(tmp_path_factory.mktemp("cpaths"), awareness=2, walk="0.3",
                        start_on_foot=True, cap_d=60)
    return compile_plan(load_scenario(folder))


def test_cases_exercise_what_they_claim(open_plan, paths_plan, capped_plan):
    """People chain within a day, closures bounce people, links take several days, D's capacity binds."""
    out = run_cohorts(open_plan, seed=1, check=True)
    assert out.rounds.max() >= 2  # arrivals decide again the same day, twice or more
    assert open_plan.closure_ptr[-1] > 0 and open_plan.n_links > 10
    a_f = [k for k in range(open_plan.n_links)
           if open_plan.location_names[open_plan.link_from[k]] == "A"
           and open_plan.location_names[open_plan.link_to[k]] == "F"][0]
    assert open_plan.link_km[a_f] == 2 * open_plan.link_speed[a_f]
    assert out.travellers[:, a_f].max() > 0
    assert paths_plan.params["awareness_level"] == 2 and paths_plan.link_walk_p.max() == 0.3
    run_cohorts(paths_plan, seed=1, check=True)
    d = capped_plan.location_names.index("D")
    capped = run_cohorts(capped_plan, seed=1, check=True)
    assert capped.population[:, d].max() >= 0.9 * capped_plan.capacity[d]


@pytest.mark.slow
@pytest.mark.parametrize("which", ["open_plan", "paths_plan"])
def test_cohorts_match_agents_in_distribution(which, request):
    plan = request.getfixturevalue(which)
    res = compare(plan, N_SEEDS)
    p, kind, t, j, ma, mc = res["worst"]
    bonf = ALPHA / res["n_tests"]
    print(f"\n{which}: {N_SEEDS} seeds per engine, {res['n_tests']} place-day tests, smallest p = {p:.3g} "
          f"({kind} {j} day {t}: agents {ma:.2f}, cohorts {mc:.2f}); Bonferroni threshold {bonf:.2g}")
    assert res["n_tests"] > 100
    assert p > bonf, (f"{which}: {kind} {j} day {t}: agents mean {ma:.2f}, cohorts mean {mc:.2f}, "
                      f"p = {p:.2e} < {bonf:.1e} ({res['n_tests']} tests)")
    if which == "open_plan":
        assert_a_wrong_engine_is_detected(plan, res["pa"])


def assert_a_wrong_engine_is_detected(open_plan, pa: np.ndarray) -> None:
    """Power check: the same comparison, against the same agent seeds `pa`, flags cohorts run with
    B's move chance 10 % higher. (Part of the open case's test, not a test of its own, so that its
    agent ensemble is run once: xdist ran the two on different workers, each running it.)"""
    import dataclasses

    b = open_plan.location_names.index("B")
    mc = open_plan.movechance0.copy()
    mc[b] *= 1.1
    wrong = dataclasses.replace(open_plan, movechance0=mc)
    pw, _ = ensemble(wrong, run_cohorts, pa.shape[0], 100_000)
    n_tests = pa.shape[1] * pa.shape[2]
    worst = min(homogeneity_p(pa[:, t, j], pw[:, t, j]) for t in range(pa.shape[1]) for j in range(pa.shape[2]))
    assert worst < ALPHA / n_tests, f"a 10 % higher move chance at B went unnoticed (smallest p = {worst:.2e})"


def mean_l1_share(pa: np.ndarray, pc: np.ndarray, plan) -> float:
    """Largest daily Σ_locations |mean agents − mean cohorts|, over people created by that day."""
    created = plan.insert0.sum() + np.cumsum(plan.spawn)
    return float((np.abs(pa.mean(axis=0) - pc.mean(axis=0)).sum(axis=1) / np.maximum(created, 1)).max())


@pytest.mark.slow
@pytest.mark.parametrize("which", ["capped_plan", "capped_paths_plan"])
def test_serial_order_difference_is_small_where_capacity_binds(which, request):
    plan = request.getfixturevalue(which)
    n = max(100, N_SEEDS // 3)
    pa, _ = ensemble(plan, run_agents, n, 0)
    pc, _ = ensemble(plan, run_cohorts, n, 100_000)
    share = mean_l1_share(pa, pc, plan)
    print(f"\n{which}: {n} seeds, largest daily L1 of mean populations = {share:.4f} of the people")
    assert share <= 0.03


# ---------------------------------------------------------------------------------------------
# against Flee 3.1 itself (tests/fixtures/flee31, made by benchmarks/flee31_fixtures.py)

N_FLEE_SEEDS = 100  # cohort replicas per case, seeds SeedSequence(2026) as tests/test_flee_equivalence.py


#: Cases with a documented gap against Flee 3.1 (docs/validation.md, "Against Flee 3.1"), marked
#: xfail. None now: burundi was one against the first, 20-run fixture (KS p = 0.0097 at
#: Nyarugusu, whose 20 Flee runs were an unusually tight draw); against the 30-run fixtures every
#: case meets every criterion (burundi KS p = 0.053).
KNOWN_GAPS: dict[str, str] = {}


def _flee_cases() -> list:
    try:
        from flee31_reference import available
    except ImportError:  # pragma: no cover - the helper ships with the tests
        return []
    return [pytest.param(c, marks=pytest.mark.xfail(reason=KNOWN_GAPS[c], strict=False))
            if c in KNOWN_GAPS else c for c in available("ensemble")]


@pytest.mark.slow
@pytest.mark.parametrize("case", _flee_cases())
def test_cohorts_meet_the_flee31_criteria(case, flee_cases):
    """≥ 95 % of points within 3 SE + 1 % of data, KS p > 0.01 on each camp's final count, mean
    rescaled ARD within 4 SE of the difference (and ±0.02) of Flee 3.1's, at the fixture's hasten
    (issue 3's criteria, the ARD's tightened)."""
    from corredor.simulate import simulate
    from flee31_reference import ARD_MAX_DIFF, ARD_MAX_Z, criteria, load_ensemble

    flee = load_ensemble(case)
    hasten = int(flee["provenance"]["hasten"])
    plan = compile_plan(load_scenario(flee_cases / case, hasten=hasten))
    camps = list(flee["camps"])
    idx = [plan.location_names.index(c) for c in camps]
    sims, ards = [], []
    for s in replica_seeds(2026, N_FLEE_SEEDS):
        res = simulate(plan, seed=s, engine="cohorts")
        sims.append(res.dataset["population"].values[:, idx])
        ards.append(res.manifest["metrics"]["ard_rescaled_mean"])
    assert np.array_equal(plan.observed[:, idx].T, np.array([flee["data"][c] for c in camps]))
    crit = criteria(flee, np.array(sims), ards, plan.observed[:, idx])
    print(f"\n{case} h{hasten}: {crit}")
    assert crit["share_within"] >= 0.95
    assert crit["ks_min_p"] > 0.01
    assert abs(crit["ard_z"]) <= ARD_MAX_Z
    assert abs(crit["ard_diff"]) <= ARD_MAX_DIFF
