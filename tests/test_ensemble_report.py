"""The ensemble's report.html (`corredor report ENSEMBLE_FOLDER`): its numbers are the folder's.

Real ensembles (mali2012, 3 replicas × 60 days; chile-peru-2023, 2 replicas × 100 days, run
serially) are checked chart by chart: each median line, read back through the chart's scale (the
svg's data-y-min/-max and the plot's pixel box), equals q50 of bands/population.parquet within
half a pixel's rounding; each band polygon lies between q05 and q95 (the 5–95 % one on them);
the metrics table shows metrics_summary.json. A toy ensemble (tests/ensemble_toy.py) is broken
file by file for the refusals.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import REPO
from corredor.analysis.compare import heading
from corredor.analysis.ensemble import band_panels, run_ensemble, write_ensemble
from corredor.cli import app
from corredor.outputs.formatting import count_text, day_date, fmt_exact
from corredor.outputs.report.ensemble import build_ensemble_report, is_count, sig4
from ensemble_toy import identity, toy_scenario, toy_simulate
from test_report import _refused

CHILE = REPO / "scenarios" / "chile-peru-2023"


# ---- reading the page back -------------------------------------------------------------------


class Page(HTMLParser):
    """Charts (caption, svg attributes, median points, band polygons, observation marks), metrics
    tables per variant section, and every src/href of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: list[dict[str, Any]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.links: list[str] = []
        self.tags: list[str] = []
        self.html_lang: str | None = None
        self.csp: str | None = None
        self._section: str | None = None
        self._text: list[str] | None = None
        self._row: list[str] | None = None
        self._in_table = False
        self._poly: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        self.links += [a[k] for k in ("src", "href") if k in a]
        if tag == "html":
            self.html_lang = a.get("lang")
        if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy":
            self.csp = a.get("content")
        if tag == "section":
            self._section = a.get("id")
        if tag == "figure" and "chart" in a.get("class", ""):
            self.charts.append({"section": self._section, "caption": "", "lines": [], "observed_lines": [], "bands": [],
                                "marks": []})
        if tag == "figcaption" and self.charts and not self.charts[-1]["caption"]:
            self._text = []
        if tag == "svg" and self.charts:
            self.charts[-1]["svg"] = a
        if tag == "polyline" and "series" in a.get("class", ""):  # (a dashed one: daily observations)
            self.charts[-1]["observed_lines" if a.get("stroke-dasharray") else "lines"].append(a["points"])
        if tag == "polygon" and "band" in a.get("class", "").split():
            self._poly = {"points": a["points"], "title": ""}
            self.charts[-1]["bands"].append(self._poly)
        if tag in ("circle", "line", "polygon") and a.get("class", "").split()[:1] in (["obs"], ["reported"]) \
                and self.charts:  # an observation: dot, bar, triangle or (class "reported peak") dashed segment
            self.charts[-1]["marks"].append((tag, a["class"], a))
        if tag == "title" and self._poly is not None:
            self._text = []
        if tag == "table" and "metrics" in a.get("class", ""):
            self._in_table = True
            self.tables[str(self._section)] = []
        if tag == "tr" and self._in_table:
            self._row = []
        if tag in ("td", "th") and self._row is not None:
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption" and self._text is not None and self.charts and not self.charts[-1]["caption"]:
            self.charts[-1]["caption"] = "".join(self._text).strip()
            self._text = None
        if tag == "title" and self._poly is not None and self._text is not None:
            self._poly["title"] = "".join(self._text)
            self._text = None
            self._poly = None
        if tag in ("td", "th") and self._row is not None and self._text is not None:
            self._row.append("".join(self._text).strip())
            self._text = None
        if tag == "tr" and self._row is not None:
            self.tables[str(self._section)].append(self._row)
            self._row = None
        if tag == "table":
            self._in_table = False

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def points(text: str) -> np.ndarray:
    return np.array([[float(v) for v in p.split(",")] for p in text.split()])


def back(chart: dict[str, Any], xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Pixels to (day index, value) through the chart's scale; and the value of 0.05 px (the
    rounding of a coordinate to 0.1 px)."""
    s = chart["svg"]
    left, right, n = float(s["data-left"]), float(s["data-right"]), int(s["data-n"])
    top, bottom = float(s["data-top"]), float(s["data-bottom"])
    y0, y1 = float(s["data-y-min"]), float(s["data-y-max"])
    day = np.rint((xy[:, 0] - left) / (right - left) * (n - 1)).astype(int)
    value = y0 + (bottom - xy[:, 1]) / (bottom - top) * (y1 - y0)
    return day, value, 0.051 * (y1 - y0) / (bottom - top)


def bands_table(folder: Path, variable: str = "population") -> pd.DataFrame:
    return pd.read_parquet(folder / "bands" / f"{variable}.parquet")


def place_names(folder: Path) -> dict[str, str]:
    """Label -> name, from the manifest's places."""
    places = json.loads((folder / "manifest.json").read_text())["places"]
    return {p.get("label") or p["name"]: p["name"] for p in places}


# ---- fixtures: real ensembles ------------------------------------------------------------------


def _ensemble(scenario_path: Path, out: Path, replicas: int, days: int, *extra: str) -> Path:
    """`corredor ensemble` and `corredor report` of its folder; the table the first printed is
    kept beside the folder, in `cli_table.txt` (wide: a metric's name on one line)."""
    result = CliRunner().invoke(app, ["ensemble", str(scenario_path), "-n", str(replicas), "--days", str(days),
                                      "--executor", "serial", "--seed", "3", "--out", str(out), *extra],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    (out.parent / "cli_table.txt").write_text(result.stdout, encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "wrote" in result.output
    return out


@pytest.fixture(scope="module")
def mali(flee_cases: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _ensemble(flee_cases / "mali2012", tmp_path_factory.mktemp("mali") / "ens", 3, 60,
                     "--sweep", "move_rules.camp_weight=1,4")


@pytest.fixture(scope="module")
def chile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _ensemble(CHILE, tmp_path_factory.mktemp("chile") / "ens", 2, 100)


# ---- the charts are the bands --------------------------------------------------------------------


def _check_charts(folder: Path, variable: str, expect_places: list[str]) -> None:
    """Every chart of `variable`: its median line is q50, its bands lie between q05 and q95."""
    page = parse(folder / "report.html")
    table = bands_table(folder, variable)
    manifest = json.loads((folder / "manifest.json").read_text())
    variants = [v["label"] for v in manifest["variants"]]
    names = place_names(folder)
    suffix = {"population": ": people there", "stranded": ": people stranded there"}[variable]
    charts = [c for c in page.charts if c["caption"].endswith(suffix)]
    assert len(charts) == len(variants) * len(expect_places)
    for k, c in enumerate(charts):
        variant = variants[k // len(expect_places)]
        place = names[c["caption"][: -len(suffix)]]
        assert place == expect_places[k % len(expect_places)]  # band_panels' order, per variant
        rows = table[(table["variant"] == variant) & (table["location"] == place)].sort_values("day")
        q = {s: rows[s].to_numpy() for s in ("q05", "q25", "q50", "q75", "q95")}
        assert len(c["lines"]) == 1, "one median line, no gap"
        day, value, tol = back(c, points(c["lines"][0]))
        np.testing.assert_array_equal(day, np.arange(len(rows)))
        np.testing.assert_allclose(value, q["q50"], atol=tol, rtol=0)
        assert int(c["svg"]["data-n"]) == len(rows) == manifest["days"]
        titles = sorted(b["title"] for b in c["bands"])
        assert titles == ["25–75 % of replicas", "5–95 % of replicas"]
        for band in c["bands"]:
            d, v, tol = back(c, points(band["points"]))
            assert np.all(v >= q["q05"][d] - tol) and np.all(v <= q["q95"][d] + tol)
            half = len(d) // 2  # the upper edge left to right, then the lower edge back
            lo, hi = ("q05", "q95") if band["title"].startswith("5–95") else ("q25", "q75")
            np.testing.assert_allclose(v[:half], q[hi][d[:half]], atol=tol, rtol=0)
            np.testing.assert_allclose(v[half:], q[lo][d[half:]], atol=tol, rtol=0)
            assert list(d[:half]) == list(range(len(rows)))


def test_mali_median_lines_and_bands_are_the_band_tables(mali: Path) -> None:
    names = json.loads((mali / "manifest.json").read_text())["places"]
    camps = {p["name"] for p in names if p["is_camp"]}
    table = bands_table(mali, "population")
    first = table[table["variant"] == "move_rules.camp_weight=1"]
    busiest = first.groupby("location")["q50"].max().sort_values(ascending=False, kind="stable")
    expect = [p for p in busiest.index if p in camps][:9]  # as band_panels: camps, busiest first
    _check_charts(mali, "population", expect)


def test_crisis_median_lines_and_bands_are_the_band_tables(chile: Path) -> None:
    from corredor.analysis.ensemble import read_bands
    from corredor.outputs.report.ensemble import read_ensemble

    data = read_ensemble(chile)
    for variable in ("population", "stranded"):
        _, stacked, order = band_panels(data.bands, variable)
        expect = [str(stacked["cell"].values[k][0]) for k in order]
        assert expect, variable
        _check_charts(chile, variable, expect)
    assert "camp" in expect  # people wait at the Chacalluta/Santa Rosa camp
    assert set(read_bands(chile, ["stranded"]).data_vars) == {"stranded"}


def test_the_charted_places_are_the_ones_bands_png_shows(flee_cases: Path, tmp_path: Path) -> None:
    """bands.png is drawn from the ensemble in memory (places with kinds and camp flags); the page
    reads the folder, whose manifest keeps them. A folder written before it did: observed places
    stand for the camps (a Flee case observes its camps)."""
    import corredor

    sc = corredor.load_scenario(flee_cases / "mali2012", days=40)
    ens = run_ensemble(sc, 2, seed=1)
    _, stacked, order = band_panels(ens.bands)
    expect = [str(stacked["cell"].values[k][0]) for k in order]
    folder = write_ensemble(ens, tmp_path / "ens", plot=False)
    shown = [c["caption"].removesuffix(": people there") for c in parse(build_ensemble_report(folder)).charts]
    assert shown == expect
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["places"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    shown = [c["caption"].removesuffix(": people there") for c in parse(build_ensemble_report(folder)).charts]
    assert shown == expect


# ---- the metrics table is metrics_summary.json -------------------------------------------------------


def _check_metrics(folder: Path) -> None:
    page = parse(folder / "report.html")
    summary = json.loads((folder / "metrics_summary.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    for i, v in enumerate(manifest["variants"]):
        rows = page.tables[f"variant-{i + 1}"]
        assert rows[0] == ["metric", "median", "5–95 %", "mean", "sd", "replicas", "key"]
        metrics = summary[v["label"]]
        # each metric by compare's heading (`peak stranded (people)`), with its key beside it
        assert [r[-1] for r in rows[1:]] == list(metrics)
        assert [r[0] for r in rows[1:]] == [heading(k) for k in metrics]
        for _, median, band, mean, sd, n, name in rows[1:]:
            s = metrics[name]
            lo, hi = band.split(" – ")
            if name == "stranded_peak_day":  # a day: its figures are dates, its sd in days
                start = manifest["start_date"]
                assert [median, lo, hi, mean] == [day_date(s[k], start) for k in ("q50", "q05", "q95", "mean")]
                assert re.fullmatch(r"\d{4}-\d\d-\d\d", median) and sd == f"{sig4(s['sd'])} days"
                continue
            # (a count's median, band and mean whole, as `corredor ensemble` prints them; its sd, a
            # spread, with one decimal; any other metric to 4 significant digits)
            count = is_count(s, name)
            fmt = count_text if count else sig4
            assert [median, lo, hi, mean] == [fmt(s[k]) for k in ("q50", "q05", "q95", "mean")]
            assert sd == (fmt_exact if count else sig4)(s["sd"])
            assert n == fmt_exact(s["n"])
            if name == "days_until_camp_empties" and s["n"] < manifest["replicas"]:
                continue  # (NaN where the camp had not emptied by the run's end: replicas with a value)
            assert n == str(manifest["replicas"])
            for shown, key in ((median, "q50"), (lo, "q05"), (hi, "q95"), (mean, "mean")):
                value = float(shown.replace(",", ""))  # the figure read back, to its digits
                assert value == pytest.approx(s[key], rel=6e-4, abs=0.5 if count else 0.051)


def _cli_metric_rows(folder: Path) -> dict[str, list[list[str]]]:
    """`corredor ensemble`'s printed table (`_ensemble`'s cli_table.txt): per variant, rows of
    [metric, median, 5–95 %]; a heading folded over lines (its median and band on its first) is
    joined again."""
    rows: dict[str, list[list[str]]] = {}
    variant = ""
    for line in (folder.parent / "cli_table.txt").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) != 4 or cells[1] in ("metric", ""):
            continue
        if not cells[2] and not cells[3] and rows.get(variant):  # (a folded heading's next line)
            rows[variant][-1][0] += " " + cells[1]
            continue
        variant = cells[0] or variant
        rows.setdefault(variant, []).append(cells[1:])
    return rows


@pytest.mark.parametrize("which", ["chile", "mali"])
def test_an_ensembles_printed_table_and_its_page_agree(which: str, request: pytest.FixtureRequest) -> None:
    """Found by a user acceptance pass: `corredor ensemble` printed "stranded_person_days 8,668 |
    8,340 – 8,886" and its page "8,667.5 | 8,340 – 8,886.2". Both now write a metric's figures by
    one rule (`report.ensemble.metric_format`: a count whole, a day as its date, any other to 4
    significant digits): every median and band of the table is the page's."""
    folder: Path = request.getfixturevalue(which)
    summary = json.loads((folder / "metrics_summary.json").read_text())
    # (quantiles that are not whole numbers, which the two wrote differently)
    assert any(not float(s[k]).is_integer() for m in summary.values() for s in m.values()
               for k in ("q05", "q50", "q95") if s[k] is not None and math.isfinite(s[k]))
    page = parse(folder / "report.html")
    manifest = json.loads((folder / "manifest.json").read_text())
    cli = _cli_metric_rows(folder)
    assert len(cli) == len(manifest["variants"]), cli
    for i, (label, printed) in enumerate(zip(cli, cli.values(), strict=True)):
        shown = [r for r in page.tables[f"variant-{i + 1}"][1:]]
        assert [r[0] for r in printed] == [r[0] for r in shown], label
        for (name, median, band), (_, page_median, page_band, *_) in zip(printed, shown, strict=True):
            if band == "in no replica":
                continue
            assert (median.rstrip("*"), band) == (page_median, page_band), (label, name)


def test_mali_metrics_table_shows_the_summary(mali: Path) -> None:
    _check_metrics(mali)
    text = (mali / "report.html").read_text()
    summary = json.loads((mali / "metrics_summary.json").read_text())
    ard = summary["move_rules.camp_weight=4"]["ard_mean"]["q50"]
    assert f"<td>{sig4(ard)}</td>" in text and re.fullmatch(r"0\.\d{4}", sig4(ard))  # 4 significant digits
    people = summary["move_rules.camp_weight=1"]["people_final"]["q50"]
    assert f"<td>{people:,.0f}</td>" in text  # a count: every digit, with separators


def test_crisis_metrics_table_shows_the_summary(chile: Path) -> None:
    _check_metrics(chile)


@pytest.mark.parametrize("value, shown", [(0.51508573, "0.5151"), (12345.6, "12,350"), (1.0, "1.000"),
                                          (0.000123456, "0.0001235"), (-2.5e-3, "-0.002500"), (0.0, "0")])
def test_error_metrics_keep_four_significant_digits(value: float, shown: str) -> None:
    assert sig4(value) == shown


# ---- the page is self-contained and says what it shows ------------------------------------------------


def _check_offline(folder: Path) -> None:
    page = parse(folder / "report.html")
    text = (folder / "report.html").read_text()
    assert page.html_lang == "en"
    assert page.csp is not None and "default-src 'none'" in page.csp
    assert all(link.startswith(("#", "data:")) for link in page.links), page.links
    plain = re.sub(r'"data:[^"]*"', '""', text)  # (base64 may hold "//")
    assert not re.search(r"(https?:)?//[a-z0-9]", plain, re.I) and "url(" not in plain
    assert "script" not in page.tags and [t for t in page.tags if t == "link"] == ["link"]  # the data: icon
    assert "median of" in text and "shaded: 25–75 % and 5–95 % of replicas" in text
    assert "How to read this page" in text


def test_mali_page_is_offline_with_facts_legend_and_figure(mali: Path) -> None:
    _check_offline(mali)
    text = (mali / "report.html").read_text()
    manifest = json.loads((mali / "manifest.json").read_text())
    assert "median of 3 replicas; shaded: 25–75 % and 5–95 % of replicas" in text
    for fact in ("mali2012", "<dd>3</dd>", "<dd>agents</dd>", f"<dd>{manifest['version']}</dd>",
                 "move_rules.camp_weight = 4", "<dd>3</dd>"):
        assert fact in text, fact
    assert "wall time" not in text  # (manifest.json's: the same command writes the same page)
    assert 'src="data:image/png;base64,' in text  # bands.png
    charts = parse(mali / "report.html").charts
    assert charts[0]["caption"] == "Fassala-Mbera: people there"
    # daily observations (more than 40 days) are a dashed line, a few are dots, as in a run's report
    observed = pd.read_parquet(mali / "observed.parquet").dropna(subset=["observed"])
    days_seen = observed.groupby("location")["day"].nunique()
    names = place_names(mali)
    kinds = set()
    for c in charts:
        place = names[c["caption"].removesuffix(": people there")]
        daily = days_seen.get(place, 0) > 40
        assert len(c["observed_lines"]) == int(daily), place
        kinds.add(daily)
    assert True in kinds  # (the crisis page's few dated reports are dots: its test)



def test_crisis_page_is_offline_and_labels_the_sites(chile: Path) -> None:
    _check_offline(chile)
    captions = [c["caption"] for c in parse(chile / "report.html").charts]
    assert any(c.endswith(": people stranded there") for c in captions)
    assert all(not c.startswith("camp:") for c in captions)  # the place's label, not its id
    # its dated reports are marked as on a run's page (observations.json's: a range as a bar, a
    # lower bound as a triangle), not drawn from observed.parquet (a dashed line, or dots)
    charts = parse(chile / "report.html").charts
    assert not any(c["observed_lines"] for c in charts)
    observations = json.loads((chile / "observations.json").read_text())
    days = json.loads((chile / "manifest.json").read_text())["days"]
    shape = {"range": "bar", "lower_bound": "triangle", "point": "dot", "peak": "diamond"}
    expect = sorted((shape[o["kind"]], "reported", o["day"],
                     [o["low"], o["high"]] if o["kind"] == "range" else [o["low"] if o["kind"] == "lower_bound" else o["value"]])
                    for o in observations if o["location"] == "camp" and o["kind"] in shape and o["day"] < days)
    assert ("bar", "reported", 79, [150.0, 200.0]) in expect and ("triangle", "reported", 77, [300.0]) in expect
    camp = [c for c in charts if c["caption"] == "Línea de la Concordia camp: people there"]
    assert len(camp) == 1
    assert sorted((s, c, d, [round(v) for v in vs]) for s, c, d, vs in _marks(camp[0])) == expect


def test_the_report_command_help_names_ensemble_folders() -> None:
    result = CliRunner().invoke(app, ["report", "--help"])
    assert result.exit_code == 0 and "ensemble" in result.output


# ---- refusals: a bad ensemble folder is one line naming the file, and nothing is written ----------------


@pytest.fixture(scope="module")
def toy_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ens = run_ensemble(toy_scenario(), 4, seed=1, simulate_fn=toy_simulate, compile_fn=identity)
    return write_ensemble(ens, tmp_path_factory.mktemp("toy") / "ens", plot=True)


def test_a_toy_ensemble_page_is_written_atomically(toy_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "E"
    shutil.copytree(toy_folder, folder)
    path = build_ensemble_report(folder)
    assert path == folder / "report.html" and oct(path.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    captions = [c["caption"] for c in parse(path).charts]
    assert captions == ["camp1: people there", "camp2: people there"]  # the camps, busiest first
    result = CliRunner().invoke(app, ["report", str(folder), "--comparison", str(folder / "metrics_summary.json")])
    assert result.exit_code == 2 and "--comparison is for a run folder" in result.output


def _truncate(path: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


@pytest.mark.parametrize("edit, message", [
    (lambda f: (f / "manifest.json").unlink(), "{f} is not an ensemble folder: manifest.json is missing"),
    (lambda f: _truncate(f / "bands" / "population.parquet"), "{f}/bands/population.parquet: cannot be read as Parquet"),
    (lambda f: (f / "bands" / "population.parquet").unlink(), "{f}/bands/population.parquet: missing"),
    (lambda f: shutil.rmtree(f / "bands"), "{f}/bands/population.parquet: missing"),
    (lambda f: (f / "bands" / "population.parquet").write_bytes(
        (f / "observed.parquet").read_bytes()), "{f}/bands/population.parquet: not an ensemble's band table"),
    (lambda f: _truncate(f / "observed.parquet"), "{f}/observed.parquet: cannot be read as Parquet"),
    (lambda f: (f / "metrics_summary.json").unlink(), "{f}/metrics_summary.json: missing"),
    (lambda f: (f / "metrics_summary.json").write_text("[]"), "{f}/metrics_summary.json: expected a JSON object"),
    (lambda f: (f / "metrics_summary.json").write_text('{"baseline": {"ard_mean": {"q50": "x"}}}'),
     '{f}/metrics_summary.json: "baseline" "ard_mean" "n" must be a number'),
    (lambda f: (f / "manifest.json").write_text('{"kind": "ensemble",\n "replicas": }'),
     "{f}/manifest.json:2:14: not valid JSON"),
    (lambda f: (f / "manifest.json").write_text('{"kind": "ensemble", "replicas": "3"}'),
     '{f}/manifest.json: "replicas" must be a whole number of at least 1, found a string'),
    (lambda f: (f / "manifest.json").write_text('{"kind": "ensemble", "replicas": 3, "places": [{"label": 1}]}'),
     '{f}/manifest.json: places[0] "name" must be a string, found null'),
])
def test_a_broken_ensemble_folder_is_refused_naming_the_file(toy_folder: Path, tmp_path: Path, edit, message) -> None:
    folder = tmp_path / "E"
    shutil.copytree(toy_folder, folder)
    edit(folder)
    out = _refused(folder)
    assert message.format(f=folder) in out and "nothing was written" in out


# ---- key observations: what a crisis run's page says of its run, as the replicas spread it ----------


class Tables(HTMLParser):
    """The rows (cell texts) of each table with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self._table = str(a["id"])
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._text is not None:
            self._row.append(re.sub(r"\s+", " ", "".join(self._text)).strip())
            self._text = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def tables_of(path: Path) -> dict[str, list[list[str]]]:
    t = Tables()
    t.feed(path.read_text(encoding="utf-8"))
    return t.tables


def test_a_crisis_page_gives_the_key_observations_with_their_bands(chile: Path) -> None:
    """Found by comparing the Chile–Peru run's page with its ensemble's: the run's says how many
    were stranded at most and on which day (the slider opens there), checks each report and
    names who is still at a site when the run ends; the ensemble's had charts and metric names.
    Its key observations are read back here against the folder's own files."""
    rows = {r[0]: r[1:] for r in tables_of(chile / "report.html")["key-variant-1"][1:]}
    summary = json.loads((chile / "metrics_summary.json").read_text())["baseline"]
    s = summary["peak_stranded"]
    assert rows["Peak stranded (people)"][:2] == [
        count_text(s["q50"]), f"{count_text(s['q05'])} – {count_text(s['q95'])}"]
    band = bands_table(chile, "stranded")
    camp = band[(band["variant"] == "baseline") & (band["location"] == "camp")].sort_values("day")
    dates = [str(d) for d in camp["date"]]
    q05, q50, q95 = (camp[q].to_numpy() for q in ("q05", "q50", "q95"))
    t = int(np.argmax(q50))
    label = "Línea de la Concordia camp"
    assert rows[f"{label}: people stranded on the busiest day"][:2] == [
        f"{count_text(q50[t])} on {dates[t]}", f"{count_text(q05[t])} – {count_text(q95[t])} that day"]
    first = [dates[int(np.flatnonzero(q > 0)[0])] for q in (q50, q95, q05)]
    assert rows[f"{label}: first day with people stranded"][:2] == [first[0], f"{first[1]} – {first[2]}"]
    last = [int(np.flatnonzero(q > 0)[-1]) for q in (q50, q05, q95)]
    still = " (the run's last day: still there)" if last[0] == len(dates) - 1 else ""
    assert rows[f"{label}: last day with people stranded"][:2] == [
        dates[last[0]] + still, f"{dates[last[1]]} – {dates[last[2]]}"]
    s = summary["stranded_peak_day"]  # each replica's own busiest day, not the median line's
    start = json.loads((chile / "manifest.json").read_text())["start_date"]
    assert rows["Day the most people were stranded"][:2] == [
        day_date(s["q50"], start), f"{day_date(s['q05'], start)} – {day_date(s['q95'], start)}"]
    if summary["days_until_camp_empties"]["n"] == 0:  # (100 days: the camp has not emptied)
        assert rows["Days until nobody is stranded (days)"][:2] == ["not within the run", "–"]
    # the vulnerable stranded (groups.csv marks them), each replica's peak and person-days
    for what, key in (("Peak vulnerable people stranded (people)", "peak_stranded_vulnerable"),
                      ("Vulnerable stranded person-days", "vulnerable_stranded_person_days")):
        s = summary[key]
        assert s["n"] == 2 and 0 < s["q50"] < summary[key.replace("_vulnerable", "").replace("vulnerable_", "")]["q50"]
        assert rows[what][:2] == [count_text(s["q50"]), f"{count_text(s['q05'])} – {count_text(s['q95'])}"]
    s = summary["peak_toilets"]
    assert rows["Toilets needed on the worst day (toilets)"][:2] == [
        count_text(s["q50"]), f"{count_text(s['q05'])} – {count_text(s['q95'])}"]
    # who is still at a site on the last day, with the band of the replicas that day
    pop = bands_table(chile, "population")
    end = pop[(pop["variant"] == "baseline") & (pop["day"] == pop["day"].max())].set_index("location")
    names = place_names(chile)
    held = {what: cells for what, cells in rows.items() if "people there on the run's last day" in what}
    assert held
    for what, cells in held.items():
        q = end.loc[names[what.split(": people there")[0]]]
        assert cells[:2] == [count_text(q["q50"]), f"{count_text(q['q05'])} – {count_text(q['q95'])}"]


def test_a_folder_of_an_earlier_version_with_its_old_names_still_opens(chile: Path, tmp_path: Path) -> None:
    """Ensembles named the peak `stranded_peak` and the scenario as written `base` before they
    took compare's names (`peak_stranded`, `baseline`). A folder written so still opens: its
    old keys are read as today's (`ensemble.OLD_METRIC_KEYS`), so its peak is on the page under
    today's heading, as a new folder's is; its variant keeps the name its files give it."""
    old = tmp_path / "old"
    shutil.copytree(chile, old)
    (old / "report.html").unlink()

    def written_the_old_way(text: str) -> str:
        return text.replace('"peak_stranded"', '"stranded_peak"').replace('"baseline"', '"base"')

    for name in ("metrics_summary.json", "manifest.json", "observations.json"):
        path = old / name
        path.write_text(written_the_old_way(path.read_text(encoding="utf-8")), encoding="utf-8")
    csv = old / "metrics.csv"
    csv.write_bytes(csv.read_bytes().replace(b"peak_stranded", b"stranded_peak").replace(b"baseline,", b"base,"))
    for table in (old / "bands").glob("*.parquet"):
        frame = pd.read_parquet(table)
        frame["variant"] = frame["variant"].replace("baseline", "base")
        frame.to_parquet(table, index=False)
    summary = json.loads((old / "metrics_summary.json").read_text(encoding="utf-8"))
    assert list(summary) == ["base"] and "stranded_peak" in summary["base"] and "peak_stranded" not in summary["base"]
    assert b",stranded_peak," in csv.read_bytes()

    r = CliRunner().invoke(app, ["report", str(old)])
    assert r.exit_code == 0, r.output
    page = parse(old / "report.html")
    assert [c["section"] for c in page.charts] and {c["section"] for c in page.charts} == {"variant-1"}
    s = summary["base"]["stranded_peak"]
    figures = [count_text(s["q50"]), f"{count_text(s['q05'])} – {count_text(s['q95'])}"]
    new_rows = {r[0]: r[1:] for r in tables_of(chile / "report.html")["key-variant-1"][1:]}
    old_rows = {r[0]: r[1:] for r in tables_of(old / "report.html")["key-variant-1"][1:]}
    assert old_rows["Peak stranded (people)"][:2] == figures == new_rows["Peak stranded (people)"][:2]
    assert old_rows == new_rows  # (every key observation as the folder written today gives it)
    metrics = {r[-1]: r for r in page.tables["variant-1"][1:]}
    assert metrics["peak_stranded"][0] == "peak stranded (people)" and "stranded_peak" not in metrics
    assert "<h2>Variant base</h2>" in (old / "report.html").read_text(encoding="utf-8")


def test_a_folder_from_before_the_vulnerable_stranded_opens_without_them(chile: Path, tmp_path: Path) -> None:
    """An ensemble folder written before the vulnerable stranded were a metric has neither them
    in metrics_summary.json nor columns of them in metrics.csv: its page opens, with no row of
    them (not a 0 or a "–" nobody measured), every other key observation as before."""
    import csv as csv_module

    old = tmp_path / "old"
    shutil.copytree(chile, old)
    (old / "report.html").unlink()
    gone = ("peak_stranded_vulnerable", "vulnerable_stranded_person_days")
    path = old / "metrics_summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({v: {k: s for k, s in m.items() if k not in gone} for v, m in summary.items()}),
                    encoding="utf-8")
    with (old / "metrics.csv").open(newline="", encoding="utf-8") as f:
        table = list(csv_module.reader(f))
    keep = [j for j, name in enumerate(table[0]) if name not in gone]
    assert len(keep) == len(table[0]) - 2
    with (old / "metrics.csv").open("w", newline="", encoding="utf-8") as f:
        csv_module.writer(f, lineterminator="\r\n").writerows([[row[j] for j in keep] for row in table])
    r = CliRunner().invoke(app, ["report", str(old)])
    assert r.exit_code == 0, r.output
    assert "vulnerable" not in (old / "report.html").read_text(encoding="utf-8").lower()
    new_rows = {r[0]: r[1:] for r in tables_of(chile / "report.html")["key-variant-1"][1:]}
    old_rows = {r[0]: r[1:] for r in tables_of(old / "report.html")["key-variant-1"][1:]}
    assert {k: v for k, v in new_rows.items() if "ulnerable" not in k} == old_rows


def test_each_report_is_checked_against_the_replicas_that_day(chile: Path) -> None:
    """A run's page checks each reported count against its run; the ensemble's against the band
    of its replicas that day: inside it, or the replicas below or above it. The counts are
    observations.json's points and ranges: a range ("150–200" on 21 Apr) is checked as a range,
    not as its central value (observed.parquet's 175), as a run's page checks it."""
    table = tables_of(chile / "report.html")["observed-variant-1"]
    assert table[0] == ["date", "place", "to the fit", "reported", "median", "median vs reported",
                        "5–95 % of replicas", "verdict"]
    observations = json.loads((chile / "observations.json").read_text())
    pop = bands_table(chile, "population").set_index(["variant", "day", "location"])
    expect = []

    def pct(share: float) -> str:  # (signed, with the minus sign "−"; never "+0%" or "−0%")
        text = f"{share:+.0%}".replace("-", "\u2212")
        return "0%" if text[1:] == "0%" else text

    for o in sorted(observations, key=lambda o: o["day"]):
        if o["kind"] not in ("point", "range") or ("baseline", o["day"], o["location"]) not in pop.index:
            continue
        q = pop.loc[("baseline", o["day"], o["location"])]
        lo, mid, hi = q["q05"], q["q50"], q["q95"]
        if o["kind"] == "range":
            shown = f"{fmt_exact(o['low'])}–{fmt_exact(o['high'])}"
            verdict = ("replicas above it" if lo > o["high"] else "replicas below it" if hi < o["low"] else
                       "inside" if o["low"] <= lo and hi <= o["high"] else "overlaps")
            edge = o["high"] if mid > o["high"] else o["low"] if mid < o["low"] else None
            difference = "in the range" if edge is None else f"{pct((mid - edge) / edge)} of {fmt_exact(edge)}"
        else:
            value = o["value"]
            shown = fmt_exact(value)
            verdict = ("inside" if lo <= value <= hi else "replicas below it" if value > hi else "replicas above it")
            difference = pct((mid - value) / value) if value > 0 else ("0 as reported" if mid == 0 else "–")
        expect.append([str(q["date"]), "Línea de la Concordia camp", o["role"], shown, count_text(mid), difference,
                       f"{count_text(lo)} – {count_text(hi)}", verdict])
    assert table[1:] == expect and len(expect) > 3
    assert ["150–200"] == [r[3] for r in table if r[0] == "2023-04-29"]
    assert {r[2] for r in table[1:]} == {"fitted", "held out"}  # (as the run's page marks them)
    assert '"To the fit" says what each report is' in (chile / "report.html").read_text(encoding="utf-8")


def test_a_reported_range_is_set_against_the_band_as_a_range() -> None:
    """The replicas' 5–95 % band inside a reported range, overlapping it, or above or below it
    (the shelter's band on days 8 and 9 is 4 – 30.5 people, written whole, 4 – 30 (half to
    even), its median 12)."""
    from corredor.outputs.report.ensemble import observed_rows

    data = _toy_crisis(20, 12.0)
    data.observations = [{"day": d, "location": "shelter", "kind": "range", "value": None, "low": lo, "high": hi}
                         for d, lo, hi in ((8, 0.0, 40.0), (8, 10.0, 20.0), (9, 1.0, 3.0), (9, 31.0, 50.0))]
    data.observations.append({"day": 9, "location": "shelter", "kind": "point", "value": 3.0})
    data.observations.append({"day": 9, "location": "shelter", "kind": "lower_bound", "low": 3.0, "value": 3.0})
    rows = [(r["date"], r["reported"], r["difference"], r["band"], r["verdict"]) for r in observed_rows(data, "v")]
    assert rows == [("2023-04-09", "0–40", "in the range", "4 – 30", "inside"),
                    ("2023-04-09", "10–20", "in the range", "4 – 30", "overlaps"),
                    ("2023-04-10", "1–3", "+300% of 3", "4 – 30", "replicas above it"),
                    ("2023-04-10", "31–50", "−61% of 31", "4 – 30", "replicas below it"),
                    ("2023-04-10", "3", "+300%", "4 – 30", "replicas above it")]


def test_lower_bounds_and_peaks_are_checked_replica_by_replica(chile: Path) -> None:
    """The ensemble folder did not keep the scenario's lower bounds ("at least 300 stranded") and
    reported peaks, so its page could not check them; it keeps observations.json as a run folder
    does (the same rows; lower bounds and peaks with each replica's figure), and the page says in
    how many replicas a bound is met and where a peak lies against the replicas' own peaks."""
    from corredor.analysis.ensemble import summarize_metrics
    from corredor.outputs.report.checks import check_observations

    saved = json.loads((chile / "observations.json").read_text(encoding="utf-8"))
    check_observations(saved, chile / "observations.json")  # (the run report's reader takes it)
    # the same rows as a run folder's observations.json of the same scenario and days
    run = _crisis_run_folder(CHILE, chile.parent / "run")
    assert [{k: v for k, v in o.items() if k != "replicas"} for o in saved] == json.loads(
        (run / "observations.json").read_text(encoding="utf-8"))
    checked = [o for o in saved if o["kind"] in ("lower_bound", "peak")]
    assert len(checked) == 3 and all(len(o["replicas"]["baseline"]) == 2 for o in checked)
    table = tables_of(chile / "report.html")["bounds-variant-1"]
    assert table[0] == ["date", "place", "to the fit", "reported", "replicas' figure", "median",
                        "5–95 % of replicas", "verdict", "note"]
    expect = []
    for o in sorted(checked, key=lambda o: o["day"]):
        values = o["replicas"]["baseline"]
        s = summarize_metrics({"x": v} for v in values)["x"]
        if o["kind"] == "lower_bound":
            shown, figure = f"at least {fmt_exact(o['low'])}", "people there that day"
            verdict = f"met in {sum(v >= o['low'] for v in values)} of 2 replicas"
        else:  # (as a run's page reads a peak: each replica's within ±50 % of the report, or not)
            shown, figure = f"a peak of {fmt_exact(o['value'])} by then", "each replica's most there up to that day"
            low, high = 0.5 * o["value"], 1.5 * o["value"]
            within, below = sum(low <= v <= high for v in values), sum(v < low for v in values)
            rest = ", ".join(f"{k} in {m}" for k, m in (("below", below), ("above", 2 - within - below)) if m)
            verdict = (f"within {fmt_exact(low)}–{fmt_exact(high)} in {within} of 2 replicas"
                       + (f" ({rest})" if rest else ""))
        expect.append([o["date"], "Línea de la Concordia camp", o["role"], shown, figure, count_text(s["q50"]),
                       f"{count_text(s['q05'])} – {count_text(s['q95'])}", verdict, o["note"]])
    assert table[1:] == expect
    text = re.sub(r"\s+", " ", (chile / "report.html").read_text(encoding="utf-8"))
    assert "lower bounds and peaks are checked replica by replica below" in text
    assert "written before ensemble folders kept them" not in text


def _crisis_run_folder(scenario: Path, out: Path) -> Path:
    """A run folder of the Chile–Peru scenario's first 100 days (the `chile` ensemble's)."""
    if not out.is_dir():
        result = CliRunner().invoke(app, ["run", str(scenario), "--days", "100", "--out", str(out), "-q"])
        assert result.exit_code == 0, (result.output, result.exception)
    return out


def test_an_older_ensemble_folder_without_observations_json_still_reads(chile: Path, tmp_path: Path) -> None:
    """Folders written before ensembles kept observations.json: the page is written, and says
    that their lower bounds and peaks cannot be checked there; a broken file is refused by name."""
    folder = tmp_path / "E"
    shutil.copytree(chile, folder)
    (folder / "observations.json").unlink()
    result = CliRunner().invoke(app, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    text = re.sub(r"\s+", " ", (folder / "report.html").read_text(encoding="utf-8"))
    assert "lower bounds and peaks of the scenario's reports are not checked here: this folder was written " \
           "before ensemble folders kept them in observations.json" in text
    assert "bounds-variant-1" not in text and "observed-variant-1" in text
    # (its reported counts are observed.parquet's: a range as its central value, a dot in the charts)
    assert [r[2] for r in tables_of(folder / "report.html")["observed-variant-1"] if r[0] == "2023-04-29"] == ["175"]
    camp = next(c for c in parse(folder / "report.html").charts if c["caption"] == "Línea de la Concordia camp: people there")
    assert {cls for _, cls, _ in camp["marks"]} == {"obs"} and ("dot", "obs", 87, [175.0]) in [
        (s, c, d, [round(v) for v in vs]) for s, c, d, vs in _marks(camp)]
    (folder / "report.html").unlink()
    (folder / "observations.json").write_text('[{"day": 3, "location": "camp", "kind": "peak",\n "replicas": ')
    assert f"error: {folder}/observations.json:2:14: not valid JSON" in _refused(folder)
    (folder / "observations.json").write_text('[{"day": 3, "location": "camp", "kind": "peak", "replicas": {"baseline": [1, "x"]}}]')
    assert f'{folder}/observations.json: observation 1 "replicas" "baseline"[1] must be a number, found a string' in _refused(folder)


def test_a_flee_ensemble_keeps_no_observations_json(mali: Path) -> None:
    """A Flee case's observations are the `observed` variable (observed.parquet): no file, and
    its page does not speak of lower bounds."""
    assert not (mali / "observations.json").exists()
    assert "lower bound" not in (mali / "report.html").read_text(encoding="utf-8")


def _toy_crisis(replicas: int, empties_n: float) -> Any:
    """EnsembleData with hand-made bands: people stranded at "line" (the 95 % edge from day 2,
    the median from day 4 to day 7, the 5 % edge never), then in a shelter to the end."""
    import xarray as xr

    from corredor.outputs.report.ensemble import EnsembleData

    days, stats = np.arange(10), ["mean", "q05", "q25", "q50", "q75", "q95"]
    stranded = np.zeros((1, len(stats), 10, 2))
    stranded[0, stats.index("q95"), 2:9, 0] = 50.0
    stranded[0, stats.index("q50"), 4:8, 0] = [10.0, 30.0, 20.0, 5.0]
    population = np.zeros_like(stranded)
    population[0, stats.index("q05"), 8:, 1] = 4.0
    population[0, stats.index("q50"), 8:, 1] = 12.0
    population[0, stats.index("q95"), 8:, 1] = 30.5
    coords = {"variant": ["v"], "stat": stats, "day": days, "location": ["line", "shelter"],
              "label": ("location", ["The line", "The shelter"]), "kind": ("location", ["staging", "shelter"])}
    dims = ("variant", "stat", "day", "location")
    bands = xr.Dataset({"stranded": (dims, stranded), "population": (dims, population)}, coords=coords)
    metric = {"n": empties_n, "mean": 5.0, "sd": 1.0, "min": 3.0, "q05": 3.0, "q25": 4.0, "q50": 5.0,
              "q75": 6.0, "q95": 7.0, "max": 7.0}
    peak_day = {**metric, "n": replicas - 1.0, "q05": 4.6, "q50": 5.5, "q95": 6.4}  # (nobody stranded in one)
    return EnsembleData(Path("."), {"replicas": replicas, "start_date": "2023-04-01"}, bands, None,
                        {"v": {"days_until_camp_empties": metric, "stranded_peak_day": peak_day}})


def _marks(chart: dict[str, Any]) -> list[tuple[str, str, int, list[float]]]:
    """A chart's observation marks as (shape, class, day, values read back through its scale):
    a dot its value, a bar its two ends, a triangle the value its tip points up from (5 px
    above it, as svg_chart.chart draws it), a reported peak's diamond (class "reported peak": its
    own day unknown, one marker at the date it was reported by) the value at its centre."""
    out = []
    for tag, cls, a in chart["marks"]:
        if cls == "reported peak":
            xy = points(a["points"]).mean(axis=0, keepdims=True)  # (the diamond's centre)
            assert len(points(a["points"])) == 4, a
            day, value, _ = back(chart, xy)
            out.append(("diamond", "reported", int(day[0]), [round(float(value[0]), 1)]))
            continue
        if tag == "circle":
            xy = np.array([[float(a["cx"]), float(a["cy"])]])
        elif tag == "line":
            xy = np.array([[float(a["x1"]), float(a["y1"])], [float(a["x2"]), float(a["y2"])]])
        else:
            xy = points(a["points"])[:1] + [0.0, 5.0]
        day, value, _ = back(chart, xy)
        out.append(({"circle": "dot", "line": "bar", "polygon": "triangle"}[tag], cls, int(day[0]),
                    [round(float(v), 1) for v in value]))
    return out


def test_a_crisis_page_marks_a_range_as_a_bar_and_a_lower_bound_as_a_triangle(tmp_path: Path) -> None:
    """The charts drew a crisis's reports from observed.parquet, which holds a range as one value
    ("10–20" as a dot at 15) and no lower bound; they now mark observations.json's reports as a
    run's page does (svg_chart.chart's `reported`): a count as a dot, a range as a vertical bar from
    its low to its high figure, a lower bound ("at least 25") as an upward triangle, with the run
    page's legend. A folder without observations.json (a Flee case's) keeps observed.parquet's dots."""
    import xarray as xr

    from corredor.outputs.report.ensemble import render_ensemble

    data = _toy_crisis(20, 12.0)
    data.folder = tmp_path
    observed = np.full((10, 2), np.nan)
    observed[8, 1], observed[9, 1] = 15.0, 3.0  # (what observed.parquet holds: the range's middle, the count)
    data.observed = xr.DataArray(observed, dims=("day", "location"),
                                 coords={"day": np.arange(10), "location": ["line", "shelter"]})
    data.observations = [
        {"day": 8, "location": "shelter", "kind": "range", "value": 15.0, "low": 10.0, "high": 20.0, "note": "a range"},
        {"day": 9, "location": "shelter", "kind": "point", "value": 3.0, "low": None, "high": None, "note": ""},
        {"day": 9, "location": "shelter", "kind": "lower_bound", "value": 25.0, "low": 25.0, "high": None, "note": ""},
        {"day": 9, "location": "shelter", "kind": "outflow", "value": 7.0, "low": None, "high": None, "note": ""}]
    (tmp_path / "report.html").write_text(render_ensemble(data), encoding="utf-8")
    charts = {c["caption"]: c for c in parse(tmp_path / "report.html").charts}
    shelter = charts["The shelter: people there"]
    assert sorted(_marks(shelter)) == [("bar", "reported", 8, [10.0, 20.0]), ("dot", "reported", 9, [3.0]),
                                       ("triangle", "reported", 9, [25.0])]
    assert not charts["The line: people stranded there"]["marks"]  # (reports are of people there)
    text = re.sub(r"\s+", " ", (tmp_path / "report.html").read_text(encoding="utf-8"))
    assert ('<li>reported: <span class="dot"></span>count · <span class="bar"></span>range · '
            '<span class="tri">▲</span>lower bound</li>') in text
    assert "a reported range a vertical bar from its low to its high figure" in text
    assert "2023-04-09: reported 10–20 (a range)" in text  # (the bar's tooltip)

    data.observations = None  # (a Flee case, or a folder written before ensembles kept observations.json)
    (tmp_path / "report.html").write_text(render_ensemble(data), encoding="utf-8")
    shelter = next(c for c in parse(tmp_path / "report.html").charts if c["caption"] == "The shelter: people there")
    assert sorted(_marks(shelter)) == [("dot", "obs", 8, [15.0]), ("dot", "obs", 9, [3.0])]
    assert "<li>reported" not in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_a_reported_peak_is_a_diamond_at_its_date_and_matched_replica_by_replica(tmp_path: Path) -> None:
    """Found by an acceptance pass: the page drew a reported peak ("~400, its day not stated, before
    21 Apr") as a dot on 21 Apr, like a count that day, and said "replicas below it" from the band,
    while the main job read it as an upper bound. It is now read as every page reads one
    (`analysis.peak`): the most there on some day up to its date, matched when a replica's own
    peak lies within ±50 % of it; and drawn as one diamond at its date, labelled a peak by then
    (a dashed line from the first day, as it was drawn next, read as that many there all along)."""
    from corredor.outputs.report.ensemble import bound_rows, render_ensemble

    data = _toy_crisis(4, 4.0)
    data.folder = tmp_path
    data.observations = [{"day": 9, "date": "2023-04-10", "location": "shelter", "kind": "peak", "value": 40.0,
                          "low": None, "high": None, "note": "peak ~40",
                          "replicas": {"v": [10.0, 19.9, 20.0, 61.0]}}]
    rows = bound_rows(data, "v")
    assert [(r["reported"], r["verdict"]) for r in rows] == [
        ("a peak of 40 by then", "within 20–60 in 1 of 4 replicas (below in 2, above in 1)")]
    (tmp_path / "report.html").write_text(render_ensemble(data), encoding="utf-8")
    shelter = next(c for c in parse(tmp_path / "report.html").charts if c["caption"] == "The shelter: people there")
    assert _marks(shelter) == [("diamond", "reported", 9, [40.0])]
    text = re.sub(r"\s+", " ", (tmp_path / "report.html").read_text(encoding="utf-8"))
    assert '<span class="diamond">◇</span>peak reached by that date, its own date unknown</li>' in text
    assert ">peak ~40 by then</text>" in text
    assert "in how many replicas it matches the report within ±50 %" in text


def test_key_days_are_where_the_quantiles_pass_zero_and_say_what_no_replica_reached() -> None:
    from corredor.outputs.report.ensemble import key_observations

    rows = {r["what"]: r for r in key_observations(_toy_crisis(20, 12.0), "v")}
    busiest = rows["The line: people stranded on the busiest day"]
    assert (busiest["median"], busiest["band"]) == ("30 on 2023-04-06", "0 – 50 that day")
    first = rows["The line: first day with people stranded"]
    assert (first["median"], first["band"]) == ("2023-04-05", "2023-04-03 – –")  # (the 5 % edge never passes 0)
    last = rows["The line: last day with people stranded"]
    assert (last["median"], last["band"]) == ("2023-04-08", "– – 2023-04-09")
    empties = rows["Days until nobody is stranded (days)"]
    assert empties["median"] == "5" and "(in 12 of 20 replicas; not within the run in the others)" in empties["how"]
    peak_day = rows["Day the most people were stranded"]  # (days 5.5, 4.6, 6.4: the nearer)
    assert (peak_day["median"], peak_day["band"]) == ("2023-04-07", "2023-04-06 – 2023-04-07")
    assert "(in 19 of 20 replicas; nobody stranded in the others)" in peak_day["how"]
    shelter = rows["The shelter: people there on the run's last day, 2023-04-10"]
    assert (shelter["median"], shelter["band"]) == ("12", "4 – 30")  # (30.5 people: whole, half to even)
    assert "The line: people there on the run's last day, 2023-04-10" not in rows  # (empty by then)


def test_an_ensemble_manifest_of_either_shape_reads_its_scenario_and_version() -> None:
    """Ensemble manifests now say `version` and `scenario` {name, sha256, source}, as a run's;
    a folder written before says `corredor_version` and the scenario's name alone. The page
    reads both; a scenario object without a name is refused, naming the key."""
    from corredor.outputs.report.checks import ReportError, check_ensemble_manifest
    from corredor.outputs.report.ensemble import ensemble_facts

    old = {"kind": "ensemble", "replicas": 2, "scenario": "mali2012", "corredor_version": "0.1.0"}
    new = {"kind": "ensemble", "replicas": 2, "version": "0.2.0",
           "scenario": {"name": "mali2012", "sha256": "0" * 64, "source": "data/flee/mali2012"}}
    for m, version in ((old, "0.1.0"), (new, "0.2.0")):
        facts = ensemble_facts(check_ensemble_manifest(m, Path("manifest.json")))
        assert ("scenario", "mali2012") in facts and [v for k, v in facts if k == "version"] == [version]
    with pytest.raises(ReportError, match='scenario "name" must be a string'):
        check_ensemble_manifest({**new, "scenario": {"sha256": "0"}}, Path("manifest.json"))


def test_a_flee_sweeps_page_gives_each_variants_difference_and_what_a_few_replicas_band_holds(mali: Path) -> None:
    """The page said every variant's difference "comes from their settings, not from chance" and
    that the 5–95 % band holds 90 % of the replicas, at 3 replicas too (it holds 1 of 3). A Flee
    case's replicas barely correlate across variants: the page says so, gives each variant's
    seed-by-seed difference from the first (metrics_differences.json) and what the band holds."""
    path = mali / "report.html"
    page = path.read_text(encoding="utf-8")
    how = " ".join(re.sub(r"<[^>]+>", " ", page.split('<section id="how">')[1].split("</section>")[0]).split())
    assert "not from chance" not in how and "barely correlate" in how and "r = 0.06–0.37" in how
    assert "90 % of them (5–95 %)" not in how
    assert "with 3 replicas the &#39;5–95 %&#39; band holds on average 45 % of runs, not 90 %" in how
    diffs = json.loads((mali / "metrics_differences.json").read_text(encoding="utf-8"))
    summary = json.loads((mali / "metrics_summary.json").read_text(encoding="utf-8"))
    first, second = summary
    assert list(diffs) == [second]
    tables = tables_of(path)
    assert "differences-variant-1" not in tables
    rows = tables["differences-variant-2"]
    assert rows[0] == ["metric", "median difference", "5–95 %", "mean ± standard error", "r", "pairs", "key"]
    assert [r[-1] for r in rows[1:]] == list(diffs[second])
    for name, median, band, _, r, n, key in rows[1:]:
        d = diffs[second][key]
        assert n == "3" and name == heading(key)
        if is_count(summary[first][key], key):
            continue  # (people created: the same in both variants, 0 on every seed)
        assert float(median.replace("−", "-")) == pytest.approx(d["q50"], rel=6e-4)
        assert [float(x.replace("−", "-")) for x in band.split(" – ")] == pytest.approx([d["q05"], d["q95"]], rel=6e-4)
        assert float(r.replace("−", "-")) == pytest.approx(d["r"], abs=0.006)
