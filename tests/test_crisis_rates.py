"""Crisis rules measured as rates over many seeds: paid passage, give-ups, shelters, pushbacks.

Each test runs the small scenario of test_crisis_engine.py (o → x -| c |-> y → d, shelter s beside
x, irregular path x → d) so that the people at risk of a rule on each day can be read off the
dataset, and compares the events counted with their binomial expectation:

    z = (observed − Σ n_t·p_t) / sqrt(Σ n_t·p_t·(1 − p_t)),   |z| < 4   (4 standard errors)

where n_t is the number of people at risk on day t and p_t the rule's probability for them. The
seeds are fixed, so a test either always passes or always fails; 4 standard errors keep a correct
rule clear of the line while every mutation below lands tens of standard errors away.

Who is at risk, from the rules (crisis_cross.py, crisis_events.py) and the scenario: at 600 km a
day everyone who departs from o reaches x (100 km) the same day and tries the crossing that day;
people who fail are WAITING at x (`stranded`) at the end of the day unless they gave up or passed.

Runs use one thread: the parallel kernels' thread start-up dominates runs this small.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from corredor.engine.crisis import simulate_crisis
from corredor.engine.rules.crisis_plan import compile_crisis
from corredor.scenario.model import Crossing, Event, Group, Location, PolicyPeriod, Route, Scenario
from test_crisis_engine import QUIET, closed_from, tiny

TOLERANCE_SE = 4.0  # |observed − expected| < 4 binomial standard errors
SEEDS = range(20)


def one_group(cash_mean: float = 0.0, cash_sd: float = 0.0) -> tuple[Group, ...]:
    return (Group("undoc", 1.0, documents=False, destinations={"d": 1.0}, fallback="o",
                  cash_usd_mean=cash_mean, cash_usd_sd=cash_sd),)


def cohort(sc: Scenario, people: int) -> Scenario:
    """All `people` depart on day 0 (and nobody later)."""
    rows = ({**sc.crisis.departures["rows"][0], "start": 0, "end": 0, "people_per_day": float(people)},)
    return dataclasses.replace(sc, crisis=dataclasses.replace(sc.crisis, departures={"rows": rows}))


def runs(sc: Scenario, seeds=SEEDS):
    plan = compile_crisis(sc)
    for seed in seeds:
        yield simulate_crisis(sc, seed=seed, plan=plan, threads=1, check=True).dataset


def z_score(successes: float, trials: np.ndarray, p: np.ndarray) -> float:
    """Binomial z of `successes` out of independent trials (`trials[k]` of them with probability
    `p[k]`)."""
    trials = np.asarray(trials, dtype=float)
    p = np.broadcast_to(np.asarray(p, dtype=float), trials.shape)
    mean = float((trials * p).sum())
    sd = math.sqrt(float((trials * p * (1 - p)).sum()))
    return (successes - mean) / sd


def assert_rate(successes: float, trials, p, what: str) -> None:
    z = z_score(successes, trials, p)
    trials = np.asarray(trials, dtype=float)
    expected = float((trials * np.asarray(p, dtype=float)).sum())
    assert abs(z) < TOLERANCE_SE, (
        f"{what}: {successes:.0f} observed, {expected:.1f} expected from {trials.sum():.0f} trials "
        f"(z = {z:.1f}, tolerance {TOLERANCE_SE} SE)")


# ---- 1. paid passage ---------------------------------------------------------------------------


def test_paid_passage_succeeds_with_bribe_success_and_costs_the_price():
    """Closed crossing, a price of 100 USD, everyone carrying 1,000 (cash is spent only when paying
    works, so a failed payer can pay again), nobody gives up or goes irregular. Everyone at x tries
    to pay once a day, so attempts on a day = paid passages + stranded at x that evening, and paid
    passages ÷ attempts ≈ bribe_success (20 seeds × about 500–1,300 attempts; 4 SE). Money paid is
    price × paid passages exactly, day by day."""
    price = 100.0
    for success in (0.3, 0.8):
        sc = tiny(groups=one_group(1000.0, 0.0), params=QUIET,
                  policies=closed_from(0, status="closed", price_usd=price, bribe_success=success))
        paid = attempts = 0
        for ds in runs(sc):
            p = ds["crossings"].sel(crossing="c", mode="paid").values
            waiting = ds["stranded"].sel(location="x").values
            assert int(ds["crossings"].sel(crossing="c").sum()) == int(p.sum())  # no other mode
            np.testing.assert_array_equal(ds["money_paid_usd"].sel(crossing="c").values, price * p)
            assert float(ds["money_paid_usd"].sum()) == price * int(p.sum())
            paid += int(p.sum())
            attempts += int((p + waiting).sum())
        assert_rate(paid, [attempts], [success], f"paid passages at bribe_success {success}")


def test_only_people_carrying_the_price_can_pay():
    """Cash ~ Normal(100, 50) clipped at 0, a price of 120 that always works: exactly those with
    cash ≥ 120 pass, on their first day at x; the others wait for ever (nothing else lets them
    through). The share that paid ≈ P(N(100, 50) ≥ 120) = 0.345 (20 seeds × 400 people; 4 SE)."""
    price, mean, sd = 120.0, 100.0, 50.0
    sc = tiny(groups=one_group(mean, sd), params=QUIET,
              policies=closed_from(0, status="closed", price_usd=price, bribe_success=1.0))
    paid = people = 0
    for ds in runs(sc):
        p = ds["crossings"].sel(crossing="c", mode="paid").values
        # nobody pays after their first day: who could not pay then never can
        assert (p <= ds["spawned"].values).all()
        total = int(ds["total_people"].values[-1])
        assert int(p.sum()) + int(ds["stranded"].sel(location="x").values[-1]) == total
        paid += int(p.sum())
        people += total
    able = 0.5 * math.erfc((price - mean) / (sd * math.sqrt(2)))
    assert_rate(paid, [people], [able], "people able to pay")


def test_cash_equal_to_the_price_pays():
    """Found by a test audit (`cash > price` in place of `cash ≥ price` survived): everyone
    carrying exactly the 100 USD demanded (sd 0), with a payment that always works, passes on the
    day they reach the closed crossing: the whole cohort on day 0, nobody stranded."""
    price, n = 100.0, 200
    sc = cohort(tiny(days=3, groups=one_group(price, 0.0), params=QUIET,
                     policies=closed_from(0, status="closed", price_usd=price, bribe_success=1.0)), n)
    for ds in runs(sc, seeds=range(3)):
        paid = ds["crossings"].sel(crossing="c", mode="paid").values
        assert paid.tolist() == [n, 0, 0]
        assert float(ds["money_paid_usd"].sel(crossing="c").sum()) == price * n
        assert int(ds["stranded"].sum()) == 0


# ---- 2. give-ups while waiting -----------------------------------------------------------------


def test_give_up_hazard_on_the_first_day_and_its_growth():
    """A cohort of 1,000 reaches the closed crossing on day 0; no irregular attempts. On day t the
    people at risk are those still waiting (day 0: the whole cohort; then stranded at x the evening
    before), all with t days waited, so each gives up with 1 − exp(−(base + per_day·t)).
    Day 0 alone (20,000 trials) tests give_up_base; days 1–9 together test the growth. 4 SE.
    Seeds 20–39: seeds 0–19 happen to sit at z = −3.5 on days 1–9, a fluctuation (100 other seeds
    × 5,000 people give z = +0.4), too near the line for a test of a correct rule."""
    base, per_day, n, days = 0.2, 0.1, 1000, 10
    sc = cohort(tiny(days=days, groups=one_group(), policies=closed_from(0, status="closed"),
                     params={"irregular_try": 0.0, "give_up_base": base, "give_up_per_day": per_day}), n)
    give = np.zeros(days)
    risk = np.zeros(days)
    for ds in runs(sc, seeds=range(20, 40)):
        waiting = ds["stranded"].sel(location="x").values
        g = ds["give_ups"].values
        assert waiting[0] + g[0] == n  # the whole cohort tried on day 0
        np.testing.assert_array_equal(waiting[1:], waiting[:-1] - g[1:])  # nobody else leaves
        give += g
        risk[0] += n
        risk[1:] += waiting[:-1]
    t = np.arange(days)
    hazard = 1 - np.exp(-(base + per_day * t))
    assert_rate(give[0], risk[:1], hazard[:1], "give-ups on the first day of waiting")
    assert_rate(give[1:].sum(), risk[1:], hazard[1:], "give-ups on days 1-9")
    # the per-day term matters: without it days 1–9 would be far off
    assert abs(z_score(give[1:].sum(), risk[1:], np.full(days - 1, hazard[0]))) > 10


# ---- 3. give-ups from a shelter ----------------------------------------------------------------


def shelter_run(factor: float, base: float = 0.1, per_day: float = 0.05, n: int = 1000, days: int = 12):
    """A cohort of n stranded at x on day 0 and taken, all of them, into shelter s the same day
    (including those who gave up that day: their give-ups are taken back)."""
    sc = tiny(days=days, groups=one_group(), policies=closed_from(0, status="closed"),
              events=(Event("transfer", 0, 0, "x", "s", -1),), shelter_capacity=2 * n,
              params={"irregular_try": 0.0, "give_up_base": base, "give_up_per_day": per_day,
                      "shelter_give_up_factor": factor})
    return cohort(sc, n)


def test_shelter_give_ups_follow_the_reduced_hazard():
    """Sheltered people give up with 1 − exp(−factor·(base + per_day·w)) where w counts the days
    since the transfer (waited is reset to 0 by it, not the days waited at x before). Transferred
    on day 0 (after that day's give-ups at x, which the transfer takes back), they face no shelter
    draw that day (one give-up draw a day); on day t ≥ 1 the people at risk are the sheltered of
    the evening before with w = t − 1; nobody else is waiting, so every give-up counted is one
    from the shelter. 20 seeds × 1,000 people × 12 days; 4 SE, at factors 0.5 and 1."""
    base, per_day, n, days = 0.1, 0.05, 1000, 12
    t = np.arange(1, days)
    for factor in (0.5, 1.0):
        give = np.zeros(days)
        risk = np.zeros(days)
        for ds in runs(shelter_run(factor, base, per_day, n, days)):
            sheltered = ds["sheltered"].sel(location="s").values
            g = ds["give_ups"].values
            assert int(ds["crossings"].sel(crossing="c", mode="transfer").values[0]) == n
            assert sheltered[0] == n and g[0] == 0  # the day of the transfer: no second draw
            np.testing.assert_array_equal(sheltered[1:], sheltered[:-1] - g[1:])
            assert int(ds["stranded"].sum()) == 0
            give += g
            risk[1:] += sheltered[:-1]
        hazard = 1 - np.exp(-factor * (base + per_day * (t - 1)))
        assert_rate(give[1], risk[1:2], hazard[:1], f"shelter give-ups on day 1, factor {factor}")
        assert_rate(give[1:].sum(), risk[1:], hazard, f"shelter give-ups, factor {factor}")


def test_nobody_leaves_a_shelter_at_factor_zero():
    for ds in runs(shelter_run(0.0, base=0.3, per_day=0.1), seeds=range(5)):
        assert int(ds["give_ups"].sum()) == 0
        assert (ds["sheltered"].sel(location="s").values == 1000).all()


# ---- 4. irregular attempts and pushbacks -------------------------------------------------------


def test_irregular_success_and_pushbacks_scale_with_militarisation():
    """Closed crossing, irregular_try 1, no give-ups, pushbacks left at x (pushback_to empty =
    the staging place): everyone at x tries the irregular path every day, so attempts on a day =
    irregular passages + stranded at x that evening, and every one stranded that evening failed an
    attempt that day. Irregular passages ÷ attempts ≈ irregular_success·(1 − m) and pushbacks ÷
    failed attempts ≈ pushback_factor·m, at m = 0.3 and 0.8 (20 seeds, about 10,000 attempts each;
    4 SE)."""
    irregular_success = 0.5
    params = {"irregular_try": 1.0, "irregular_success": irregular_success, "pushback_factor": 1.0,
              "give_up_base": 0.0, "give_up_per_day": 0.0}
    for m in (0.3, 0.8):
        sc = tiny(groups=one_group(), params=params,
                  policies=closed_from(0, status="closed", militarisation=m))
        passed = attempts = pushed = failed = 0
        for ds in runs(sc):
            irr = ds["crossings"].sel(crossing="c", mode="irregular").values
            waiting = ds["stranded"].sel(location="x").values
            passed += int(irr.sum())
            attempts += int((irr + waiting).sum())
            pushed += int(ds["pushbacks"].sel(crossing="c").sum())
            failed += int(waiting.sum())
        assert_rate(passed, [attempts], [irregular_success * (1 - m)], f"irregular passages at m={m}")
        assert_rate(pushed, [failed], [1.0 * m], f"pushbacks at m={m}")


# ---- 5. two crossings in series ----------------------------------------------------------------


def two_crossings(days: int, n: int, params: dict[str, float]) -> Scenario:
    """o → x -| c |-> y → x2 -| c2 |-> y2 → d: a cohort of n reaches c (closed on days 0–4) on
    day 0, those still there pass it on day 5 when it opens, and reach c2 (always closed) on day
    6, after 5 days of waiting at c."""
    base = tiny(days=days, groups=one_group(), params=params)
    locs = (Location("o", kind="city"), Location("x", kind="staging"), Location("y", kind="border_post"),
            Location("x2", kind="staging"), Location("y2", kind="border_post"),
            Location("d", kind="destination"))
    routes = (Route("o", "x", 100.0), Route("x", "y", 1.0), Route("y", "x2", 10.0),
              Route("x2", "y2", 1.0), Route("y2", "d", 100.0))
    crisis = dataclasses.replace(
        base.crisis, crossings=(Crossing("c", "x", "y", "x"), Crossing("c2", "x2", "y2", "x2")),
        policies=(PolicyPeriod("c", 0, 4, status="closed"), PolicyPeriod("c2", 0, 10_000, status="closed")))
    return cohort(dataclasses.replace(base, locations=locs, routes=routes, crisis=crisis), n)


def test_days_waited_start_again_at_the_next_crossing():
    """Found by a test audit (dropping `waited = 0` on a passage survived every crisis test: the
    `tiny` scenario has one crossing): the days waited at c are not carried to c2. Without
    give-ups, all n are stranded at x2 from day 6 having waited 1 day there, so the days-waited
    histogram has them all in its first bin (1–2 days), not in 3–6 (5 days at c + 1)."""
    n = 100
    for ds in runs(two_crossings(8, n, QUIET), seeds=range(3)):
        assert int(ds["crossings"].sel(crossing="c", mode="regular").values[5]) == n
        assert int(ds["stranded"].sel(location="x2").values[6]) == n
        assert ds["days_waited"].values[6].tolist() == [n, 0, 0, 0, 0]
        assert ds["days_waited"].values[7].tolist() == [n, 0, 0, 0, 0]  # 2 days at c2


def test_give_up_hazard_at_the_next_crossing_starts_from_give_up_base():
    """The give-up hazard at c2 grows from the days waited at c2 only: on day 6 + w the people
    at risk are those who passed c on day 5 (w = 0) or were stranded at x2 the evening before,
    each giving up with 1 − exp(−(base + per_day·w)); nobody else is waiting (the rest gave up at
    c before it opened). 20 seeds × 1,000 people, about 220 of them reaching c2; 4 SE. Carried
    over, the 5 days at c would put day 6's hazard at 0.45 instead of 0.095."""
    base, per_day, n, days = 0.1, 0.1, 1000, 12
    sc = two_crossings(days, n, {"irregular_try": 0.0, "give_up_base": base, "give_up_per_day": per_day})
    give = np.zeros(days - 6)
    risk = np.zeros(days - 6)
    for ds in runs(sc):
        passed = int(ds["crossings"].sel(crossing="c").values[5].sum())
        waiting = ds["stranded"].sel(location="x2").values[6:]
        assert int(ds["stranded"].sel(location="x").values[5:].sum()) == 0
        give += ds["give_ups"].values[6:]
        risk += np.concatenate(([passed], waiting[:-1]))
    hazard = 1 - np.exp(-(base + per_day * np.arange(days - 6)))
    assert_rate(give[0], risk[:1], hazard[:1], "give-ups on the first day at the second crossing")
    assert_rate(give.sum(), risk, hazard, "give-ups at the second crossing")
