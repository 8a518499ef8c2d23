"""Legal Flee inputs that do something a Flee user would not expect get a warning at the cell
that causes it (findings of a Flee 3.1 user's review): a camp closure of a town, closures that
reopen each other's links, a conflict_date that Flee ignores, a `#` row of conflicts.csv, a
total of 0 beside positive camp data; and a misplaced data_layout row is one error, not two.

Each case is mali2012 (../shared/data/flee) copied and edited in one place."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from corredor.plan import compile_plan, links_closed
from corredor.scenario import Problem, ScenarioError, load_scenario
from corredor.scenario.validate import validate_path

CLO = "input_csv/closures.csv"
CON = "input_csv/conflicts.csv"
LOC = "input_csv/locations.csv"
ROU = "input_csv/routes.csv"
LAY = "source_data/data_layout.csv"
REF = "source_data/refugees.csv"


@pytest.fixture
def mali(flee_cases: Path, tmp_path: Path) -> Path:
    """A copy of mali2012 to edit."""
    folder = tmp_path / "mali2012"
    shutil.copytree(flee_cases / "mali2012", folder)
    return folder


def append(folder: Path, rel: str, text: str) -> None:
    with (folder / rel).open("a", encoding="utf-8") as fh:
        fh.write(text)


def set_line(folder: Path, rel: str, n: int, text: str) -> None:
    """Replace 1-based line `n` of `rel`."""
    path = folder / rel
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[n - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def warnings_at(folder: Path, rel: str) -> list[Problem]:
    return [w for w in validate_path(folder) if w.path == rel]


def errors_of(folder: Path) -> list[Problem]:
    with pytest.raises(ScenarioError) as exc:
        validate_path(folder)
    return list(exc.value.problems)


def test_the_shipped_case_has_none_of_these_warnings(mali: Path) -> None:
    assert validate_path(mali) == []


# ---- 3: a camp closure of a place that is not a camp ------------------------------------------


@pytest.mark.parametrize("row, said", [
    ("camp,Mopti,,3,4", ("camp closure of 'Mopti', which is a town", "a camp (move chance 0.001) on day 4",
                         "`location` closure is probably meant")),
    ("idpcamp,Mentao,,3,50", ("idpcamp closure of 'Mentao', which is a camp",
                              "an IDP camp (move chance 0.1) on day 50", "`camp` closure is probably meant")),
])
def test_a_camp_kind_closure_of_another_kind_warns_what_it_becomes(mali: Path, row: str,
                                                                   said: tuple[str, ...]) -> None:
    append(mali, CLO, row + "\n")
    (w,) = warnings_at(mali, CLO)
    assert (w.line, w.column) == (4, 2)
    for text in said:
        assert text in w.message


def test_camp_closure_of_a_camp_is_not_warned_of(mali: Path) -> None:
    append(mali, CLO, "camp,Mentao,,3,50\n")
    assert warnings_at(mali, CLO) == []


# ---- 4: closures share links --------------------------------------------------------------------


def test_a_reopen_by_another_row_is_warned_of_at_the_row_it_undoes(mali: Path) -> None:
    append(mali, CLO, "location,Mentao,,0,-1\n")
    ws = warnings_at(mali, CLO)
    assert [(w.line, w.column) for w in ws] == [(4, 5), (4, 5)]
    never, undone = ws
    assert "never reopens what it closes" in never.message
    assert "lasts to the end" not in never.message
    assert undone.message == (
        "Mentao's links to Douentza, Mopti reopen on day 22 by line 2 (country,Mali,Burkina_Faso), "
        "while this row closes them to the end (a link is open or closed, whichever row set it "
        "last: the first reopen after a close opens it)"
    )
    # the rule warned of is the engine's: the country row's reopen opens Mentao's links on day 22
    scenario = load_scenario(mali)
    plan = compile_plan(scenario)
    names = [loc.name for loc in scenario.locations]
    mentao, mopti, bobo = (names.index(n) for n in ("Mentao", "Mopti", "Bobo-Dioulasso"))
    closed = links_closed(plan)
    for other, open_from_22 in ((mopti, True), (bobo, False)):
        ks = np.flatnonzero(((plan.link_from == mentao) & (plan.link_to == other))
                            | ((plan.link_from == other) & (plan.link_to == mentao)))
        assert len(ks) == 2 and closed[21, ks].all()
        assert (not closed[22, ks].any()) if open_from_22 else closed[22:, ks].all()


def test_a_reopen_before_the_rows_own_end_names_its_end_day(mali: Path) -> None:
    append(mali, CLO, "location,Mentao,,10,40\n")
    (w,) = warnings_at(mali, CLO)
    assert (w.line, w.column) == (4, 5)
    assert "reopen on day 22 by line 2 (country,Mali,Burkina_Faso), while this row closes them " \
           "until day 40" in w.message


def test_closures_that_do_not_overlap_in_time_are_not_warned_of(mali: Path) -> None:
    append(mali, CLO, "location,Mentao,,40,60\n")
    assert warnings_at(mali, CLO) == []


# ---- 6: conflict_date > 0 with no conflicts.csv column -------------------------------------------


def test_a_later_conflict_date_without_a_column_is_warned_of(mali: Path) -> None:
    append(mali, LOC, '"NewZone","Gao","Mali",16.0,0.5,"conflict_zone",50,500000,3\n')
    append(mali, ROU, "NewZone,Gao,50,0\n")
    (w,) = warnings_at(mali, LOC)
    assert (w.line, w.column) == (25, 7)
    assert w.message == (
        "conflict_date 50 > 0: Flee makes 'NewZone' a town; it becomes a conflict zone only "
        "through conflicts.csv, which has no 'NewZone' column (so it never sends anyone)"
    )


def test_a_later_conflict_date_without_conflicts_csv_is_warned_of(mali: Path) -> None:
    (mali / CON).unlink()
    ws = warnings_at(mali, LOC)
    gao = next(w for w in ws if "'Gao'" in w.message)
    assert gao.column == 7
    assert "only through conflicts.csv, and there is no conflicts.csv" in gao.message


# ---- 9: conflicts.csv has no comment rows ---------------------------------------------------------


def test_a_hash_day_row_is_still_a_day(mali: Path) -> None:
    text = (mali / CON).read_text(encoding="utf-8").splitlines()[5]
    set_line(mali, CON, 6, "#" + text)
    (w,) = warnings_at(mali, CON)
    assert (w.line, w.column) == (6, 1)
    assert w.message.startswith("conflicts.csv has no comment rows: this row is day 4")
    assert load_scenario(mali).conflicts.lines[4] == 6


def test_a_one_cell_comment_line_is_skipped_as_flee_does(mali: Path) -> None:
    lines = (mali / CON).read_text(encoding="utf-8").splitlines()
    lines.insert(1, "# the days start here")
    (mali / CON).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (w,) = warnings_at(mali, CON)
    assert (w.line, w.column) == (2, 1)
    assert w.message.startswith("conflicts.csv has no comment rows, but Flee reads no value from a "
                                "row of one cell: this row is skipped")
    conflicts = load_scenario(mali).conflicts
    assert conflicts.lines[0] == 3 and conflicts.intensity.shape[0] == 300


def test_a_short_comment_line_is_an_error_about_comments(mali: Path) -> None:
    set_line(mali, CON, 6, "# 4 commented out, see notes")
    (e,) = errors_of(mali)
    assert (e.path, e.line, e.column) == (CON, 6, 1)
    assert e.message.startswith("conflicts.csv has no comment rows: Flee reads this row as day 4")
    assert "missing values" not in e.message


# ---- 10: one misplaced data_layout row, one message ---------------------------------------------


def test_a_misplaced_total_row_is_not_followed_by_a_false_missing_series(mali: Path) -> None:
    lines = (mali / LAY).read_text(encoding="utf-8").splitlines()
    lines[0], lines[1] = lines[1], lines[0]
    (mali / LAY).write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = errors_of(mali)
    assert [(e.path, e.line) for e in errors] == [(LAY, 1), (LAY, 2)]
    assert not any("has no data series" in e.message for e in errors)


# ---- 7: a total of 0 beside positive camp data ------------------------------------------------------


def test_a_zero_total_beside_positive_camps_is_warned_of(mali: Path) -> None:
    set_line(mali, REF, 2, "2012-02-29,0")
    (w,) = warnings_at(mali, REF)
    assert (w.line, w.column) == (2, 2)
    assert w.message.startswith("total 0 on day 0 (2012-02-29) while the camp series hold 10838 "
                                "people")
    assert "docs/validation.md" in w.message


def test_a_zero_total_after_the_last_row_is_counted_to_the_end_without_walking_every_day() -> None:
    """The check first interpolated every series day by day over the whole period, and
    test_safety's billion-day period kept it busy (and growing to gigabytes) for minutes before
    the period was refused. After their last points the series are constant: the days up to
    the last point (and one more) say it all, and a zero at the end lasts to the period's end."""
    import datetime as dt

    from corredor.scenario.flee import _warn_zero_total
    from corredor.scenario.model import Series
    from corredor.scenario.problems import Problems

    total = Series("total", ("t.csv",), (0, 10, 11), (5.0, 5.0, 0.0), parts=(((0, 10, 11), (5, 5, 0)),))
    camp = Series("c", ("c.csv",), (0, 10), (3.0, 7.0), parts=(((0, 10), (3, 7)),))
    problems = Problems()
    _warn_zero_total(Path("t.csv"), total, {"c": camp}, [2, 3, 4], dt.date(2020, 1, 1), 10**9, problems)
    (w,) = problems.warnings
    assert w.line == 4  # (the row dated day 11, whose 0 every later day repeats)
    assert w.message.startswith(f"total 0 on day 11 (2020-01-12) while the camp series hold 7 people "
                                f"(and on {10**9 - 12} more days, to day {10**9 - 1})")
