"""comparison.html: the page `corredor compare --out DIR` writes beside its files (UA finding 5).

A planner could not share a what-if comparison as a page: compare wrote CSV, JSON and PNG only,
and `corredor report DIR` refused the folder. The page must show what the CLI printed, cell for
cell, with comparison.png inside it, every name escaped; `corredor report DIR` writes it again.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from corredor.analysis.compare import (
    ALL_METRICS,
    DIFF_TABLES,
    METRIC_TABLES,
    Comparison,
    comparison_json,
)
from corredor.cli import app
from corredor.outputs.report.comparison import (
    COMPARISON_HTML,
    build_comparison_report,
    render_comparison,
)

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "chile-peru-2023"
HOSTILE = "<b>cheap</b> & co"
runner = CliRunner()


class Tables(HTMLParser):
    """The page's tables as text: per table, its rows, each a list of cells (th or td), a cell
    as (its text outside the band, the band's text) — the band being `<span class="range">`."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[tuple[str, str]]]] = []
        self.cell: list[str] | None = None
        self.in_band = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = ["", ""]
        elif tag == "span" and ("class", "range") in attrs:
            self.in_band = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append((self.cell[0].strip(), self.cell[1].strip()))
            self.cell = None
        elif tag == "span":
            self.in_band = False

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell[1 if self.in_band else 0] += data


def page_tables(html: str) -> list[list[list[tuple[str, str]]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def whole(x: float) -> str:
    """A figure as `corredor compare` prints it (written out here, not taken from its code)."""
    return f"{x:,.0f}"


def signed_whole(x: float) -> str:
    r = round(x)
    return ("+" if r > 0 else "\u2212" if r < 0 else "") + f"{abs(r):,}"


def share(x: float, sign: bool = False) -> str:
    """A share (%) as `corredor compare` prints it: one decimal, none where it is whole."""
    text = f"{abs(x) if sign else x:,.0f}" if abs(x - round(x)) < 0.05 else f"{abs(x) if sign else x:,.1f}"
    if sign and text != "0":
        return ("+" if x > 0 else "\u2212") + text
    return text


def expected_cell(r: dict) -> tuple[str, str]:
    """A summary row's cell as the terminal and the page show it: a day metric's as dates, a
    share with its decimal, any other as whole numbers."""
    if r.get("median_date"):
        return r["median_date"], f"[{r['p05_date']} – {r['p95_date']}]"
    if r["unit"] == "%":
        return share(r["median"]), f"[{share(r['p05'])}–{share(r['p95'])}]"
    return whole(r["median"]), f"[{whole(r['p05'])}–{whole(r['p95'])}]"


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """`corredor compare` of the baseline, bribe-0 and a variant whose name holds markup, --out."""
    tmp = tmp_path_factory.mktemp("cmp")
    variant = tmp / "hostile.toml"
    variant.write_text(f'[variant]\nname = "{HOSTILE}"\nbase = "{SCENARIO.as_posix()}"\n'
                       'description = "a <i>cheaper</i> passage"\n\n[crisis.parameters]\nbribe_price_usd = 55.0\n',
                       encoding="utf-8")
    out = tmp / "out"
    r = runner.invoke(app, ["compare", str(SCENARIO), str(SCENARIO / "variants" / "bribe_0.toml"), str(variant),
                            "--seeds", "2", "--seed", "7", "--executor", "serial", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out, r.output



def _page_of_older_file(folder: Path, data: dict) -> str:
    """comparison.html as `corredor report` writes it from `data`, a comparison.json written
    by an older corredor (the page must still be written)."""
    folder.mkdir()
    (folder / "comparison.json").write_text(json.dumps(data), encoding="utf-8")
    r = runner.invoke(app, ["report", str(folder)])
    assert r.exit_code == 0, r.output
    return (folder / COMPARISON_HTML).read_text(encoding="utf-8")

def test_compare_out_writes_the_page_with_the_cells_the_cli_printed(compared):
    out, printed = compared
    assert f"{out / COMPARISON_HTML}" in printed.split("wrote ", 1)[1]  # (the "wrote" line names it)
    html = (out / COMPARISON_HTML).read_text(encoding="utf-8")
    data = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    names = data["scenarios"]
    assert names == ["baseline", "bribe-0", HOSTILE]
    row = {(r["scenario"], r["metric"]): r for r in data["summary"]}
    tables = page_tables(html)
    shown = [data["labels"].get(n, n) for n in names]  # (the page's readable names; the file keeps the names)
    assert shown[1] == "Informal price 0 USD (no informal passage)"
    n_metric, n_diff = len(METRIC_TABLES), len(DIFF_TABLES)
    assert len(tables) == n_metric + n_diff + 1  # (and the scenarios' table)
    flat = " ".join(printed.split())
    for (_, keys), table in zip(METRIC_TABLES, tables[:n_metric], strict=True):
        assert [name for (name, _), *_ in table[1:]] == shown
        for line, name in zip(table[1:], names, strict=True):
            for key, cell in zip(keys, line[1:], strict=True):
                r = row[(name, key)]
                assert cell == expected_cell(r), (name, key)
                assert cell[1] in flat  # (the band the terminal showed, beside the figure)
    for (_, keys), table in zip(DIFF_TABLES, tables[n_metric:n_metric + n_diff], strict=True):
        assert [name for (name, _), *_ in table[1:]] == shown[1:]  # (no row for the baseline)
        for line, name in zip(table[1:], names[1:], strict=True):
            for key, cell in zip(keys, line[1:], strict=True):
                r = row[(name, key)]
                sign = (lambda x: share(x, sign=True)) if r["unit"] == "%" else signed_whole
                lo, hi = sign(r["diff_p05"]), sign(r["diff_p95"])
                assert cell == (sign(r["diff_median"]), f"[{lo} – {hi}]"), (name, key)
                assert f"[{lo} – {hi}]" in flat
    # the headings as the CLI's, the whole-run note as it printed it
    assert "peak stranded (people)" in html and "covered space needed on the busiest day (m²)" in html
    note = re.search(r"whole run: .*? not in the totals\.", flat)
    assert note and note.group(0).replace("'", "&#39;") in " ".join(html.split())
    # provenance: the scenario, the seeds, the base seed, the files, the version
    assert data["baseline_scenario"] == "chile-peru-2023" and data["base_seed"] == 7
    assert "<h1>chile-peru-2023: policy comparison</h1>" in html
    for seed in data["seeds_text"]:
        assert seed in html
    assert "(base seed 7)" in html and f"corredor {data['version']}" in html
    # (the files from the baseline's folder: no path of the machine that wrote the page)
    assert "chile-peru-2023/variants/bribe_0.toml" in html and "2023-02-01 to 2023-06-30" in html
    assert str(SCENARIO) not in html


def test_the_page_holds_the_png_and_escapes_every_name(compared):
    out, _ = compared
    html = (out / COMPARISON_HTML).read_text(encoding="utf-8")
    png = (out / "comparison.png").read_bytes()
    assert f'src="data:image/png;base64,{base64.b64encode(png).decode()}"' in html
    assert "<b>" not in html and "<i>" not in html  # (the variant's name and description are text)
    assert "&lt;b&gt;cheap&lt;/b&gt; &amp; co" in html and "a &lt;i&gt;cheaper&lt;/i&gt; passage" in html
    # self-contained: no script, nothing fetched, a policy that forbids fetching
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "default-src 'none'" in html


def test_report_writes_the_page_of_a_comparison_folder_again(compared, tmp_path):
    out, _ = compared
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in ("comparison.json", "comparison.png"):
        (folder / name).write_bytes((out / name).read_bytes())
    r = runner.invoke(app, ["report", str(folder)])
    assert r.exit_code == 0, r.output
    assert f"wrote {folder / COMPARISON_HTML}" in " ".join(r.output.split())
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")  # (when each page was written)
    assert stamp.sub("", (folder / COMPARISON_HTML).read_text(encoding="utf-8")) == \
        stamp.sub("", (out / COMPARISON_HTML).read_text(encoding="utf-8"))
    # a comparison folder's page shows its own comparison: --comparison is for run folders
    r = runner.invoke(app, ["report", str(folder), "--comparison", str(out / "comparison.json")])
    assert r.exit_code == 2 and "is a comparison folder" in r.output


def test_a_comparison_json_from_before_the_vulnerable_stranded_renders_without_them(compared, tmp_path):
    """A comparison.json written before the vulnerable stranded were a metric has no rows of them:
    its page (`corredor report DIR`) and a run's page beside it leave their table and columns
    out, rather than a column of "–" or a 0 nobody measured; every other cell is as before."""
    from corredor.analysis.compare import heading
    from corredor.outputs.report import build_report
    from synthetic_results import crisis_like
    from test_report import make_run_folder

    out, _ = compared
    new = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    gone = ("peak_stranded_vulnerable", "vulnerable_stranded_person_days")
    old = {**new, "summary": [r for r in new["summary"] if r["metric"] not in gone],
           "metrics": {k: v for k, v in new["metrics"].items() if k not in gone},
           "per_seed": {n: {k: v for k, v in m.items() if k not in gone} for n, m in new["per_seed"].items()}}
    html = _page_of_older_file(tmp_path / "old", old)
    assert "vulnerable" not in html
    tables, before = page_tables(html), page_tables(render_comparison(new))
    assert len(tables) == len(before) - 1  # (the vulnerable table, and only it, left out)
    # the tables left are the new file's, less the vulnerable columns, cell for cell
    kept = [[[c for c, h in zip(row, t[0], strict=True) if "vulnerable" not in h[0]] for row in t]
            for t in before]
    assert tables == [t for t in kept if len(t[0]) > 1]
    run = make_run_folder(crisis_like(n_days=10), tmp_path / "run")
    page = build_report(run, comparison=old).read_text(encoding="utf-8")
    section = page[page.index('<section id="comparison">'):]
    section = section[:section.index("</section>")]
    assert heading("peak_stranded") in section and "vulnerable" not in section


def test_a_bad_comparison_json_is_refused_naming_it_and_nothing_is_written(tmp_path):
    for text, said in (("{}", 'an object with a "summary" list'), ('{"summary": []}', "holds no scenario"),
                       ('{"summary": [{"scenario": "b", "metric": "give_ups", "median": "many"}]}',
                        "summary row 1: median, p05 and p95 must be numbers or null"),
                       ('{"summary": [{"scenario": "b", "metric": "give_ups", "diff_p05": "x"}]}',
                        "summary row 1: diff_p05 must be a number or null"),
                       ('{"summary": [\n  1,', ":2:5: not valid JSON")):
        (tmp_path / "comparison.json").write_text(text, encoding="utf-8")
        r = runner.invoke(app, ["report", str(tmp_path)])
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output
        assert str(tmp_path / "comparison.json") in r.output and said in " ".join(r.output.split()), r.output
        assert "nothing was written" in r.output and not (tmp_path / COMPARISON_HTML).exists()


def test_force_covers_the_page(tmp_path, monkeypatch):
    """A comparison.html of the user's is not replaced without --force, before any run; one that
    another command wrote while this one ran is kept, with the others (`write_texts_atomic`)."""
    import corredor.analysis.compare as comparing

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / COMPARISON_HTML).write_text("my page", encoding="utf-8")
    r = runner.invoke(app, ["compare", str(SCENARIO), "--seeds", "1", "--out", str(mine)])
    assert r.exit_code == 2 and "already holds comparison.html" in r.output and "--force" in r.output
    assert [p.name for p in mine.iterdir()] == [COMPARISON_HTML]
    out = tmp_path / "same"
    real = comparing.compare

    def another_compare_writes_its_page_meanwhile(*args, **kwargs):
        result = real(*args, **kwargs)
        out.mkdir()
        (out / COMPARISON_HTML).write_text("theirs", encoding="utf-8")
        return result

    monkeypatch.setattr(comparing, "compare", another_compare_writes_its_page_meanwhile)
    r = runner.invoke(app, ["compare", str(SCENARIO), "--seeds", "1", "--out", str(out), "--executor", "serial"])
    assert r.exit_code == 2 and "written by another command while this one ran" in r.output
    assert [p.name for p in out.iterdir()] == [COMPARISON_HTML]  # (no other file, no temporary)
    assert (out / COMPARISON_HTML).read_text(encoding="utf-8") == "theirs"
    monkeypatch.undo()
    r = runner.invoke(app, ["compare", str(SCENARIO), "--seeds", "1", "--out", str(mine), "--force",
                        "--executor", "serial"])
    assert r.exit_code == 0, r.output
    assert "policy comparison" in (mine / COMPARISON_HTML).read_text(encoding="utf-8")
    assert sorted(p.name for p in mine.iterdir()) == sorted(
        ["comparison.csv", "comparison.json", "comparison.png", COMPARISON_HTML])


def toy_comparison(names: list[str], days: int = 30) -> Comparison:
    """A comparison made up of numbers (no runs): every metric per seed, a stranded series each."""
    rng = np.random.default_rng(3)
    values = {n: {k: rng.uniform(100, 900, 4).round() for k in ALL_METRICS} for n in names}
    stranded = {n: rng.uniform(0, 500, (4, days)) for n in names}
    start = {n: dt.date(2023, 4, 1) for n in names}
    return Comparison(list(names), [11, 12, 13, 14], values, stranded, start_dates=start, base_seed=1,
                      files={n: f"{n}.toml" for n in names}, scenario="toy")


def test_a_figure_some_seeds_lack_is_starred_and_noted_as_the_cli_says(capsys):
    """The page's cells and notes are the printed table's: a camp that never empties in any seed
    is "not within the run", one that empties in some is starred, with the CLI's note."""
    from corredor.cli import _print_comparison

    comp = toy_comparison(["baseline", "slow"])
    comp.values["baseline"]["days_until_camp_empties"] = np.full(4, np.nan)
    comp.values["slow"]["days_until_camp_empties"] = np.array([30.0, 32.0, np.nan, 31.0])
    _print_comparison(comp)
    printed = " ".join(capsys.readouterr().out.split())
    html = render_comparison(json.loads(json.dumps(comparison_json(comp))), None)
    first = page_tables(html)[0]
    column = [h for h, _ in first[0]].index("days until nobody is stranded (days)")
    assert [line[column] for line in first[1:]] == [("not within the run", ""), ("31*", "[30–32]")]
    note = "* slow, days until nobody is stranded: in 1 of 4 seeds not within the run; the figures are of the other seeds"
    assert note in printed and note in html
    assert "not within the run" in printed and "31*" in printed
    # the differences: only where a seed has both (none here: the baseline never empties)
    diff = page_tables(html)[len(METRIC_TABLES)]
    assert diff[1][0] == ("slow", "") and ("–", "") in diff[1][1:]


def test_build_comparison_report_without_a_comparison_says_what_writes_one(tmp_path):
    from corredor.outputs.report.checks import ReportError

    with pytest.raises(ReportError, match=r"comparison.json: missing \(`corredor compare --out"):
        build_comparison_report(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_each_scenario_has_its_own_line_and_the_baseline_stays_visible():
    """Found by review: the main job's 11 scenarios on a cycle of 10 colours gave bribe-0 and
    peru_block=2023-04-20 the same line (and bribe-100 and peru_block=2023-04-27), all solid; the
    black baseline, drawn first, was hidden under bribe-100's identical line. Now each scenario has
    its own pair of colour and dash pattern (up to a dozen and more), the baseline is solid, thicker
    and drawn last, and each legend swatch shows its line's pattern, not only its colour."""
    from corredor.analysis.compare import comparison_json
    from corredor.outputs.report.comparison import render_comparison, stranded_chart

    names = ["baseline"] + [f"s{k}" for k in range(1, 13)]
    data = comparison_json(toy_comparison(names))
    c = stranded_chart(data, names)
    styles = [(line["color"], line["dash"]) for line in c["lines"]]
    assert len(styles) == 13 and len(set(styles)) == 13
    base = c["lines"][0]
    assert (base["label"], base["dash"]) == ("baseline", "") and float(base["width"]) > 2
    assert all(line["dash"] for line in c["lines"][1:])  # (only the baseline is solid)
    assert c["drawn"][-1] is base  # (on top of any scenario with the same numbers)
    html = render_comparison(data)
    polylines = re.findall(r'<polyline class="series"[^>]*>', html)
    assert 'stroke="#000000"' in polylines[-1] and "stroke-width: 3.2" in polylines[-1]
    assert all("stroke-dasharray" in p for p in polylines[:-1])
    swatches = re.findall(r'<span class="swatch[^"]*" style="([^"]*)"></span>([^<]*)</li>', html)
    assert len(swatches) == 13
    for style, name in swatches[1:]:
        dash = next(line["dash"] for line in c["lines"] if line["label"] == name)
        first = float(dash.split()[0])
        assert f"repeating-linear-gradient(to right, {c['lines'][names.index(name)]['color']} 0px {first:g}px" in style


def test_a_comparison_json_from_before_the_period_keys_renders_as_before(tmp_path):
    """comparison.json's summary rows now hold comparison.csv's `period`, `period_start` and
    `period_end` (and the file a `base_seed_text`); a file written before has none of them, and
    `corredor report DIR` and a run's page beside it still show it, table for table, as the new one."""
    from corredor.outputs.report import build_report
    from synthetic_results import crisis_like
    from test_report import make_run_folder

    new = json.loads(json.dumps(comparison_json(toy_comparison(["baseline", "slow"]))))
    assert {"period", "period_start", "period_end"} <= set(new["summary"][0]) and new["base_seed_text"] == "1"
    old = {**{k: v for k, v in new.items() if k != "base_seed_text"},
           "summary": [{k: v for k, v in r.items() if not k.startswith("period")} for r in new["summary"]]}
    html = _page_of_older_file(tmp_path / "old", old)
    assert page_tables(html) == page_tables(render_comparison(new)) and "(base seed 1)" in html
    run = make_run_folder(crisis_like(n_days=10), tmp_path / "run")
    for data in (old, new):
        page = build_report(run, comparison=data).read_text(encoding="utf-8")
        assert '<section id="comparison">' in page and "slow" in page
