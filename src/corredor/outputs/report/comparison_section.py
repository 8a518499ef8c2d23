"""The policy comparison as pages show it: comparison.json (or plain rows) as table rows
(`comparison_rows`, `difference_rows`, `comparison_table`), the notes under the table (seeds,
starred figures, the whole-run totals' last day), whether it is of the run's scenario
(`comparison_scenario`), and its figure (`png_beside`) and labels.

Why a module of its own: the run page's comparison section (`builder.render`), comparison.html
(`comparison`), `corredor report`'s checks (cli) and the main job (`mainjob`) read a comparison
the same way; none of it reads a run folder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..formatting import band_cell, fmt_exact, is_count_unit, signed
from . import checks
from .checks import ReportError

if TYPE_CHECKING:
    from .builder import RunData


def comparison_rows(obj: Any) -> list[dict[str, Any]] | None:
    """A comparison as a list of rows; also accepts `analysis.compare`'s comparison.json (a dict
    whose `summary` holds one row per scenario and metric), pivoted to one row per scenario."""
    if obj is None:
        return obj
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            if not isinstance(item, dict):
                raise ValueError(f"row {i + 1} of the comparison is {checks.kind_of(item)}, expected an object")
        return obj
    if isinstance(obj, dict) and isinstance(obj.get("summary"), list):
        from ...analysis.compare import ALL_METRICS, heading, titled
        from ..comparison_tables import NOBODY, NOT_WITHIN, metric_cell

        metrics = obj.get("metrics") or {}
        if not isinstance(metrics, dict) or not all(isinstance(v, dict) for v in metrics.values()):
            raise ValueError('its "metrics" must be an object of {label, unit} objects')
        labels = {k: titled(str(v.get("label", k)), str(v.get("unit") or "")) for k, v in metrics.items()}
        units = {k: str(v.get("unit") or "") for k, v in metrics.items()}

        def column(key: Any) -> str:
            """`compare.heading` of a metric this version knows, as the main job's report and the
            CLI head it ("stranded person-days", "m²": the file's label and unit gave
            "stranded person-days (person-days)" and "m2"); the file's own label otherwise."""
            if not isinstance(key, str):
                return str(key)
            return heading(key) if key in ALL_METRICS else labels.get(key, key)

        def counts(r: dict[str, Any]) -> bool:
            """Whether a row's figures count whole things (`formatting.is_count_unit`), written
            as whole numbers as `corredor compare` prints them: by the unit this version knows
            for the metric, else the file's."""
            key = r.get("metric")
            unit = (ALL_METRICS[key][1] if isinstance(key, str) and key in ALL_METRICS
                    else r.get("unit") or units.get(str(key), ""))
            return is_count_unit(str(unit))

        def cell(i: int, r: Any) -> tuple[str, str]:
            if not isinstance(r, dict):
                raise ValueError(f"summary row {i} is not an object")
            med, lo, hi = r.get("median"), r.get("p05"), r.get("p95")
            if any(v is not None and not checks.is_number(v) for v in (med, lo, hi)):
                raise ValueError(f"summary row {i}: median, p05 and p95 must be numbers or null")
            # (the cell `corredor compare` prints and comparison.html shows: "not within the run"
            # where no seed has a value, where the page said "–"; starred where some have none,
            # `missing_seed_notes` saying which under the table)
            shown, missing = metric_cell(r)
            # (a day metric's dates and a share's decimal: as `corredor compare` prints them)
            if shown.value in (NOT_WITHIN, NOBODY) or counts(r) or r.get("median_date") or r.get("unit") == "%":
                return column(r.get("metric")), f"{shown.value} {shown.band}".rstrip()
            median, _, band = band_cell(med, lo, hi).partition(" ")  # (no count: every digit)
            return column(r.get("metric")), f"{median}{'*' if missing else ''} {band}".rstrip()

        return pivot(obj["summary"], cell)
    raise ValueError("a comparison is a list of {variant: metrics} rows or a comparison.json with a summary")


def missing_seed_notes(comparison: Any) -> list[str]:
    """The notes under the run page's comparison table for its starred figures, as under the
    CLI's and comparison.html's tables (`comparison_tables.missing_note`): which scenario's figure
    some seeds have no value of, in how many. Nothing for a comparison given as plain rows."""
    from ..comparison_tables import metric_cell, missing_note

    summary = comparison.get("summary") if isinstance(comparison, dict) else None
    notes = []
    for r in summary if isinstance(summary, list) else []:
        if isinstance(r, dict) and (missing := metric_cell(r)[1]):
            notes.append(missing_note(str(r.get("scenario", "")), str(r.get("metric")), missing,
                                      r.get("seeds")))
    return notes


def pivot(summary: list[Any], cell: Callable[[int, Any], tuple[str, str] | None]) -> list[dict[str, Any]]:
    """Summary rows (one per scenario and metric, as `Comparison.summary()` and comparison.json
    hold them) as one row per scenario, `{"variant": name, column: text}`, in the order the
    scenarios first appear. `cell(i, row)` (i counted from 1) gives a row's column and text, or
    None to leave the row out; a scenario none of whose rows is kept gets no row."""
    rows: dict[str, dict[str, Any]] = {}
    for i, r in enumerate(summary, start=1):
        got = cell(i, r)
        if got is not None:
            column, text = got
            rows.setdefault(str(r.get("scenario", "")), {"variant": str(r.get("scenario", ""))})[column] = text
    return list(rows.values())


def difference_rows(summary: Any) -> list[dict[str, Any]] | None:
    """The differences from the baseline, seed by seed, of `analysis.compare.DIFF_METRICS`, as
    comparison rows `{"variant": name, "label (unit)": "+x [lo – hi]"}`, from `Comparison.summary()`
    or comparison.json's `summary` (rows with `diff_median`, `diff_p05`, `diff_p95`; the
    baseline's are null). None when there is nothing to show (one scenario, or an older file)."""
    from ...analysis.compare import ALL_METRICS, DIFF_METRICS, heading
    from ..comparison_tables import chance_mark

    if not isinstance(summary, list):
        return None

    def cell(_: int, r: Any) -> tuple[str, str] | None:
        if not isinstance(r, dict) or r.get("metric") not in DIFF_METRICS:
            return None
        values: list[Any] = [r.get(k) for k in ("diff_median", "diff_p05", "diff_p95")]
        if not all(checks.is_number(v) and math.isfinite(float(v)) for v in values):
            return None  # (the baseline's own row; a metric without a paired seed)
        # (as `corredor compare` prints them, `comparison_tables.difference_cell`: whole numbers,
        # a share's points with a decimal)
        whole = ALL_METRICS[str(r["metric"])][1] != "%"
        med, lo, hi = (signed(float(v), whole=whole) for v in values)
        # (" (chance)" where its band includes 0, as `corredor compare` marks it)
        return heading(str(r["metric"])), f"{med}{chance_mark(r)} [{lo} – {hi}]"

    return pivot(summary, cell) or None


def comparison_table(comparison: list[dict[str, Any]] | None,
                     labels: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Rows of the policy comparison from `[{"variant": name, metric: value}]` or `[{name: {metric: value}}]`,
    each scenario by its readable name where `labels` (comparison.json's) has one."""
    if not comparison:
        return None
    rows: list[tuple[str, dict[str, Any]]] = []
    for item in comparison:
        name = item.get("variant", item.get("name")) if isinstance(item, dict) else None
        if name is not None:
            rows.append((str(name), {k: v for k, v in item.items() if k not in ("variant", "name")}))
        elif isinstance(item, dict):
            for key, metrics in item.items():
                rows.append((str(key), dict(metrics) if isinstance(metrics, dict) else {"value": metrics}))
    columns: list[str] = []
    for _, metrics in rows:
        columns += [k for k in metrics if k not in columns]

    def show(v: Any) -> tuple[str, str]:
        if checks.is_number(v):
            return fmt_exact(float(v)), ""
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v), ""  # (float() of a whole number beyond float's range fails)
        return split_range("–" if v is None else str(v))

    shown = labels or {}
    return {"columns": columns, "rows": [(shown.get(n, n), [show(m.get(c)) for c in columns]) for n, m in rows]}


def split_range(cell: str) -> tuple[str, str]:
    """A comparison cell "median [p05–p95]" (comparison_rows', main-job's) as (median, "[p05–p95]"),
    so the page can put the band under the median where the table is narrow (a dozen metrics
    side by side were three screens wide); any other text as (text, "")."""
    m = re.fullmatch(r"(\S+) (\[[^\[\]]+\])", cell)
    return (m.group(1), m.group(2)) if m else (cell, "")


def comparison_note(seeds: Any, run_seed: Any, chosen_as: Any = None) -> str | None:
    """What a comparison cell is (median over N seeds, 5–95 % band of them in brackets) and
    whether the run the rest of the page shows is one of those seeds; None without seeds (a
    comparison given as plain rows)."""
    if not isinstance(seeds, list) or not seeds:
        return None
    n = len(seeds)
    note = (f"Each cell: the median over {n} seed{'s' if n != 1 else ''} and, in brackets, the 5–95 % "
            f"band of {'them' if n != 1 else 'it'} (a spread between seeds, not a confidence interval).")
    if run_seed is None:
        return note
    mine = str(run_seed) in {str(x) for x in seeds}
    typical = (", chosen as the typical one (its figures nearest the medians)"
               if mine and isinstance(chosen_as, str) and chosen_as.startswith("typical") else "")
    return note + (f" The map, charts and tables above show one run: seed {run_seed}"
                   + (f", one of these seeds{typical}." if mine else ", not one of these seeds."))


def comparison_whole_run_note(rows: list[dict[str, Any]], comparison: Any, end: str | None) -> str | None:
    """`compare.whole_run_note` under a comparison's table (`rows`, `comparison_rows`'), as
    `corredor compare` prints it under its own; None when the table has no whole-run column.
    From `comparison` when it is a comparison.json as read: each scenario's last day (its
    `dates`), the baseline's people still at the sites on it (its `summary` row, written as the
    table's cells are), and whether anyone is (its `per_seed`, else the summary's 95 % points);
    otherwise (plain rows) only the shown run's last day, `end`. Where the comparison's last day
    is not `end`, it is called the compared runs' last day, not the run's."""
    from ...analysis.compare import WHOLE_RUN_METRICS, heading, last_day, whole_run_note

    columns = {k for r in rows for k in r}
    if not any(heading(k) in columns for k in WHOLE_RUN_METRICS):
        return None
    key = "people_at_sites_last_day"
    data = comparison if isinstance(comparison, dict) else {}

    def listed(v: Any) -> list[Any]:  # (a file's field that is not a list counts as missing)
        return v if isinstance(v, list) else []

    def of(field: str) -> dict[str, Any]:
        v = data.get(field)
        return v if isinstance(v, dict) else {}

    def number(v: Any) -> float | None:
        return float(v) if checks.is_number(v) and math.isfinite(float(v)) else None

    summary = [r for r in listed(data.get("summary")) if isinstance(r, dict) and r.get("metric") == key]
    names = [str(n) for n in listed(data.get("scenarios"))] or [str(r.get("variant")) for r in rows]
    ends = {n: last_day([str(d) for d in listed(of("dates").get(n))], len(listed(of("stranded_median").get(n))))
            for n in names if listed(of("dates").get(n)) or listed(of("stranded_median").get(n))}
    if not ends and end:
        ends = {"": end}  # (plain rows: the run the page shows)
    per_seed = [m for m in of("per_seed").values() if isinstance(m, dict)]
    left = ([number(v) for m in per_seed for v in listed(m.get(key))] if per_seed
            else [number(r.get("p95")) for r in summary])
    nobody = bool(left) and not any(v for v in left if v is not None)
    base = names[0] if names else None
    row = next((r for r in summary if str(r.get("scenario")) == base), None)
    band = (number(row.get("median")), number(row.get("p05")), number(row.get("p95"))) if row else None
    # (the comparison's own last day, whatever the page's run: a run of 100 days beside a
    # comparison of 150 was told "to 2023-05-11", its own last day, of the 150 days' totals)
    runs = "the run's" if not end or end in ends.values() else "the compared runs'"
    return whole_run_note(ends, base, band, nobody_left=nobody, whole=True, runs=runs)  # (people: as the cells)


#: `corredor report`'s option that shows a comparison of another scenario (named in its refusal).
OTHER_SCENARIO_OPTION = "--other-scenario"


class OtherScenario(ReportError):
    """A comparison of another scenario than the run's, refused (`comparison_scenario`)."""


@dataclass(frozen=True)
class ComparisonScenario:
    """How a comparison's scenarios stand to the run whose page would show it
    (`comparison_scenario`). `other`: they are another scenario's (`problem` says which and
    which the run's is); `note`: what the page says above the table and `corredor report` on
    stderr (None where the run is one of the compared scenarios as they ran)."""

    other: bool = False
    note: str | None = None
    problem: str | None = None


def _family(name: str) -> str:
    """A scenario's name without its variant ("chile-peru-2023+bribe-55" -> "chile-peru-2023"):
    a variant file loads as its baseline's name, "+" and its own."""
    return name.split("+", 1)[0]


def _named(identity: dict[str, Any]) -> str:
    """A scenario as a message names it: its name and, where known, the folder it was read from."""
    name, source = str(identity.get("name") or "?"), str(identity.get("source") or "")
    return f"{name} ({source})" if source and source != "None" else name


def comparison_scenario(comparison: Any, run: RunData) -> ComparisonScenario:
    """Whether `comparison` (comparison.json as read) is of the run's scenario, by its
    `scenario_identity` (`analysis.compare.scenario_identity`) against manifest.json's `scenario`.

    - The run's content hash is one of the compared scenarios': it is one of them, as they ran;
      nothing to say.
    - Its name (a variant's without its "+variant") is one of theirs: the same scenario with
      another period or settings (`run --days 100`, `--set`), a comparison a planner may share
      deliberately; shown, and the page says how the run differs (its period, else its
      settings), so nobody reads the table's totals as this run's.
    - Otherwise another scenario's (a Chile–Peru table on a Mali run's page, found by a user
      acceptance pass): `other`, refused unless asked (OTHER_SCENARIO_OPTION), then marked.
    - A comparison.json without `scenario_identity` (written before corredor recorded it), or a
      run whose manifest names no scenario: shown, with a note that it could not be checked.
    Plain rows (a list) say nothing of a scenario and are shown as given."""
    if not isinstance(comparison, dict):
        return ComparisonScenario()
    scen = run.manifest.get("scenario")
    mine = scen if isinstance(scen, dict) else {}
    name, sha = str(mine.get("name") or ""), str(mine.get("sha256") or mine.get("hash") or "")
    ids = comparison.get("scenario_identity")
    ids = ({str(k): v for k, v in ids.items() if isinstance(v, dict) and isinstance(v.get("name"), str)}
           if isinstance(ids, dict) else {})  # (entries without a name, as in an edited file: not said)
    period = _period_note(comparison, run)
    if not ids or not name:
        why = ("this comparison.json does not say which scenario it compares (an earlier version "
               "wrote it)" if not ids else "this run's manifest.json does not name its scenario")
        return ComparisonScenario(note=f"Not checked: {why}; make sure its scenarios are this "
                                       f"run's{f', {name}' if name else ''}." + period)
    if sha and any(str(i.get("sha256") or "") == sha for i in ids.values()):
        return ComparisonScenario()
    base = next(iter(ids.values()))
    families = {_family(str(i.get("name") or "")) for i in ids.values()}
    if _family(name) in families:
        how = period or (" This run's settings differ from every compared scenario's (a --set, "
                         "or the scenario edited since): the table's figures are of the compared runs.")
        return ComparisonScenario(note=f"This run ({name}) is not one of the compared scenarios as "
                                       f"they ran.{how}")
    named = _named(base)
    problem = (f"compares another scenario: {named}, not this run's {_named(mine)}; a report shows "
               f"the comparison of its own scenario (use {OTHER_SCENARIO_OPTION} to show it anyway, "
               "marked as another scenario's)")
    note = (f"Another scenario's comparison: {named}, not this run's {_named(mine)}. Its figures "
            "say nothing of the run this page shows." + period)
    return ComparisonScenario(other=True, note=note, problem=problem)


def _period_note(comparison: dict[str, Any], run: RunData) -> str:
    """The sentence that says both periods (" The compared runs cover …, this run …"), where the
    comparison's (its `dates`) is not the run's (a run of 100 days beside a comparison of 150);
    "" where they are the same or either is not known."""
    dates = comparison.get("dates")
    spans = {(str(d[0]), str(d[-1])) for d in (dates.values() if isinstance(dates, dict) else [])
             if isinstance(d, list) and d}
    mine = (str(run.dates[0]), str(run.dates[-1])) if run.dates and run.dates[0] and run.dates[-1] else None
    if not spans or mine is None or spans == {mine}:
        return ""
    theirs = "; ".join(f"{a} to {b}" for a, b in sorted(spans))
    return (f" The compared runs cover {theirs}, this run {mine[0]} to {mine[1]}: the table's "
            "figures are of their period, not this run's.")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_beside(comparison_json: Path) -> bytes | None:
    """The comparison.png that `corredor compare --out` wrote beside `comparison_json` (the two
    are written together), or None where there is none or it is not a PNG. Why: `report
    --comparison` showed the table without the figure the main job's reports have."""
    path = Path(comparison_json).with_name("comparison.png")
    try:
        data = path.read_bytes() if path.is_file() else b""
    except OSError:
        return None
    return data if data.startswith(PNG_SIGNATURE) else None


#: The comparison figure's caption and alt text.
COMPARISON_FIGURE_TITLE = ("Each scenario's median (dot) and 5–95 % band (bar) over the seeds, per metric; "
                           "the dashed line is the baseline's median")


def labels_of(data: Any) -> dict[str, str]:
    """comparison.json's `labels`: each scenario's readable name on the pages, where it has one
    (a variant file's `label`), as the terminal, comparison.png and the pages show it; the rows of
    comparison.csv and .json are keyed by the name and have it as `scenario_label`."""
    v = data.get("labels") if isinstance(data, dict) else None
    return {str(k): str(x) for k, x in v.items() if isinstance(x, str) and x} if isinstance(v, dict) else {}
