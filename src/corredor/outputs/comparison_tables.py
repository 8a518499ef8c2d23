"""A comparison's tables as `corredor compare` prints them: one home for their titles and cells.

Why: `compare --out` also writes a page (comparison.html), and a planner who copies a figure
from it must find the one the terminal showed ("930 [905–941]"), so the CLI and the page take
their tables from here, not from two copies of one rule. The tables are `compare.METRIC_TABLES`
(medians and 5–95 % bands over the seeds, whole numbers) and, with more than one scenario,
`compare.DIFF_TABLES` (the differences from the baseline seed by seed, signed); their rows come
from `Comparison.summary()` or comparison.json's `summary` (the same rows, NaN written as null).
Plain text only: the CLI lays it out with rich, the page with Jinja, each escaping as it must.

>>> rows = [{"scenario": "baseline", "metric": "peak_stranded", "median": 930.5, "p05": 905.1,
...          "p95": 941.4, "seeds": 4, "seeds_without_value": 0}]
>>> comparison_tables(rows, ["baseline"], 4)[0].rows[0][1][0]
Cell(value='930', band='[905–941]')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .formatting import MISSING, count_text, fmt_exact, signed

#: A metric's cell where no seed has a value (people were still stranded on the run's last day).
NOT_WITHIN = "not within the run"
#: The cell of a day or a share of the stranded (`compare.WAIT_METRICS`) where nobody was.
NOBODY = "nobody stranded"
#: The metrics whose missing value means nobody was stranded, not a day beyond the run.
_NOBODY_METRICS = ("stranded_peak_day", "stranded_week_share")
#: The unit of figures written with a decimal (a share), not as whole numbers as counts are.
_SHARE_UNIT = "%"


class Cell(NamedTuple):
    """One cell: the figure, and the 5–95 % band under it ("" where there is none)."""

    value: str
    band: str = ""

    def lines(self) -> str:
        """The cell as the terminal prints it: the band on a line under the figure, and
        NOT_WITHIN folded over two lines (its column is as narrow as a figure)."""
        if self.band:
            return f"{self.value}\n{self.band}"
        return {NOT_WITHIN: "not within\nthe run", NOBODY: "nobody\nstranded"}.get(self.value, self.value)


@dataclass(frozen=True)
class ComparisonTable:
    """One printed table: its title, its metrics (the columns, `compare.heading` heads them),
    one row (scenario name, cells) per scenario, the notes printed under it, and whether its
    cells are differences from the baseline."""

    title: str
    metrics: tuple[str, ...]
    rows: list[tuple[str, list[Cell]]]
    notes: list[str] = field(default_factory=list)
    differences: bool = False


def _number(v: Any) -> float | None:
    """A summary figure as a float; None for no value (NaN in `summary()`, null in the file)."""
    if v is None or isinstance(v, bool) or not isinstance(v, int | float):
        return None
    try:
        f = float(v)
    except OverflowError:  # (a whole number in a file, beyond float's range)
        return None
    return f if math.isfinite(f) else None


def metric_cell(row: Mapping[str, Any] | None) -> tuple[Cell, int]:
    """A scenario's figure of one metric, "930" over "[905–941]", starred where some seeds have
    no value; NOT_WITHIN where none has (NOBODY for a day or share of the stranded, where nobody
    was); a day metric's as dates ("2023-05-10" over "[2023-05-08 – 2023-05-12]": the row's
    `median_date`, `p05_date`, `p95_date`); a share with a decimal ("23.4"); and how many seeds
    have none (for the note)."""
    if row is None:
        return Cell(MISSING), 0
    med, lo, hi = (_number(row.get(k)) for k in ("median", "p05", "p95"))
    if med is None:
        return Cell(NOBODY if row.get("metric") in _NOBODY_METRICS else NOT_WITHIN), 0
    missing = int(_number(row.get("seeds_without_value")) or 0)
    star = "*" if missing else ""
    if isinstance(row.get("median_date"), str) and row["median_date"]:
        low, high = row.get("p05_date"), row.get("p95_date")
        band = f"[{low} – {high}]" if isinstance(low, str) and isinstance(high, str) and low and high else ""
        return Cell(f"{row['median_date']}{star}", band), missing
    # (`formatting.count_text`: the one rule for quantiles of counts, as the pages write them)
    text = fmt_exact if row.get("unit") == _SHARE_UNIT else count_text
    band = f"[{text(lo)}–{text(hi)}]" if lo is not None and hi is not None else ""
    return Cell(f"{text(med)}{star}", band), missing


def missing_note(name: str, key: str, missing: int, seeds: Any) -> str:
    """The note under a table for a figure `metric_cell` starred: `missing` of scenario `name`'s
    `seeds` have no value of metric `key` (the run page says it too, in these words)."""
    from ..analysis.compare import ALL_METRICS

    label = ALL_METRICS[key][0] if key in ALL_METRICS else key
    why = "nobody was stranded" if key in _NOBODY_METRICS else "not within the run"
    return f"* {name}, {label}: in {missing} of {seeds} seeds {why}; the figures are of the other seeds"


def chance_mark(row: Mapping[str, Any] | None) -> str:
    """`compare.CHANCE_MARK` (" (chance)") for a difference within chance variation: its 5–95 %
    band over the seeds includes 0 (`compare.within_chance`, of the row's figures: a
    comparison.json of an earlier version has no `diff_within_chance`); "" otherwise, with fewer
    than 2 seeds, and where the difference is 0 on every seed (0 [0 – 0]: no difference at all,
    not chance). The terminal's, comparison.html's and the run page's difference cells."""
    from ..analysis.compare import CHANCE_MARK, within_chance

    if row is None:
        return ""
    lo, hi, seeds = (_number(row.get(k)) for k in ("diff_p05", "diff_p95", "seeds"))
    if lo is None or hi is None or lo == hi == 0:
        return ""
    within = within_chance(lo, hi, int(seeds) if seeds is not None else 2)
    return CHANCE_MARK if within else ""


def difference_cell(row: Mapping[str, Any] | None) -> Cell:
    """A scenario's difference from the baseline, seed by seed, of one metric: "+424" over
    "[+380 – +470]" (whole numbers, the minus sign U+2212), marked `chance_mark` where its band
    includes 0; "–" where no seed has one."""
    med, lo, hi = (_number(row.get(f"diff_{q}")) if row is not None else None for q in ("median", "p05", "p95"))
    if med is None:
        return Cell(MISSING)
    whole = row is None or row.get("unit") != _SHARE_UNIT  # (a share's in points, with a decimal)
    return Cell(signed(med, whole=whole) + chance_mark(row), f"[{signed(lo, whole=whole)} – {signed(hi, whole=whole)}]")


def comparison_tables(summary: Sequence[Mapping[str, Any]], names: Sequence[str], seeds: int,
                      whole_run_note: str | None = None, labels: Mapping[str, str] | None = None,
                      baseline: str | None = None) -> list[ComparisonTable]:
    """The tables `corredor compare` prints, in its order: each of `compare.METRIC_TABLES`, then
    (with more than one scenario) each of `compare.DIFF_TABLES` without the baseline's row.
    `summary`: the rows of `Comparison.summary()` or comparison.json's; `names`: the scenarios,
    the baseline first; `seeds`: how many seeds each ran. Under the first table goes what the
    bands are at that many seeds (`compare.band_note`: with one seed the cells have no band at
    all), under the first table of whole-run totals `whole_run_note`
    (`Comparison.whole_run_note()`), then a note for each figure that some seeds have no value
    of, each scenario by its readable name (`labels`, comparison.json's; the rows keep the
    names); under a difference table with a difference within chance variation, what its
    `chance_mark` means. A metric that no row has (a comparison.json written before
    it existed, such as the vulnerable stranded) is left out of its table, and a table left
    with none is left out: its figures are not known, not "–" for every scenario. `names` may
    be in another order than the baseline first (`Comparison.shown_names`, a one-way sweep's by
    value); `baseline` (default: the first of `names`) then says which has no differences."""
    from ..analysis.compare import (
        CHANCE_MARK,
        CHANCE_NOTE,
        DIFF_TABLES,
        METRIC_TABLES,
        WHOLE_RUN_METRICS,
        band_note,
    )

    labels = labels or {}
    by_key = {(str(r.get("scenario")), str(r.get("metric"))): r for r in summary}
    one = seeds == 1  # (no band: the 5–95 % of one value is that value, "[506–506]")
    over = "1 seed, no range" if one else f"median [5–95 %] over {seeds} seed{'s' if seeds != 1 else ''}"
    bands = band_note(seeds) if seeds >= 1 else ""
    tables: list[ComparisonTable] = []
    said_end = False  # (the run's end: where the whole-run totals stop, said once)
    for title, metrics in _in_file(METRIC_TABLES, summary):
        rows, notes = [], []
        for name in names:
            cells = []
            for key in metrics:
                row = by_key.get((name, key))
                cell, missing = metric_cell(row)
                cells.append(Cell(cell.value) if one else cell)
                if missing and row is not None:
                    notes.append(missing_note(labels.get(name, name), key, missing, row.get("seeds")))
            rows.append((name, cells))
        if whole_run_note and not said_end and set(metrics) & set(WHOLE_RUN_METRICS):
            notes.insert(0, whole_run_note)
            said_end = True
        if bands and not tables:
            notes.insert(0, bands)
        tables.append(ComparisonTable(f"{title}: {over}", metrics, rows, notes))
    base = baseline if baseline is not None else (names[0] if names else None)
    if len(names) > 1:  # (common seeds: the difference on a seed is the policy's alone)
        for title, metrics in _in_file(DIFF_TABLES, summary):
            rows = [(name, [difference_cell(by_key.get((name, key))) for key in metrics])
                    for name in names if name != base]
            if one:
                rows = [(name, [Cell(c.value) for c in cells]) for name, cells in rows]
            marked = any(c.value.endswith(CHANCE_MARK) for _, cells in rows for c in cells)
            notes = ([f"{heading_of('stranded_peak_day')}: the difference in days (+ later, − earlier)"]
                     if "stranded_peak_day" in metrics else [])
            tables.append(ComparisonTable(f"{title}: {over}", metrics, rows,
                                          notes + ([CHANCE_NOTE] if marked else []), differences=True))
    return tables


def _in_file(tables: tuple[tuple[str, tuple[str, ...]], ...],
             summary: Sequence[Mapping[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    """`tables` (title, metric keys) with only the metrics some row of `summary` has, and
    without a table none of whose metrics it has. Why: a comparison.json of an earlier version
    has no row of a metric added since, and its page showed a column of "–" for it."""
    there = {str(r.get("metric")) for r in summary}
    kept = [(title, tuple(k for k in keys if k in there)) for title, keys in tables]
    return [(title, keys) for title, keys in kept if keys]


def heading_of(key: str) -> str:
    """A metric's label as the notes under a table name it (`compare.METRIC_LABELS`)."""
    from ..analysis.compare import METRIC_LABELS

    return METRIC_LABELS[key][0] if key in METRIC_LABELS else key
