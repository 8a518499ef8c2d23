"""The report in a real headless Chromium with the network off, driven over the DevTools protocol.

Checks: no request leaves the page (only the file itself and data: URIs load), no console error,
no exception, no dialog (the `<script>alert(1)</script>` place name must stay text), the day
slider moved with the keyboard changes the map, and a screenshot is not blank.
Skips with a reason when chromium or websocket-client is missing (.ci/run installs chromium).
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from corredor.outputs.report import build_report
from synthetic_results import XSS_NAME, crisis_like
from test_report import make_run_folder

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"),
]
websocket = pytest.importorskip("websocket", reason="websocket-client is not installed (pip install '.[test]')")

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
    "--host-resolver-rules=MAP * ~NOTFOUND",  # belt and braces: no name resolves
    "--window-size=1200,1600",
    "--remote-debugging-port=0",
]


class DevTools:
    """A minimal Chrome DevTools Protocol client over one browser websocket (flattened sessions)."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                if ev.get("method") == method:
                    return ev
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                self.events.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                continue

    def drain(self, seconds: float) -> None:
        """Collect events for a while (late console errors, requests after load)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.ws.settimeout(max(0.05, end - time.monotonic()))
            try:
                self.events.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                break

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"chromium did not start (exit {proc.poll()})")
        time.sleep(0.1)
    port, path = port_file.read_text().splitlines()[:2]
    cdp = DevTools(f"ws://127.0.0.1:{port}{path}")
    try:
        yield cdp
    finally:
        cdp.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def open_offline(cdp: DevTools, url: str) -> str:
    """A new tab with the network emulated offline, navigated to `url`; returns its session."""
    target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Network", "Log"):
        cdp.call(f"{domain}.enable", session=session)
    cdp.call(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        session=session,
    )
    cdp.events.clear()
    cdp.call("Page.navigate", {"url": url}, session=session)
    cdp.wait_for("Page.loadEventFired")
    cdp.drain(1.0)
    return session


def evaluate(cdp: DevTools, session: str, expr: str) -> Any:
    res = cdp.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=session)
    if "exceptionDetails" in res:
        raise AssertionError(f"{expr}: {res['exceptionDetails']}")
    return res["result"].get("value")


def problems(events: list[dict[str, Any]], page_url: str) -> list[str]:
    """Everything that would mean the page is not self-contained or not clean."""
    out = []
    for ev in events:
        m, p = ev.get("method"), ev.get("params", {})
        if m == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if url != page_url and not url.startswith("data:"):
                out.append(f"request: {url}")
        elif m == "Network.loadingFailed":
            out.append(f"failed request: {p.get('errorText')} ({p.get('requestId')})")
        elif m == "Runtime.exceptionThrown":
            out.append(f"exception: {p['exceptionDetails'].get('text')}")
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append(f"console.{p['type']}: {[a.get('value') for a in p.get('args', [])]}")
        elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
            out.append(f"log {p['entry']['level']}: {p['entry'].get('text')}")
        elif m == "Page.javascriptDialogOpening":
            out.append(f"dialog: {p.get('message')}")
    return out


def test_report_offline_clean_interactive_and_not_blank(browser, tmp_path):
    folder = make_run_folder(crisis_like(n_days=25, camp_name=XSS_NAME), tmp_path / "run")
    report = build_report(folder, comparison=[{"variant": "as happened", "peak_stranded": 480}])
    url = report.resolve().as_uri()
    session = open_offline(browser, url)
    events = list(browser.events)

    assert problems(events, url) == []
    loaded = [e for e in events if e.get("method") == "Network.requestWillBeSent"]
    assert any(e["params"]["request"]["url"] == url for e in loaded)  # the recorder did see requests

    # the hostile name is text on the page, not a script
    assert evaluate(browser, session, "document.scripts.length") == 2
    labels = evaluate(browser, session, "Array.from(document.querySelectorAll('#mapsvg text')).map(t => t.textContent)")
    assert XSS_NAME in labels

    camp = json.loads((folder / "network.json").read_text(encoding="utf-8"))["locations"]
    camp_i = [loc["name"] for loc in camp].index(XSS_NAME)
    circle = f"document.querySelector('#mapsvg rect.place[data-i=\"{camp_i}\"]')"  # (a camp: a square)
    start_day = evaluate(browser, session, "Number(document.getElementById('day').value)")
    r_before = float(evaluate(browser, session, f"{circle}.getAttribute('width')"))
    crossing_before = evaluate(browser, session, "document.querySelector('#mapsvg line.crossing').getAttribute('class')")
    assert "1 crossing closed" in evaluate(browser, session, "document.getElementById('day-summary').textContent")
    date_before = evaluate(browser, session, "document.getElementById('date').textContent")
    # the camp is named in a callout (its neighbours are too close to label apart): its line's
    # tooltip follows the slider as the circle's does
    entry = f"document.querySelector('#mapsvg g.entry[data-i=\"{camp_i}\"]')"
    assert evaluate(browser, session, f"{entry}.querySelector('title').textContent") == (
        f"{XSS_NAME}: 480 people (480 stranded)")

    # move the slider the way a person would: focus it and press Home (first day)
    evaluate(browser, session, "document.getElementById('day').focus()")
    for kind in ("rawKeyDown", "keyUp"):
        browser.call("Input.dispatchKeyEvent",
                     {"type": kind, "key": "Home", "code": "Home", "windowsVirtualKeyCode": 36}, session=session)
    browser.drain(0.5)
    assert evaluate(browser, session, "Number(document.getElementById('day').value)") == 0 != start_day
    r_after = float(evaluate(browser, session, f"{circle}.getAttribute('width')"))
    assert r_after < r_before  # 60 people on the first day, 480 on the busiest
    assert evaluate(browser, session, f"{entry}.querySelector('title').textContent") == (
        f"{XSS_NAME}: 60 people (60 stranded)")
    assert evaluate(browser, session, "document.getElementById('date').textContent") == "2023-04-13" != date_before
    crossing_after = evaluate(browser, session, "document.querySelector('#mapsvg line.crossing').getAttribute('class')")
    assert "s2" in crossing_before.split() and "s0" in crossing_after.split()  # closed then, open on day 0
    badge = evaluate(browser, session, "document.querySelector('#mapsvg g.xmark').getAttribute('class')")
    assert badge.split() == ["xmark", "s0"]
    summary = evaluate(browser, session, "document.getElementById('day-summary').textContent")
    assert "0 crossings closed" in summary

    shot = browser.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
    png = base64.b64decode(shot)
    out = Path(tmp_path) / "report.png"
    out.write_bytes(png)
    from matplotlib.image import imread

    img = imread(io.BytesIO(png), format="png")[..., :3]
    assert img.shape[0] >= 400 and img.shape[1] >= 400
    assert float(img.std()) > 0.05, "screenshot looks blank"
    colours = np.unique((img.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    assert len(colours) > 50
    assert problems(browser.events, url) == []  # nothing went wrong while interacting


def test_ensemble_page_offline_clean_and_drawn(browser, tmp_path):
    """The ensemble's page (a toy ensemble: the machinery, not the engine) loads nothing, logs no
    error, and draws its bands: each polygon has an area on screen, under its median line."""
    from corredor.analysis.ensemble import run_ensemble, write_ensemble
    from corredor.outputs.report.ensemble import build_ensemble_report
    from ensemble_toy import identity, toy_scenario, toy_simulate

    ens = run_ensemble(toy_scenario(), 6, seed=2, simulate_fn=toy_simulate, compile_fn=identity)
    report = build_ensemble_report(write_ensemble(ens, tmp_path / "ens", plot=True))
    url = report.resolve().as_uri()
    session = open_offline(browser, url)
    assert problems(list(browser.events), url) == []
    assert evaluate(browser, session, "document.scripts.length") == 0
    boxes = evaluate(browser, session, "Array.from(document.querySelectorAll('svg.ts polygon.band'))"
                     ".map(p => { const b = p.getBoundingClientRect(); return [b.width, b.height]; })")
    assert len(boxes) == 4 and all(w > 100 and h > 1 for w, h in boxes)  # 2 camps × 2 bands
    assert evaluate(browser, session, "document.querySelectorAll('svg.ts polyline.series').length") == 2
    assert evaluate(browser, session, "document.querySelector('#figure img').naturalWidth") > 100  # bands.png
    png = base64.b64decode(browser.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"])
    from matplotlib.image import imread

    img = imread(io.BytesIO(png), format="png")[..., :3]
    assert float(img.std()) > 0.05, "screenshot looks blank"


def test_an_ensembles_key_observations_are_shown_whole(browser, tmp_path):
    """Found by a screenshot of the Chile–Peru ensemble page: the key observations' table, of
    class "key", took the legend swatches' style (.key: 12 px high) and showed one clipped row
    in a scroll box. Every row is on screen, its figures in view without scrolling sideways."""
    from corredor.outputs.report.ensemble import key_observations, render_ensemble
    from test_ensemble_report import _toy_crisis

    data = _toy_crisis(20, 12.0)
    observations = len(key_observations(data, data.variants[0]))
    assert observations >= 5
    page = tmp_path / "report.html"
    page.write_text(render_ensemble(data), encoding="utf-8")
    url = page.resolve().as_uri()
    session = open_offline(browser, url)
    assert problems(list(browser.events), url) == []
    table = "document.getElementById('key-variant-1')"
    rows = evaluate(browser, session, f"Array.from({table}.rows).map(r => r.getBoundingClientRect().height)")
    assert len(rows) == 1 + observations and all(h >= 14 for h in rows)  # (a header, then each)
    box = evaluate(browser, session, f"(() => {{ const b = {table}.parentElement.getBoundingClientRect(); "
                                     f"const t = {table}.getBoundingClientRect(); return [b.height, t.height]; }})()")
    assert box[0] >= box[1] >= sum(rows) - 1  # (the scroll box holds the whole table)
    assert evaluate(browser, session, f"{table}.parentElement.scrollWidth <= {table}.parentElement.clientWidth")


def _tables_wider_than_the_page(cdp: DevTools, session: str, width: int, selector: str = "table") -> list[str]:
    """The tables of the page as printed on paper `width` CSS px wide whose right edge passes it."""
    cdp.call("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
    cdp.call("Emulation.setDeviceMetricsOverride",
             {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, session=session)
    return evaluate(cdp, session, f"Array.from(document.querySelectorAll('{selector}'))"
                    ".filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
                    ".map(t => t.closest('section').id + ': ' + Math.round(t.getBoundingClientRect().right))")


def test_printed_tables_keep_every_column(browser, tmp_path):
    """Found by review: printed (or saved as PDF), the tables lost their right-hand columns, cut
    off by their scrolling boxes: the needs table kept place to rations (no toilets, gaps, health
    staff, nights without shelter), the reported counts lost their verdicts, the main job's policy
    comparison kept 3 of 14 columns. Printed, every cell may wrap and no box scrolls, so the tables
    fit A4 portrait; the comparison gets a landscape page of its own, where it fits too."""
    folder = make_run_folder(crisis_like(n_days=25), tmp_path / "run")
    metrics = {f"m{k}": {"label": f"water needed at the sites, whole run {k}", "unit": "l"} for k in range(13)}
    summary = [{"scenario": f"peru_block=2023-04-{10 + s}", "metric": m, "median": 426405.0, "p05": 418129.5,
                "p95": 426513.0} for s in range(11) for m in metrics]
    report = build_report(folder, comparison={"seeds": [1, 2, 3], "metrics": metrics, "summary": summary})
    url = report.resolve().as_uri()
    session = open_offline(browser, url)
    pdf = base64.b64decode(browser.call("Page.printToPDF", {"preferCSSPageSize": True}, session=session)["data"])
    boxes = [tuple(map(float, b.split())) for b in re.findall(rb"/MediaBox \[([^\]]+)\]", pdf)]
    assert any(b[2] > b[3] for b in boxes) and any(b[2] < b[3] for b in boxes)  # the comparison's page: landscape
    a4_portrait = 718  # (210 mm less Chrome's default margins, in CSS px)
    assert _tables_wider_than_the_page(browser, session, a4_portrait, "#needs table, #fit table") == []
    assert evaluate(browser, session, "getComputedStyle(document.getElementById('comparison')).page") == "wide"
    assert _tables_wider_than_the_page(browser, session, 1047, "#comparison table") == []  # (A4 landscape)
    assert problems(browser.events, url) == []


def test_a_flee_runs_day_summary_counts_roads_as_its_legend_does(browser, tmp_path):
    """Found by review: mali2012's map legend keys "road closed" (a Flee case closes links, it has
    no border crossings), but the day summary beside the slider counted "1 crossing closed"."""
    from synthetic_results import flee_like

    res = flee_like(n_days=6)
    closed = np.zeros((6, res.dataset.sizes["route"]), dtype=bool)
    closed[:3, :2] = True  # the road Town A – Border, both directions, closed for the first three days
    res.dataset["route_closed"] = (("day", "route"), closed)
    report = build_report(make_run_folder(res, tmp_path / "run"))
    url = report.resolve().as_uri()
    session = open_offline(browser, url)
    assert "road closed" in evaluate(browser, session, "document.querySelector('p.legend').textContent")
    evaluate(browser, session, "const s = document.getElementById('day'); s.value = '0';"
                               " s.dispatchEvent(new Event('input'))")
    summary = evaluate(browser, session, "document.getElementById('day-summary').textContent")
    assert summary == "1 road closed", summary
    assert problems(browser.events, url) == []


def _on_a_phone(cdp: DevTools, session: str, width: int = 420) -> None:
    cdp.call("Emulation.setDeviceMetricsOverride",
             {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": True}, session=session)


def test_on_a_phone_charts_fit_and_their_labels_stay_legible(browser, tmp_path):
    """Found by review at a 420 px window: the ensemble page's charts kept a 440 px column and ran
    off the right edge, as did its table of variants' settings (the whole page scrolled sideways),
    and every chart, drawn at half its size, had 5 px tick labels."""
    from corredor.analysis.ensemble import Variant, run_ensemble, write_ensemble
    from corredor.outputs.report.ensemble import build_ensemble_report
    from ensemble_toy import identity, toy_scenario, toy_simulate

    sweep = {"move_rules.camp_weight": 2.0, "move_rules.conflict_weight": 0.25, "move_rules.max_move_speed": 360.0}
    ens = run_ensemble(toy_scenario(), 4, seed=2, simulate_fn=toy_simulate, compile_fn=identity,
                       variants=[Variant(",".join(f"{k}={v}" for k, v in sweep.items()), sweep)])
    pages = [build_ensemble_report(write_ensemble(ens, tmp_path / "ens", plot=False)),
             build_report(make_run_folder(crisis_like(n_days=25), tmp_path / "run"))]
    for page in pages:
        url = page.resolve().as_uri()
        session = open_offline(browser, url)
        _on_a_phone(browser, session)
        charts = evaluate(browser, session, "Array.from(document.querySelectorAll('svg.ts'))"
                          ".map(s => s.getBoundingClientRect().right - document.documentElement.clientWidth)")
        assert charts and max(charts) <= 1, (page, charts)
        page_wider = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        assert evaluate(browser, session, page_wider) <= 0, page  # (a sweep's settings ran off the page)
        tick = evaluate(browser, session, "document.querySelector('svg.ts text.tick').getBoundingClientRect().height")
        assert tick >= 8, (page, tick)
        assert problems(browser.events, url) == []


def test_the_play_button_says_what_it_does(browser, tmp_path):
    """Found by review: while the map played, the button showed a pause sign but a screen reader
    still heard "play"."""
    report = build_report(make_run_folder(crisis_like(n_days=25), tmp_path / "run"))
    url = report.resolve().as_uri()
    session = open_offline(browser, url)
    label = "document.getElementById('play').getAttribute('aria-label')"
    assert evaluate(browser, session, label) == "play"
    evaluate(browser, session, "document.getElementById('play').click()")
    assert evaluate(browser, session, label) == "pause"
    evaluate(browser, session, "document.getElementById('play').click()")
    assert evaluate(browser, session, label) == "play"
    assert problems(browser.events, url) == []


def test_comparison_page_offline_clean_and_drawn(browser, tmp_path):
    """`compare --out`'s comparison.html (a comparison made up of numbers, a hostile scenario name):
    nothing loads, nothing is logged, no script runs (the name stays text), comparison.png is
    decoded, every table has its rows and the stranded chart its lines."""
    from corredor.analysis.compare import DIFF_TABLES, METRIC_TABLES, comparison_json
    from corredor.outputs.plots import comparison_png
    from corredor.outputs.report.comparison import render_comparison
    from test_comparison_page import toy_comparison

    comp = toy_comparison(["baseline", XSS_NAME, "bribe_price_usd=55,mil_emergency=0.8"])
    page = tmp_path / "comparison.html"
    page.write_text(render_comparison(comparison_json(comp), comparison_png(comp.summary(), comp.names)),
                    encoding="utf-8")
    url = page.resolve().as_uri()
    session = open_offline(browser, url)
    assert problems(list(browser.events), url) == []
    assert evaluate(browser, session, "document.scripts.length") == 0
    assert evaluate(browser, session, "document.querySelector('#figures img').naturalWidth") > 100
    rows = evaluate(browser, session, "Array.from(document.querySelectorAll('#comparison table, #differences table'))"
                    ".map(t => t.tBodies[0].rows.length)")
    # (the metric tables; the differences have no baseline row)
    assert rows == [3] * len(METRIC_TABLES) + [2] * len(DIFF_TABLES)
    names = evaluate(browser, session, "Array.from(document.querySelectorAll('#comparison tbody th')).map(t => t.textContent)")
    assert XSS_NAME in names
    assert evaluate(browser, session, "document.querySelectorAll('#figures svg.ts polyline.series').length") == 3
    png = base64.b64decode(browser.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"])
    from matplotlib.image import imread

    img = imread(io.BytesIO(png), format="png")[..., :3]
    assert float(img.std()) > 0.05, "screenshot looks blank"


def test_on_a_phone_the_key_figures_reflow_and_a_wide_table_says_it_scrolls(browser, tmp_path):
    """Found by review at 390 and 320 px: the key figures' labels kept one line each ("tents for
    people without shelter at the line and in full shelters, busiest day"), so their table was
    753 px wide, the values off the screen and the whole page panning sideways (WCAG 1.4.10); and
    the wide tables' scroll boxes gave no sign of their hidden columns (overlay scroll bars). Now
    the labels wrap beside their values, and a box with columns out of view says so on a phone
    and shows a shadow at its edge (background-attachment local)."""
    from test_report import _run_folder_via_writer

    report = build_report(_run_folder_via_writer(crisis_like(n_days=25), tmp_path / "run"))
    url = report.resolve().as_uri()
    session = open_offline(browser, url)
    needs = "document.querySelector('#needs .scroll')"
    note = f"getComputedStyle({needs}, '::before').content"
    for width in (390, 320):
        _on_a_phone(browser, session, width)
        page_wider = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        assert evaluate(browser, session, page_wider) <= 0, width
        values = evaluate(browser, session, "Array.from(document.querySelectorAll('#key td'))"
                          ".map(td => td.getBoundingClientRect().right - document.documentElement.clientWidth)")
        assert values and max(values) <= 0, (width, values)
        assert evaluate(browser, session, f"{needs}.scrollWidth > {needs}.clientWidth")  # (it does scroll)
        assert "Scroll sideways for more columns" in evaluate(browser, session, note)
    assert "local" in evaluate(browser, session, f"getComputedStyle({needs}).backgroundAttachment")
    _on_a_phone(browser, session, 1200)
    assert evaluate(browser, session, note) == "none"  # (a laptop's window: no such note)
    assert problems(browser.events, url) == []


def test_the_map_says_the_date_and_its_places_numbers_can_be_read_without_hovering(browser, tmp_path):
    """Found by a WCAG audit: a screen reader announced the day slider as "99", not its date; the
    summary beside it changed silently; and each place's number was only in a hover tooltip of
    an SVG marked role="img" (no hover on a phone; no keyboard focus; hidden from screen
    readers). The slider now carries aria-valuetext, the summary is aria-live, and a "Places on
    this day" table, which the slider updates, holds every place's number."""
    folder = make_run_folder(crisis_like(n_days=25, camp_name=XSS_NAME), tmp_path / "run")
    report = build_report(folder)
    url = report.resolve().as_uri()
    session = open_offline(browser, url)
    slider = "document.getElementById('day')"
    date = evaluate(browser, session, "document.getElementById('date').textContent")
    assert evaluate(browser, session, f"{slider}.getAttribute('aria-valuetext')") == date == "2023-04-30"
    assert evaluate(browser, session, "document.getElementById('day-summary').getAttribute('aria-live')") == "polite"
    net = json.loads((folder / "network.json").read_text(encoding="utf-8"))["locations"]
    camp_i = [loc["name"] for loc in net].index(XSS_NAME)
    row = f"document.querySelector('#places-day tr[data-i=\"{camp_i}\"]')"
    assert evaluate(browser, session, f"{row}.querySelector('th').textContent") == XSS_NAME
    cells = f"Array.from({row}.querySelectorAll('td')).map(td => td.textContent)"
    assert evaluate(browser, session, cells)[1:] == ["480", "480"]
    assert evaluate(browser, session, "document.querySelector('#places-day summary').tabIndex") >= 0  # (focusable)
    evaluate(browser, session, f"{slider}.focus()")
    for kind in ("rawKeyDown", "keyUp"):
        browser.call("Input.dispatchKeyEvent",
                     {"type": kind, "key": "Home", "code": "Home", "windowsVirtualKeyCode": 36}, session=session)
    browser.drain(0.3)
    assert evaluate(browser, session, f"{slider}.getAttribute('aria-valuetext')") == "2023-04-13"
    assert evaluate(browser, session, cells)[1:] == ["60", "60"]
    side = float(evaluate(browser, session, f"document.querySelector('#mapsvg rect.place[data-i=\"{camp_i}\"]')"
                                            ".getAttribute('width')"))
    data = json.loads(evaluate(browser, session, "document.getElementById('map-data').textContent"))
    assert side == pytest.approx((data["rMin"] + data["rScale"] * np.sqrt(60)) * np.sqrt(np.pi), abs=0.01)
    assert problems(browser.events, url) == []


def test_printed_headings_stay_with_what_follows_and_the_comparison_opens_on_its_table(browser, tmp_path):
    """Found by printing the pages: headings and captions ended pages with their table or chart
    on the next, rows split across pages (a band without its scenario's name), the key figures
    came out at the tables' 7.5 pt, the map's names were copied twice out of the PDF (the white
    halo's stroked copy), and comparison.html's first page held only its header (the comparison
    forced onto a landscape page after it)."""
    from corredor.analysis.compare import comparison_json
    from corredor.outputs.report.comparison import render_comparison
    from test_comparison_page import toy_comparison
    from test_report import _run_folder_via_writer

    report = build_report(_run_folder_via_writer(crisis_like(n_days=25), tmp_path / "run"))
    url = report.resolve().as_uri()
    session = open_offline(browser, url)
    browser.call("Emulation.setEmulatedMedia", {"media": "print"}, session=session)

    def style(selector: str, prop: str) -> str:
        return evaluate(browser, session, f"getComputedStyle(document.querySelector('{selector}')).{prop}")

    for selector in ("h2", "figure.chart figcaption", ".controls"):
        assert style(selector, "breakAfter") == "avoid", selector
    for selector in ("tbody tr", "figure.chart"):
        assert style(selector, "breakInside") == "avoid", selector
    assert float(style("#key td", "fontSize").removesuffix("px")) >= 10 * 96 / 72 - 0.01  # 10 pt
    assert style("#mapsvg .labels text", "stroke") == "none"

    page = tmp_path / "comparison.html"
    page.write_text(render_comparison(comparison_json(toy_comparison(["baseline", "b", "c"]))), encoding="utf-8")
    session = open_offline(browser, page.resolve().as_uri())
    pdf = base64.b64decode(browser.call("Page.printToPDF", {"preferCSSPageSize": True}, session=session)["data"])
    boxes = [tuple(map(float, b.split())) for b in re.findall(rb"/MediaBox \[([^\]]+)\]", pdf)]
    first = boxes[0]
    assert first[2] > first[3], boxes  # (the header on the comparison's landscape page)
    browser.call("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
    assert style("h3", "breakAfter") == "avoid"  # (the comparison's tables' headings)
    assert problems(browser.events, page.resolve().as_uri()) == []
