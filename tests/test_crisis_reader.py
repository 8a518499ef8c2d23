"""The [crisis] part of a native scenario: reading, problems with file:line:col, variants."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from corredor.scenario import ScenarioError, load_scenario
from corredor.scenario.native_crisis import (
    PARAMETERS,
    is_variant_file,
    load_variant,
    read_crisis,
    with_parameters,
)
from corredor.scenario.problems import Problems

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "chile-peru-2023"
NAMES = {"o", "x", "y", "d"}


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


GOOD = {
    "scenario.toml": '[scenario]\nname = "t"\nstart_date = 2023-01-01\ndays = 10\n',
    "groups.csv": "name,share,documents,vulnerable,destinations,fallback,cash_usd_mean,cash_usd_sd,source\n"
    "#group+name,#x,#x,#x,#x,#x,#x,#x,#x\n"
    "a,0.6,yes,no,d=1,o,100,10,s1\n"
    "b,0.4,no,yes,d=0.5;y=0.5,o,50,5,s2\n",
    "crossings.csv": "name,from,to,staging,irregular_to,pushback_to,source\nc,x,y,x,,,src\n",
    "policies.csv": "crossing,start,end,status,capacity_per_day,militarisation,price_usd,bribe_success,groups,source\n"
    "c,2023-01-03,2023-01-05,documents,10,0.5,,,b,src\n",
    "events.csv": "kind,start,end,every_days,origin,destination,crossing,people,groups,source\n"
    "flight,2023-01-02,2023-01-08,3,x,d,,20,a,src\n"
    "admission,2023-01-04,2023-01-06,,,,c,all,b,src\n",
    "departures.csv": "origin,start,end,people_per_day,scale,source\no,2023-01-01,2023-01-10,5,boost,src\n",
}
TABLE = {"groups": "groups.csv", "crossings": "crossings.csv", "policies": "policies.csv",
         "events": "events.csv", "departures": "departures.csv",
         "parameters": {"boost": 2.0, "give_up_base": 0.1}}


def test_reads_every_table(tmp_path):
    write(tmp_path, GOOD)
    problems = Problems(root=tmp_path)
    crisis = read_crisis(tmp_path, TABLE, problems, NAMES)
    assert not problems.errors, [str(p) for p in problems.items]
    assert [g.name for g in crisis.groups] == ["a", "b"]
    assert crisis.groups[1].destinations == {"d": 0.5, "y": 0.5}
    assert crisis.groups[0].documents and crisis.groups[1].vulnerable
    pol = crisis.policies[0]
    assert (pol.start, pol.end, pol.status, pol.groups) == (2, 4, "documents", ("b",))
    assert math.isnan(pol.price_usd) and math.isnan(pol.bribe_success)  # from the parameters
    assert [e.kind for e in crisis.events] == ["flight", "admission"]  # a row each
    flights = [e for e in crisis.schedule(10) if e.kind == "flight"]
    assert [e.start for e in flights] == [1, 4, 7]  # every 3 days from 2 Jan to 8 Jan
    adm = next(e for e in crisis.schedule(10) if e.kind == "admission")
    assert (adm.crossing, adm.start, adm.end, adm.people) == ("c", 3, 5, -1)
    assert crisis.departures["rows"][0]["scale"] == "boost"
    assert crisis.parameters["boost"] == 2.0
    assert crisis.parameters["give_up_base"] == 0.1
    assert crisis.parameters["speed_km_per_day"] == PARAMETERS["speed_km_per_day"]


ROUTES = {frozenset(p) for p in (("o", "y"), ("x", "y"), ("x", "d"))}


@pytest.mark.parametrize(
    "file, text, expected",
    [
        ("policies.csv", "crossing,start,end,status\nc,2023-01-03,2023-01-05,shut\n",
         "policies.csv:2:4: bad status 'shut' (expected one of open, documents, closed)"),
        ("policies.csv", "crossing,start,end,status\nc,2023-13-03,2023-01-05,open\n",
         "policies.csv:2:2: bad start (expected a date YYYY-MM-DD, found '2023-13-03')"),
        ("policies.csv", "crossing,start,end,status\nk,2023-01-03,2023-01-05,open\n",
         "policies.csv:2:1: unknown crossing 'k'"),
        ("policies.csv", "crossing,start,end,status,militarisation\nc,2023-01-03,2023-01-05,open,1.5\n",
         "policies.csv:2:5: bad militarisation (expected between 0 and 1, found '1.5')"),
        ("groups.csv", "name,share,destinations,fallback\na,1.0,dd=1,o\n",
         "groups.csv:2:3: unknown location 'dd' in destinations (did you mean 'd'?)"),
        ("groups.csv", "name,share,destinations,fallback\na,0.5,d=1,o\n",
         "groups.csv:1:2: group shares add up to 0.5 (expected 1: the column's shares of the people leaving)"),
        ("events.csv", "kind,start,people\nparty,2023-01-02,3\n",
         "events.csv:2:1: bad kind 'party' (expected one of transfer, flight, admission, corridor)"),
        ("events.csv", "kind,start,origin,destination,people,groups\nflight,2023-01-02,x,d,3,zz\n",
         "events.csv:2:6: unknown group 'zz'"),
        ("departures.csv", "origin,start,end,people_per_day\nq,2023-01-01,2023-01-10,5\n",
         "departures.csv:2:1: unknown location 'q' in origin"),
        # found by the loader fuzz test: a count too large for int64 crashed the compiler
        ("events.csv", "kind,start,origin,destination,people\nflight,2023-01-02,x,d,1e308\n",
         "events.csv:2:5: bad people (expected a number of size at most 1e+12, found '1e308')"),
        ("departures.csv", "origin,start,end,people_per_day\no,2023-01-01,2023-01-10,-2e13\n",
         "departures.csv:2:4: bad people_per_day (expected a number of size at most 1e+12"),
        ("departures.csv", "origin,start,end\no,2023-01-01,2023-01-10\n",
         "departures.csv:1:1: missing column people_per_day (expected origin, start, end, people_per_day)"),
        # found by fuzzing the Chile–Peru scenario: each was accepted, or refused only at run time
        ("groups.csv", "name,share,destinations,fallback\na,1.0,d=nan;y=1,o\n",
         "groups.csv:2:3: bad destination probability 'nan' for 'd' (expected a number between 0 and 1)"),
        ("groups.csv", "name,share,destinations,fallback\na,1.0,d=-0.5;y=1.5,o\n",
         "groups.csv:2:3: bad destination probability '-0.5' for 'd'"),
        ("crossings.csv", "name,from,to,staging\nc,x,o,x\n",
         "crossings.csv:2:3: crossing c: no route between 'x' and 'o' in the routes table"),
        ("crossings.csv", "name,from,to,staging\nc,x,x,x\n",
         "crossings.csv:2:3: a crossing goes from one place to another (found 'x' twice)"),
        ("crossings.csv", "name,from,to,staging,irregular_to\nc,x,y,x,o\n",
         "crossings.csv:2:5: crossing c's irregular path: no route between 'x' and 'o'"),
        ("events.csv", "kind,start,origin,destination,people\ncorridor,2023-01-02,o,d,5\n",
         "events.csv:2:4: corridor: no route between 'o' and 'd'"),
        # found by a researcher: a transfer to its own place was counted as 50 people moved a day
        ("events.csv", "kind,start,origin,destination,people\ntransfer,2023-01-02,x,x,50\n",
         "events.csv:2:4: transfer from 'x' to itself (expected two different places)"),
        ("events.csv", "kind,start,origin,destination,people\nflight,2023-01-02,d,d,5\n",
         "events.csv:2:4: flight from 'd' to itself (expected two different places)"),
        ("events.csv", "kind,start,origin,destination,people\ncorridor,2023-01-02,x,x,5\n",
         "events.csv:2:4: corridor from 'x' to itself (expected two different places)"),
        ("events.csv", "kind,start,origin,destination,people\nflight,2023-01-02,x,d,0.5\n",
         "events.csv:2:5: bad people (expected at least 1, found '0.5')"),
        ("events.csv", "kind,start,origin,destination,people\nflight,2023-01-02,x,d,1.5\n",
         "events.csv:2:5: bad people (expected a whole number, found '1.5')"),
        ("events.csv", "kind,start,crossing,people\nadmission,2023-01-02,c,0\n",
         "events.csv:2:4: bad people (expected at least 1, found '0')"),
        ("events.csv", "kind,start,end,every_days,origin,destination,people\nflight,2023-01-02,2023-01-05,0.5,x,d,3\n",
         "events.csv:2:4: bad every_days (expected a whole number, found '0.5')"),
        ("policies.csv", "crossing,start,end,status,capacity_per_day\nc,2023-01-03,2023-01-05,open,-0.5\n",
         "policies.csv:2:5: bad capacity_per_day (expected a whole number, found '-0.5')"),
        ("policies.csv", "crossing,start,end,status,bribe_success\nc,2023-01-03,2023-01-05,open,$boost\n",
         "policies.csv:2:5: bad bribe_success: parameter 'boost' is 2 (expected between 0 and 1)"),
        ("stranded.csv", "date,loc,value,low,high,kind\n2023-01-02,y,5,9,3,range\n",
         "stranded.csv:2:5: high 3 is below low 9"),
        ("stranded.csv", "date,loc,value,kind\n2023-01-02,y,-5,point\n",
         "stranded.csv:2:3: bad value (expected at least 0, found '-5')"),
        # what an observation is to the fit, and which rows are checked as one: data, checked
        ("stranded.csv", "date,loc,value,kind,role\n2023-01-02,y,5,point,fit\n",
         "stranded.csv:2:5: bad role 'fit' (expected fitted or held-out; empty: held-out)"),
        ("stranded.csv", "date,loc,value,kind,role\n2023-01-02,y,5,transfer,fitted\n",
         "stranded.csv:2:5: role fitted: kind transfer is not a count of people present"),
        ("stranded.csv", "date,loc,value,low,high,kind,role\n2023-01-02,y,,,,qualitative,fitted\n",
         "stranded.csv:2:7: role fitted: the row states no figure to fit (expected a value, or low and high)"),
        ("stranded.csv", "date,loc,value,kind,check\n2023-01-02,y,5,outflow,a\n",
         "stranded.csv:2:5: check 'a': kind outflow is not a count of people present"),
        ("stranded.csv", "date,loc,value,kind,check\n2023-01-02,y,5,point,a\n2023-01-03,y,9,peak,a\n",
         "stranded.csv:3:5: check 'a' is also the name of line 2: a peak is checked alone"),
        ("stranded.csv", "date,loc,value,kind,check\n2023-01-02,y,5,point,a\n2023-01-03,x,9,point,a\n",
         "stranded.csv:3:5: check 'a' is at 'y' (line 2), this row at 'x' (expected one place per check)"),
        ("stranded.csv", "date,loc,value,kind,role,check\n2023-01-02,y,5,point,fitted,a\n2023-01-03,y,9,point,,a\n",
         "stranded.csv:3:6: check 'a' is fitted (line 2), this row held-out (expected one role per check)"),
        ("groups.csv", "name,share,destinations,fallback\na,1.0,d=1,o,oops\n",
         "groups.csv:2:5: 5 cells, more than the header's 4 columns"),
        ("provided.csv", "location,indicator,amount\ny,latrines,3\n",
         "provided.csv:2:2: unknown indicator 'latrines'"),
        ("provided.csv", "location,indicator,amount\nq,toilets,3\n",
         "provided.csv:2:1: unknown location 'q' in location"),
        ("provided.csv", "location,indicator,amount\ny,toilets,-3\n",
         "provided.csv:2:3: bad amount (expected at least 0, found '-3')"),
    ],
)
def test_problems_name_file_line_and_column(tmp_path, file, text, expected):
    write(tmp_path, {**GOOD, file: text})
    problems = Problems(root=tmp_path)
    table = {**TABLE, "observations": "stranded.csv"} if file == "stranded.csv" else (
        {**TABLE, "provided": "provided.csv"} if file == "provided.csv" else TABLE)
    read_crisis(tmp_path, table, problems, NAMES, routes=ROUTES, days=10)
    messages = [str(p) for p in problems.errors]
    assert any(m.startswith(expected) for m in messages), messages


def test_observation_roles_and_checks_are_carried_with_the_rows(tmp_path):
    """The `role` and `check` columns travel with each observation (an empty role: held-out);
    a file without them gives rows without them (every row held out for the main job)."""
    write(tmp_path, {**GOOD, "stranded.csv": "date,loc,value,kind,role,check\n2023-01-02,y,5,point,fitted,a\n"
                                              "2023-01-03,y,9,point,fitted,a\n2023-01-04,y,7,point,,\n",
                     "plain.csv": "date,loc,value,kind\n2023-01-02,y,5,point\n"})
    crisis = read_crisis(tmp_path, {**TABLE, "observations": "stranded.csv"}, Problems(root=tmp_path), NAMES,
                         routes=ROUTES, days=10)
    assert [(o["role"], o.get("check")) for o in crisis.observations] == [
        ("fitted", "a"), ("fitted", "a"), ("held-out", None)]
    plain = read_crisis(tmp_path, {**TABLE, "observations": "plain.csv"}, Problems(root=tmp_path), NAMES,
                        routes=ROUTES, days=10)
    assert "role" not in plain.observations[0] and "check" not in plain.observations[0]


@pytest.mark.parametrize("fallback", ["x", "y"])
def test_a_fallback_at_a_crossing_is_warned_of(tmp_path, fallback):
    """Found by a review: with the camp (or the far side) as fallback, who gives up stays where
    they waited, uncounted (or joins the queue again); the warning names the place, not "the line"
    (any crisis's crossing)."""
    groups = GOOD["groups.csv"].replace("d=1,o,100", f"d=1,{fallback},100")
    write(tmp_path, {**GOOD, "groups.csv": groups})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, TABLE, problems, NAMES)
    assert not problems.errors
    then = {"x": "is the staging place of crossing c: people who give up at it would stay at 'x', where they "
                 "waited, no longer counted as stranded",
            "y": "is the far side of crossing c: people who give up at it would head through it to 'y', joining "
                 "the queue they gave up on"}[fallback]
    assert [str(p) for p in problems.warnings] == [
        f"groups.csv:3:6: warning: group a's fallback '{fallback}' {then} (expected a place away from the "
        "crossings, such as where they came from)"]


def test_the_good_tables_pass_with_routes_and_days(tmp_path):
    write(tmp_path, GOOD)
    problems = Problems(root=tmp_path)
    crisis = read_crisis(tmp_path, TABLE, problems, NAMES, routes=ROUTES, days=10)
    assert not problems.items, [str(p) for p in problems.items]
    assert [e.start for e in crisis.schedule(10) if e.kind == "flight"] == [1, 4, 7]


@pytest.mark.parametrize("key, value, expected", [
    ("irregular_success", 5.0, "expected a number between 0 and 1, found 5.0"),
    ("bribe_success", 1.5, "expected a number between 0 and 1"),
    ("speed_km_per_day", 0.0, "expected a number > 0, found 0.0"),
    ("route_temperature_km", 0, "expected a number > 0"),
    ("give_up_base", -1.0, "expected a number ≥ 0"),
])
def test_behaviour_parameters_are_bounded(tmp_path, key, value, expected):
    write(tmp_path, GOOD)
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, {**TABLE, "parameters": {**TABLE["parameters"], key: value}}, problems, NAMES)
    assert any(f"crisis parameter '{key}': {expected}" in str(p) for p in problems.errors), \
        [str(p) for p in problems.errors]


def test_rows_outside_the_run_warn_and_events_stay_within_it(tmp_path):
    """A daily transfer over eight millennia used to make millions of events (and 880 MB)."""
    events = ("kind,start,end,every_days,origin,destination,people\n"
              "transfer,1000-01-01,9999-12-31,,x,d,2\n"
              "flight,2022-12-30,2023-01-08,3,x,d,5\n"
              "flight,2030-01-01,,,x,d,5\n")
    write(tmp_path, {**GOOD, "events.csv": events})
    problems = Problems(root=tmp_path)
    crisis = read_crisis(tmp_path, TABLE, problems, NAMES, routes=ROUTES, days=10)
    assert not problems.errors, [str(p) for p in problems.errors]
    transfers = [e.start for e in crisis.schedule(10) if e.kind == "transfer"]
    assert transfers == list(range(10))
    assert [e.start for e in crisis.schedule(10) if e.kind == "flight"] == [1, 4, 7]  # every 3 days from day −2
    assert [str(p) for p in problems.warnings] == [
        "events.csv:4:2: warning: dated outside the run's 10 days from 2023-01-01: it has no effect"]


def test_overlapping_rows_and_gaps_in_one_policies_file_are_warned_of(tmp_path):
    """Found by a planner's walkthrough: two rows of one file setting the same crossing for the
    same group on the same days (the later silently wins), and days between rows that no row
    covers (silently open to everyone with no limit)."""
    head = "crossing,start,end,status,capacity_per_day,militarisation,price_usd,bribe_success,groups,source\n"
    rows = ("c,2023-01-01,2023-01-04,open,10,,,,,s\n"
            "c,2023-01-03,2023-01-05,documents,10,,,,b,s\n"    # overlaps line 2 on 3-4 Jan for b
            "c,2023-01-06,2023-01-06,documents,10,,,,a,s\n"    # touches, no gap, no overlap
            "c,2023-01-09,2023-01-10,closed,,,,,,s\n")         # 7-8 Jan uncovered
    write(tmp_path, {**GOOD, "policies.csv": head + rows})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, TABLE, problems, NAMES, routes=ROUTES, days=10)
    assert not problems.errors, [str(p) for p in problems.errors]
    assert [str(p) for p in problems.warnings] == [
        "policies.csv:3:2: warning: overlaps the row on line 2 (c, 2023-01-03 to 2023-01-04 for b): "
        "this later row applies on those days",
        "policies.csv:5:2: warning: no row of c covers 2023-01-07 to 2023-01-08: the crossing is open "
        "to everyone with no limit on those days (expected a row for them, e.g. status open)"]
    # rows for different groups on the same days do not overlap; a second file may override
    rows_ab = "c,2023-01-01,2023-01-10,open,10,,,,a,s\nc,2023-01-01,2023-01-10,closed,,,,,b,s\n"
    write(tmp_path, {"policies.csv": head + rows_ab, "later.csv": head + "c,2023-01-02,2023-01-03,closed,,,,,,s\n"})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, {**TABLE, "policies": ["policies.csv", "later.csv"]}, problems, NAMES,
                routes=ROUTES, days=10)
    assert not problems.items, [str(p) for p in problems.items]


@pytest.mark.parametrize("rows, start_date, error", [
    ("c,2023-01-01,2023-01-04,open,10,,,,,s\nc,2023-13-05,2023-01-10,closed,,,,,,s\n"
     "c,2023-01-05,2023-01-06,documents,10,,,,,s\n", dt.date(2023, 1, 1),
     "policies.csv:3:2: bad start (expected a date YYYY-MM-DD, found '2023-13-05')"),
    ("c,2023-01-01,2023-01-04,open,10,,,,,s\nc,2023-01-09,2023-01-05,closed,,,,,,s\n",
     dt.date(2023, 1, 1), "policies.csv:3:3: end is before start"),
    ("c,2023-01-01,2023-01-04,open,10,,,,,s\nc,2023-01-09,2023-01-10,closed,,,,,,s\n", None,
     "scenario.toml:1:1: crisis: [scenario] start_date is needed to read crisis dates"),
])
def test_rows_of_unknown_days_make_no_overlap_or_gap_warnings(tmp_path, rows, start_date, error):
    """Found by a bad-input review: a row whose date was bad (or every row, when start_date was
    missing) counted as day 0 to 0, so it was also warned to overlap the first row ('days 0 to
    0'), or to leave a gap."""
    head = "crossing,start,end,status,capacity_per_day,militarisation,price_usd,bribe_success,groups,source\n"
    write(tmp_path, {**GOOD, "policies.csv": head + rows})
    if start_date is None:
        (tmp_path / "scenario.toml").write_text('[scenario]\nname = "t"\ndays = 10\n')
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, TABLE, problems, NAMES, routes=ROUTES, days=10, start_date=start_date)
    assert [str(p) for p in problems.items] == [error]


def test_an_unreadable_policies_table_is_the_only_error(tmp_path):
    """Its parameters ($mil) are not also refused as unknown in scenario.toml."""
    write(tmp_path, {**GOOD, "policies.csv": "x" * 200_000 + ",1\n"})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, {**TABLE, "parameters": {**TABLE["parameters"], "mil": 0.5}}, problems, NAMES)
    messages = [str(p) for p in problems.errors]
    assert messages and all(m.startswith("policies.csv:") for m in messages), messages


def test_unknown_parameter_is_refused_with_a_suggestion(tmp_path):
    write(tmp_path, GOOD)
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, {**TABLE, "parameters": {"give_up_bas": 0.1, "boost": 1.0}}, problems, NAMES)
    assert any("unknown crisis parameter 'give_up_bas'" in str(p) and "(did you mean 'give_up_base'?)" in str(p)
               for p in problems.errors)


def test_missing_file_and_unknown_key(tmp_path):
    write(tmp_path, GOOD)
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, {**TABLE, "events": "nope.csv", "polices": "x.csv"}, problems, NAMES)
    text = [str(p) for p in problems.errors]
    assert any(t.startswith("nope.csv: missing file") for t in text), text
    assert any("unknown key 'crisis.polices' (did you mean 'policies'?)" in t for t in text), text


def test_shipped_scenario_loads_with_sources_everywhere():
    sc = load_scenario(SCENARIO)
    assert sc.crisis is not None
    assert sc.start_date == dt.date(2023, 2, 1) and sc.days == 150
    assert all(g.source for g in sc.crisis.groups)
    assert all(p.source for p in sc.crisis.policies)
    assert all(e.source for e in sc.crisis.events)
    assert all(r["source"] for r in sc.crisis.departures["rows"])
    assert abs(sum(g.share for g in sc.crisis.groups) - 1.0) < 1e-9
    # 70 % of departures from the Santiago area (Arica census)
    rows = [r for r in sc.crisis.departures["rows"] if r["start"] == 0]
    total = sum(r["people_per_day"] for r in rows)
    santiago = sum(r["people_per_day"] for r in rows if r["origin"] == "santiago")
    assert santiago / total == pytest.approx(0.70, abs=0.005)
    # the undocumented mix is 50 % Haitian, 40 % Venezuelan, 10 % others (UNHCR, 21 Apr)
    undoc = [g for g in sc.crisis.groups if not g.documents]
    share = sum(g.share for g in undoc)
    by_nat = {n: sum(g.share for g in undoc if g.nationality == n) / share for n in ("HTI", "VEN")}
    assert by_nat["HTI"] == pytest.approx(0.5) and by_nat["VEN"] == pytest.approx(0.4)


def test_variants_override_parameters_and_files():
    base = load_scenario(SCENARIO)
    v = load_variant(SCENARIO / "variants" / "bribe_55.toml")
    assert v.crisis.parameters["bribe_price_usd"] == 55.0
    assert v.crisis.policies == base.crisis.policies
    nc = load_variant(SCENARIO / "variants" / "no_peru_closure.toml")
    assert {p.status for p in nc.crisis.policies} == {"open"}
    cor = load_variant(SCENARIO / "variants" / "corridor_28apr.toml")
    assert len(cor.crisis.events) == len(base.crisis.events) + 1
    # (its file first: the baseline's daily clearance of the line would leave it nobody after it)
    assert cor.crisis.events[0].kind == "corridor" and cor.crisis.events[1:] == base.crisis.events
    assert is_variant_file(SCENARIO / "variants" / "bribe_0.toml")
    assert not is_variant_file(SCENARIO / "scenario.toml")


def test_bad_variant_reports_the_variant_file(tmp_path):
    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder)
    bad = folder / "variants" / "bad.toml"
    bad.write_text('[variant]\nbase = ".."\n[crisis.parameters]\nbribe_prise_usd = 3\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_variant(bad)
    text = str(err.value)
    assert "bad.toml:4" in text and "did you mean 'bribe_price_usd'" in text


def test_a_variants_problems_name_its_files_as_the_user_did(tmp_path, monkeypatch):
    """Found in an error review: the variant's own checks said variants/bad.toml:3:1, but the
    parameter checks said bad.toml:4 (no folder, no column) and its tables ev.csv:1."""
    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder)
    (folder / "variants" / "ev.csv").write_text("kind,start\nflight,2023-05-01\n", encoding="utf-8")
    bad = folder / "variants" / "bad.toml"
    bad.write_text('[variant]\nbase = ".."\n[crisis]\nevents = "ev.csv"\n[crisis.parameters]\n'
                   '  bribe_price_usd = "abc"\n', encoding="utf-8")
    monkeypatch.chdir(folder)
    with pytest.raises(ScenarioError) as err:
        load_variant(Path("variants") / "bad.toml")
    got = [str(p) for p in err.value.problems]
    assert any(p.startswith("variants/bad.toml:6:3: crisis parameter 'bribe_price_usd'") for p in got), got
    assert any(p.startswith("variants/ev.csv:1:1: missing column people") for p in got), got
    with pytest.raises(ScenarioError) as err:  # given in full, named in full
        load_variant(bad)
    assert str(err.value).startswith(f"{bad.as_posix()}:"), str(err.value)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # given from outside the scenario: ../s/variants/…, both files
    with pytest.raises(ScenarioError) as err:
        load_variant(Path("..") / "s" / "variants" / "bad.toml")
    got = [str(p) for p in err.value.problems]
    assert any(p.startswith("../s/variants/bad.toml:6:3: crisis parameter") for p in got), got
    assert any(p.startswith("../s/variants/ev.csv:1:1: missing column people") for p in got), got


@pytest.mark.parametrize("text, expected", [
    ('[variant]\nbase = "a\\u0000b"\n', "v.toml:2:1: bad base folder"),
    ('[variant]\nbase = ".."\ncrisis = 3\n', "v.toml:3:1: unknown key 'variant.crisis'"),
    ('[variant]\nbase = ".."\n[crisis]\nevents = ["events.csv", "e\\u0000.csv"]\n', "missing file"),
    ('[variant]\nbase = "../nowhere"\n', "v.toml:2:1: base '../nowhere' is not a scenario folder"),
    ('[variant]\nbase = ".."\n\n[scenario]\ndays = 30\n', "v.toml:4:1: a variant may override [crisis] only"),
    ('[variant]\nname = "x"\n', "v.toml:1:1: a variant needs [variant] base = \"<baseline folder>\", found no base key"),
    ('[variant]\nname = "x"\nbase = 5\n', "v.toml:3:1: a variant needs [variant] base = \"<baseline folder>\", found 5"),
])
def test_variant_faults_found_by_fuzzing_are_located(tmp_path, text, expected):
    """A NUL in a file name raised ValueError (a traceback); an unknown [variant] key was ignored."""
    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder)
    bad = folder / "variants" / "v.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_variant(bad)
    assert expected in str(err.value), str(err.value)


def test_a_variant_reports_its_own_key_problems_and_its_crisis_problems_together(tmp_path):
    """Found by a first-time user: a misspelt [variant] key (or a stray [scenario] table) stopped
    the loading there, hiding a misspelt parameter below it until the first was fixed; loading
    collects every problem before stopping (docs/scenario-format.md)."""
    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder)
    bad = folder / "variants" / "v.toml"
    bad.write_text('[variant]\nbase = ".."\ndescripton = "x"\n[crisis.parameters]\nmil_emergncy = 0.8\n'
                   '[scenario]\ndays = 30\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_variant(bad)
    got = sorted(str(p).split("v.toml:")[1][:5] for p in err.value.problems)
    assert got == ["3:1: ", "5:1: ", "6:1: "], [str(p) for p in err.value.problems]
    assert "did you mean 'mil_emergency'" in str(err.value) and "did you mean 'description'" in str(err.value)


def test_validate_of_a_variant_gives_the_warnings_of_its_own_files(tmp_path, monkeypatch):
    """Found by a first-time user: `corredor validate my_variant.toml` said "ok (0 warnings)" of
    a variant whose own events file held an event dated outside the run (the baseline's warnings
    were kept, the variant's dropped); a baseline file it re-reads is warned of once."""
    from corredor.scenario.validate import validate_path

    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder)
    (folder / "variants" / "late.csv").write_text(
        "kind,start,end,every_days,origin,destination,crossing,people,groups\n"
        "flight,2024-05-14,,,arica_shelters,caracas,,115,ven_undoc\n", encoding="utf-8")
    (folder / "variants" / "v.toml").write_text(
        '[variant]\nbase = ".."\n[crisis]\nevents = ["../events.csv", "late.csv"]\n', encoding="utf-8")
    (folder / "events.csv").write_text((folder / "events.csv").read_text(encoding="utf-8")
                                       + "flight,2022-01-01,,,arica_shelters,caracas,,5,,x\n", encoding="utf-8")
    monkeypatch.chdir(folder)
    got = [str(w) for w in validate_path(Path("variants") / "v.toml")]
    assert got == ["events.csv:9:2: warning: dated outside the run's 150 days from 2023-02-01: it has no effect",
                   "variants/late.csv:2:2: warning: dated outside the run's 150 days from 2023-02-01: it has "
                   "no effect"], got


def test_a_variant_states_what_was_provided_under_it(tmp_path):
    """Found by a planner's walkthrough: a variant that closes the border earlier could not move
    the dates of the camp's toilets (provided.csv was the baseline's, read from its folder)."""
    from corredor.engine.crisis import simulate_crisis

    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder)
    (folder / "variants" / "p_early.csv").write_text(
        "location,indicator,amount,start,end,source\ncamp,toilets,20,2023-04-01,2023-05-15,plan\n",
        encoding="utf-8")
    variant = folder / "variants" / "early.toml"
    variant.write_text('[variant]\nbase = ".."\nname = "early"\n[crisis]\nprovided = "p_early.csv"\n',
                       encoding="utf-8")
    base = load_scenario(folder)
    assert [p["indicator"] for p in base.crisis.provided] == ["toilets", "toilets", "shelter_capacity_people"]
    v = load_variant(variant)
    assert v.crisis.provided == ({"location": "camp", "indicator": "toilets", "amount": 20.0,
                                  "start": "2023-04-01", "end": "2023-05-15", "source": "plan"},)
    assert simulate_crisis(v, seed=0).manifest["provided"] == [dict(v.crisis.provided[0])]


def test_a_hasten_in_a_crisis_scenario_toml_is_a_located_problem(tmp_path):
    """[settings.optimisations] hasten = 10 in a border-crisis scenario.toml was taken without a
    word and ignored by the crisis engine (every person simulated); now `validate` and every
    command refuse it, at its line."""
    from typer.testing import CliRunner

    from corredor.cli import app

    folder = tmp_path / "cp"
    shutil.copytree(SCENARIO, folder)
    toml = folder / "scenario.toml"
    lines = toml.read_text(encoding="utf-8").splitlines()
    toml.write_text("\n".join([*lines, "", "[settings.optimisations]", "hasten = 10", ""]), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(folder)
    (problem,) = err.value.problems
    assert (Path(problem.path).name, problem.line, problem.column) == ("scenario.toml", len(lines) + 3, 1)
    assert problem.message.startswith("settings.optimisations.hasten: a border-crisis scenario "
                                      "simulates every person")
    r = CliRunner().invoke(app, ["validate", str(folder)])
    assert r.exit_code == 2 and f"scenario.toml:{len(lines) + 3}:1: settings.optimisations.hasten" in r.output
    toml.write_text("\n".join([*lines, "", "[settings.optimisations]", "hasten = 1", ""]), encoding="utf-8")
    assert load_scenario(folder).hasten == 1



@pytest.mark.parametrize(("section", "line"), [
    ("move_rules", "camp_weight = 2"),  # a setting Flee's rules read
    ("move_rules", "pruning_threshold = 2"),  # one corredor's Flee rules do not read (a warning there)
    ("move_rules", "camp_weight = -1"),  # a value Flee's rules refuse: said once, as unread
    ("spawn_rules", "take_from_population = true"),
    ("spawn_rules", "insert_dayo = false"),  # a misspelt key: unread whatever it is
])
def test_a_flee_setting_in_a_crisis_scenario_toml_is_refused_at_its_place(tmp_path, section, line):
    """[settings.move_rules] and [settings.spawn_rules] in a border-crisis scenario.toml were taken
    without a word and never read by the crisis rules (a planner who wrote camp_weight = 2 thought
    it changed the run); now each key is an error at its line, in the words `--set` refuses the
    same key with, and `validate` exits 2."""
    from typer.testing import CliRunner

    from corredor.analysis.ensemble import OverrideError, apply_overrides
    from corredor.cli import app

    folder = tmp_path / "cp"
    shutil.copytree(SCENARIO, folder)
    toml = folder / "scenario.toml"
    lines = toml.read_text(encoding="utf-8").splitlines()
    toml.write_text("\n".join([*lines, "", f"[settings.{section}]", line, ""]), encoding="utf-8")
    key = line.split(" = ")[0]
    with pytest.raises(ScenarioError) as err:
        load_scenario(folder)
    (problem,) = err.value.problems
    assert not err.value.warnings  # (not also "accepted but has no effect")
    assert (Path(problem.path).name, problem.line, problem.column) == ("scenario.toml", len(lines) + 3, 1)
    why = (f"a border-crisis scenario's rules do not read settings.{section}; its behaviour "
           "parameters are crisis.<name> (e.g. crisis.give_up_base)")
    assert problem.message == f"settings.{section}.{key}: {why} (expected no settings.{section})"
    with pytest.raises(OverrideError) as said:  # run/ensemble/compare --set of the same key
        apply_overrides(load_scenario(SCENARIO), {f"{section}.camp_weight": 2})
    assert str(said.value) == f"'{section}.camp_weight': {why}"
    r = CliRunner().invoke(app, ["validate", str(folder)])
    assert r.exit_code == 2 and f"scenario.toml:{len(lines) + 3}:1: settings.{section}.{key}: " in r.output


def test_log_levels_in_a_crisis_scenario_toml_are_a_located_warning(tmp_path):
    """[settings.log_levels] in a border-crisis scenario.toml changes nothing (every output is
    recorded): a warning at its table, and the scenario loads as without it."""
    from typer.testing import CliRunner

    from corredor.cli import app

    folder = tmp_path / "cp"
    shutil.copytree(SCENARIO, folder)
    toml = folder / "scenario.toml"
    lines = toml.read_text(encoding="utf-8").splitlines()
    toml.write_text("\n".join([*lines, "", "[settings.log_levels]", "agent = 1", ""]), encoding="utf-8")
    sc = load_scenario(folder)
    assert [(Path(w.path).name, w.line, w.column, w.message) for w in sc.metadata["warnings"]] == [
        ("scenario.toml", len(lines) + 2, 1, "settings.log_levels: no effect: a border-crisis run "
                                             "records every output whatever the log levels")]
    assert sc.crisis == load_scenario(SCENARIO).crisis
    r = CliRunner().invoke(app, ["validate", str(folder)])
    assert r.exit_code == 0 and f"scenario.toml:{len(lines) + 2}:1: warning: settings.log_levels" in r.output


def test_the_shipped_scenarios_and_variants_validate_clean():
    """Every scenario under scenarios/ and each of its variants: no error, no warning (the
    settings a crisis scenario refuses or warns of are in none of them)."""
    from corredor.scenario.validate import validate_path

    paths = sorted(p for p in (REPO / "scenarios").iterdir() if (p / "scenario.toml").is_file())
    paths += sorted((REPO / "scenarios").glob("*/variants/*.toml"))
    assert SCENARIO in paths and len(paths) > 1
    assert {str(p): [str(w) for w in validate_path(p)] for p in paths} == {str(p): [] for p in paths}

def test_with_parameters_replaces_known_and_refuses_unknown():
    sc = load_scenario(SCENARIO)
    s2 = with_parameters(sc, give_up_base=0.5)
    assert s2.crisis.parameters["give_up_base"] == 0.5
    assert s2.crisis.parameters["speed_km_per_day"] == sc.crisis.parameters["speed_km_per_day"]
    with pytest.raises(KeyError):  # (what it raised before: callers catching it still do)
        with_parameters(sc, nonsense=1.0)


def test_an_unknown_parameter_is_a_value_error_naming_it_and_the_known_ones():
    """with_parameters raised a bare KeyError for an unknown name (its text quoted, no list),
    where the rest of the API refuses with a ValueError saying what is expected."""
    sc = load_scenario(SCENARIO)
    with pytest.raises(ValueError) as err:
        with_parameters(sc, give_up_bse=0.5)
    known = ", ".join(sorted(sc.crisis.parameters))
    assert str(err.value) == ("unknown crisis parameter 'give_up_bse' (did you mean 'give_up_base'?); "
                              f"the scenario's are {known}")
    assert "give_up_base" in known and "peru_block" in known


def test_policy_cells_may_name_parameters(tmp_path):
    from corredor.engine.rules.crisis_plan import compile_crisis
    from corredor.scenario.model import Location, Route, Scenario

    policies = ("crossing,start,end,status,militarisation,price_usd,bribe_success\n"
                "c,2023-01-03,2023-01-05,documents,$mil,$price,0.4\n")
    write(tmp_path, {**GOOD, "policies.csv": policies})
    problems = Problems(root=tmp_path)
    table = {**TABLE, "parameters": {"boost": 1.0, "mil": 0.7, "price": 30.0}}
    crisis = read_crisis(tmp_path, table, problems, NAMES)
    assert not problems.errors, [str(p) for p in problems.items]
    pol = crisis.policies[0]
    assert dict(pol.parameters) == {"militarisation": "mil", "price_usd": "price"}
    sc = Scenario(name="t", start_date=dt.date(2023, 1, 1), days=10,
                  locations=tuple(Location(n) for n in sorted(NAMES)),
                  routes=(Route("o", "x", 10.0), Route("x", "y", 1.0), Route("y", "d", 10.0)),
                  crisis=crisis)
    plan = compile_crisis(sc)
    assert plan.militarisation[3, 0, 1] == pytest.approx(0.7)  # day 3 (4 Jan), crossing c, group b
    assert plan.price[3, 0, 1] == pytest.approx(30.0)
    assert plan.bribe[3, 0, 1] == pytest.approx(0.4)
    s2 = with_parameters(sc, mil=0.2)
    assert compile_crisis(s2).militarisation[3, 0, 1] == pytest.approx(0.2)


def test_a_parameter_named_in_a_table_needs_a_value(tmp_path):
    policies = "crossing,start,end,status,militarisation\nc,2023-01-03,2023-01-05,documents,$mil\n"
    write(tmp_path, {**GOOD, "policies.csv": policies})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, TABLE, problems, NAMES)
    assert any("crisis parameter 'mil' is used by a table but has no value" in str(p)
               for p in problems.errors), [str(p) for p in problems.items]


def test_load_scenario_accepts_a_variant_file_and_refuses_other_toml(tmp_path):
    v = load_scenario(SCENARIO / "variants" / "bribe_0.toml")
    assert v.crisis.parameters["bribe_price_usd"] == 0.0
    assert v.metadata["variant"] == "bribe-0"
    from corredor.engine.crisis import simulate_crisis

    scen = simulate_crisis(v.with_days(2), seed=0).manifest["scenario"]  # provenance: which file
    assert (scen["variant"], Path(scen["variant_file"]).name) == ("bribe-0", "bribe_0.toml")
    other = tmp_path / "x.toml"
    other.write_text('[scenario]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(other)
    assert "a variant needs [variant] base" in str(err.value)


@pytest.mark.parametrize("cell, message", [
    ("-275", "bad risk (expected a number ≥ 0, found -275)"),
    ("high", "bad risk (expected a number, found 'high')"),
])
def test_route_cost_columns_must_be_numbers_at_least_zero(tmp_path, cell, message):
    # found by the loader fuzz test: a negative risk made a negative route cost, and the least-cost
    # search behind the routes went round that loop until memory ran out
    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder, ignore=shutil.ignore_patterns("variants"))
    path = folder / "routes.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("risk")] = cell
    lines[2] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(folder)
    where = f"routes.csv:3:{header.index('risk') + 1}: "
    assert any(str(p).endswith(where + message) or (where + message) in str(p)
               for p in err.value.problems), [str(p) for p in err.value.problems]


def _with_route_column(tmp_path: Path, column: str, cells: dict[int, str]) -> tuple[Path, int]:
    """A copy of the shipped scenario whose routes.csv has one more column, `cells` by 0-based
    line (others empty); returns the folder and the column's 1-based position."""
    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder, ignore=shutil.ignore_patterns("variants"))
    path = folder / "routes.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [line + "," + (column if i == 0 else cells.get(i, "")) for i, line in enumerate(lines)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder, len(lines[0].split(","))


@pytest.mark.parametrize("cell, message", [
    ("0", "bad speed_km_per_day (expected a number above 0, or empty for the scenario's value, found 0)"),
    ("-20", "bad speed_km_per_day (expected a number above 0, or empty for the scenario's value, found -20)"),
    ("fast", "bad speed_km_per_day (expected a number, found 'fast')"),
    ("inf", "bad speed_km_per_day (expected a finite number, found 'inf')"),
])
def test_a_routes_own_speed_must_be_a_number_above_zero(tmp_path, cell, message):
    from typer.testing import CliRunner

    from corredor.cli import app

    folder, col = _with_route_column(tmp_path, "speed_km_per_day", {3: cell})
    r = CliRunner().invoke(app, ["validate", str(folder)])
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert f"routes.csv:4:{col}: {message}" in r.output, r.output


def test_a_routes_own_speed_is_read_and_an_empty_cell_is_the_scenarios(tmp_path):
    folder, _ = _with_route_column(tmp_path, "speed_km_per_day", {2: "40"})
    sc = load_scenario(folder)
    assert [r.attributes.get("speed_km_per_day") for r in sc.routes[:2]] == ["40", None]
    from corredor.engine.rules.crisis_plan import compile_crisis

    plan = compile_crisis(sc)
    speed = sc.crisis.parameters["speed_km_per_day"]
    assert plan.link_travel_km[:2].tolist() == [1418 * speed / 40] * 2  # (both directions)
    assert plan.link_travel_km[2:].tolist() == plan.link_km[2:].tolist()
    assert plan.link_km.tolist() == compile_crisis(load_scenario(SCENARIO)).link_km.tolist()


@pytest.mark.parametrize("column", ["max_move_speed", "walk_probability"])
def test_a_flee_speed_column_in_crisis_routes_is_a_located_warning(tmp_path, column):
    """routes.csv's max_move_speed was accepted and ignored by the crisis rules, while the same key
    under settings.move_rules is refused: now a warning at its header cell names what is read."""
    from typer.testing import CliRunner

    from corredor.cli import app

    folder, col = _with_route_column(tmp_path, column, {i: "0.5" for i in range(2, 200)})
    r = CliRunner().invoke(app, ["validate", str(folder)])
    assert r.exit_code == 0, r.output
    assert (f"routes.csv:1:{col}: warning: {column}: no effect: a border-crisis scenario's rules do "
            "not read this routes column; ") in r.output, r.output
    assert "speed_km_per_day" in r.output


def test_a_crisis_scenario_may_have_a_camp_without_a_flee_series(tmp_path):
    """A `camp` place needs a data series under Flee's rules (they spawn from the totals), not
    under the crisis rules: a walkthrough had to type a reception station as a town."""
    import shutil

    from corredor.scenario import load_scenario
    from corredor.simulate import simulate

    folder = tmp_path / "cp"
    shutil.copytree(SCENARIO, folder, ignore=shutil.ignore_patterns("variants"))
    text = (folder / "locations.csv").read_text(encoding="utf-8")
    (folder / "locations.csv").write_text(text.replace("\ncamp,", "\ncamp,").replace(",staging,", ",camp,", 1),
                                          encoding="utf-8")
    sc = load_scenario(folder)
    assert {loc.name: loc.kind for loc in sc.locations}["camp"] == "camp"
    ds = simulate(sc.with_days(80), seed=1).dataset
    assert int(ds["stranded"].sel(location="camp").max()) > 0  # still the staging place of Santa Rosa


def test_groups_may_span_files_and_every_days_warns_where_ignored(tmp_path):
    """A list of groups files is one table (its shares were checked file by file, so a split
    always failed); every_days on an admission or a corridor has no effect: a warning says so."""
    head, rows = GOOD["groups.csv"].split("a,0.6", 1)
    write(tmp_path, {**GOOD, "g1.csv": head + "a,0.6" + rows.split("\n")[0] + "\n",
                     "g2.csv": head + "b,0.4" + rows.split("b,0.4", 1)[1],
                     "events.csv": GOOD["events.csv"].replace("admission,2023-01-04,2023-01-06,,",
                                                              "admission,2023-01-04,2023-01-06,2,")})
    problems = Problems(root=tmp_path)
    crisis = read_crisis(tmp_path, {**TABLE, "groups": ["g1.csv", "g2.csv"]}, problems, NAMES)
    assert not problems.errors, [str(p) for p in problems.errors]
    assert [g.name for g in crisis.groups] == ["a", "b"]
    assert [str(p) for p in problems.warnings] == [
        "events.csv:3:4: warning: every_days is ignored for an admission: it holds on every day from start to end"]
    write(tmp_path, {"g2.csv": head + "b,0.3" + rows.split("b,0.4", 1)[1]})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, {**TABLE, "groups": ["g1.csv", "g2.csv"]}, problems, NAMES)
    assert [str(p) for p in problems.errors] == [
        "g2.csv:1:2: group shares add up to 0.9 (expected 1: the column's shares of the people leaving)"]


def test_a_table_file_listed_twice_is_refused(tmp_path):
    """Found by an error audit: `events = ["events.csv", "../x/events.csv"]` naming one file twice
    doubled every event silently."""
    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder, ignore=shutil.ignore_patterns("variants", "*.py"))
    toml = folder / "scenario.toml"
    text = toml.read_text(encoding="utf-8")
    assert 'events = "events.csv"' in text
    toml.write_text(text.replace('events = "events.csv"', 'events = ["events.csv", "../s/events.csv"]'),
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(folder)
    assert "crisis.events: ../s/events.csv is listed twice" in str(err.value)


def test_a_variant_may_replace_the_tables_that_use_the_baselines_parameters(tmp_path):
    """A variant whose policies set militarisation as numbers no longer refers to the baseline's
    $mil_block, $mil_troops, $mil_emergency. Before, it was refused: 'unknown crisis parameter
    mil_block ... belongs in that variant's [crisis.parameters]', which the variant never named."""
    folder = tmp_path / "s"
    shutil.copytree(SCENARIO, folder)
    (folder / "variants" / "shut.csv").write_text(
        "crossing,start,end,status,capacity_per_day,militarisation,price_usd,bribe_success,groups\n"
        "pe_santa_rosa,2023-02-01,2023-06-30,closed,17000,0.5,100,0.5,\n"
        "cl_chacalluta_exit,2023-02-01,2023-06-30,open,17000,0.5,0,0,\n", encoding="utf-8")
    shut = folder / "variants" / "shut.toml"
    shut.write_text('[variant]\nbase = ".."\n[crisis]\npolicies = "shut.csv"\n', encoding="utf-8")
    v = load_variant(shut)
    assert {p.status for p in v.crisis.policies if p.crossing == "pe_santa_rosa"} == {"closed"}
    assert v.crisis.parameters["mil_block"] == load_scenario(SCENARIO).crisis.parameters["mil_block"]
    # a parameter the variant itself names must still be known (a misspelling is refused)
    shut.write_text('[variant]\nbase = ".."\n[crisis]\npolicies = "shut.csv"\n'
                    '[crisis.parameters]\nmil_blok = 0.3\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_variant(shut)
    assert "unknown crisis parameter 'mil_blok'" in str(err.value)


def _dated(tmp_path: Path, policies: str, params: dict) -> tuple[Any, Problems]:
    write(tmp_path, {**GOOD, "policies.csv": "crossing,start,end,status,militarisation\n" + policies})
    problems = Problems(root=tmp_path)
    crisis = read_crisis(tmp_path, {**TABLE, "parameters": {"boost": 1.0, **params}}, problems, NAMES,
                         days=10)
    return crisis, problems


def test_policy_days_may_follow_a_date_parameter(tmp_path):
    """`$shut`, `$shut+N`, `$shut-N` in start/end: a date parameter (a TOML date, kept as days since
    the start date) moves a closure and the rows around it together, in the compiled plan too."""
    from corredor.engine.rules.crisis_plan import compile_crisis
    from corredor.scenario.model import Location, Route, Scenario

    crisis, problems = _dated(tmp_path, "c,2023-01-01,$shut-1,open,0\nc,$shut,$shut+2,closed,0.5\n"
                                        "c,$shut+3,2023-01-10,documents,0.2\n",
                              {"shut": dt.date(2023, 1, 4)})
    assert not problems.items, [str(p) for p in problems.items]
    assert crisis.date_parameters == ("shut",) and crisis.parameters["shut"] == 3.0
    assert crisis.parameter_dates(dt.date(2023, 1, 1))["shut"] == "2023-01-04"
    assert [p.days(crisis.parameters) for p in crisis.policies] == [(0, 2), (3, 5), (6, 9)]
    sc = Scenario(name="t", start_date=dt.date(2023, 1, 1), days=10,
                  locations=tuple(Location(n) for n in sorted(NAMES)),
                  routes=(Route("o", "x", 10.0), Route("x", "y", 1.0), Route("y", "d", 10.0)),
                  crisis=crisis)
    status = compile_crisis(sc).status[:, 0, 0].tolist()
    assert status == [0, 0, 0, 2, 2, 2, 1, 1, 1, 1]
    later = with_parameters(sc, shut=dt.date(2023, 1, 6))  # two days later: every row follows
    assert compile_crisis(later).status[:, 0, 0].tolist() == [0, 0, 0, 0, 0, 2, 2, 2, 1, 1]
    assert with_parameters(sc, shut=5).crisis.parameters == later.crisis.parameters  # (days also do)
    with pytest.raises(ValueError, match="a number, not a date"):
        with_parameters(sc, boost=dt.date(2023, 1, 6))
    # (a datetime raised a TypeError from date arithmetic; a date 100 years off was taken as days)
    with pytest.raises(ValueError, match="expected a date YYYY-MM-DD"):
        with_parameters(sc, shut=dt.datetime(2023, 1, 6))
    with pytest.raises(ValueError, match="within 100 years of the start date 2023-01-01"):
        with_parameters(sc, shut=dt.date(9999, 1, 1))


@pytest.mark.parametrize(
    ("policies", "params", "said"),
    [
        ("c,$shut,2023-01-05,closed,0\n", {"shut": 3.0},
         "crisis parameter 'shut': expected a date YYYY-MM-DD (a start or end cell is $shut), found 3"),
        ("c,$shut,2023-01-05,closed,0\n", {"shut": dt.date(2323, 1, 1)},
         "expected a date within 100 years of the start date 2023-01-01, found 2323-01-01"),
        ("c,$give_up_base,2023-01-05,closed,0\n", {},
         "policies.csv:2:2: parameter 'give_up_base' in start is a number, not a date"),
        ("c,$when,2023-01-05,closed,0\n", {"shut": dt.date(2023, 1, 2)},  # ($shutt: one error, at its cell)
         "unknown crisis parameter 'shut' (not a built-in parameter, and no table refers to it as $shut)"),
        ("c,$shut*2,2023-01-05,closed,0\n", {"shut": dt.date(2023, 1, 2)},
         "policies.csv:2:2: bad start (expected a date YYYY-MM-DD, or a date parameter as $name, "
         "$name+N or $name-N with N a whole number of days below 100,000, found '$shut*2')"),
        ("c,$shut,2023-01-05,closed,$shut\n", {"shut": dt.date(2023, 1, 2)},
         "policies.csv:2:5: parameter 'shut' in militarisation is a date (expected a number parameter)"),
        ("c,$shut,2023-01-05,closed,0\n", {},
         "crisis parameter 'shut' is used by a table but has no value in [crisis.parameters]"),
    ],
)
def test_date_parameter_faults_are_located(tmp_path, policies, params, said):
    _, problems = _dated(tmp_path, policies, params)
    assert any(said in str(p) for p in problems.errors), [str(p) for p in problems.items]


def test_a_row_a_date_parameter_empties_is_warned_of_not_refused(tmp_path):
    """A fixed end before a fixed start is an error; a date parameter may empty a row on purpose
    (a closure moved past the row's end), so that is a warning naming the value."""
    crisis, problems = _dated(tmp_path, "c,$shut,2023-01-05,closed,0\n", {"shut": dt.date(2023, 1, 8)})
    assert not problems.errors and crisis.policies[0].days(crisis.parameters) == (7, 4)
    assert ["policies.csv:2:3: warning: end is before start with shut = 2023-01-08: the row has no effect"
            in str(p) for p in problems.warnings] == [True], [str(p) for p in problems.items]
    # the gap and overlap checks see the resolved days
    _, problems = _dated(tmp_path, "c,2023-01-01,$shut,open,0\nc,$shut,2023-01-10,closed,0\n",
                         {"shut": dt.date(2023, 1, 4)})
    assert [str(p) for p in problems.items] and "overlaps the row on line 2 (c, 2023-01-04 to 2023-01-04)" in str(
        problems.warnings[0]), [str(p) for p in problems.items]


def test_the_shipped_scenario_moves_perus_escalation_with_peru_block():
    """scenario.toml's peru_block (13 Apr 2023) drives policies.csv: at its own value the plan is
    the 2023 timeline; a week earlier, every step of Peru's escalation comes a week earlier."""
    from corredor.engine.rules.crisis_plan import compile_crisis

    sc = load_scenario(SCENARIO)
    assert sc.crisis.parameter_dates(sc.start_date)["peru_block"] == "2023-04-13"
    plan = compile_crisis(sc)
    pe = plan.crossing_names.index("pe_santa_rosa")
    status, mil = plan.status[:, pe, 0], plan.militarisation[:, pe, 0]
    d = (dt.date(2023, 4, 13) - sc.start_date).days
    assert status[d - 1] == 0 and status[d] == 1  # documents from 13 Apr
    p = sc.crisis.parameters
    assert mil[d + 8] == p["mil_troops"] and mil[d + 17] == p["mil_emergency"]  # 21 Apr, 30 Apr
    early = compile_crisis(with_parameters(sc, peru_block=dt.date(2023, 4, 6)))
    assert (early.status[:, pe, 0][: d + 60] == status[7: d + 67]).all()
    assert (early.militarisation[:, pe, 0][: d + 60] == mil[7: d + 67]).all()


def test_events_may_follow_a_date_parameter(tmp_path):
    """Events take date parameters too: one row is one Event; `Crisis.schedule(days)` makes a
    flight's days (every_days, within the run) from the parameter's current value."""
    events = ("kind,start,end,every_days,origin,destination,crossing,people\n"
              "flight,$go,2023-01-10,3,x,d,,5\n"
              "admission,$go+1,,,,,c,all\n")  # (an empty end: the start's day, parameter and all)
    write(tmp_path, {**GOOD, "events.csv": events})
    problems = Problems(root=tmp_path)
    crisis = read_crisis(tmp_path, {**TABLE, "parameters": {"boost": 1.0, "go": dt.date(2023, 1, 2)}},
                         problems, NAMES, days=10)
    assert not problems.items, [str(p) for p in problems.items]
    assert crisis.date_parameters == ("go",) and len(crisis.events) == 2
    assert [(e.kind, e.start, e.end) for e in crisis.schedule(10)] == [
        ("flight", 1, 1), ("flight", 4, 4), ("flight", 7, 7), ("admission", 2, 2)]
    later = replace(crisis, parameters={**crisis.parameters, "go": 5.0})
    assert [(e.kind, e.start, e.end) for e in later.schedule(10)] == [
        ("flight", 5, 5), ("flight", 8, 8), ("admission", 6, 6)]
    assert [e.kind for e in replace(crisis, parameters={**crisis.parameters, "go": 12.0}).schedule(10)] == []


def test_the_corridor_variant_opens_on_corridor_open():
    """variants/corridor_28apr.toml gives corridor.csv's date parameter (28 Apr); a variant that sets
    another date, or with_parameters, moves the corridor's days in the compiled plan."""
    from corredor.engine.rules.crisis_plan import EVENT_CODES, compile_crisis

    v = load_variant(SCENARIO / "variants" / "corridor_28apr.toml")
    assert "corridor_open" in v.crisis.date_parameters
    first = {ev.start for ev in v.crisis.schedule(v.days) if ev.kind == "corridor"}
    assert first == {(dt.date(2023, 4, 28) - v.start_date).days}
    plan = compile_crisis(v)
    earlier = compile_crisis(with_parameters(v, corridor_open=dt.date(2023, 4, 14)))
    corridor = plan.ev_kind == EVENT_CODES["corridor"]
    assert corridor.sum() == 1 and (earlier.ev_kind == plan.ev_kind).all()
    assert (earlier.ev_start == plan.ev_start - np.where(corridor, 14, 0)).all()  # two weeks sooner
    assert (earlier.ev_end == plan.ev_end).all()  # (its end is a date: 30 Jun)


def test_a_row_outside_the_run_at_its_dates_value_is_kept_for_other_values(tmp_path):
    """An event (or departure) whose date parameter puts it after the run is warned of but kept:
    a sweep to a date within the run must find it (a fixed-date row outside the run is dropped)."""
    events = ("kind,start,end,every_days,origin,destination,crossing,people\n"
              "corridor,$go,2023-01-10,,x,y,,5\n"
              "flight,2023-03-01,,,x,d,,5\n")
    departures = ("origin,start,end,people_per_day\no,2023-01-01,$go-1,5\no,$go,2023-01-10,50\n")
    write(tmp_path, {**GOOD, "events.csv": events, "departures.csv": departures})
    problems = Problems(root=tmp_path)
    crisis = read_crisis(tmp_path, {**TABLE, "parameters": {"go": dt.date(2023, 2, 1)}}, problems, NAMES,
                         routes=ROUTES, days=10)
    assert not problems.errors, [str(p) for p in problems.errors]
    assert [e.kind for e in crisis.events] == ["corridor"] and crisis.schedule(10) == ()
    assert [(o, d0, d1, r) for o, d0, d1, r in crisis.departure_rates(10)] == [("o", 0, 9, 5.0)]
    assert [(p.line, "outside" in str(p) or "no effect" in str(p)) for p in problems.warnings] == [
        (2, True), (3, True), (3, True)], [str(p) for p in problems.warnings]  # (events 2, 3; departures 3)
    sooner = replace(crisis, parameters={**crisis.parameters, "go": 6.0})  # 7 Jan
    assert [(e.kind, e.start, e.end) for e in sooner.schedule(10)] == [("corridor", 6, 9)]
    assert sooner.departure_rates(10) == [("o", 0, 5, 5.0), ("o", 6, 9, 50.0)]


def test_an_event_a_date_parameter_empties_or_moves_out_of_the_run_is_kept(tmp_path):
    """An events row that its file's date-parameter value empties or puts outside the run was
    dropped when read (with a warning), so a `--sweep`/`--set` of that parameter into the run
    silently ran without it (a corridor never opened). The row stays an Event; schedule() leaves
    it out only while the value keeps it out."""
    from corredor.analysis.ensemble import apply_overrides
    from corredor.scenario.model import Location, Route, Scenario

    events = ("kind,start,end,every_days,origin,destination,crossing,people\n"
              "flight,$go,2023-01-08,,x,d,,5\n"  # (go = 9 Jan: 9 to 8 Jan, empty)
              "admission,$go+2,,,,,c,all\n")  # (go = 9 Jan: 11 Jan, after the 10-day run)
    write(tmp_path, {**GOOD, "events.csv": events})
    problems = Problems(root=tmp_path)
    crisis = read_crisis(tmp_path, {**TABLE, "parameters": {"boost": 1.0, "go": dt.date(2023, 1, 9)}},
                         problems, NAMES, days=10)
    assert not problems.errors and len(problems.warnings) == 2, [str(p) for p in problems.items]
    assert [e.kind for e in crisis.events] == ["flight", "admission"]
    assert crisis.schedule(10) == ()
    sc = Scenario(name="t", start_date=dt.date(2023, 1, 1), days=10,
                  locations=tuple(Location(n) for n in sorted(NAMES)),
                  routes=(Route("o", "x", 10.0), Route("x", "y", 1.0), Route("y", "d", 10.0)),
                  crisis=crisis)
    sooner = apply_overrides(sc, {"crisis.go": dt.date(2023, 1, 7)})  # two days sooner: both in
    assert [(e.kind, e.start, e.end) for e in sooner.crisis.schedule(10)] == [
        ("flight", 6, 6), ("flight", 7, 7), ("admission", 8, 8)]


def test_a_misspelt_date_parameter_is_located_at_its_cell_and_a_bad_value_is_said_once(tmp_path):
    """`$shutt` for `$shut` in a start cell was reported only as "used by a table but has no value"
    at [crisis.parameters], with no cell and no suggestion; and a declared date with a bad value
    (quoted, say) also got that second error, which is untrue: it has a value, a refused one."""
    _, problems = _dated(tmp_path, "c,2023-01-01,2023-01-02,open,0\nc,$shutt,2023-01-05,closed,0\n"
                                   "c,$shut+4,2023-01-10,open,0\n", {"shut": dt.date(2023, 1, 2)})
    assert ("policies.csv:3:2: date parameter 'shutt' in start has no value (expected shutt = "
            "YYYY-MM-DD in [crisis.parameters]) (did you mean 'shut'?)") in [str(p) for p in problems.errors]
    _, problems = _dated(tmp_path, "c,$shut,2023-01-05,closed,0\n", {"shut": "2023-01-02"})
    assert [str(p).split(": ", 1)[1] for p in problems.errors] == [  # (quoted: said so, found by a user)
        "crisis parameter 'shut': expected a date YYYY-MM-DD (a start or end cell is $shut), "
        "found the text '2023-01-02' (a date is written without quotes: shut = 2023-01-02)"]
    _, problems = _dated(tmp_path, "c,$shut,2023-01-05,closed,0\n", {"shut": "2023-02-30"})
    assert [str(p).split(": ", 1)[1] for p in problems.errors] == [  # (no date: no such hint)
        "crisis parameter 'shut': expected a date YYYY-MM-DD (a start or end cell is $shut), "
        "found '2023-02-30'"]
    _, problems = _dated(tmp_path, "c,2023-01-01,2023-01-05,closed,$m\n", {"m": "high"})  # (numbers too)
    assert [str(p).split(": ", 1)[1] for p in problems.errors] == [
        "crisis parameter 'm': expected a number, found 'high'"]


def test_a_lone_dollar_in_a_start_cell_is_one_error_at_the_cell(tmp_path):
    """`$` alone also gave "crisis parameter '' is used by a table but has no value" at
    [crisis.parameters], a parameter with no name."""
    _, problems = _dated(tmp_path, "c,$,2023-01-05,closed,0\n", {})
    assert [str(p) for p in problems.errors] == [
        "policies.csv:2:2: bad start (expected a date YYYY-MM-DD, or a date parameter as $name, "
        "$name+N or $name-N with N a whole number of days below 100,000, found '$')"]


def test_an_overlapping_row_names_every_row_it_overrides(tmp_path):
    """Found by an acceptance pass: a row overlapping March's row and April's closure was warned of
    for March only, so the closure silently started five days late."""
    head = "crossing,start,end,status\n"
    rows = ("c,2023-01-01,2023-01-04,open\nc,2023-01-05,2023-01-10,closed\n"
            "c,2023-01-03,2023-01-06,documents\n")
    write(tmp_path, {**GOOD, "policies.csv": head + rows})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, TABLE, problems, NAMES, routes=ROUTES, days=10)
    assert [str(p) for p in problems.items] == [
        "policies.csv:4:2: warning: overlaps the row on line 2 (c, 2023-01-03 to 2023-01-04) and the row "
        "on line 3 (c, 2023-01-05 to 2023-01-06): this later row applies on those days"]


@pytest.mark.parametrize(("file", "old", "new", "params", "said"), [
    ("policies.csv", ",0.5,,,b,", ",$mil_nort,,,b,", {"boost": 1.0, "mil_north": 0.6},
     "policies.csv:2:6: unknown parameter 'mil_nort' in militarisation (expected a key of "
     "[crisis.parameters]) (did you mean 'mil_north'?)"),
    ("policies.csv", "c,2023-01-03,", "c,$shutt,", {"boost": 1.0, "shut": dt.date(2023, 1, 3)},
     "policies.csv:2:2: date parameter 'shutt' in start has no value (expected shutt = YYYY-MM-DD in "
     "[crisis.parameters]) (did you mean 'shut'?)"),
    ("departures.csv", ",5,boost,", ",5,bost,", {"boost": 1.0},
     "departures.csv:2:5: unknown parameter 'bost' in scale (expected a key of [crisis.parameters]) "
     "(did you mean 'boost'?)"),
    # a built-in parameter, not given in [crisis.parameters], is a near key too
    ("policies.csv", ",0.5,,,b,", ",0.5,,$bribe_sucess,b,", {"boost": 1.0},
     "policies.csv:2:8: unknown parameter 'bribe_sucess' in bribe_success (expected a key of "
     "[crisis.parameters]) (did you mean 'bribe_success'?)"),
])
def test_a_misspelt_parameter_in_a_cell_is_one_error_there(tmp_path, file, old, new, params, said):
    """Found by an acceptance pass: `$mil_nort` for `$mil_north` gave three errors, the first telling
    the user to rename the *right* key of [crisis.parameters] to the typo, and the one at the cell
    suggested nothing. Now: one error, at the cell, naming the near key."""
    write(tmp_path, {**GOOD, file: GOOD[file].replace(old, new)})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, {**TABLE, "parameters": params}, problems, NAMES, routes=ROUTES, days=10)
    assert [str(p) for p in problems.items] == [said]


def test_an_unused_key_and_an_undefined_parameter_with_no_near_miss_are_still_said(tmp_path):
    """The near-miss pairing above must not hide a key no table uses, or a name nothing defines."""
    write(tmp_path, {**GOOD, "policies.csv": GOOD["policies.csv"].replace(",0.5,,,b,", ",$troops,,,b,")})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, {**TABLE, "parameters": {"boost": 1.0, "zeta": 0.4}}, problems, NAMES)
    said = [str(p).split(": ", 1)[1] for p in problems.errors]
    assert [m.split(" (")[0] for m in said] == [
        "unknown crisis parameter 'zeta'",
        "crisis parameter 'troops' is used by a table but has no value in [crisis.parameters]",
        "unknown parameter 'troops' in militarisation"], said


def test_group_shares_are_not_summed_over_a_refused_share(tmp_path):
    """Found by an acceptance pass: shares 1.4 and −0.4 (each refused) were also said to "add up to
    0", which they do not: the refused cells counted as 0."""
    groups = GOOD["groups.csv"].replace("a,0.6,", "a,1.4,").replace("b,0.4,", "b,-0.4,")
    write(tmp_path, {**GOOD, "groups.csv": groups})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, TABLE, problems, NAMES)
    assert [str(p) for p in problems.items] == [
        "groups.csv:3:2: bad share (expected between 0 and 1, found '1.4')",
        "groups.csv:4:2: bad share (expected between 0 and 1, found '-0.4')"]


def test_a_provided_row_dated_outside_the_run_is_warned_of(tmp_path):
    """Found by an acceptance pass: a provided row with a mistyped year (2026 for 2024) silently
    left the provision out, where every other dated table warns."""
    provided = ("location,indicator,amount,start,end\ny,toilets,3,2025-01-05,\ny,toilets,3,,2022-12-31\n"
                "y,toilets,3,2022-12-01,2023-01-01\ny,toilets,3,,\n")
    write(tmp_path, {**GOOD, "provided.csv": provided})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, {**TABLE, "provided": "provided.csv"}, problems, NAMES, routes=ROUTES, days=10)
    assert [str(p) for p in problems.items] == [
        "provided.csv:2:4: warning: dated outside the run's 10 days from 2023-01-01: it has no effect",
        "provided.csv:3:5: warning: dated outside the run's 10 days from 2023-01-01: it has no effect"]


@pytest.mark.parametrize(("file", "text", "said"), [
    # a wrong staging is refused; it was also "an end of crossing c" for each group's fallback
    ("crossings.csv", "name,from,to,staging\nc,x,y,o\n",
     ["crossings.csv:2:4: staging 'o' must be the crossing's 'from' place 'x' (people wait where the "
      "crossing starts)"]),
    # a misspelt share heading also gave "crisis: no groups defined"
    ("groups.csv", "name,shares,destinations,fallback\na,1,d=1,o\n",
     ["groups.csv:1:1: missing column share (expected name, share, destinations, fallback)"]),
    ("events.csv", "kind,start,crossing,people\nadmission,2023-01-02,,5\n",
     ["events.csv:2:3: missing crossing: an admission needs a crossing (expected one of c)"]),
    ("events.csv", "kind,start,origin,destination,crossing,people\ntransfer,2023-01-02,x,d,c,5\n",
     ["events.csv:2:5: warning: crossing is ignored for a transfer: it goes from its origin to its "
      "destination (only an admission names a crossing)"]),
])
def test_one_problem_is_one_message(tmp_path, file, text, said):
    """Found by an acceptance pass: follow-on messages that sent the user looking for a second
    problem that did not exist (or, for a transfer's crossing cell, no word at all)."""
    write(tmp_path, {**GOOD, file: text})
    problems = Problems(root=tmp_path)
    read_crisis(tmp_path, TABLE, problems, NAMES, routes=ROUTES, days=10)
    assert [str(p) for p in problems.items] == said


def test_a_runs_manifest_gives_date_parameters_as_dates():
    """manifest.json is read by people: peru_block as 2023-04-13, not as 71 days since 1 Feb."""
    from corredor.engine.crisis import simulate_crisis

    sc = load_scenario(SCENARIO).with_days(20)
    params = simulate_crisis(with_parameters(sc, peru_block=dt.date(2023, 4, 20)), seed=0).manifest["parameters"]
    assert params["peru_block"] == "2023-04-20"
    assert params["give_up_base"] == sc.crisis.parameters["give_up_base"]


def test_flee_tables_under_files_of_a_crisis_scenario_are_located_warnings(tmp_path):
    """closures, conflicts, observations and corrections under [files] of a border-crisis
    scenario.toml were loaded and never read by the crisis rules (a planner who listed a closure
    believed the border closed); each is now a warning at its key, and the run goes on (the
    crisis part and the run as without them)."""
    from typer.testing import CliRunner

    from corredor.cli import app

    folder = tmp_path / "cp"
    shutil.copytree(SCENARIO, folder)
    (folder / "closures.csv").write_text("kind,name1,name2,start,end\nlocation,santiago,santiago,0,149\n",
                                         encoding="utf-8")
    (folder / "conflicts.csv").write_text("day,santiago\n" + "".join(f"{d},1\n" for d in range(150)),
                                          encoding="utf-8")
    (folder / "observations.csv").write_text("series,date,value\ntotal,2023-02-01,0\n", encoding="utf-8")
    (folder / "corrections.csv").write_text("series,date\n", encoding="utf-8")
    toml = folder / "scenario.toml"
    text = toml.read_text(encoding="utf-8")
    added = ['closures = "closures.csv"', 'conflicts = "conflicts.csv"',
             'observations = "observations.csv"', 'corrections = "corrections.csv"']
    toml.write_text(text.replace('routes = "routes.csv"\n', 'routes = "routes.csv"\n' + "\n".join(added) + "\n"),
                    encoding="utf-8")
    first = text.splitlines().index('routes = "routes.csv"') + 2
    sc = load_scenario(folder)
    assert [(Path(w.path).name, w.line, w.column, w.message) for w in sc.metadata["warnings"]] == [
        ("scenario.toml", first + i, 1, f"files.{key}: no effect: a border-crisis scenario's rules do "
                                        f"not read Flee's {key} table ({why})")
        for i, (key, why) in enumerate([
            ("closures", "its border closures are crisis.policies rows"),
            ("conflicts", "it has no conflict timeline"),
            ("observations", "its reports of people at a place are crisis.observations"),
            ("corrections", "its reports of people at a place are crisis.observations")])]
    assert sc.crisis == load_scenario(SCENARIO).crisis
    r = CliRunner().invoke(app, ["validate", str(folder)])
    assert r.exit_code == 0 and f"scenario.toml:{first}:1: warning: files.closures: no effect" in r.output
    r = CliRunner().invoke(app, ["run", str(folder), "--days", "2", "--out", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output


def _chile_peru(tmp_path: Path, **edits: tuple[str, str]) -> Path:
    """A copy of the Chile–Peru scenario (its variants too) with `file=(old, new)` text replaced."""
    folder = tmp_path / "cp"
    shutil.copytree(SCENARIO, folder)
    for name, (old, new) in edits.items():
        path = folder / f"{name}.csv"
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def test_a_group_that_can_reach_no_destination_from_an_origin_is_an_error(tmp_path):
    """Found by a researcher's own scenario: without the roads out of the origin it validated
    "ok" and the run said "nobody was stranded" of people who never left. Every group's people
    leaving Santiago sit there: an error at each group's destinations cell, naming the origin."""
    folder = _chile_peru(tmp_path, routes=("santiago,antofagasta,1418,", "santiago,quillota,1418,"),
                         locations=("\nantofagasta,", "\nquillota,Quillota,CHL,,-32.9,-71.2,city,,,x\nantofagasta,"))
    with pytest.raises(ScenarioError) as err:
        load_scenario(folder)
    got = [str(p) for p in err.value.problems]
    assert len(got) == 7 and all(m.startswith(f"groups.csv:{3 + i}:6: group ") for i, m in enumerate(got)), got
    assert got[3] == (
        "groups.csv:6:6: group ven_undoc: none of its destinations ('caracas', 'bogota', 'lima') can be reached "
        "by ordinary routes from origin 'santiago', and no event takes people away from there: its people who "
        "leave from there never move (expected routes in the routes table that lead there; routes marked "
        "irregular or corridor_only do not count)")
    # compiling a scenario built in code finds it too (the same check, at the same cell)
    from corredor.engine.rules.crisis_plan import compile_crisis

    sc = load_scenario(SCENARIO)
    cut = replace(sc, routes=tuple(r for r in sc.routes if "santiago" not in (r.a, r.b)))
    with pytest.raises(ScenarioError) as err:
        compile_crisis(cut)
    assert [str(p) for p in err.value.problems][3] == got[3]


def test_a_destination_only_an_irregular_route_reaches_is_a_warning(tmp_path):
    """Route choice takes no `irregular` route: who draws Caracas when the last road there is
    marked irregular stays at the origin, uncounted. The groups that may draw it are warned of, at
    their destinations cell; the scenario still loads and validates (exit 0)."""
    from typer.testing import CliRunner

    from corredor.cli import app

    folder = _chile_peru(tmp_path, routes=("road factor 1.5,,\ndesaguadero", "road factor 1.5,1,\ndesaguadero"))
    sc = load_scenario(folder)
    origins = "'santiago', 'antofagasta', 'iquique' and 'arica'"
    assert [str(w) for w in sc.metadata["warnings"]] == [
        f"groups.csv:{line}:6: warning: group {name}: destination 'caracas' (probability {p}) cannot be reached "
        f"by ordinary routes from origins {origins}: who leaves there and draws it stays there (unless an event "
        "moves them), never counted as stranded (routes marked irregular or corridor_only do not count)"
        for line, name, p in ((3, "documented", "0.1"), (6, "ven_undoc", "0.8"), (7, "ven_undoc_vuln", "0.8"))]
    r = CliRunner().invoke(app, ["validate", str(folder)])
    assert r.exit_code == 0 and "ok (3 warnings)" in r.output, r.output
    # a variant re-reads the groups and warns of them once, as its own
    from corredor.scenario.validate import validate_path

    assert [str(w) for w in validate_path(folder / "variants" / "bribe_0.toml")] == [
        str(w).replace("groups.csv", str(folder / "groups.csv")) for w in sc.metadata["warnings"]]


def test_a_fallback_that_no_route_reaches_from_where_people_give_up_is_a_warning(tmp_path):
    """People who give up at the line or in a shelter head for the fallback; with an island as
    fallback they stay where they gave up, counted neither as stranded nor as arrived."""
    folder = _chile_peru(tmp_path, locations=("\nantofagasta,", "\nisla,Isla,CHL,,-27.1,-109.3,city,,,x\nantofagasta,"),
                         groups=("bogota=0.5,santiago,90,70,\"share: 0.20 x 50 % Haitian (UNHCR via",
                                 "bogota=0.5,isla,90,70,\"share: 0.20 x 50 % Haitian (UNHCR via"))
    sc = load_scenario(folder)
    assert [str(w) for w in sc.metadata["warnings"]] == [
        "groups.csv:4:7: warning: group hti_undoc: fallback 'isla' cannot be reached by ordinary routes from "
        "where its people give up: 'camp' (waiting at crossing pe_santa_rosa); 'chacalluta' (waiting at crossing "
        "cl_chacalluta_exit); 'arica_shelters' (in a shelter); who gives up there stays there, counted neither as "
        "stranded nor as arrived (routes marked irregular or corridor_only do not count)"]


def test_an_irregular_or_pushback_place_no_route_joins_to_the_crossing_is_a_warning(tmp_path):
    """Who crosses irregularly lands at the crossing's `irregular_to`, who is pushed back at its
    `pushback_to`; an island there (no ordinary route to the crossing's places) leaves them there
    for good, never counted as stranded: a warning at that cell. The scenario as it is has none."""
    assert not [w for w in load_scenario(SCENARIO).metadata["warnings"] if "crossings.csv" in str(w)]
    folder = _chile_peru(tmp_path, locations=("\nantofagasta,", "\nisla,Isla,CHL,,-27.1,-109.3,city,,,x\nantofagasta,"),
                         crossings=("pe_santa_rosa,camp,santa_rosa,camp,tacna,camp,", "pe_santa_rosa,camp,santa_rosa,camp,isla,isla,"),
                         routes=("\ncamp,tacna,", "\ncamp,isla,40,estimated,a path by sea,1,\ncamp,tacna,"))  # (irregular)
    warnings = [str(w) for w in load_scenario(folder).metadata["warnings"]]
    tail = ("is left there and never moves on (expected a place that ordinary routes join to the crossing's; "
            "routes marked irregular or corridor_only do not count)")
    assert [w for w in warnings if w.startswith("crossings.csv")] == [
        "crossings.csv:3:5: warning: crossing pe_santa_rosa: irregular_to 'isla' is joined by no ordinary route "
        f"to the crossing's places ('camp', 'santa_rosa'): who crosses irregularly {tail}",
        "crossings.csv:3:6: warning: crossing pe_santa_rosa: pushback_to 'isla' is joined by no ordinary route "
        f"to the crossing's places ('camp', 'santa_rosa'): who is pushed back {tail}"]


def test_events_through_a_shelter_of_capacity_0_are_warned_of(tmp_path):
    """A shelter of capacity 0 holds nobody: each transfer into it, and the flight from it, moves
    nobody. A warning at the event's cell says so (a capacity of −1 or empty is no limit)."""
    folder = _chile_peru(tmp_path, locations=(",shelter,,1000,", ",shelter,,0,"))
    warnings = [str(w) for w in load_scenario(folder).metadata["warnings"]]
    into = ("warning: transfer into shelter 'arica_shelters', whose capacity is 0 (locations table, line 34): "
            "it moves nobody (a shelter holds at most its capacity; expected a capacity above 0, or −1 or empty "
            "for no limit)")
    assert warnings == [
        f"events.csv:3:6: {into}",
        "events.csv:4:5: warning: flight from shelter 'arica_shelters', whose capacity is 0 (locations table, "
        "line 34): nobody is ever sheltered there, so it takes only people stopped there for another reason "
        "(waiting at a crossing from it, held if it is a stop place), never those passing through (expected a "
        "capacity above 0, or −1 or empty for no limit)",
        f"events.csv:6:6: {into}", f"events.csv:7:6: {into}", f"events.csv:8:6: {into}"]
