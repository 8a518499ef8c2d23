"""`corredor run`: a run folder from a Flee case, Flee's out.csv, and exit 2 on bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corredor.cli import app

runner = CliRunner()


@pytest.fixture()
def mali(flee_cases: Path) -> Path:
    return flee_cases / "mali2012"


def test_run_writes_manifest_population_and_flee_out(mali: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    r = runner.invoke(app, ["run", str(mali), "--days", "30", "--seed", "5", "--engine", "agents",
                            "--threads", "1", "--out", str(out), "--flee-out"])
    assert r.exit_code == 0, r.output
    m = json.loads((out / "manifest.json").read_text())
    assert m["seed"] == 5 and m["engine"] == "agents" and m["backend"] == "cpu"
    assert m["scenario"]["name"] == "mali2012" and len(m["scenario"]["sha256"]) == 64
    assert set(m["timing"]) >= {"wall_s", "loop_s", "agent_steps"} and m["timing"]["agent_steps"] > 0
    assert set(m["metrics"]) >= {"ard_mean", "ard_rescaled_mean", "ard_final"}
    rows = list(csv.reader((out / "out.csv").open()))
    head = rows[0]
    assert head[:5] == ["Day", "Date", "Fassala-Mbera sim", "Fassala-Mbera data", "Fassala-Mbera error"]
    assert head[-6:] == ["Total error", "refugees in camps (UNHCR)", "total refugees (simulation)",
                         "raw UNHCR refugee count", "refugees in camps (simulation)", "refugee_debt"]
    assert len(rows) == 31 and rows[1][:2] == ["0", "2012-02-29"] and rows[2][1] == "2012-03-01"
    # day 0: the camps hold exactly the day-0 data (insert_day0), so sim == data
    day0 = dict(zip(head, rows[1], strict=True))
    assert day0["Abala sim"] == day0["Abala data"] == "69"
    pop = list(csv.reader((out / "population.csv").open(newline="")))
    assert pop[0][:3] == ["day", "date", "Kidal"] and len(pop) == 32  # header, HXL row, 30 days
    assert pop[1][:3] == ["#meta+day", "#date", "#affected+displaced+ind+loc_kidal"]


def test_same_seed_gives_the_same_folder_content(mali: Path, tmp_path: Path) -> None:
    args = ["run", str(mali), "--days", "20", "--seed", "2", "--engine", "agents", "--quiet"]
    assert runner.invoke(app, args + ["--out", str(tmp_path / "a"), "--threads", "1"]).exit_code == 0
    assert runner.invoke(app, args + ["--out", str(tmp_path / "b"), "--threads", "2"]).exit_code == 0
    assert (tmp_path / "a/population.csv").read_text() == (tmp_path / "b/population.csv").read_text()


def test_existing_folder_is_refused_unless_force(mali: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    (out / "manifest.json").write_text('{"engine": "agents", "seed": 1, "version": "0.1.0"}')  # an earlier run's (--force replaces only those)
    r = runner.invoke(app, ["run", str(mali), "--days", "5", "--out", str(out), "--engine", "agents"])
    assert r.exit_code == 2 and "exists" in r.output and (out / "keep.txt").exists()
    r = runner.invoke(app, ["run", str(mali), "--days", "5", "--out", str(out), "--force",
                            "--engine", "agents", "--quiet"])
    assert r.exit_code == 0 and not (out / "keep.txt").exists() and (out / "manifest.json").exists()
    assert r.output == ""


def test_bad_input_exits_2_with_located_messages(tmp_path: Path) -> None:
    r = runner.invoke(app, ["run", str(tmp_path / "nowhere")])
    assert r.exit_code == 2 and "nowhere: no such file or folder" in r.output  # (as validate says)
    r = runner.invoke(app, ["run", str(tmp_path)])
    assert r.exit_code == 2 and "not a scenario folder" in r.output
    assert "Traceback" not in r.output


def test_bad_case_file_points_at_file_and_line(mali: Path, tmp_path: Path) -> None:
    import shutil

    case = tmp_path / "case"
    shutil.copytree(mali, case)
    routes = case / "input_csv" / "routes.csv"
    lines = routes.read_text().splitlines()
    lines[3] = "Nowhere,Mentao,12,0"
    routes.write_text("\n".join(lines) + "\n")
    r = runner.invoke(app, ["run", str(case), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "routes.csv:4" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_set_changes_a_setting_of_the_run_and_the_manifest_says_so(mali: Path, tmp_path: Path) -> None:
    """calibrate's best_params.toml says to use its values with --set, which `run` did not take
    ("No such option"); a bad key is refused before the run, as for ensemble."""
    base = ["run", str(mali), "--days", "20", "--seed", "4", "--engine", "agents", "--quiet"]
    assert runner.invoke(app, [*base, "--out", str(tmp_path / "own")]).exit_code == 0
    r = runner.invoke(app, [*base, "--out", str(tmp_path / "set"), "--set", "move_rules.camp_weight=0.5",
                            "--set", "move_rules.default_movechance=1"])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert m["set"] == {"move_rules.camp_weight": 0.5, "move_rules.default_movechance": 1}
    own = json.loads((tmp_path / "own" / "manifest.json").read_text())
    assert "set" not in own and own["scenario"]["sha256"] != m["scenario"]["sha256"]
    assert (tmp_path / "own/population.csv").read_text() != (tmp_path / "set/population.csv").read_text()
    assert runner.invoke(app, ["report", str(tmp_path / "set"), "--quiet"]).exit_code == 0
    page = (tmp_path / "set" / "report.html").read_text(encoding="utf-8")
    assert "move_rules.camp_weight = 0.5, move_rules.default_movechance = 1" in page
    r = runner.invoke(app, [*base, "--out", str(tmp_path / "bad"), "--set", "move_rules.camp_wieght=2"])
    assert r.exit_code == 2 and "did you mean 'camp_weight'" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "bad").exists()


def test_unknown_engine_and_bad_values_exit_2(mali: Path, tmp_path: Path) -> None:
    r = runner.invoke(app, ["run", str(mali), "--engine", "warp"])
    assert r.exit_code == 2 and "engine" in r.output
    r = runner.invoke(app, ["run", str(mali), "--hasten", "0"])
    assert r.exit_code == 2


def test_no_conflict_zone_is_reported_by_validate_and_run(tmp_path: Path) -> None:
    # a case whose data asks for people but has no conflict zone to spawn them from
    case = tmp_path / "c"
    (case / "input_csv").mkdir(parents=True)
    (case / "source_data").mkdir()
    (case / "input_csv/locations.csv").write_text(
        "#name,region,country,lat,lon,location_type,conflict_date,population\n"
        "A,r,X,0,0,town,0,1000\nC,r,Y,0,1,camp,0,500\n")
    (case / "input_csv/routes.csv").write_text("#name1,name2,distance,forced_redirection\nA,C,100,0\n")
    (case / "input_csv/closures.csv").write_text("#closure_type,name1,name2,closure_start,closure_end\n")
    (case / "input_csv/conflicts.csv").write_text("#Day,A\n" + "".join(f"{t},0\n" for t in range(5)))
    (case / "input_csv/sim_period.csv").write_text("StartDate,2020-01-01\nLength,5\n")
    (case / "source_data/data_layout.csv").write_text("total,refugees.csv\nC,c.csv\n")
    (case / "source_data/refugees.csv").write_text("2020-01-01,0\n2020-01-05,40\n")
    (case / "source_data/c.csv").write_text("2020-01-01,0\n2020-01-05,40\n")
    (case / "simsetting.yml").write_text("optimisations:\n  hasten: 1\n")
    for args in (["validate", str(case)], ["run", str(case), "--out", str(tmp_path / "o"), "--engine", "agents"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, r.output
        # day 1 is the first whose total rises (10 a day); conflicts.csv's row of day 1 is line 3
        assert "conflicts.csv:3:" in r.output and "on day 1 (2020-01-02) 10 people" in r.output, r.output
        assert "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_draws_bernoulli_runs_the_agent_engine_and_bad_draws_exit_2(mali: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    r = runner.invoke(app, ["run", str(mali), "--days", "20", "--seed", "2", "--draws", "bernoulli",
                            "--threads", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    m = json.loads((out / "manifest.json").read_text())
    assert m["engine"] == "agents" and m["draws"] == "bernoulli"
    assert "bernoulli" in m["engine_choice"]["reason"]
    for bad in (["--draws", "each"], ["--draws", "bernoulli", "--engine", "cohorts"],
                ["--draws", "bernoulli", "--checkpoint-every", "5"]):
        r = runner.invoke(app, ["run", str(mali), "--days", "5", "--out", str(tmp_path / "x"), *bad])
        assert r.exit_code == 2 and "draws" in r.output and "Traceback" not in r.output, bad
        assert not (tmp_path / "x").exists()


def test_draws_bernoulli_is_refused_for_a_crisis_scenario(tmp_path: Path) -> None:
    crisis = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    r = runner.invoke(app, ["run", str(crisis), "--draws", "bernoulli", "--out", str(tmp_path / "c")])
    assert r.exit_code == 2 and "border-crisis" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("args, expected", [
    (["run", "--hasten", "10"], "--hasten 10: a border-crisis scenario simulates every person"),
    (["run", "--engine", "cohorts"], "--engine cohorts cannot run a border-crisis scenario"),
    (["run", "--days", "400"], "--days 400 runs past the scenario's 150 days"),
    (["ensemble", "--replicas", "1", "--set", "move_rules.camp_weight=2"],
     "a border-crisis scenario's rules do not read settings.move_rules"),
    (["run", "--set", "optimisations.hasten=10"],
     "'optimisations.hasten': a border-crisis scenario simulates every person"),
    (["ensemble", "--replicas", "1", "--sweep", "crisis.speed_km_per_day=0,100"], "expected a number > 0"),
    (["run", "--days", "2", "--flee-out"],  # (was a KeyError traceback after the whole run)
     "--flee-out: " + str(Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023")
     + " is a border-crisis scenario"),
])
def test_options_that_would_do_nothing_on_a_crisis_scenario_exit_2(tmp_path: Path, args: list[str],
                                                                    expected: str) -> None:
    """Found by a planner's walkthrough: these ran and silently had no effect (or ran 240 days
    with no departures or policies past the scenario's end)."""
    crisis = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    r = runner.invoke(app, [args[0], str(crisis), *args[1:], "--out", str(tmp_path / "c")])
    assert r.exit_code == 2, r.output
    assert expected in " ".join(r.output.split()) and "Traceback" not in r.output
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("args", [["--set", "optimisations.hasten=1"], ["--hasten", "1"]])
def test_hasten_1_on_a_crisis_scenario_runs_from_set_as_from_hasten_and_the_file(tmp_path: Path,
                                                                                  args: list[str]) -> None:
    """`hasten = 1` in a crisis scenario.toml and `--hasten 1` ran, while `--set
    optimisations.hasten=1` was refused as a setting the crisis rules do not read: 1 is what runs,
    whichever way it is said."""
    crisis = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    r = runner.invoke(app, ["run", str(crisis), "--days", "2", *args, "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "c" / "manifest.json").read_text())["hasten"] == 1


def test_flee_out_of_crisis_results_is_refused_before_writing(tmp_path: Path) -> None:
    """The library refuses too, before a temporary folder is made: no out.csv without UNHCR data."""
    from corredor import load_scenario
    from corredor.outputs.runfolder import write_run_folder
    from corredor.simulate import simulate

    crisis = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    res = simulate(load_scenario(crisis, days=2), seed=0)
    with pytest.raises(ValueError, match="border-crisis"):
        write_run_folder(res, tmp_path / "c", flee_out=True)
    assert list(tmp_path.iterdir()) == []


def test_days_past_the_end_of_a_flee_case_exit_2(mali: Path, tmp_path: Path) -> None:
    r = runner.invoke(app, ["run", str(mali), "--days", "1000", "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and "--days 1,000 runs past the scenario's 300 days" in " ".join(r.output.split())


def test_compile_time_counts_nested_compiles_once() -> None:
    """A first run's seconds are mostly numba compiling (26 s of 27 for a 20-day crisis run):
    the manifest says how many, outermost compile events only."""
    from types import SimpleNamespace

    from corredor.simulate import compile_seconds

    def ev(start: bool) -> SimpleNamespace:
        return SimpleNamespace(is_start=start)

    # kernel A (0-10 s) compiles B inside it (2-5 s); then kernel C (20-21 s)
    events = [(0.0, ev(True)), (2.0, ev(True)), (5.0, ev(False)), (10.0, ev(False)),
              (20.0, ev(True)), (21.0, ev(False))]
    assert compile_seconds(events) == 11.0
    assert compile_seconds([]) == 0.0


def test_run_reports_its_compile_time(mali: Path, tmp_path: Path) -> None:
    r = runner.invoke(app, ["run", str(mali), "--days", "5", "--out", str(tmp_path / "m"), "--quiet"])
    assert r.exit_code == 0, r.output
    timing = json.loads((tmp_path / "m" / "manifest.json").read_text())["timing"]
    assert 0.0 <= timing["compile_s"] <= timing["wall_s"] + 1e-6


def test_version_flag_prints_the_installed_version():
    from corredor import __version__

    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip().startswith(f"corredor {__version__} (source ")
    import importlib.metadata

    assert __version__ == importlib.metadata.version("corredor")  # one version, pyproject's


def test_the_version_and_every_manifest_name_the_source_that_made_them(tmp_path: Path) -> None:
    """Found by an operations review: `--version` and every manifest said 0.1.0 for hundreds of
    commits, so a manifest could not tell which build made it. They now carry a digest of the
    package's source files (a change to any rule or template changes it) and, from a checkout,
    its git commit."""
    import hashlib

    import corredor.provenance as prov

    root = Path(prov.__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.suffix in (".py", ".html", ".css", ".js", ".toml")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    assert prov.source_digest() == h.hexdigest()[:16]
    r = runner.invoke(app, ["--version"])
    assert f"(source {h.hexdigest()[:16]}" in r.output
    block = prov.provenance()
    assert block["corredor_source"] == h.hexdigest()[:16]
    git = root.parents[1] / ".git"
    if (git / "HEAD").is_file():  # (a checkout: CI's clone; not an installed wheel)
        import subprocess

        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
        if head.returncode == 0:
            assert block["corredor_commit"] == head.stdout.strip()
            # (`+modified` where the checkout's corredor files differ from the commit)
            mark = "+modified" if block.get("corredor_commit_dirty") else ""
            assert f"commit {head.stdout.strip()[:12]}{mark})" in r.output
    else:
        assert "corredor_commit" not in block


def test_run_notes_the_warnings_that_only_validate_listed(tmp_path: Path) -> None:
    """Found by a first-time user: `corredor run` of a scenario with warnings (here an event dated
    outside the run) said nothing of them; only `validate` did. One line now says how many and
    where to read them; --quiet keeps it silent; a scenario without warnings gets no line."""
    import shutil

    from conftest import REPO

    folder = tmp_path / "s"
    shutil.copytree(REPO / "scenarios" / "chile-peru-2023", folder, ignore=shutil.ignore_patterns("variants", "*.py"))
    with (folder / "events.csv").open("a", encoding="utf-8") as f:
        f.write("flight,2022-01-01,,,arica_shelters,caracas,,5,,x\n")
    r = runner.invoke(app, ["run", str(folder), "--days", "3", "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    assert f"note: {folder} has 1 warning (corredor validate {folder} lists them)" in " ".join(r.output.split())
    r = runner.invoke(app, ["run", str(folder), "--days", "3", "--out", str(tmp_path / "q"), "--quiet"])
    assert r.exit_code == 0 and r.output == ""
    r = runner.invoke(app, ["run", str(REPO / "scenarios" / "chile-peru-2023"), "--days", "3",
                            "--out", str(tmp_path / "b")])
    assert r.exit_code == 0 and "note:" not in r.output


def test_a_crisis_run_prints_its_key_figures(tmp_path: Path) -> None:
    """`corredor run` of a crisis scenario ends with the run's key figures, the manifest's."""
    from conftest import REPO

    r = runner.invoke(app, ["run", str(REPO / "scenarios" / "chile-peru-2023"), "--days", "90",
                            "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    figures = json.loads((tmp_path / "r" / "manifest.json").read_text())["key_figures"]
    assert figures["peak_stranded"] > 0
    after = r.output.split("key figures of this run")[1].splitlines()[1:]
    rows = [" ".join(line.split()) for line in after if line.startswith("  ")]
    assert len(rows) == len(figures)  # one line a figure
    assert f"peak stranded {figures['peak_stranded']:,.0f} people" in rows
    # the run's page gives the same rows, figure for figure (counts as whole numbers on both)
    import html
    import re

    from corredor.outputs.report import build_report

    page = build_report(tmp_path / "r").read_text(encoding="utf-8")
    section = re.search(r'<section id="key">(.*?)</section>', page, re.S).group(1)
    shown = [" ".join(html.unescape(f"{k} {v}").split())
             for k, v in re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', section)]
    assert shown == rows
    # the vulnerable among the stranded (groups.csv marks 3 % of the people so), fewer than all
    assert 0 < figures["peak_stranded_vulnerable"] < figures["peak_stranded"]
    assert f"peak vulnerable people stranded {figures['peak_stranded_vulnerable']:,.0f} people" in rows
    assert 0 < figures["vulnerable_stranded_person_days"] < figures["stranded_person_days"]


@pytest.mark.parametrize(("engine", "hasten", "unit"), [
    ("agents", "1", "agent-steps"),
    ("cohorts", "1", "person-steps moved as counts"),
    ("cohorts", "2", "agent-steps moved as counts"),
])
def test_the_run_line_counts_steps_in_the_engines_unit(tmp_path: Path, engine: str, hasten: str,
                                                       unit: str) -> None:
    """The summary said "agent-steps" for the cohort engine too, which moves counts of people (of
    agents of h people at hasten h), no agents; the manifest's key stays timing.agent_steps."""
    from scenario_cases import write_mini_flee

    case = write_mini_flee(tmp_path / "case")
    out = tmp_path / "r"
    r = runner.invoke(app, ["run", str(case), "--engine", engine, "--hasten", hasten, "--threads",
                            "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    steps = json.loads((out / "manifest.json").read_text())["timing"]["agent_steps"]
    assert steps > 0
    line = " ".join(r.output.split())
    assert f", {steps:,} {unit} in " in line, line


def test_python_m_corredor_is_the_command(mali: Path, tmp_path: Path) -> None:
    """`python -m corredor` runs the same command line (it was "No module named corredor.__main__")."""
    import os
    import subprocess
    import sys

    from corredor import __version__

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    r = subprocess.run([sys.executable, "-m", "corredor", "--version"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0 and r.stdout.strip().startswith(f"corredor {__version__} (source "), r.stderr
    r = subprocess.run([sys.executable, "-m", "corredor", "validate", str(tmp_path / "none")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and "no such file or folder" in r.stderr and "Traceback" not in r.stderr


#: The `corredor` command started as the console script (ENTRY, `module:function` from
#: pyproject.toml) or as `python -m corredor`, that sends itself a stop signal when numpy is first
#: looked for: while the package or the command line is being imported, before any of its code runs.
STOP_WHILE_IMPORTING = """
import importlib, os, runpy, signal, sys
# (as a shell starts a foreground command: Ctrl-C not ignored. A test worker may have started
# this process with SIGINT ignored, which the command rightly keeps ignored, as under nohup;
# the INT cases then failed now and then under xdist, the command running to its end)
signal.signal(signal.SIGINT, signal.default_int_handler)
class StopOnNumpy:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            os.kill(os.getpid(), signal.SIG{name})
        return None
sys.meta_path.insert(0, StopOnNumpy())
sys.argv = ["corredor", "validate", "nowhere"]
if "{entry}" == "-m":
    runpy.run_module("corredor", run_name="__main__", alter_sys=True)
else:
    module, function = "{entry}".split(":")
    getattr(importlib.import_module(module), function)()
print("the command ran to its end")
"""


@pytest.mark.parametrize("name", ["INT", "TERM"])
@pytest.mark.parametrize("how", ["console script", "-m"])
def test_a_stop_signal_while_the_command_imports_is_one_line_not_a_traceback(name: str, how: str) -> None:
    """Ctrl-C in the command's first second (importing typer, numpy, xarray and the scenario
    readers) printed a KeyboardInterrupt traceback: the handling was installed only once
    corredor.cli had been imported. Now the entry point handles the signals before those imports:
    one line, the shell's status (130 for Ctrl-C), nothing run."""
    import os
    import signal
    import subprocess
    import sys
    import tomllib

    entry = "-m"
    if how == "console script":
        with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as f:
            entry = tomllib.load(f)["project"]["scripts"]["corredor"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    r = subprocess.run([sys.executable, "-c", STOP_WHILE_IMPORTING.format(name=name, entry=entry)],
                       capture_output=True, text=True, env=env, timeout=120)
    sig = getattr(signal, f"SIG{name}")
    assert r.returncode == 128 + sig, r.stderr
    assert r.stderr == f"error: interrupted (SIG{name}); no output was left half-written\n"
    assert r.stdout == ""


def test_importing_corredor_imports_nothing_heavy() -> None:
    """The command's entry point imports `corredor` before it can handle Ctrl-C: that import must
    stay quick (it imported numpy, xarray and pandas: most of a second), and the public names
    still work, `corredor.simulate` staying the function after its module is imported."""
    import os
    import subprocess
    import sys

    code = ("import sys, corredor\n"
            "print(sorted(m for m in ('numpy', 'xarray', 'typer', 'corredor.cli') if m in sys.modules))\n"
            "import corredor.simulate\n"
            "from corredor import Results, Scenario, ScenarioError, compile_plan, load_scenario\n"
            "print(callable(corredor.simulate), corredor.simulate.__module__)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["[]", "True corredor.simulate"]


def test_exit_stopped_says_which_signal_and_exits_with_the_shells_status(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The line and status of a stopped command: 128 + the signal; a KeyboardInterrupt that no
    handled signal raised (no handler yet, or the library's own) is Ctrl-C."""
    import signal

    from corredor import stopping

    monkeypatch.setattr(stopping, "_stopped_by", [])
    with pytest.raises(SystemExit) as stop:
        stopping.exit_stopped()
    assert stop.value.code == 130
    monkeypatch.setattr(stopping, "_stopped_by", [signal.SIGTERM])
    with pytest.raises(SystemExit) as stop:
        stopping.exit_stopped()
    assert stop.value.code == 143
    assert capsys.readouterr().err.splitlines() == [
        "error: interrupted (SIGINT); no output was left half-written",
        "error: interrupted (SIGTERM); no output was left half-written"]


def test_run_set_of_a_crisis_parameter_moves_the_closure_or_says_it_changes_nothing(tmp_path: Path) -> None:
    """`run --set crisis.peru_block=DATE` moves Peru's closure (the manifest keeps the date; what
    the date does to the run is tested with compare's sweep); on the no-peru-closure variant,
    whose policies are not written against it, it says that the value changes nothing, as
    compare and ensemble do."""
    import json

    from conftest import REPO

    folder = REPO / "scenarios" / "chile-peru-2023"
    r = runner.invoke(app, ["run", str(folder), "--days", "70", "--set", "crisis.peru_block=2023-04-06",
                            "--out", str(tmp_path / "early")])
    assert r.exit_code == 0 and "warning" not in r.output, r.output
    manifest = json.loads((tmp_path / "early" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["set"] == {"crisis.peru_block": "2023-04-06"}
    assert manifest["parameters"]["peru_block"] == "2023-04-06"
    r = runner.invoke(app, ["run", str(folder / "variants" / "no_peru_closure.toml"), "--days", "3",
                            "--set", "crisis.peru_block=2023-04-06", "--out", str(tmp_path / "nc")])
    assert r.exit_code == 0, r.output
    assert ("warning: no-peru-closure: no table is written against crisis.peru_block; any value given "
            "to it changes nothing") in " ".join(r.output.split()), r.output


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_terminal_that_is_not_utf8_gets_question_marks_not_a_traceback(
        encoding: str, tmp_path: Path) -> None:
    """Under a locale (or PYTHONIOENCODING) that is not UTF-8, the first en dash or box line a
    command printed ("5–95 %", info's table) was a UnicodeEncodeError traceback, exit 1; what
    the encoding lacks is now printed as `?`."""
    import os
    import subprocess
    import sys

    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    r = subprocess.run([sys.executable, "-m", "corredor", "info", str(scenario)],
                       capture_output=True, env={**os.environ, "PYTHONIOENCODING": encoding},
                       timeout=120)
    assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr.decode(encoding)
    assert b"chile-peru-2023" in r.stdout


def test_the_paths_a_command_says_it_wrote_are_never_folded(tmp_path: Path) -> None:
    """`wrote PATH` of ensemble, report (and calibrate, compare, main-job) was folded at the
    console's width — 80 columns in a log or a pipe, COLUMNS=5 gave `wrote` / `ro/re` / `port.`
    — so a path longer than the line was cut in two in the log a script reads it from."""
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    out = tmp_path / ("a-long-folder-name-" * 6) / "ensemble"
    r = runner.invoke(app, ["ensemble", str(scenario), "--days", "5", "-n", "1", "--executor",
                            "serial", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert f"wrote {out} (" in r.output
    r = runner.invoke(app, ["report", str(out)])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [f"wrote {out / 'report.html'}"]


def test_more_threads_than_the_machine_has_are_said_to_be_cut(tmp_path: Path) -> None:
    """Found by an operations review: `--threads 1000` ran on the machine's threads and said
    nothing (only the manifest's `threads` told). It now says so in one line on stderr, also
    under --quiet; a number the machine has says nothing."""
    import os

    chile = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    have = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    r = runner.invoke(app, ["run", str(chile), "--days", "3", "--threads", "1000", "-q", "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    ran = json.loads((tmp_path / "a" / "manifest.json").read_text())["threads"]
    assert ran <= have
    assert f"note: --threads 1000 is more than this machine's {ran}; ran on {ran}" in " ".join(r.output.split())
    r = runner.invoke(app, ["run", str(chile), "--days", "3", "--threads", "1", "-q", "--out", str(tmp_path / "b")])
    assert r.exit_code == 0 and "note:" not in r.output


def test_threads_with_the_cohort_engine_say_it_is_serial_not_the_machine(mali: Path, tmp_path: Path) -> None:
    """`--engine cohorts --threads 2` said "note: --threads 2 is more than this machine's 1; ran
    on 1" on a 2-core machine: the 1 is the serial cohort kernel's, not the machine's."""
    r = runner.invoke(app, ["run", str(mali), "--hasten", "10", "--days", "10", "--engine", "cohorts",
                            "--threads", "2", "-q", "--no-plots", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "note: --threads 2: the cohort engine runs on one thread" in said
    assert "this machine's" not in said


def test_no_csv_and_no_plots_write_only_what_the_report_and_a_reader_of_parquet_need(
        mali: Path, tmp_path: Path) -> None:
    """At scale the per-day CSVs and the figures are most of a run's writing time and memory:
    `--no-csv --no-plots` leaves them out; `corredor report` still builds the page."""
    full, lean = tmp_path / "full", tmp_path / "lean"
    args = ["run", str(mali), "--days", "20", "--seed", "2", "--engine", "agents", "--threads", "1", "-q"]
    assert runner.invoke(app, [*args, "--out", str(full), "--no-plots"]).exit_code == 0
    r = runner.invoke(app, [*args, "--out", str(lean), "--no-csv", "--no-plots"])
    assert r.exit_code == 0, r.output
    names = {p.name for p in lean.iterdir()}
    assert names == {"manifest.json", "results.parquet", "network.json", "locations.geojson",
                     "routes.geojson"}
    assert not any(p.suffix == ".png" for p in full.iterdir())
    assert {p.name for p in full.iterdir()} - names == {"population.csv", "populations.csv", "needs.csv"}
    assert (lean / "results.parquet").read_bytes() == (full / "results.parquet").read_bytes()
    r = runner.invoke(app, ["report", str(lean)])
    assert r.exit_code == 0, r.output
    assert (lean / "report.html").is_file()
