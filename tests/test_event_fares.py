"""Fares on events (events.csv `fare_usd`): paid from the cash people carry; whoever cannot pay
is not taken. Why: a boat or bus ticket (the Darién's, Tapachula's) only entered route choice, so
"stranded because they cannot pay the boat" could not be expressed."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from corredor.analysis.compare import key_figures
from corredor.analysis.ensemble import apply_overrides
from corredor.cli import app
from corredor.engine.crisis import InvariantError, _check_cash, simulate_crisis
from corredor.engine.invariants import results_problems
from corredor.engine.rules.crisis_plan import compile_crisis
from corredor.scenario import load_scenario
from corredor.scenario.model import Event, Group
from test_crisis_engine import closed_from, tiny

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "chile-peru-2023"
runner = CliRunner()

#: Nobody gives up, nobody tries the irregular path: the people at x wait for the events.
STILL = {"irregular_try": 0.0, "give_up_base": 0.0, "give_up_per_day": 0.0}


def cash_groups(mean: float, sd: float) -> tuple[Group, ...]:
    return (Group("undoc", 1.0, documents=False, destinations={"d": 1.0}, fallback="o",
                  cash_usd_mean=mean, cash_usd_sd=sd),)


def flights(fare: float, seats: int = 5) -> tuple[Event, ...]:
    """A daily flight x -> d from day 5 to day 19."""
    return (Event("flight", 5, 19, origin="x", destination="d", people=seats, fare_usd=fare),)


def test_a_fare_above_everyones_cash_moves_nobody():
    sc = tiny(groups=cash_groups(100.0, 0.0), policies=closed_from(0), events=flights(150.0), params=STILL)
    ds = simulate_crisis(sc, seed=1, check=True).dataset
    assert int(ds["crossings"].sel(mode="flight").sum()) == 0
    assert float(ds["fares_paid_usd"].sum()) == 0.0
    assert int(ds["exited"].values[-1]) == 0
    # everyone at x on a flight's day was passed over: they stay stranded there
    stranded = ds["stranded"].sel(location="x").values
    assert int(ds["cannot_pay_fare"].sum("crossing").values[5]) == int(stranded[5])
    assert int(ds["cannot_pay_fare"].sum()) == int(stranded[5:20].sum()) > 0
    # (at 100 USD everyone pays: the same flights take 5 a day)
    paid = simulate_crisis(dataclasses.replace(sc, crisis=dataclasses.replace(
        sc.crisis, events=flights(100.0))), seed=1, check=True).dataset
    assert ds["crossings"].sel(mode="flight").sum() == 0
    assert paid["crossings"].sel(mode="flight").sum("crossing").values[5:20].tolist() == [5] * 15
    assert int(paid["cannot_pay_fare"].sum()) == 0


def test_paid_total_is_people_moved_times_fare_and_the_seat_goes_to_a_payer():
    """Cash ~ N(60, 40): about a third cannot pay 50; the flight still fills its 5 seats with
    payers, fares and bribes are both money paid, and cash is conserved (check=True)."""
    sc = tiny(groups=cash_groups(60.0, 40.0), policies=closed_from(0, price_usd=30.0, bribe_success=0.2),
              events=flights(50.0), params=STILL)
    res = simulate_crisis(sc, seed=2, check=True)
    ds = res.dataset
    moved = ds["crossings"].sel(mode="flight").sum("crossing").values
    assert moved[5:20].tolist() == [5] * 15
    assert float(ds["fares_paid_usd"].sum()) == pytest.approx(50.0 * moved.sum())
    assert int(ds["cannot_pay_fare"].sum()) > 0
    bribes = float(ds["money_paid_usd"].sum())
    assert bribes == pytest.approx(30.0 * int(ds["crossings"].sel(mode="paid").sum())) and bribes > 0
    figures = key_figures(ds)
    assert figures["fares_paid_usd"] == pytest.approx(50.0 * 75)
    assert figures["money_paid_usd"] == pytest.approx(bribes + 50.0 * 75)
    assert figures["cannot_pay_fare"] == float(ds["cannot_pay_fare"].sum())
    assert results_problems(res) == []


def test_a_fare_of_zero_moves_whom_no_fare_would():
    base = tiny(groups=cash_groups(60.0, 40.0), policies=closed_from(0), events=flights(0.0), params=STILL)
    ds = simulate_crisis(base, seed=3, check=True).dataset
    plain = dataclasses.replace(base, crisis=dataclasses.replace(base.crisis, events=(
        Event("flight", 5, 19, origin="x", destination="d", people=5),)))
    other = simulate_crisis(plain, seed=3, check=True).dataset
    for name in ds.data_vars:
        assert np.array_equal(ds[name].values, other[name].values, equal_nan=True), name
    assert float(ds["fares_paid_usd"].sum()) == 0.0 and int(ds["cannot_pay_fare"].sum()) == 0


def test_cash_conservation_is_checked():
    out = {"money_paid_usd": np.array([[10.0]]), "fares_paid_usd": np.array([[20.0]])}
    _check_cash(0, np.array([40.0, 30.0]), 100.0, out)  # 70 carried + 30 paid
    with pytest.raises(InvariantError, match="cash given 100.00 USD != carried 60.00 \\+ paid 30.00"):
        _check_cash(0, np.array([30.0, 30.0]), 100.0, out)
    with pytest.raises(InvariantError, match="negative cash"):
        _check_cash(0, np.array([80.0, -10.0]), 100.0, out)


def test_negative_fares_in_results_are_an_invariant_problem():
    sc = tiny(groups=cash_groups(100.0, 0.0), policies=closed_from(0), events=flights(10.0), params=STILL)
    res = simulate_crisis(sc, seed=1)
    res.dataset["fares_paid_usd"][6, 0] = -1.0
    assert "fares_paid_usd: negative" in results_problems(res)


# ---- the events file ----------------------------------------------------------------------------


HEADER = ("kind,start,end,every_days,origin,destination,crossing,people,fare_usd,groups,source\n"
          "#event+kind,#date+start,#date+end,#indicator+every_days,#loc+origin+code,#loc+dest+code,"
          "#crossing+name,#affected+ind,#value+fare,#group+name,#meta+source\n")


def with_fares(tmp_path: Path, fares: list[str], params: str = "") -> Path:
    """A copy of the Chile–Peru scenario whose events.csv has a fare_usd column (`fares`: one cell
    per row of the shipped file, in order)."""
    folder = tmp_path / "cp"
    shutil.copytree(SCENARIO, folder)
    import csv
    import io

    rows = list(csv.reader(io.StringIO((SCENARIO / "events.csv").read_text(encoding="utf-8"))))[2:]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row, fare in zip(rows, fares, strict=True):
        w.writerow([*row[:8], fare, *row[8:]])
    (folder / "events.csv").write_text(HEADER + buf.getvalue(), encoding="utf-8")
    if params:
        toml = folder / "scenario.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace("[crisis.parameters]\n",
                                                                 f"[crisis.parameters]\n{params}\n"),
                        encoding="utf-8")
    return folder


def test_an_empty_or_zero_fare_column_reads_as_no_column(tmp_path: Path):
    folder = with_fares(tmp_path, ["", "0", "", "", "0.0", ""])
    shipped, zero = load_scenario(SCENARIO), load_scenario(folder)
    assert zero.crisis.events == shipped.crisis.events
    a, b = compile_crisis(shipped), compile_crisis(zero)
    assert a.ev_fare.tolist() == b.ev_fare.tolist() == [0.0] * len(a.ev_kind)


def test_a_fare_may_be_a_parameter(tmp_path: Path):
    folder = with_fares(tmp_path, ["$bus_fare", "120", "", "", "", ""], params="bus_fare = 15")
    sc = load_scenario(folder)
    plan = compile_crisis(sc)
    assert plan.ev_fare.tolist()[:2] == [15.0, 120.0]
    assert compile_crisis(apply_overrides(sc, {"crisis.bus_fare": 40})).ev_fare[0] == 40.0


@pytest.mark.parametrize(("cell", "line", "message"), [
    ("-5", 3, "bad fare_usd (expected at least 0, found '-5')"),
    ("abc", 3, "bad fare_usd (expected a number, found 'abc')"),
    ("inf", 3, "bad fare_usd (expected a finite number, found 'inf')"),
])
def test_a_bad_fare_is_an_error_at_its_cell(tmp_path: Path, cell: str, line: int, message: str):
    folder = with_fares(tmp_path, [cell, "", "", "", "", ""])
    r = runner.invoke(app, ["validate", str(folder)])
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert f"events.csv:{line}:9: {message}" in " ".join(r.output.split()), r.output


def test_a_negative_fare_parameter_and_an_admissions_fare_are_errors(tmp_path: Path):
    folder = with_fares(tmp_path, ["$bus_fare", "", "25", "", "", ""], params="bus_fare = -3")
    r = runner.invoke(app, ["validate", str(folder)])
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert "crisis parameter 'bus_fare': expected a number ≥ 0, found -3" in text, r.output
    assert ("events.csv:5:9: an admission takes no fare (expected an empty fare_usd, found '25')") in text, r.output


def test_a_price_column_in_events_is_warned_of(tmp_path: Path):
    folder = tmp_path / "cp"
    shutil.copytree(SCENARIO, folder)
    text = (folder / "events.csv").read_text(encoding="utf-8").replace("groups,source\n", "groups,source,price_usd\n", 1)
    (folder / "events.csv").write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["validate", str(folder)])
    assert ("events.csv:1:11: warning: price_usd is not read in an events table: an event's fare is the "
            "column fare_usd") in " ".join(r.output.split()), r.output


def test_a_run_page_gives_the_fares_among_the_money_paid(tmp_path: Path):
    from corredor.outputs.report import build_report
    from test_report import _key_rows, _run_folder_via_writer

    sc = tiny(groups=cash_groups(100.0, 0.0), policies=closed_from(0), params=STILL,
              events=(*flights(40.0), Event("flight", 6, 6, origin="x", destination="d", people=5, fare_usd=500.0)))
    res = simulate_crisis(sc, seed=1, check=True)
    rows = _key_rows(build_report(_run_folder_via_writer(res, tmp_path / "run")).read_text(encoding="utf-8"))
    assert rows["money paid"] == "3,000 USD" and rows["fares paid, of the money paid"] == "3,000 USD"
    # (on day 6 the dear flight, after the cheap one, found everyone still at x unable to pay)
    left = int(res.dataset["stranded"].sel(location="x").values[6])
    assert rows["passed over for want of a fare"] == f"{left:,} person-days"
