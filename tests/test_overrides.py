"""Warnings about values applied to a scenario (`analysis.overrides`): `apply_overrides` records
them for Python as for the commands, which print them one way (finding arch-7), and the sweep's
table of values (`compare.sweep_table`)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from typer.testing import CliRunner

from conftest import REPO
from corredor.analysis.compare import sweep_table
from corredor.analysis.ensemble import apply_overrides
from corredor.analysis.overrides import same_run, shared_warnings
from corredor.cli import app
from corredor.scenario import load_scenario
from corredor.scenario.native_crisis import load_any
from scenario_cases import MINI, write_mini_flee

SCENARIO = REPO / "scenarios" / "chile-peru-2023"
runner = CliRunner()


def _warned(scenario) -> list[str]:
    return list(scenario.metadata.get("override_warnings", ()))


def test_apply_overrides_records_what_the_commands_warned_of(tmp_path: Path) -> None:
    """From Python, `apply_overrides` of a date typed 2032-04-13 ran without the closure, silently,
    where `corredor run --set` warned; the same checks are now the library's, in the copy's
    metadata: a date outside the run, a parameter no table reads, policy rows a new date makes
    overlap, a Flee setting that changes nothing there. A value inside the run warns of nothing."""
    sc = load_any(SCENARIO).with_days(5)
    late = apply_overrides(sc, {"crisis.peru_block": dt.date(2032, 4, 13)})
    assert _warned(late) == ["crisis.peru_block = 2032-04-13 lies after the run's last day (2023-02-05): "
                             "rows dated from $peru_block do not start within the run"]
    assert _warned(apply_overrides(load_any(SCENARIO), {"crisis.peru_block": dt.date(2023, 4, 20)})) == []
    nc = load_any(SCENARIO / "variants" / "no_peru_closure.toml")
    assert _warned(apply_overrides(nc, {"crisis.peru_block": dt.date(2023, 4, 20)})) == [
        "no table is written against crisis.peru_block; any value given to it changes nothing"]

    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder)
    pol = folder / "policies.csv"
    pol.write_text(pol.read_text(encoding="utf-8").replace(
        "pe_santa_rosa,$peru_block+74,2023-06-30,", "pe_santa_rosa,2023-06-26,2023-06-30,"), encoding="utf-8")
    (line,) = _warned(apply_overrides(load_any(folder), {"crisis.peru_block": dt.date(2023, 4, 20)}))
    assert "policies.csv:7: overlaps the row on line 6 (pe_santa_rosa, 2023-06-26 to 2023-06-30)" in line

    flee = load_scenario(write_mini_flee(tmp_path / "case", dict(MINI)))
    (line,) = _warned(apply_overrides(flee, {"move_rules.use_pop_for_loc_weight": True}))
    assert line.startswith("move_rules.use_pop_for_loc_weight: true changes nothing in this scenario")


def test_a_warning_every_point_of_a_sweep_has_is_said_once() -> None:
    """`shared_warnings` keeps each point's own lines apart from the lines all points share, and
    `same_run` tells a point that is the baseline as written."""
    common, own = shared_warnings({"a": ["x", "y"], "b": ["y", "z"], "c": ["y"]})
    assert common == ["y"] and own == {"a": ["x"], "b": ["z"], "c": []}
    sc = load_any(SCENARIO)
    assert same_run(apply_overrides(sc, {"crisis.peru_block": dt.date(2023, 4, 13)}), sc)
    assert not same_run(apply_overrides(sc, {"crisis.peru_block": dt.date(2023, 4, 20)}), sc)


def test_the_sweep_table_gives_each_points_value_and_orders_a_one_way_sweep_by_it() -> None:
    """A one-way sweep of the price: its column, each scenario's value (the baseline's as written,
    100), and the baseline placed among the points by value; a variant file after them; a two-way
    sweep keeps the order compared."""
    base = load_any(SCENARIO)
    scenarios = {"baseline": base,
                 "bribe_price_usd=150": apply_overrides(base, {"crisis.bribe_price_usd": 150}),
                 "bribe_price_usd=55": apply_overrides(base, {"crisis.bribe_price_usd": 55})}
    columns, values, order = sweep_table(scenarios, ["crisis.bribe_price_usd"], ["bribe_price_usd=150",
                                                                                 "bribe_price_usd=55"])
    assert columns == ["bribe_price_usd"]
    assert values == {"baseline": {"bribe_price_usd": 100}, "bribe_price_usd=150": {"bribe_price_usd": 150},
                      "bribe_price_usd=55": {"bribe_price_usd": 55}}
    assert order == ["bribe_price_usd=55", "baseline", "bribe_price_usd=150"]
    columns, values, order = sweep_table(scenarios, ["crisis.bribe_price_usd", "crisis.peru_block"], [])
    assert columns == ["bribe_price_usd", "peru_block"] and values["baseline"]["peru_block"] == "2023-04-13"
    assert order == list(scenarios)
    assert sweep_table(scenarios, [], []) == ([], {}, list(scenarios))


def test_ensemble_and_compare_say_a_warning_of_every_sweep_point_once(tmp_path: Path) -> None:
    """A --set (ensemble) or one swept value (compare) every point shares gave the same warning once
    per point, each named by the point; now once, named by what they share."""
    after = "crisis.peru_block = 2032-04-13 lies after the run's last day"
    r = runner.invoke(app, ["ensemble", str(SCENARIO), "--replicas", "1", "--days", "3", "--executor",
                            "serial", "--no-plot", "-q", "--out", str(tmp_path / "e"),
                            "--set", "crisis.peru_block=2032-04-13", "--sweep", "crisis.bribe_price_usd=0,55"])
    said = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert said.count(after) == 1 and f"warning: chile-peru-2023: {after}" in said, said
    r = runner.invoke(app, ["compare", str(SCENARIO), "--seeds", "1", "--executor", "serial",
                            "--sweep", "crisis.peru_block=2032-04-13", "--sweep", "crisis.bribe_price_usd=0,55"])
    said = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert said.count(after) == 1 and f"warning: every --sweep point of {SCENARIO}: {after}" in said, said
