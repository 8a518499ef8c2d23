"""Build `comparison.html` for a comparison (`corredor compare --out DIR`): one self-contained page.

Why: a planner shares a what-if comparison with people who do not run the CLI. The page holds
what `corredor compare` printed, cell for cell (`outputs.comparison_tables`, which the CLI's tables
come from too), the differences from the baseline seed by seed, the note on where the whole-run
totals stop, comparison.png, the median number stranded day by day per scenario, and where it all
came from (corredor's version, the seeds, the base seed, each scenario's file and description).
It reads only comparison.json (and comparison.png beside it), so `corredor report DIR` rebuilds
it from the folder alone. Named comparison.html, not report.html: `compare --out` may write into
a run folder, whose report.html is the run's page (and reads that comparison.json).
Same head, Content-Security-Policy, style and table markup as the run report (`macros.html`);
every name goes through Jinja's autoescape; the page has no script.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ...analysis.compare import band_note, bands_meaningful, heading, identical_note
from ...engine import manifest_seed
from ...targets import write_text_atomic
from ..comparison_tables import ComparisonTable, comparison_tables
from . import checks
from .builder import COMPARISON_JSON, _asset, change_lines, environment, png_uri, split_facts
from .checks import ReportError
from .checks_section import observation_section, read_check_rows
from .comparison_section import (
    COMPARISON_FIGURE_TITLE,
    comparison_rows,
    comparison_whole_run_note,
    labels_of,
)
from .svg_chart import LINE_DASHES, PALETTE, chart

#: The page `compare --out` writes beside comparison.csv, comparison.json and comparison.png.
COMPARISON_HTML = "comparison.html"
#: The comparison's figure (`outputs.plots.COMPARISON_PNG`; plots is not imported here: matplotlib).
COMPARISON_PNG = "comparison.png"
#: The summary fields besides median, p05 and p95 (which `comparison_section.comparison_rows` checks) that
#: the tables read: each a number or null.
_NUMBER_FIELDS = ("diff_median", "diff_p05", "diff_p95", "seeds", "seeds_without_value")


def is_comparison_folder(folder: Path) -> bool:
    """Whether `folder` is a comparison's (`compare --out`, the main job's): comparison.json and no
    manifest.json. A run folder that also holds one goes to the run's report, which shows it."""
    return (folder / COMPARISON_JSON).is_file() and not (folder / "manifest.json").exists()


def check_comparison(data: Any, path: Path | str) -> dict[str, Any]:
    """comparison.json as `corredor compare` writes it, checked for what the page reads: an object
    with a `summary` of rows whose figures are numbers or null, `scenarios` a list of names;
    ReportError naming `path` otherwise."""
    if not isinstance(data, dict) or not isinstance(data.get("summary"), list):
        raise ReportError(f"{path}: expected the comparison.json of `corredor compare` (an object with a "
                          f'"summary" list), found {checks.kind_of(data)}'
                          + (" without one" if isinstance(data, dict) else ""))
    try:
        comparison_rows(data)
    except ValueError as exc:
        raise ReportError(f"{path}: {exc}") from None
    for i, row in enumerate(data["summary"], start=1):
        for key in _NUMBER_FIELDS:
            v = row.get(key)
            if v is not None and not checks.is_number(v):
                raise ReportError(f"{path}: summary row {i}: {key} must be a number or null, found {checks.kind_of(v)}")
    names = data.get("scenarios")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ReportError(f'{path}: "scenarios" must be a list of names, found {checks.kind_of(names)}')
    if not _names(data):
        raise ReportError(f"{path}: holds no scenario (its summary is empty)")
    return data


def _of(data: dict[str, Any], key: str) -> dict[str, Any]:
    """A field of comparison.json that maps scenario names to something; {} where it does not."""
    v = data.get(key)
    return v if isinstance(v, dict) else {}


def _names(data: dict[str, Any]) -> list[str]:
    """The scenarios, the baseline first: `scenarios`, else in the order the summary lists them."""
    if isinstance(data.get("scenarios"), list):
        return [str(n) for n in data["scenarios"]]
    return list(dict.fromkeys(str(r.get("scenario", "")) for r in data["summary"] if isinstance(r, dict)))


def _order(data: dict[str, Any], names: list[str]) -> list[str]:
    """The scenarios in the order the tables show them: comparison.json's `order` (a one-way
    sweep's by value, the baseline among its points), else `names`."""
    order = data.get("order")
    if isinstance(order, list) and sorted(str(n) for n in order) == sorted(names):
        return [str(n) for n in order]
    return names


def identical_notes(data: dict[str, Any], names: list[str], seeds: int) -> list[str]:
    """`compare.identical_note` of each scenario comparison.json's `identical_to_baseline` names
    (by its readable name), as `corredor compare` printed them."""
    same = data.get("identical_to_baseline")
    labels = labels_of(data)
    return [identical_note(labels.get(str(n), str(n)), seeds) for n in same
            if str(n) in names] if isinstance(same, list) else []


def _seeds(data: dict[str, Any]) -> list[str]:
    """The replica seeds as text (`seeds_text`: every digit, where `seeds` passes 2^53)."""
    for key in ("seeds_text", "seeds"):
        v = data.get(key)
        if isinstance(v, list) and v:
            return [str(s) for s in v]
    return []


def _period(dates: list[Any]) -> str | None:
    days = [str(d) for d in dates if isinstance(d, str)]
    return f"{days[0]} to {days[-1]} ({len(days)} days)" if days else None


def scenario_style(i: int) -> dict[str, Any]:
    """The i-th scenario's line (0: the baseline): the baseline black, solid, thicker and drawn
    last, so that a scenario with the same numbers cannot hide it; every other scenario dashed, in
    its own pair of colour and pattern (8 colours against 6 patterns: unique for 24 scenarios),
    since 11 scenarios on a cycle of colours alone gave two pairs the same line."""
    if i == 0:
        return {"color": "#000000", "dash": "", "width": 3.2, "on_top": True}
    patterns = LINE_DASHES[1:]
    return {"color": PALETTE[(i - 1) % len(PALETTE)], "dash": patterns[(i - 1) % len(patterns)]}


def stranded_chart(data: dict[str, Any], names: list[str]) -> dict[str, Any] | None:
    """The median number stranded, all places together, day by day, one line per scenario that
    has the baseline's days (comparison.json's `stranded_median` and `dates`); the baseline in
    black, as comparison.png draws it. None without the baseline's series."""
    series, dates = _of(data, "stranded_median"), _of(data, "dates")

    def numbers(v: Any) -> list[float] | None:
        if not isinstance(v, list) or not all(x is None or checks.is_number(x) for x in v):
            return None
        return [math.nan if x is None else float(x) for x in v]

    if not names:
        return None
    base = names[0]
    base_y = numbers(series.get(base))
    if not base_y:
        return None
    base_dates = dates.get(base)
    axis: list[str | None] = ([str(d) for d in base_dates]
                              if isinstance(base_dates, list) and len(base_dates) == len(base_y)
                              else [None] * len(base_y))
    lines = []
    for i, name in enumerate(names):
        y = numbers(series.get(name))
        same_days = dates.get(name) == dates.get(base) or not dates
        if y is None or len(y) != len(base_y) or not same_days:
            continue  # (another period: its days are not the baseline's)
        label = labels_of(data).get(name, name)  # (the readable name, as the tables show it)
        lines.append({"label": label, "y": y, "title": label, **scenario_style(i)})
    return chart("People stranded at borders, all places together: the median over the seeds, day by day",
                 "people", axis, lines)


def shown_file(file: str, base: str) -> str:
    """Where a scenario was read from, without the author's folders (the page is e-mailed): the
    path from the folder that holds the baseline's scenario folder `base`
    ("chile-peru-2023/variants/bribe_0.toml"), else the file's name."""
    if not file:
        return ""
    path, home = Path(file), Path(base)
    try:
        return path.relative_to(home.parent).as_posix() if base else path.name
    except ValueError:
        return path.name


def scenario_rows(data: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """Each scenario compared: its readable name (`labels_of`, else its name), its name in the files,
    its description (a sweep point's says what it changed, `--set` what every scenario's changed),
    what it changes in the baseline in effect (`builder.change_lines` of comparison.json's
    `variant_changes`: parameters with their values, files replaced or added; none for the
    baseline, or a file written before these were recorded) and the file or folder it was read
    from (`shown_file`)."""
    desc, files, labels = _of(data, "descriptions"), _of(data, "files"), labels_of(data)
    changes = _of(data, "variant_changes")
    base = str(files.get(names[0]) or "") if names else ""
    return [{"name": n, "label": labels.get(n, n), "description": str(desc.get(n) or ""),
             "changes": change_lines(changes.get(n)) if i else [],
             "file": shown_file(str(files.get(n) or ""), base)} for i, n in enumerate(names)]


def comparison_facts(data: dict[str, Any], names: list[str]) -> list[tuple[str, str]]:
    """The header's facts: the baseline scenario, how many compared, seeds, base seed, period, version."""
    facts = []
    if data.get("baseline_scenario"):
        facts.append(("scenario", str(data["baseline_scenario"])))
    facts.append(("scenarios compared", f"{len(names)} (the baseline and {len(names) - 1} other"
                                        f"{'s' if len(names) != 2 else ''})"))
    seeds = _seeds(data)
    if seeds:
        facts.append(("seeds per scenario", f"{len(seeds):,} (the same for every scenario)"))
    if data.get("base_seed") is not None:
        facts.append(("base seed", str(manifest_seed(data, "base_seed"))))
    dates = _of(data, "dates")
    periods = {_period(d) for n in names if isinstance(d := dates.get(n), list)} - {None}
    if len(periods) == 1:
        facts.append(("period", str(next(iter(periods)))))
    elif periods:
        facts.append(("period", "each scenario's own (see Scenarios)"))
    if data.get("version"):
        facts.append(("version", f"corredor {data['version']}"))
    return facts


def render_comparison(data: dict[str, Any], png: bytes | None = None, title: str | None = None,
                      observation_checks: list[dict[str, Any]] | None = None) -> str:
    """The page's HTML text, from comparison.json as read (or `analysis.compare.comparison_json`'s
    dict, the same) and comparison.png's bytes; `title` where the file names no scenario;
    `observation_checks`: the main job's check of the baseline against the reports
    (observation_check.json's rows), a section after the tables."""
    names = _names(data)
    seeds = _seeds(data)
    rows = comparison_rows(data) or []
    note = comparison_whole_run_note(rows, data, None) if rows else None
    count = len(seeds) or _seed_count(data)
    bands = band_note(count) if count else ""  # (what the bands are at this many seeds, above the tables)
    tables = comparison_tables(data["summary"], _order(data, names), count, note, labels_of(data),
                               baseline=names[0] if names else None)
    dates = _of(data, "dates")
    periods = {n: _period(d) for n in names if isinstance(d := dates.get(n), list)}
    scenario = str(data.get("baseline_scenario") or title or "comparison")
    facts, technical = split_facts(comparison_facts(data, names))
    return environment().get_template("comparison.html").render(
        title=f"{scenario}: policy comparison",
        scenario=scenario,
        names=names,
        seeds=seeds,
        base_seed=manifest_seed(data, "base_seed"),
        version=data.get("version"),
        facts=facts,
        technical=technical,
        tables=[_shown(t, labels_of(data), said=bands) for t in tables if not t.differences],
        differences=[_shown(t, labels_of(data)) for t in tables if t.differences],
        labels=[labels_of(data).get(n, n) for n in names],
        seed_count=count,
        bands=bands[:1].upper() + bands[1:],  # (a paragraph of its own: a sentence)
        bands_meaningful=bands_meaningful(count),
        figure={"uri": png_uri(png), "title": COMPARISON_FIGURE_TITLE} if png else None,
        stranded=stranded_chart(data, names),
        observation_check=observation_section(observation_checks),
        scenarios=scenario_rows(data, names),
        identical=identical_notes(data, names, len(seeds) or _seed_count(data)),
        periods=periods if len(set(periods.values())) > 1 else None,
        css=Markup(_asset("report.css")),
    )


def _shown(t: ComparisonTable, labels: dict[str, str] | None = None, said: str = "") -> dict[str, Any]:
    """A printed table as the page's `variant_table` takes it, headed as the CLI heads it, each
    scenario by its readable name where it has one (`labels_of`); without the note `said` (what
    the bands are, which the page says above its tables)."""
    labels = labels or {}
    return {"title": t.title, "notes": [n for n in t.notes if not said or n != said],
            "table": {"columns": [heading(k) for k in t.metrics],
                      "rows": [(labels.get(name, name), cells) for name, cells in t.rows]}}


def _seed_count(data: dict[str, Any]) -> int:
    """How many seeds the summary's rows ran (a file without `seeds`)."""
    counts = [int(r["seeds"]) for r in data["summary"] if isinstance(r, dict) and checks.is_number(r.get("seeds"))]
    return max(counts, default=0)


def build_comparison_report(folder: Path | str) -> Path:
    """Write `folder/comparison.html` (atomically) from the folder's comparison.json and, when
    there, comparison.png and the main job's observation_check.json; returns its path. ReportError, naming the file, for a comparison.json
    that is missing or not one `corredor compare` wrote; nothing is written then.

    >>> build_comparison_report("runs/sweep")  # doctest: +SKIP
    PosixPath('runs/sweep/comparison.html')
    """
    folder = Path(folder)
    path = folder / COMPARISON_JSON
    if not path.is_file():
        raise ReportError(f"{path}: missing (`corredor compare --out {folder}` writes it)")
    data = check_comparison(checks.read_json(path), path)
    figure = folder / COMPARISON_PNG
    try:
        png = figure.read_bytes() if figure.is_file() else None
    except OSError as exc:
        raise ReportError(f"{figure}: cannot read it ({exc.strerror or exc})") from None
    observation_checks = read_check_rows(folder)
    return write_text_atomic(folder / COMPARISON_HTML, render_comparison(data, png, title=folder.resolve().name,
                                                                         observation_checks=observation_checks))
