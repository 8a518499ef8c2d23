"""Flee 3.1's movement rules pinned to values worked out by hand from docs/model-rules.md and
../shared/flee-model.md, not to the code's own output (every engine shares these rule kernels, so
comparing engines with each other cannot catch a wrong rule).

Statistical checks pool many people and state their tolerance: 4 binomial standard errors.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from corredor.engine.agents import run_agents
from corredor.engine.rules.capacity import cap_multiplier, cap_multipliers
from corredor.engine.rules.locations import attractiveness, conflict_decay, move_chances
from corredor.engine.rules.routes import choose_path, choose_path_live, route_tables
from corredor.plan import compile_plan, haversine_flee
from toy_flee import toy

DECAY = np.array([1.0, 0.8, 0.6, 0.4, 0.2])


def _link(plan, a: str, b: str) -> int:
    """Index of the first directed link a→b in the plan."""
    ia, ib = plan.location_names.index(a), plan.location_names.index(b)
    return int(np.flatnonzero((plan.link_from == ia) & (plan.link_to == ib))[0])


def _path(plan, origin: str, *via: str) -> int:
    """Index of the path origin→via[0]→…→via[-1] in the plan's path tables."""
    names = plan.location_names
    o = names.index(origin)
    want = [o] + [names.index(n) for n in via]
    for p in range(plan.path_ptr[o], plan.path_ptr[o + 1]):
        if plan.path_nodes[plan.path_node_ptr[p]:plan.path_node_ptr[p + 1]].tolist() == want:
            return p
    raise AssertionError(f"no path {origin}→{'→'.join(via)}")


# --- 1. conflict decay: decay(Δt) = L[min(int(Δt/interval), len(L)−1)] (flee-model.md §3.3) ---

@pytest.mark.parametrize(("age", "interval", "expected"), [
    (0, 30, 1.0),       # int(0/30) = 0
    (29, 30, 1.0),      # int(0.97) = 0
    (30, 30, 0.8),      # int(1.0) = 1
    (59, 30, 0.8),      # int(1.97) = 1: truncated, not rounded up to 2
    (60, 30, 0.6),      # int(2.0) = 2
    (119, 30, 0.4),     # int(3.97) = 3
    (120, 30, 0.2),     # int(4.0) = 4: the last entry
    (10_000, 30, 0.2),  # int(333.3) = 333: clamped to the last entry
    (13, 7, 0.8),       # int(1.86) = 1 with another interval
    (27, 7, 0.4),       # int(3.86) = 3
])
def test_conflict_decay_truncates_and_clamps(age: int, interval: int, expected: float) -> None:
    """conflict_decay = L[min(int(age/interval), len−1)], L = [1,.8,.6,.4,.2] (flee-model.md §3.3)."""
    assert conflict_decay(age, DECAY, interval, True) == expected


def test_conflict_decay_is_one_without_a_list() -> None:
    """decay = 1 when conflict_spawn_decay is None (flee-model.md §3.3), whatever the age."""
    for age in (0, 45, 10_000):
        assert conflict_decay(age, DECAY, 30, False) == 1.0
    assert conflict_decay(500, np.array([0.3]), 30, True) == 0.3  # one entry: always that entry


# --- 2. capacity multiplier (flee-model.md §3.8, model-rules.md step 4) ---

@pytest.mark.parametrize(("capacity", "n", "buffer", "expected"), [
    (1000, 0, 0.9, 1.0),
    (1000, 900, 0.9, 1.0),     # n ≤ B·C = 900: 1
    (1000, 925, 0.9, 0.75),    # 1 − (925 − 900)/(1000·0.1)
    (1000, 950, 0.9, 0.5),     # the midpoint of 900..1000
    (1000, 990, 0.9, 0.1),     # 1 − 90/100
    (1000, 1000, 0.9, 0.0),    # n ≥ C: 0
    (1000, 1500, 0.9, 0.0),    # over capacity stays 0
    (200, 150, 0.5, 0.5),      # B = 0.5: 1 − (150 − 100)/(200·0.5)
    (200, 120, 0.5, 0.8),      # 1 − 20/100
    (0, 5000, 0.9, 1.0),       # C < 1 (capacity 0 or empty): unlimited
    (-1, 5000, 0.9, 1.0),      # non-camps have capacity −1
])
def test_cap_multiplier_by_hand(capacity: int, n: int, buffer: float, expected: float) -> None:
    """Cap = 1 if C < 1 or n ≤ B·C; 0 if n ≥ C; else 1 − (n − B·C)/(C(1−B)) (flee-model.md §3.8)."""
    assert cap_multiplier(capacity, n, buffer) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    out = np.zeros(1)
    cap_multipliers(np.array([capacity]), np.array([n]), buffer, out)
    assert out[0] == pytest.approx(expected, rel=1e-12, abs=1e-12)


# --- 3. attractiveness with use_pop_for_loc_weight: 3.1's min(1, pop)^p (flee-model.md §3.6, §7.2) ---

def test_attractiveness_uses_flee_31_min_one_pop() -> None:
    """A(v) = score × min(1, pop)^p for non-camps only (3.1's bug, flee-model.md §7.2): 0 at pop 0."""
    score = np.array([1.0, 1.0, 2.0, 0.5])
    camp = np.array([False, False, True, False])
    pop = np.array([0, 5, 0, 1000], np.int64)
    out = np.zeros(4)
    attractiveness(score, camp, pop, True, 0.1, out)
    # town pop 0: min(1,0)^0.1 = 0; pop 5: min(1,5)^0.1 = 1; the camp keeps its score (2, not 0);
    # pop 1000: 1 (HEAD's max(1,pop)^0.1 would give 0.5·1000^0.1 = 0.998)
    assert out.tolist() == [0.0, 1.0, 2.0, 0.5]
    attractiveness(score, camp, pop, False, 0.1, out)
    assert out.tolist() == [1.0, 1.0, 2.0, 0.5]  # switched off: the score itself


# --- 4. move chance scaled by population (flee-model.md §3.6) ---

def test_move_chances_scale_with_population() -> None:
    """m = movechance × (max(pop, capacity)/movechance_pop_base)^scale (flee-model.md §3.6)."""
    base = np.array([0.3, 0.001, 1.0, 0.3])
    pop = np.array([40_000, 0, 2_500, 0], np.int64)
    cap = np.array([-1, 2_500, -1, -1], np.int64)
    out = np.zeros(4)
    move_chances(base, pop, cap, 10_000.0, 0.5, out)
    # 0.3·(40000/10000)^0.5 = 0.6; the camp uses its capacity: 0.001·(2500/10000)^0.5 = 0.0005;
    # 1·(2500/10000)^0.5 = 0.5; an empty town: 0.3·0^0.5 = 0
    assert out == pytest.approx([0.6, 0.0005, 0.5, 0.0], rel=1e-12, abs=1e-15)
    move_chances(base, pop, cap, 1_000.0, 1.0, out)
    assert out == pytest.approx([12.0, 0.0025, 2.5, 0.0], rel=1e-12, abs=1e-15)  # (chances > 1: always)
    move_chances(base, pop, cap, 10_000.0, 0.0, out)
    assert out.tolist() == base.tolist()  # the default scale 0: factor 1 (0^0 = 1)


# --- 5. stay_close_to_home: 1/max(1, haversine)^p, radius 6373 km, Flee's swapped axes (§3.6) ---

def _flee_km(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> float:
    """Great-circle km by the spherical law of cosines (not haversine), with Flee's axes: the y
    column (our lon) as latitude, the x column (our lat) as longitude; radius 6373 km (3.1)."""
    p1, p2, dl = math.radians(lon_a), math.radians(lon_b), math.radians(lat_b - lat_a)
    return 6373.0 * math.acos(math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl))


def test_haversine_flee_swaps_axes_and_uses_6373_km() -> None:
    """haversine_flee treats gps_y as latitude, radius 6373 km (flee-model.md §2.1, §7.2), by hand."""
    # (x=0, y=60) to (x=80, y=60): Flee sees two points at latitude 60°, 80° of longitude apart:
    # cos c = sin²60° + cos²60°·cos 80° = 0.75 + 0.25·0.173648 = 0.793412 → c = 0.65440 rad → 4170.5 km.
    # (Read the usual way it would be 80° along a meridian: 8898 km.)
    expected = 6373.0 * math.acos(0.75 + 0.25 * math.cos(math.radians(80)))
    assert expected == pytest.approx(4170.5, abs=0.1)
    assert _flee_km(0, 60, 80, 60) == pytest.approx(expected, rel=1e-12)
    assert haversine_flee(0.0, 60.0, 80.0, 60.0) == pytest.approx(expected, rel=1e-9)
    assert haversine_flee(80.0, 60.0, 0.0, 60.0) == pytest.approx(expected, rel=1e-9)
    # a quarter of Flee's equator: 6373·π/2 km
    assert haversine_flee(0.0, 0.0, 90.0, 0.0) == pytest.approx(6373.0 * math.pi / 2, rel=1e-9)
    # 30° of Flee's latitude (the y column) at the same x: 6373·π/6 km
    assert haversine_flee(10.0, 20.0, 10.0, 50.0) == pytest.approx(6373.0 * math.pi / 6, rel=1e-9)


def test_stay_close_to_home_factor_in_the_plan() -> None:
    """Path factor 1/max(1, haversine(dest, origin))^home_distance_power (flee-model.md §3.6)."""
    sc = toy([("O", "conflict", 100), ("X", "town", 10), ("N", "town", 10)],
             [("O", "X", 100), ("O", "N", 100)], days=2, total=[(0, 0.0), (2, 10.0)],
             conflicts={"O": [1, 1]},
             settings={"move_rules": {"stay_close_to_home": True, "home_distance_power": 0.75}})
    coords = {"O": (0.0, 60.0), "X": (80.0, 60.0), "N": (0.001, 60.0)}  # (x=lat, y=lon)
    sc = dataclasses.replace(sc, locations=tuple(
        dataclasses.replace(loc, lat=coords[loc.name][0], lon=coords[loc.name][1]) for loc in sc.locations))
    p = compile_plan(sc)
    d_ox = 6373.0 * math.acos(0.75 + 0.25 * math.cos(math.radians(80)))  # 4170.5 km, as above
    assert p.path_home[_path(p, "O", "X")] == pytest.approx(d_ox ** -0.75, rel=1e-9)
    assert p.path_home[_path(p, "X", "O")] == pytest.approx(d_ox ** -0.75, rel=1e-9)
    # N is 0.001° of Flee-longitude away at Flee-latitude 60°: 6373·(0.001π/180)·cos 60° = 0.056 km,
    # so max(1, 0.056) = 1 and the factor is 1 (without the max it would be 0.056^-0.75 ≈ 8.7)
    assert p.path_home[_path(p, "O", "N")] == 1.0
    off = compile_plan(sc.with_settings(move_rules={"stay_close_to_home": False}))
    assert off.path_home.tolist() == [1.0] * len(off.path_home)


# --- 6. route weights: w = [(WS + A·home)·Cap/(DS + km)^DP]^WP (flee-model.md §3.6 step 2) ---

def test_path_distance_factor_in_the_plan() -> None:
    """path_inv_dist = 1/(softening + path km)^distance_power over the whole path (§3.6)."""
    sc = toy([("O", "conflict", 100), ("X", "town", 10), ("Y", "town", 10)],
             [("O", "X", 20), ("X", "Y", 75)], days=2, total=[(0, 0.0), (2, 10.0)],
             conflicts={"O": [1, 1]},
             settings={"move_rules": {"softening": 5.0, "distance_power": 1.5, "awareness_level": 2}})
    p = compile_plan(sc)
    assert p.path_inv_dist[_path(p, "O", "X")] == pytest.approx(1 / 125, rel=1e-12)  # 1/(5+20)^1.5
    assert p.path_inv_dist[_path(p, "O", "X", "Y")] == pytest.approx(1 / 1000, rel=1e-12)  # 1/(5+95)^1.5


def test_route_weights_softening_and_power_by_hand() -> None:
    """Route weights and choice with weight_softening 1, weight_power 2 (flee-model.md §3.6), by hand."""
    # origin 0 has two paths: to 1 (50 km incl. softening, home 1) and to 2 (100 km, home 0.5, Cap 0.5)
    path_ptr = np.array([0, 2, 2, 2], np.int32)
    path_dest = np.array([1, 2], np.int32)
    inv = np.array([1 / 50, 1 / 100])
    home = np.array([1.0, 0.5])
    valid = np.array([True, True])
    attract = np.array([0.0, 1.0, 1.0])
    capm = np.array([1.0, 1.0, 0.5])
    cum, tot, nv = np.zeros(2), np.zeros(3), np.zeros(3, np.int64)
    route_tables(path_ptr, path_dest, inv, home, valid, attract, capm, 1.0, 2.0, cum, tot, nv)
    w1 = ((1 + 1.0 * 1.0) * 1.0 / 50) ** 2   # = 0.04² = 0.0016
    w2 = ((1 + 1.0 * 0.5) * 0.5 / 100) ** 2  # = 0.0075² = 0.00005625
    assert (w1, w2) == pytest.approx((0.0016, 0.00005625), rel=1e-12)
    assert cum == pytest.approx([w1, w1 + w2], rel=1e-12)
    assert tot[0] == pytest.approx(0.00165625, rel=1e-12) and nv.tolist() == [2, 0, 0]
    # the choice: path 0 iff u·Σw < w1, i.e. u < 0.0016/0.00165625 = 0.966038
    edge = 0.0016 / 0.00165625
    for chooser in (lambda u: choose_path(0, u, path_ptr, valid, cum, tot, nv),
                    lambda u: choose_path_live(0, u, path_ptr, valid, path_dest, inv, home, attract,
                                               capm, 1.0, 2.0)):
        assert chooser(edge - 1e-6) == 0 and chooser(edge + 1e-6) == 1
        assert chooser(0.0) == 0 and chooser(0.999999) == 1
    # weight_softening 0, weight_power 1: w = A·home·Cap/km = 1/50 and 0.25/100 → path 0 iff u < 0.888…
    route_tables(path_ptr, path_dest, inv, home, valid, attract, capm, 0.0, 1.0, cum, tot, nv)
    assert cum == pytest.approx([0.02, 0.0225], rel=1e-12)
    # every weight 0 (no softening, A = 0): uniform over the open paths (flee-model.md §7.1 item 11)
    route_tables(path_ptr, path_dest, inv, home, valid, np.zeros(3), capm, 0.0, 1.0, cum, tot, nv)
    assert tot[0] == 0.0
    assert choose_path(0, 0.49, path_ptr, valid, cum, tot, nv) == 0
    assert choose_path(0, 0.51, path_ptr, valid, cum, tot, nv) == 1


@pytest.mark.parametrize("decision", ["pass_a", "same_day"])
def test_route_choice_share_in_a_run(decision: str) -> None:
    """Destination share with weight_softening 1, weight_power 2, foreign_weight 0.5 (§3.6), by hand."""
    # From the deciding place D: —40 km— X (camp, home), —90 km— Y (camp, abroad): A(X) = 1, A(Y) = 0.5.
    # w_X = ((1+1)/(10+40))² = 0.0016, w_Y = ((1+0.5)/(10+90))² = 0.000225 → X/(X+Y) = 0.876712.
    # (Without the power: 0.727; without the softening: 0.941.)
    # pass_a: D is conflict zone A, where people appear on day 1 and decide in pass A.
    # same_day: they appear at A and walk 10 km to town H (move chance 1), where they decide again the
    # same day (Flee's finish_travel); H→A also has weight ((1+0)/20)² (conflict_weight 0), and those
    # who go back return to H and decide again, so X:Y on day 1 is still w_X:w_Y.
    seeds, n = 20, 1000  # 20,000 people over 20 seeds; 4 SE
    mr = {"weight_softening": 1.0, "weight_power": 2.0, "foreign_weight": 0.5, "camp_movechance": 0.0,
          "conflict_weight": 0.0, "default_movechance": 1.0}
    d = "A" if decision == "pass_a" else "H"
    places = [("A", "conflict", 1000), ("X", "camp", 0), ("Y", "camp", 0, "Other")]
    roads = [(d, "X", 40), (d, "Y", 90)]
    if decision == "same_day":
        places.append(("H", "town", 10))
        roads.append(("A", "H", 10))
    sc = toy(places, roads, days=2, total=[(0, 0.0), (1, float(n)), (2, float(n))],
             conflicts={"A": [1, 1]}, settings={"move_rules": mr})
    plan = compile_plan(sc)
    x = y = 0
    for seed in range(seeds):
        o = run_agents(plan, seed=seed, threads=1)
        x, y = x + int(o.population[1, 1]), y + int(o.population[1, 2])
    assert x + y >= 0.99 * seeds * n  # (pass_a: everyone, both links < 360 km; same_day: all but a few bouncers)
    share = 0.0016 / (0.0016 + 0.000225)
    assert abs(x / (x + y) - share) < 4 * math.sqrt(share * (1 - share) / (x + y)), (x, y)


# --- 7. thresholds: ForceTownMove (avoid_short_stints) and the full-camp check (§3.6, §3.7) ---

def _stints_case(km_ab: float, avoid_short_stints: bool):
    # A (conflict, 1000) —km_ab— B (town, pop 0) —100— C (camp). movechance_pop_scale_factor 1 with
    # base 1000 gives A m = 1·(1000/1000) = 1, B m = 0.3·(0/1000) = 0 and C m = 0 (capacity 0), so
    # only ForceTownMove can take anyone on from B; conflict_weight 0 means nobody picks A.
    return toy([("A", "conflict", 1000), ("B", "town", 0), ("C", "camp", 0)],
               [("A", "B", km_ab), ("B", "C", 100)], days=4, total=[(0, 0.0), (1, 100.0), (4, 100.0)],
               conflicts={"A": [1] * 4},
               settings={"move_rules": {"avoid_short_stints": avoid_short_stints, "conflict_weight": 0.0,
                                        "movechance_pop_scale_factor": 1.0, "movechance_pop_base": 1000.0}})


@pytest.mark.parametrize(("km_ab", "ast", "at_c"), [
    # Day 1: 360 km of the A→B link, r ← (0 + 360/360)/2 = 0.5. Day 2: arrival at B after
    # D = km_ab − 360 km, then ForceTownMove iff (r + D/360)/2 < 0.5, i.e. D < 180 km.
    (500.0, True, True),    # D = 140: (0.5 + 0.389)/2 = 0.444 < 0.5 → m = 1, on to C the same day
    (540.0, True, False),   # D = 180: (0.5 + 0.5)/2 = 0.5, not < 0.5 → m = 0, stays at B
    (600.0, True, False),   # D = 240: 0.583 → stays at B
    (500.0, False, False),  # without avoid_short_stints: m = 0 at B
])
def test_force_town_move_threshold(km_ab: float, ast: bool, at_c: bool) -> None:
    """ForceTownMove: m = 1 at a town while (r + D/max_move_speed)/2 < 0.5 (flee-model.md §3.7)."""
    o = run_agents(compile_plan(_stints_case(km_ab, ast)), seed=3, threads=1)
    assert o.population[1].tolist() == [0, 0, 0]  # all 100 on A→B after day 1
    assert o.population[2:, 1].tolist() == ([0, 0] if at_c else [100, 100])
    assert o.population[2:, 2].tolist() == ([100, 100] if at_c else [0, 0])


def _full_camp_case(start: str, inside: int):
    # Camp C (capacity 1000, buffer 0.9) holds `inside` people who never leave (camp_movechance 0);
    # Cap(949) = 1 − (949 − 900)/100 = 0.51 lets people set off toward it, Cap(951) = 0.49 does not.
    # 10 people start at a place whose only non-zero-weight path is one link of 400 km to C.
    mr = {"camp_movechance": 0.0}
    if start == "uncapped":  # pass A at a place without capacity: spawned at conflict zone A on day 1
        return toy([("A", "conflict", 1000), ("C", "camp", 1000)], [("A", "C", 400)], days=4,
                   total=[(0, 0.0), (1, 10.0), (4, 10.0)], camps_data={"C": [(0, float(inside))]},
                   conflicts={"A": [1] * 4}, settings={"move_rules": mr})
    if start == "capped":  # pass A at a place with a capacity: IDP camp I (move chance 1) on day 0
        return toy([("I", "idpcamp", 100), ("C", "camp", 1000)], [("I", "C", 400)], days=4,
                   total=[(0, 0.0)], camps_data={"I": [(0, 10.0)], "C": [(0, float(inside))]},
                   settings={"move_rules": {**mr, "idpcamp_movechance": 1.0}})
    # same-day decision: spawned at A on day 1, they reach town B (50 km, move chance 1) and decide
    # again there; conflict_weight 0 leaves B→C as B's only path with weight
    return toy([("A", "conflict", 1000), ("B", "town", 10), ("C", "camp", 1000)],
               [("A", "B", 50), ("B", "C", 400)], days=4, total=[(0, 0.0), (1, 10.0), (4, 10.0)],
               camps_data={"C": [(0, float(inside))]}, conflicts={"A": [1] * 4},
               settings={"move_rules": {**mr, "default_movechance": 1.0, "conflict_weight": 0.0}})


@pytest.mark.parametrize("start", ["uncapped", "capped", "same_day"])
@pytest.mark.parametrize(("inside", "moves"), [(949, True), (951, False)])
def test_full_camp_check_at_half_cap(start: str, inside: int, moves: bool) -> None:
    """A step toward a camp is refused when the route's final camp has Cap < 0.5 (flee-model.md §3.6)."""
    p = compile_plan(_full_camp_case(start, inside))
    o = run_agents(p, seed=5, threads=1)
    first = 0 if start == "capped" else 1  # the day the 10 people first decide
    where = p.location_names.index("I" if start == "capped" else "A" if start == "uncapped" else "B")
    c = p.location_names.index("C")
    if moves:  # on the 400 km link at the end of that day, in C the next day
        assert o.travellers[first].sum() == 10
        assert o.population[first + 1:, c].tolist() == [inside + 10] * (3 - first)
    else:  # the route is dropped at every decision: they stay where they are
        assert o.travellers[first:].sum() == 0
        assert o.population[first:, where].tolist() == [10] * (4 - first)
        assert o.population[:, c].tolist() == [inside] * 4


# --- 8. use_pop_for_loc_weight over many seeds (flee-model.md §3.6, §7.2) ---

def test_use_pop_for_loc_weight_share_over_seeds() -> None:
    """Share choosing a pop-0 town vs a camp, 3.1's min(1,pop)^p with weight_softening 0.5 (§3.6, §7.2)."""
    # A —400— T (town, pop 0), A —400— C (camp): equal distances, so the share is by (WS + A):
    # use_pop on: T 0.5 + 0 = 0.5, C 0.5 + 1 = 1.5 → share T = 0.25; off (or HEAD's max(1, pop)): 0.5.
    # Links are longer than a day's 360 km, so after day 1 everyone is still on the link they chose.
    seeds, n = 20, 2000
    for use_pop, share in ((True, 0.25), (False, 0.5)):
        sc = toy([("A", "conflict", 1000), ("T", "town", 0), ("C", "camp", 0)],
                 [("A", "T", 400), ("A", "C", 400)], days=2, total=[(0, 0.0), (1, float(n)), (2, float(n))],
                 conflicts={"A": [1, 1]},
                 settings={"move_rules": {"use_pop_for_loc_weight": use_pop, "weight_softening": 0.5}})
        p = compile_plan(sc)
        to_t = 0
        for s in range(seeds):
            o = run_agents(p, seed=s, threads=1)
            assert o.travellers[1].sum() == n
            to_t += int(o.travellers[1, _link(p, "A", "T")])
        total = seeds * n
        assert abs(to_t / total - share) < 4 * math.sqrt(share * (1 - share) / total), (use_pop, to_t)
