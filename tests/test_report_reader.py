"""The pages as a coordinator reads them (findings-page 3, 6, 11, 13): each says it is a what-if and
what its ranges leave out, explains its words, keeps technical fields at its foot, names its kind
and scenario in its title, dates its time axes and links its sources."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from corredor.analysis.compare import key_figure_rows
from corredor.outputs.report import build_report
from corredor.outputs.report.comparison import render_comparison
from synthetic_results import crisis_like, flee_like
from test_report import _run_folder_via_writer

MALI = Path("/work/shared/data/flee/mali2012")
if not MALI.is_dir():
    MALI = REPO.parent / "shared" / "data" / "flee" / "mali2012"


def _section(html: str, ident: str) -> str:
    return re.search(fr'<(?:section|aside) [^>]*id="{ident}"[^>]*>(.*?)</(?:section|aside)>', html, re.S).group(1)


def _title(html: str) -> tuple[str, str]:
    return (re.search(r"<title>(.*?)</title>", html).group(1), re.search(r"<h1>(.*?)</h1>", html).group(1))


@pytest.fixture(scope="module")
def crisis_page(tmp_path_factory):
    folder = _run_folder_via_writer(crisis_like(n_days=25), tmp_path_factory.mktemp("crisis") / "run")
    return build_report(folder).read_text(encoding="utf-8")


def _check_whatif(html: str, ranges: bool) -> str:
    box = _section(html, "whatif")
    assert html.index('id="whatif"') < html.index("<section")  # near the top: before any section
    text = re.sub(r"\s+", " ", box)
    assert "not a forecast" in text
    assert ("only chance variation between runs" in text) == ranges
    assert "uncertain" in text or "uncertainty in the assumptions" in text
    return text


def test_a_run_page_says_it_is_one_what_if_run_and_where_its_assumptions_are(crisis_page):
    text = _check_whatif(crisis_page, ranges=False)
    assert "one run, one of many equally likely ones" in text and '<a href="#sources">Sources</a>' in text
    assert '<a href="#fit">' in text  # (the page compares the run with reported counts)


def test_a_run_page_explains_its_words_and_keeps_technical_fields_at_its_foot(crisis_page):
    terms = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", _section(crisis_page, "terms")))
    for word in ("stranded", "stranded person-days", "give-ups", "money paid", "irregular crossings",
                 "through a corridor", "staging", "seed, replica"):
        assert word in terms, word
    # (crisis_like's results name no group fallbacks: the glossary says where to find them; a run
    # that names them is tested in test_compare/test_report: "in this scenario, Santiago")
    assert "informal payments" in terms["money paid"] and "each group's fallback" in terms["give-ups"]
    assert "equally likely" in terms["seed, replica"]
    header = crisis_page[:crisis_page.index("</header>")]
    technical = _section(crisis_page, "technical")
    for fact in ("scenario hash", "seed", "engine"):
        assert f"<dt>{fact}</dt>" not in header and f"<dt>{fact}</dt>" in technical, fact
    assert crisis_page.index('id="technical"') > crisis_page.index('id="sources"')
    # litres spelled out on the page, as `corredor run` prints the same rows; files keep "l"
    kf = re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', _section(crisis_page, "key"))
    water = [v for k, v in kf if k.startswith("water needed")]
    assert water and all(re.fullmatch(r"[\d,]+ litres(/day)?", v) for v in water), water
    assert key_figure_rows({"peak_water_l_per_day": 11175.0})[0][1] == "11,175 litres/day"
    assert "<th>water litres/<wbr>day</th>" in crisis_page and " l/day" not in crisis_page


def test_page_titles_say_what_page_of_which_scenario(crisis_page, tmp_path):
    assert _title(crisis_page) == ("chile-peru-2023: one run · corredor", "chile-peru-2023: one run")
    res = crisis_like(n_days=10)
    res.manifest["scenario"] = {**res.manifest["scenario"], "name": "chile-peru-2023+bribe-0", "variant": "bribe-0"}
    page = build_report(_run_folder_via_writer(res, tmp_path / "v")).read_text(encoding="utf-8")
    assert _title(page)[1] == "chile-peru-2023 (bribe-0): one run"
    data = {"baseline_scenario": "chile-peru-2023", "seeds": [1, 2], "base_seed": 7, "version": "9.9",
            "summary": [{"scenario": "baseline", "metric": "give_ups", "median": 5.0, "p05": 4.0, "p95": 6.0}]}
    html = render_comparison(data)
    assert _title(html)[1] == "chile-peru-2023: policy comparison"
    _check_whatif(html, ranges=True)
    assert '<a href="#scenarios">Scenarios</a>' in _section(html, "whatif")
    assert "<dt>base seed</dt>" in _section(html, "technical") and "<dt>base seed</dt>" not in html[:html.index("</header>")]
    assert "<dt>give-ups</dt>" in _section(html, "terms")


def test_the_ensemble_page_names_its_runs_dates_its_figure_and_says_what_its_bands_leave_out(tmp_path):
    from corredor.analysis.ensemble import bands_figure, run_ensemble, write_ensemble
    from corredor.outputs.report.ensemble import build_ensemble_report
    from ensemble_toy import identity, toy_scenario, toy_simulate

    ens = run_ensemble(toy_scenario(), 4, seed=1, simulate_fn=toy_simulate, compile_fn=identity)
    fig = bands_figure(ens)  # bands.png: its x axis in dates, as the page's charts above it
    line = next(ln for ax in fig.axes for ln in ax.get_lines() if ln.get_label() not in ("observed",))
    x = np.asarray(line.get_xdata())
    assert np.issubdtype(x.dtype, np.datetime64) and x[0] == np.datetime64("2020-01-01")
    folder = write_ensemble(ens, tmp_path / "ens", plot=False)
    html = build_ensemble_report(folder).read_text(encoding="utf-8")
    assert _title(html)[1] == "toy: ensemble of 4 runs"
    _check_whatif(html, ranges=True)
    assert "<dt>executor</dt>" in _section(html, "technical") and "<dt>executor</dt>" not in html[:html.index("</header>")]
    template = (REPO / "src/corredor/outputs/report/ensemble.html").read_text(encoding="utf-8")
    assert "Key observations" not in template and "Key figures over the replicas" in template
    assert "bands.png of this folder" not in template


def test_a_long_runs_time_axis_ticks_on_month_starts():
    from corredor.outputs.report.svg_chart import date_ticks

    start = dt.date(2023, 2, 1)
    dates = [(start + dt.timedelta(days=t)).isoformat() for t in range(150)]  # 1 Feb – 30 Jun
    assert date_ticks(dates) == [(0, "Feb 2023"), (28, "Mar 2023"), (59, "Apr 2023"), (89, "May 2023"),
                                 (120, "Jun 2023")]
    long = [(start + dt.timedelta(days=t)).isoformat() for t in range(820)]  # 27 month starts
    ticks = date_ticks(long)
    assert len(ticks) <= 7 and all(label.startswith(("Jan", "Jul")) for _, label in ticks[1:])
    assert date_ticks(dates[:30])[:2] == [(0, "2023-02-01"), (4, "2023-02-05")]  # (a short run: as before)


def test_sources_are_links_that_the_page_opens_only_when_clicked(crisis_page):
    from corredor.outputs.report.builder import links

    assert links("UNHCR, https://example.org/a?b=1&c=2. More") == (
        'UNHCR, <a href="https://example.org/a?b=1&amp;c=2" rel="noreferrer">https://example.org/a?b=1&amp;c=2</a>. More')
    assert links("see https://www.eldinamo.cl/pais/x", short=True) == (
        'see <a href="https://www.eldinamo.cl/pais/x" rel="noreferrer">eldinamo.cl</a>')
    assert links("<b>") == "&lt;b&gt;"
    sources = _section(crisis_page, "sources")
    assert '<a href="https://aricahoy.cl/?p=37089" rel="noreferrer">' in sources
    csp = re.search(r'Content-Security-Policy" content="([^"]*)"', crisis_page).group(1)
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp


def test_a_fit_tables_source_is_visible_not_only_a_tooltip(tmp_path):
    res = crisis_like(n_days=25)
    res.manifest["observations"] = [{"day": 18, "loc": "camp", "value": 10.0, "kind": "point",
                                     "source": "https://www.example.org/report"}]
    folder = _run_folder_via_writer(res, tmp_path / "run")
    fit = _section(build_report(folder).read_text(encoding="utf-8"), "fit")
    assert 'title="' not in fit
    assert '(source: <a href="https://www.example.org/report" rel="noreferrer">example.org</a>)' in fit


def test_a_flee_run_page_opens_with_key_figures_and_credits_its_observed_data(tmp_path):
    res = flee_like(n_days=12)
    res.manifest["sources"] = [{"what": "observed refugee counts in the camps", "source": "UNHCR: source_data/…"}]
    page = build_report(_run_folder_via_writer(res, tmp_path / "flee")).read_text(encoding="utf-8")
    rows = dict(re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', _section(page, "key")))
    pop = res.dataset["population"]
    camps = [str(n) for n, c in zip(pop["location"].values, res.dataset["is_camp"].values, strict=True) if c] \
        if "is_camp" in res.dataset else ["Camp Z"]
    peaks = {c: float(pop.sel(location=c).max()) for c in camps}
    busiest = max(peaks, key=peaks.get)
    assert rows["busiest camp"] == busiest
    assert rows["its most people at once"].startswith(f"{peaks[busiest]:,.0f} people, on 2012-")
    at_end = sum(float(pop.sel(location=c).values[-1]) for c in camps)
    assert rows["people in the camps on the last day"] == f"{at_end:,.0f} people"
    assert "UNHCR: source_data/…" in _section(page, "sources")
    _check_whatif(page, ranges=False)
    assert _title(page)[1].endswith(": one run")


@pytest.mark.skipif(not MALI.is_dir(), reason="needs the shared Flee cases")
def test_a_flee_case_names_where_its_observed_series_come_from(tmp_path):
    from corredor import load_scenario
    from corredor.plan import compile_plan

    case = shutil.copytree(MALI, tmp_path / "mali2012")  # (the case folder alone: no ../shared)
    scenario = load_scenario(case)
    (credit,) = scenario.metadata["sources"]
    assert credit["source"].startswith("UNHCR")
    assert "source_data/data_layout.csv" in credit["source"] and "mau-fassala-mbera.csv" in credit["source"]
    assert "source-data-unhcr-pdf-reports.txt" in credit["source"]
    assert compile_plan(scenario).sources == (credit,)  # (simulate writes them to manifest.json)
