"""What a policy variant can change, and the order of a day's events: a corridor's size, a
crossing's daily capacity and a shelter's places as parameters (`$name`, `[crisis.capacities]`),
and a transfer of `all` people that empties a place before a later event of the same day."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from corredor.analysis.ensemble import OverrideError, apply_overrides
from corredor.cli import app
from corredor.engine.rules.crisis_plan import EVENT_CODES, compile_crisis
from corredor.scenario import ScenarioError
from corredor.scenario.native_crisis import (
    load_variant,
    policy_day_warnings,
    read_crisis,
    with_parameters,
)
from corredor.scenario.problems import Problems

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "chile-peru-2023"
runner = CliRunner()

EVENTS_HEADER = "kind,start,end,every_days,origin,destination,crossing,people,groups,source\n"
CORRIDOR = ("corridor,2023-04-28,2023-06-30,,camp,santa_rosa,,$corridor_size,"
            "ven_undoc;ven_undoc_vuln;oth_undoc;oth_undoc_vuln,test\n")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the Chile–Peru scenario (its variants folder too)."""
    folder = tmp_path / "cp"
    shutil.copytree(SCENARIO, folder)
    return folder


def variant(folder: Path, name: str, body: str, files: dict[str, str] | None = None) -> Path:
    """A variant file `variants/<name>.toml` of the copy, with its own CSV files."""
    for file, text in (files or {}).items():
        (folder / "variants" / file).write_text(text, encoding="utf-8")
    path = folder / "variants" / f"{name}.toml"
    path.write_text(f'[variant]\nname = "{name}"\nbase = ".."\n{body}', encoding="utf-8")
    return path


def said(result) -> str:
    return " ".join(result.output.split())


# ---- a transfer of `all` before another event from the same place ---------------------------------


def test_the_shipped_corridor_keeps_working_after_the_line_is_cleared():
    """The shipped corridor variant appended its corridor after events.csv, whose transfers of
    `all` from the line to the Arica shelters (15 May on) ran first each day: the corridor,
    declared open to 30 Jun, moved nobody from 15 May. Its file now comes first."""
    from corredor.engine.crisis import simulate_crisis

    v = load_variant(SCENARIO / "variants" / "corridor_28apr.toml")
    res = simulate_crisis(v, seed=1)
    corridor = res.dataset["crossings"].sel(mode="corridor").sum("crossing").values
    first = (dt.date(2023, 5, 15) - v.start_date).days
    assert corridor[first:].sum() > 0, corridor[first:]
    assert not [w for w in v.metadata["warnings"] if "moves nobody" in w.message]
    flights = load_variant(SCENARIO / "variants" / "weekly_flights.toml")
    assert not [w for w in flights.metadata["warnings"] if "moves nobody" in w.message]


def test_validate_warns_of_an_event_that_a_clearance_listed_before_it_empties(copy: Path):
    """The shipped variant's old order: validate says which days the corridor moves nobody on,
    and names the rows of the baseline that take everyone first (exit 0: a warning)."""
    path = variant(copy, "late", '[crisis]\nevents = ["../events.csv", "corridor.csv"]\n'
                                 "[crisis.parameters]\ncorridor_open = 2023-04-28\n")
    r = runner.invoke(app, ["validate", str(path)])
    assert r.exit_code == 0, r.output
    assert ("corridor.csv:3:5: warning: this corridor from camp moves nobody on 47 days from 2023-05-15 "
            "to 2023-06-30: the transfers of all people from camp on lines 7 and 8 of ../events.csv come "
            "first on those days (the events of a day apply in the order they are listed; list this row, "
            "or its file, before them)") in said(r)
    first = variant(copy, "first", '[crisis]\nevents = ["corridor.csv", "../events.csv"]\n'
                                   "[crisis.parameters]\ncorridor_open = 2023-04-28\n")
    r = runner.invoke(app, ["validate", str(first)])
    assert r.exit_code == 0 and "moves nobody" not in r.output and "0 warnings" in r.output, r.output
    # a date parameter's new value (`--set`, `--sweep`) that brings the clearance's days about
    week = variant(copy, "week", '[crisis]\nevents = ["../events.csv", "week.csv"]\n'
                                 "[crisis.parameters]\ncorridor_open = 2023-04-28\n",
                   {"week.csv": EVENTS_HEADER + CORRIDOR.replace("2023-06-30", "$corridor_open+6")
                    .replace("$corridor_size", "100")})
    v = load_variant(week)
    assert not [w for w in v.metadata["warnings"] if "moves nobody" in w.message]
    later = policy_day_warnings(with_parameters(v, corridor_open=dt.date(2023, 5, 13)))
    assert [w.partition("week.csv:2: ")[2][:66] for w in later if "moves nobody" in w] == [
        "this corridor from camp moves nobody on 5 days from 2023-05-15 to "], later


def test_the_warning_counts_only_shared_days_and_groups(tmp_path: Path):
    """A clearance empties a later event only on the days both happen, for the groups both
    name: a flight on other days, or a corridor for other groups, is not warned of; one that shares
    some groups is warned of for those."""
    (tmp_path / "scenario.toml").write_text('[scenario]\nname = "t"\nstart_date = 2023-01-01\ndays = 10\n',
                                            encoding="utf-8")
    (tmp_path / "groups.csv").write_text(
        "name,share,documents,vulnerable,destinations,fallback\na,0.5,no,no,d=1,o\nb,0.5,no,no,d=1,o\n",
        encoding="utf-8")
    (tmp_path / "departures.csv").write_text("origin,start,end,people_per_day\no,2023-01-01,2023-01-10,5\n",
                                             encoding="utf-8")
    (tmp_path / "events.csv").write_text(
        EVENTS_HEADER
        + "transfer,2023-01-02,2023-01-05,,x,y,,all,a,clearance\n"   # line 2
        + "corridor,2023-01-01,2023-01-10,,x,y,,5,b,other group\n"  # line 3: no warning
        + "flight,2023-01-08,,,x,d,,5,,another day\n"               # line 4: no warning
        + "flight,2023-01-03,2023-01-09,3,x,d,,5,a;b,shares a\n"    # line 5: 3 and 6 Jan? 3 Jan only
        + "transfer,2023-01-04,,,x,d,,9,a,emptied\n",               # line 6
        encoding="utf-8")
    problems = Problems(root=tmp_path)
    table = {"groups": "groups.csv", "events": "events.csv", "departures": "departures.csv"}
    read_crisis(tmp_path, table, problems, {"o", "x", "y", "d"}, days=10)
    warned = {w.line: w.message for w in problems.warnings}
    assert set(warned) == {5, 6}, warned
    assert warned[5].startswith("this flight from x moves nobody of a on 2023-01-03: the transfer of all "
                                "people from x on line 2 comes first on those days")
    assert warned[6].startswith("this transfer from x moves nobody on 2023-01-04: the transfer of all "
                                "people from x on line 2 comes first")


# ---- $name in capacity_per_day and an event's people; [crisis.capacities] ------------------------


def test_a_corridor_size_and_a_crossing_capacity_are_parameters(copy: Path):
    """`$name` in an event's `people` and a policy's `capacity_per_day`: a variant, `--set` and
    `--sweep` change a corridor's daily size or Santa Rosa's capacity (they were refused as "bad
    people (expected a number)")."""
    policies = (copy / "policies.csv").read_text(encoding="utf-8").replace(
        "pe_santa_rosa,$peru_block,$peru_block+7,documents,17000", "pe_santa_rosa,$peru_block,$peru_block+7,documents,$santa_rosa_cap")
    path = variant(copy, "sized", '[crisis]\nevents = ["corridor_sized.csv", "../events.csv"]\n'
                                  'policies = "policies_cap.csv"\n'
                                  "[crisis.parameters]\ncorridor_size = 60\nsanta_rosa_cap = 300\n",
                   {"corridor_sized.csv": EVENTS_HEADER + CORRIDOR, "policies_cap.csv": policies})
    v = load_variant(path)
    plan = compile_crisis(v)
    corridor = plan.ev_kind == EVENT_CODES["corridor"]
    assert plan.ev_people[corridor].tolist() == [60]
    (pol,) = [i for i, p in enumerate(v.crisis.policies) if p.parameters.get("capacity_per_day")]
    assert plan.pool_cap[pol] == 300
    wider = compile_crisis(with_parameters(v, corridor_size=150, santa_rosa_cap=5000))
    assert wider.ev_people[corridor].tolist() == [150] and wider.pool_cap[pol] == 5000
    swept = compile_crisis(apply_overrides(v, {"crisis.corridor_size": 25}))
    assert swept.ev_people[corridor].tolist() == [25]
    # a count of people: a whole number (≥ 1 for an event's people, ≥ 0 for a capacity)
    with pytest.raises(ValueError, match=r"corridor_size': expected a whole number of at least 1"):
        with_parameters(v, corridor_size=2.5)
    with pytest.raises(OverrideError, match=r"corridor_size': expected a whole number of at least 1"):
        apply_overrides(v, {"crisis.corridor_size": 0})
    bad = variant(copy, "zero", '[crisis]\nevents = ["corridor_sized.csv", "../events.csv"]\n'
                                "[crisis.parameters]\ncorridor_size = 0\n")
    r = runner.invoke(app, ["validate", str(bad)])
    assert r.exit_code == 2 and "corridor_sized.csv:2:8: bad people: parameter 'corridor_size' is 0 " \
        "(expected a whole number of at least 1)" in said(r), r.output


def test_a_variant_changes_a_shelters_places(copy: Path):
    """`[crisis.capacities]` in a variant replaces a shelter's capacity (locations.csv, which a
    variant may not replace), as a number or as a parameter that `--sweep` varies."""
    shelters = [loc.name for loc in load_variant(variant(copy, "plain", "")).locations]
    arica = shelters.index("arica_shelters")
    fixed = load_variant(variant(copy, "more", "[crisis.capacities]\narica_shelters = 2500\n"))
    assert compile_crisis(fixed).shelter_cap[arica] == 2500
    path = variant(copy, "swept", '[crisis.capacities]\narica_shelters = "$shelter_places"\n'
                                  "[crisis.parameters]\nshelter_places = 300\n")
    v = load_variant(path)
    assert compile_crisis(v).shelter_cap[arica] == 300
    assert compile_crisis(with_parameters(v, shelter_places=40)).shelter_cap[arica] == 40
    with pytest.raises(OverrideError, match="whole number of at least 0"):
        apply_overrides(v, {"crisis.shelter_places": 12.5})
    base = compile_crisis(load_variant(variant(copy, "plain2", "")))
    assert base.shelter_cap[arica] == 1000 and (np.delete(base.shelter_cap, arica) == -1).all()
    bad = variant(copy, "bad", '[crisis.capacities]\narica_shelter = 20\ncamp = 5\narica_shelters = 2.5\n'
                               'tacna = "$nope"\n')
    with pytest.raises(ScenarioError) as err:
        load_variant(bad)
    text = " ".join(str(err.value).split())
    assert "bad.toml:5:1: crisis.capacities: unknown location 'arica_shelter' (did you mean 'arica_shelters'?)" in text
    assert "bad.toml:6:1: crisis.capacities: 'camp' is not a shelter" in text
    assert "bad.toml:7:1: crisis.capacities.arica_shelters: expected a whole number of places" in text
    assert "bad.toml:8:1: crisis.capacities: 'tacna' is not a shelter" in text


def test_a_parameter_in_a_column_that_takes_none_says_where_one_may_go(copy: Path):
    """`$step` in every_days, with `step` in the variant's [crisis.parameters]: the first line
    said "unknown crisis parameter 'step' ... belongs in that variant's [crisis.parameters]",
    where it was; now only the cell's error, which lists the columns that take `$name`."""
    path = variant(copy, "stepped", '[crisis]\nevents = ["stepped.csv", "../events.csv"]\n'
                                    "[crisis.parameters]\nstep = 7\n",
                   {"stepped.csv": EVENTS_HEADER + "flight,2023-05-14,2023-06-30,$step,arica_shelters,caracas,,115,,x\n"})
    r = runner.invoke(app, ["validate", str(path)])
    text = said(r)
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert "unknown crisis parameter" not in text, r.output
    assert ("stepped.csv:2:4: bad every_days (expected a number, found '$step'): every_days cannot name a "
            "parameter; $name is allowed in policies' start, end, capacity_per_day, militarisation, "
            "price_usd and bribe_success; events' start, end, people and fare_usd; departures' start and end") in text
