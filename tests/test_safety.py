"""Inputs are data: YAML is safe-loaded, nothing is evaluated, names cannot steer where files go,
and absurd sizes are refused with a clear message before any memory is allocated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corredor.cli import app, safe_name
from corredor.scenario import ScenarioError, load_scenario
from scenario_cases import MINI, write_mini_flee

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "corredor"
CHILE_PERU = REPO / "scenarios" / "chile-peru-2023"
runner = CliRunner()


def cli(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


# ---- YAML and code ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:subprocess.check_output [['touch', '{marker}']]",
        "!!python/name:os.system",
    ],
)
def test_python_tags_in_yaml_are_problems_not_code(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "pwned"
    yml = MINI["simsetting.yml"].replace(
        "  max_move_speed: 200.0", "  max_move_speed: " + payload.format(marker=marker)
    )
    folder = write_mini_flee(tmp_path / "case", {"simsetting.yml": yml})
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    (problem,) = info.value.problems
    assert problem.path == "simsetting.yml"
    assert (problem.line, problem.column) == (4, 19)  # where the tag is
    assert "bad YAML" in problem.message
    result = cli("validate", str(folder))
    assert result.exit_code == 2
    assert "simsetting.yml:4:19: bad YAML" in result.output
    assert not marker.exists(), "a YAML tag ran code"


def test_no_code_evaluation_or_unsafe_deserialisation_in_the_package() -> None:
    """eval/exec, pickle and unsafe YAML loaders never appear in corredor's own code."""
    banned = re.compile(
        r"\beval\(|\bexec\(|\bpickle\b|yaml\.load\(|yaml\.unsafe_load|yaml\.full_load|"
        r"Loader=yaml\.(Full|Unsafe)?Loader\b|allow_pickle=True|\bmarshal\b|__import__\("
    )
    # executors.py pickles objects built in this run to hand them to its own worker processes
    # (what multiprocessing does anyway); it never unpickles anything read from a file
    allowed = {SRC / "analysis" / "executors.py": re.compile(r"\bpickle\b")}
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if path in allowed:
                code = allowed[path].sub("", code)
            if banned.search(code):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []
    assert banned.search("data = yaml.load(text)") and banned.search("eval(expr)")


# ---- names and paths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("../../x", "x"), ("a/b", "a-b"), ("..", "scenario"), (".hidden", "hidden"),
     ("/etc/passwd", "etc-passwd"), ("chile-peru-2023", "chile-peru-2023"), ("x/../../y", "x-----y")],
)
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected
    assert "/" not in safe_name(name) and not safe_name(name).startswith(".")


def test_scenario_name_cannot_write_outside_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A native scenario named '../../escape' run without --out lands in runs/escape."""
    from corredor.scenario.convert import write_native

    native = tmp_path / "native"
    write_native(load_scenario(write_mini_flee(tmp_path / "mini")), native)
    toml = (native / "scenario.toml").read_text(encoding="utf-8")
    toml = re.sub(r'(?m)^name = ".*"$', 'name = "../../escape"', toml)
    (native / "scenario.toml").write_text(toml, encoding="utf-8")
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    result = cli("run", str(native), "--engine", "cohorts", "-q")
    assert result.exit_code == 0, result.output
    assert (work / "runs" / "escape" / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "mini", "native"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["work"]


def test_location_names_cannot_write_outside_the_run_folder(tmp_path: Path) -> None:
    """Places named like paths: every file written stays inside the run folder."""
    nasty = {"A": "../../x", "B": "/etc/owned", "D": "..\\..\\camp", "E": "名前/../y"}
    files = dict(MINI)
    for key in ("input_csv/locations.csv", "input_csv/routes.csv", "input_csv/closures.csv",
                "input_csv/conflicts.csv", "input_csv/registration_corrections.csv",
                "source_data/data_layout.csv"):
        text = files[key]
        for old, new in nasty.items():
            text = re.sub(rf"(?m)(^|,){old}(?=,|$)", lambda m, new=new: f"{m.group(1)}{new}", text)
        files[key] = text
    case = write_mini_flee(tmp_path / "case", files)
    names = [loc.name for loc in load_scenario(case).locations]
    assert set(nasty.values()) <= set(names)
    out = tmp_path / "out" / "run"
    result = cli("run", str(case), "--engine", "cohorts", "--out", str(out), "--flee-out", "-q")
    assert result.exit_code == 0, result.output
    inside = out.resolve()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(tmp_path / "case")]
    assert written and all(p.resolve().is_relative_to(inside) for p in written), written
    assert sorted(p.parent for p in written) == [out] * len(written)  # no sub-folders either
    assert not (tmp_path / "x").exists() and not Path("/etc/owned").exists()
    populations = (out / "populations.csv").read_text(encoding="utf-8")
    assert "../../x" in populations  # the name is kept as data


# ---- absurd sizes -----------------------------------------------------------------------------


def _run_refused(folder: Path, *extra: str) -> str:
    result = cli("run", str(folder), "--out", str(folder.parent / "out"), *extra)
    assert result.exit_code == 2, result.output
    assert not (folder.parent / "out").exists()
    return result.output


def test_a_trillion_refugees_are_refused(tmp_path: Path) -> None:
    refugees = "Date,Refugee_numbers\n2020-01-01,0\n2020-01-06,1000000000000\n2020-01-11,1000000000000\n"
    case = write_mini_flee(tmp_path / "case", {"source_data/refugees.csv": refugees})
    out = _run_refused(case, "--engine", "agents")
    assert "source_data/refugees.csv:3:2: the observations create 1,000,000,000,000 people" in out
    assert "more than live on Earth" in out


def test_a_trillion_refugees_are_refused_in_the_file_data_layout_names(tmp_path: Path) -> None:
    # the total series read from arrivals.csv (data_layout.csv's total row): the message names
    # that file, at its largest row's count (it named source_data/refugees.csv, which is not there)
    arrivals = "Date,Refugee_numbers\n2020-01-01,0\n2020-01-06,1000000000000\n2020-01-11,1\n"
    case = write_mini_flee(tmp_path / "case", {
        "source_data/arrivals.csv": arrivals,
        "source_data/data_layout.csv": "total,arrivals.csv\nD,d.csv\nE,e.csv\n"})
    (case / "source_data" / "refugees.csv").unlink()
    out = _run_refused(case, "--engine", "agents")
    assert "source_data/arrivals.csv:3:2: the observations create" in out


def test_a_trillion_residents_are_refused(tmp_path: Path) -> None:
    locations = MINI["input_csv/locations.csv"].replace(",0,1000\n", ",0,1000000000000\n")
    case = write_mini_flee(tmp_path / "case", {"input_csv/locations.csv": locations})
    out = _run_refused(case)
    assert "input_csv/locations.csv:2:8: the places hold 1,000,000,000,800 people" in out


def test_too_many_agents_for_the_engine_names_the_hasten_that_fits(tmp_path: Path) -> None:
    refugees = "Date,Refugee_numbers\n2020-01-01,0\n2020-01-06,5000000000\n2020-01-11,5000000000\n"
    case = write_mini_flee(tmp_path / "case", {"source_data/refugees.csv": refugees})
    out = _run_refused(case, "--engine", "agents")
    assert "the run needs 5,000,000,000 agents" in out
    assert re.search(r"use --hasten \d+ or more", out)


@pytest.mark.parametrize("how", ["option", "file"])
def test_a_billion_days_are_refused(tmp_path: Path, how: str) -> None:
    files = {}
    if how == "file":
        files = {"input_csv/sim_period.csv": "StartDate,2020-01-01\nLength,1000000000\n"}
    case = write_mini_flee(tmp_path / "case", files)
    if how == "file":
        (case / "input_csv" / "conflicts.csv").unlink()
    out = _run_refused(case, *(["--days", "1000000000"] if how == "option" else []))
    if how == "option":  # --days only shortens a run
        assert "--days 1,000,000,000 runs past the scenario's 10 days" in out
    else:
        assert "input_csv/sim_period.csv:2:2: the run lasts 1,000,000,000 days, more than the 36,525 (100 years)" in out


SETTINGS = MINI["simsetting.yml"]


@pytest.mark.parametrize("files, expected", [
    ({"simsetting.yml": SETTINGS.replace("  awareness_level: 1\n", "  awareness_level: 1\n  fixed_routes: True\n")},
     "simsetting.yml:6:3: move_rules.fixed_routes is not implemented in corredor; switch it off"),
    ({"simsetting.yml": SETTINGS.replace("hasten: 1", "hasten: 5000")},
     "simsetting.yml:7:3: at hasten 5,000 nobody is simulated"),
])
def test_settings_the_rules_refuse_point_at_their_key(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    """Found by an error audit: these were reported at `simsetting.yml:` with no line or column."""
    out = _run_refused(write_mini_flee(tmp_path / "case", files))
    assert any(line.startswith(expected) for line in out.splitlines()), out


def test_numbers_beyond_int64_are_located_problems(tmp_path: Path) -> None:
    d_csv = "2020-01-01,0\n2020-01-06,1" + "0" * 30 + "\n"
    case = write_mini_flee(tmp_path / "case", {"source_data/d.csv": d_csv})
    result = cli("validate", str(case))
    assert result.exit_code == 2
    assert "source_data/d.csv:2:2: bad count (expected a whole number between -10^15 and 10^15" in result.output


def test_crisis_departures_of_a_trillion_a_day_are_refused(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "crisis"
    shutil.copytree(CHILE_PERU, folder, ignore=shutil.ignore_patterns("variants", "*.py"))
    dep = folder / "departures.csv"
    dep.write_text(dep.read_text(encoding="utf-8").replace(",287.7,", ",1000000000000,"),
                   encoding="utf-8")
    out = _run_refused(folder)
    assert "more than the 10,000,000,000 corredor accepts" in out


# ---- --force never replaces the current folder or a scenario being read ----------------------


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("args", [
    ("run", "case", "--days", "2", "--out", ".", "--force"),
    ("run", "case", "--days", "2", "--out", "", "--force"),
    ("run", "case", "--days", "2", "--out", "case", "--force"),
    ("run", "case", "--days", "2", "--out", "case/input_csv", "--force"),
    ("convert", "case", "case", "--force"),
    ("convert", "case", "..", "--force"),
    ("ensemble", "case", "--days", "2", "--replicas", "1", "--out", "case", "--force"),
])
def test_force_refuses_targets_that_hold_the_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     args: tuple[str, ...]) -> None:
    """Found by fuzzing: `--out . --force` crashed on a folder with no name, and `convert case
    case --force` or `run case --out case --force` replaced the scenario it had just read."""
    work = tmp_path / "work"
    write_mini_flee(work / "case")
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert "choose another output folder" in r.output
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("args", [
    ("run", "case", "--days", "2", "--out", "case/runs"),
    ("run", "case", "--days", "2", "--out", "case"),
    ("run", "crisis/variants/bribe_0.toml", "--days", "2", "--out", "crisis/variants/r"),
    ("ensemble", "case", "--days", "2", "--replicas", "1", "--out", "case/ens"),
    ("calibrate", "case", "--days", "2", "--trials", "1", "--replicas", "1", "--params", "p.toml",
     "--out", "case/input_csv/cal"),
    ("convert", "case", "case/native"),
    ("compare", "crisis", "--seeds", "1", "--out", "crisis"),
    ("compare", "crisis", "crisis/variants/bribe_0.toml", "--seeds", "1", "--out", "crisis/variants"),
    ("main-job", "--seeds", "1", "--out", str(CHILE_PERU / "runs")),
])
def test_an_output_in_the_scenario_folder_is_refused_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    """`--out scenarios/chile-peru-2023` (a typo for runs/...) wrote compare's comparison files
    among the scenario's inputs, and a run, ensemble, calibration or conversion folder under it,
    when the folder did not exist yet; `run --out case` said "use --force", which then refused.
    Now each is refused at once, exit 2, naming the scenario, nothing written."""
    import importlib
    import shutil

    def no_work(*a, **k):
        raise AssertionError("the work started although the output is in the scenario")

    for module, name in (("corredor.simulate", "simulate"), ("corredor.analysis.compare", "compare"),
                         ("corredor.mainjob", "run_main_job")):
        monkeypatch.setattr(importlib.import_module(module), name, no_work)
    work = tmp_path / "work"
    write_mini_flee(work / "case")
    shutil.copytree(CHILE_PERU, work / "crisis")
    (work / "p.toml").write_text("[params.move_rules.camp_weight]\nlow = 1\nhigh = 2\n")
    monkeypatch.chdir(work)
    before, repo_before = _tree(tmp_path), _tree(CHILE_PERU)
    r = cli(*args)
    assert r.exit_code == 2, r.output
    said = " ".join(r.output.split())
    assert re.search(r"is (inside )?the scenario folder \S+: results would be written among its "
                     r"input files; choose another output folder, outside it", said), said
    assert _tree(tmp_path) == before and _tree(CHILE_PERU) == repo_before


def test_only_a_folder_inside_a_scenario_is_refused_not_one_beside_or_above_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `check_outside_scenarios` refuses: the scenario folder and anything under it, also
    by a relative path or through a link; a sibling whose name starts alike and a folder above
    it (compare adds its files to `--out .`; replacing one is check_replaceable's refusal) pass."""
    from corredor.targets import UnsafeTarget, check_outside_scenarios

    scenario = tmp_path / "study" / "case"
    scenario.mkdir(parents=True)
    (tmp_path / "link").symlink_to(scenario)
    for out in (scenario, scenario / "runs" / "a", tmp_path / "link" / "runs"):
        with pytest.raises(UnsafeTarget, match="scenario folder"):
            check_outside_scenarios(out, [scenario])
    monkeypatch.chdir(scenario)  # (`corredor run .`: its default runs/<name> is inside it too)
    with pytest.raises(UnsafeTarget, match="is inside the scenario folder"):
        check_outside_scenarios(Path("runs") / "case", ["."])
    for out in (tmp_path / "study" / "case-runs", tmp_path / "study", tmp_path):
        check_outside_scenarios(out, [scenario, None, tmp_path / "no-such-folder"])


def test_the_library_refuses_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from corredor.outputs.runfolder import write_run_folder
    from corredor.simulate import simulate
    from corredor.targets import UnsafeTarget

    case = write_mini_flee(tmp_path / "case")
    res = simulate(load_scenario(case, days=2), seed=1)
    with pytest.raises(UnsafeTarget):
        write_run_folder(res, case / "input_csv", force=True)
    monkeypatch.chdir(case)
    with pytest.raises(UnsafeTarget):
        write_run_folder(res, ".", force=True)
    assert (case / "input_csv" / "locations.csv").is_file()
    out = write_run_folder(res, tmp_path / "runs" / "r")  # elsewhere: fine, twice with --force
    write_run_folder(res, out, force=True)
    assert (out / "manifest.json").is_file()


def test_the_library_writers_refuse_an_output_inside_the_scenario_they_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the command line refused `--out scenarios/x/runs`: a script calling the writers
    (run folder, ensemble, calibration, conversion) wrote its results among the scenario's inputs.
    Each refuses now, `force` or not, before writing anything; the scenario folder itself too
    (without `force` it said "exists; use --force", which then refused)."""
    from types import SimpleNamespace

    from corredor.analysis.calibrate import write_calibration
    from corredor.analysis.ensemble import run_ensemble, write_ensemble
    from corredor.outputs.runfolder import write_run_folder
    from corredor.scenario.convert import write_native
    from corredor.simulate import simulate
    from corredor.targets import UnsafeTarget

    case = write_mini_flee(tmp_path / "case")
    scenario = load_scenario(case, days=2)
    res = simulate(scenario, seed=1)
    ens = run_ensemble(scenario, 1, seed=1)
    cal = SimpleNamespace(manifest={"scenarios": [{"source": str(case)}]})  # (refused before use)
    writers = {
        "run": lambda out, force: write_run_folder(res, out, force=force),
        "ensemble": lambda out, force: write_ensemble(ens, out, force=force, plot=False),
        "calibration": lambda out, force: write_calibration(cal, out, force=force),
        "convert": lambda out, force: write_native(scenario, out, force=force),
    }
    before = _tree(tmp_path)
    for name, write in writers.items():
        for out in (case, case / "runs" / name, case / "input_csv", case / "input_csv" / name):
            for force in (False, True):
                with pytest.raises(UnsafeTarget, match=r"is (inside )?the scenario folder .*: "
                                                       "results would be written among its input files"):
                    write(out, force)
    monkeypatch.chdir(case)  # (a relative path: `runs/<name>` under the scenario it runs)
    for name, write in writers.items():
        with pytest.raises(UnsafeTarget, match="is inside the scenario folder"):
            write(Path("runs") / name, False)
    assert _tree(tmp_path) == before
    monkeypatch.chdir(tmp_path)  # beside the scenario: written as before
    for name, write in writers.items():
        if name != "calibration":  # (a stand-in, refused before it was read)
            write(Path("runs") / name, False)
    for name, marker in (("run", "manifest.json"), ("ensemble", "manifest.json"),
                         ("convert", "scenario.toml")):
        assert (tmp_path / "runs" / name / marker).is_file()


def test_the_comparison_writer_refuses_inside_a_compared_scenario_not_above_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`write_comparison` adds its files to a folder, so a folder above the scenario (`.`) is
    fine, as for `compare --out .`; the scenario's folder and any inside it are refused, as
    the command refuses them, with nothing written. `compare` records the folders it read."""
    import shutil

    from corredor.analysis.compare import COMPARISON_FILES, compare, write_comparison
    from corredor.targets import UnsafeTarget

    crisis = tmp_path / "crisis"
    shutil.copytree(CHILE_PERU, crisis)
    comp = compare({"baseline": load_scenario(crisis, days=5)}, seeds=1)
    assert comp.sources == [str(crisis)]
    before = _tree(tmp_path)
    for out in (crisis, crisis / "variants", crisis / "runs"):
        with pytest.raises(UnsafeTarget, match="scenario folder"):
            write_comparison(comp, out)
    assert _tree(tmp_path) == before
    monkeypatch.chdir(tmp_path)
    written = write_comparison(comp, ".")
    assert sorted(p.name for p in written) == sorted([*COMPARISON_FILES, "comparison.html", "comparison.png"])


def test_the_main_job_refuses_an_output_inside_its_scenario_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run_main_job(out_dir)` as `corredor main-job --out`: an `out_dir` that is the scenario's
    folder or lies inside it is refused before the runs, `force` or not, nothing written."""
    import shutil

    import corredor.analysis.compare as compare_module
    from corredor.mainjob import run_main_job
    from corredor.targets import UnsafeTarget

    def no_work(*a, **k):
        raise AssertionError("the work started although the output is in the scenario")

    monkeypatch.setattr(compare_module, "compare", no_work)
    crisis = tmp_path / "crisis"
    shutil.copytree(CHILE_PERU, crisis)
    before = _tree(tmp_path)
    for out in (crisis, crisis / "runs", crisis / "variants"):
        for force in (False, True):
            with pytest.raises(UnsafeTarget, match="scenario folder"):
                run_main_job(out, seeds=1, force=force, scenario_dir=crisis, say=lambda m: None)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("command", [
    ("run", "case", "--days", "2"),
    ("ensemble", "case", "--days", "2", "--replicas", "1"),
    ("convert", "case"),
])
@pytest.mark.parametrize("target", ["file", "folder of notes"])
def test_force_replaces_only_what_corredor_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 command: tuple[str, ...], target: str) -> None:
    """Found by an output audit: `--out precious --force` deleted a folder of notes, and a plain
    file was swapped for a folder. A file, or a folder holding none of corredor's markers, is
    refused before any work and left as it was."""
    work = tmp_path / "work"
    write_mini_flee(work / "case")
    out = work / "precious"
    if target == "file":
        out.write_text("keep")
    else:
        (out / "sub").mkdir(parents=True)
        (out / "sub" / "notes.txt").write_text("keep")
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    args = (*command, "precious", "--force") if command[0] == "convert" else (
        *command, "--out", "precious", "--force")
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert ("is a file" if target == "file" else "corredor did not write") in r.output
    assert _tree(tmp_path) == before


def test_force_still_replaces_corredor_folders_and_empty_ones(tmp_path: Path) -> None:
    from corredor.targets import UnsafeTarget, check_replaceable

    written = {  # what corredor's commands write, and look-alikes it did not write
        "run": ("manifest.json", '{"engine": "agents", "seed": 1, "version": "0.1.0", "days": 3}'),
        "ensemble": ("manifest.json", '{"kind": "ensemble", "replicas": 3}'),
        "calibration": ("manifest.json", '{"kind": "calibration"}'),
        "compare": ("comparison.json", '{"seeds": [1], "summary": [], "per_seed": {}}'),
    }
    others = {
        "web app": ("manifest.json", '{"name": "my app", "version": "1.0"}'),
        "hand-written scenario": ("scenario.toml", "[scenario]\nname = \"mine\"\n"),
        "broken": ("comparison.json", "{"),
        "yaml": ("manifest.yaml", ""),
    }
    for name, (marker, text) in {**written, **others}.items():
        folder = tmp_path / name
        (folder / "bands").mkdir(parents=True)
        (folder / marker).write_text(text)
        if name in written:
            check_replaceable(folder)  # passes
        else:
            with pytest.raises(UnsafeTarget, match="corredor did not write"):
                check_replaceable(folder)
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty")
    from corredor.scenario.convert import write_native  # (an unedited conversion: the next test)

    check_replaceable(write_native(load_scenario(write_mini_flee(tmp_path / "m")), tmp_path / "c"))


def _converted(tmp_path: Path) -> tuple[Path, Path]:
    """A mini Flee case and its conversion, as `corredor convert` writes it."""
    case = write_mini_flee(tmp_path / "case")
    r = cli("convert", str(case), str(tmp_path / "mine"))
    assert r.exit_code == 0, r.output
    return case, tmp_path / "mine"


#: How a researcher makes a converted scenario theirs, and the reason the refusal gives.
EDITS = {
    "notes added": (lambda f: (f / "NOTES.md").write_text("my notes"),
                    "it holds NOTES.md, which convert did not write"),
    "a table added": (lambda f: (f / "observations_2024.csv").write_bytes(
        (f / "observations.csv").read_bytes()), "it holds observations_2024.csv, which"),
    "a folder added": (lambda f: (f / "variants").mkdir(), "it holds variants, which"),
    "a table edited": (lambda f: (f / "routes.csv").write_text(
        (f / "routes.csv").read_text().replace("A,B,100", "A,B,120")), "its files were changed"),
    "scenario.toml edited": (lambda f: (f / "scenario.toml").write_text(
        (f / "scenario.toml").read_text().replace("days = 10", "days = 9")), "its files were changed"),
    "a table removed": (lambda f: (f / "closures.csv").unlink(), "its files were changed"),
    "an earlier corredor's conversion": (lambda f: (f / "scenario.toml").write_text(
        "# written by corredor convert\n" + (f / "scenario.toml").read_text().split("\n", 1)[1]),
        "its scenario.toml records no digest of what convert wrote"),
}


@pytest.mark.parametrize("edit_kind", EDITS)
@pytest.mark.parametrize("command", ["convert", "run", "ensemble"])
def test_force_refuses_a_converted_scenario_once_edited_or_added_to(
        tmp_path: Path, edit_kind: str, command: str) -> None:
    """Found by an acceptance pass: a scenario convert wrote counted as corredor's whatever it
    held, so `run --out my-mali --force` (or convert, ensemble) deleted the converted scenario a
    researcher had gone on to edit, their notes and extra tables with it. A converted folder is
    where one starts editing: once edited or added to it is theirs, refused like a folder of
    notes (exit 2 before any work, saying why and what to do) and left as it was."""
    case, mine = _converted(tmp_path)
    change, why = EDITS[edit_kind]
    change(mine)
    before = {p.relative_to(mine).as_posix(): p.read_bytes() if p.is_file() else None
              for p in mine.rglob("*")}
    args = {"convert": ("convert", str(case), str(mine), "--force"),
            "run": ("run", str(case), "--days", "2", "--out", str(mine), "--force"),
            "ensemble": ("ensemble", str(case), "--days", "2", "--replicas", "1", "--out", str(mine),
                         "--force")}[command]
    r = cli(*args)
    assert r.exit_code == 2, r.output
    said = " ".join(r.output.split())
    assert f"{mine} is a scenario corredor convert wrote, but {why}" in said
    assert "remove it yourself or choose another output folder" in said
    after = {p.relative_to(mine).as_posix(): p.read_bytes() if p.is_file() else None
             for p in mine.rglob("*")}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case", "mine"]  # no temporary left


def test_the_conversion_writer_refuses_an_edited_conversion_too(tmp_path: Path) -> None:
    """`write_native(force=True)`, as the command: an edited conversion raises UnsafeTarget."""
    from corredor.scenario.convert import write_native
    from corredor.targets import UnsafeTarget

    case, mine = _converted(tmp_path)
    (mine / "NOTES.md").write_text("my notes")
    with pytest.raises(UnsafeTarget, match="it holds NOTES.md, which convert did not write"):
        write_native(load_scenario(case), mine, force=True)
    assert (mine / "NOTES.md").read_text() == "my notes"


def test_force_replaces_any_of_corredors_outputs_whatever_the_command(tmp_path: Path) -> None:
    """Every writer's `--force` replaces any folder corredor wrote and nobody changed since, not
    only one of its own kind (docs/reliability.md §5): an unedited conversion by a run, a run
    folder by a conversion (its report.html with it). Left as it was: anything edited."""
    case, mine = _converted(tmp_path)
    r = cli("convert", str(case), str(mine), "--force")  # again, unedited: replaced
    assert r.exit_code == 0, r.output
    r = cli("run", str(case), "--days", "2", "--out", str(mine), "--force", "--quiet")
    assert r.exit_code == 0, r.output
    assert (mine / "manifest.json").is_file() and not (mine / "scenario.toml").exists()
    r = cli("convert", str(case), str(mine), "--force")
    assert r.exit_code == 0, r.output
    assert (mine / "scenario.toml").is_file() and not (mine / "manifest.json").exists()


def test_force_never_replaces_a_hand_written_scenario(tmp_path: Path) -> None:
    """Found by review: any folder with a scenario.toml counted as corredor's, so
    `run mali --out scenarios/chile-peru-2023 --force` would have replaced the curated scenario."""
    import shutil

    scenario = tmp_path / "cp"
    shutil.copytree(CHILE_PERU, scenario, ignore=shutil.ignore_patterns("variants", "*.py"))
    case = write_mini_flee(tmp_path / "case")
    before = _tree(scenario)
    r = cli("run", str(case), "--days", "2", "--out", str(scenario), "--force")
    assert r.exit_code == 2 and "corredor did not write" in r.output
    assert _tree(scenario) == before


def test_force_replaces_a_link_to_a_run_folder_again_and_again(tmp_path: Path) -> None:
    """Found by review: replacing an --out that is a link renamed the link aside and left it, and
    the next --force died removing it (after all the work)."""
    from corredor.outputs.runfolder import write_run_folder
    from corredor.simulate import simulate

    case = write_mini_flee(tmp_path / "case")
    res = simulate(load_scenario(case, days=2), seed=1)
    real = write_run_folder(res, tmp_path / "real")
    (tmp_path / "link").symlink_to(real)
    for _ in range(2):
        out = write_run_folder(res, tmp_path / "link", force=True)
        assert (out / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case", "link", "real"]
    assert (real / "manifest.json").is_file()  # what the link pointed to is not deleted


@pytest.mark.parametrize("files, expected", [
    ({"input_csv/sim_period.csv": "StartDate,2020-01-01\nLength,1000000000\n"},
     "the run lasts 1,000,000,000 days"),
    ({"source_data/refugees.csv": "Date,Refugee_numbers\n2020-01-01,0\n2020-01-06,1000000000000\n"},
     "the observations create 1,000,000,000,000 people"),
    ({"simsetting.yml": MINI["simsetting.yml"].replace("hasten: 1", "hasten: 100000")},
     "at hasten 100,000 nobody is simulated"),
])
def test_validate_reports_what_a_run_would_refuse(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    """Found by fuzzing: these passed `validate` and were refused only by `run`."""
    case = write_mini_flee(tmp_path / "case", files)
    if "input_csv/sim_period.csv" in files:
        (case / "input_csv" / "conflicts.csv").unlink()
    result = cli("validate", str(case))
    assert result.exit_code == 2, result.output
    assert expected in result.output


def test_seeds_beyond_64_bits_are_refused(tmp_path: Path) -> None:
    """2^64 drew the same numbers as seed 0 (seeds are 64-bit words), under another name."""
    case = write_mini_flee(tmp_path / "case")
    out = _run_refused(case, "--seed", str(2**64))
    assert "--seed" in out and str(2**64 - 1) in out
    assert cli("run", str(case), "--seed", str(2**64 - 1), "--out", str(tmp_path / "ok")).exit_code == 0


# ---- an output that cannot be written is refused before the work -----------------------------


#: Every command that writes an output folder, as each is called in a mini work folder (`p.toml`
#: the calibration's parameters); `--out` (or convert's target) is added by each test.
OUTPUT_COMMANDS: list[tuple[str, ...]] = [
    ("run", "case", "--days", "2"),
    ("ensemble", "case", "--days", "2", "--replicas", "1"),
    ("calibrate", "case", "--days", "2", "--trials", "1", "--replicas", "1", "--params", "p.toml"),
    ("main-job", "--seeds", "1"),
    ("compare", str(CHILE_PERU), "--seeds", "1"),
    ("convert", "case"),
]


def _work_with_a_file_and_no_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A work folder (the current one) for OUTPUT_COMMANDS, with a file `afile` in it, where any
    simulation or comparison fails the test: an output refused must be refused before the work."""
    import importlib

    # (`corredor.simulate` the attribute is the function; the module is what the commands import)
    simulate_module = importlib.import_module("corredor.simulate")
    compare_module = importlib.import_module("corredor.analysis.compare")

    def no_work(*a, **k):
        raise AssertionError("the work started although the output cannot be written")

    monkeypatch.setattr(simulate_module, "simulate", no_work)
    monkeypatch.setattr(compare_module, "compare", no_work)
    work = tmp_path / "work"
    write_mini_flee(work / "case")
    (work / "p.toml").write_text("[params.move_rules.camp_weight]\nlow = 1\nhigh = 2\n")
    (work / "afile").write_text("keep")
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize("command", [
    *OUTPUT_COMMANDS, ("run", "case", "--days", "4", "--checkpoint-every", "2")])
def test_an_output_under_a_file_is_refused_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]) -> None:
    """Found by an error audit: `--out afile/sub` ran every replica (or trial, or seed) and then
    died in a FileExistsError traceback. Refused at once now, exit 2, nothing written."""
    _work_with_a_file_and_no_work(tmp_path, monkeypatch)
    before = _tree(tmp_path)
    args = (*command, "afile/sub") if command[0] == "convert" else (*command, "--out", "afile/sub")
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert "afile is a file, not a folder" in r.output
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
def test_a_file_as_out_is_said_to_be_a_file_with_or_without_force(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]) -> None:
    """Found by a user's acceptance pass: `run --out FILE` said "exists; use --force to replace
    it", and with --force "is a file, not an output folder": the way out it suggested was
    refused. Every command now says at once, with or without --force, that a file stands where a
    folder is expected (one check, `targets.check_folder_or_new`), and never suggests --force."""
    _work_with_a_file_and_no_work(tmp_path, monkeypatch)
    before = _tree(tmp_path)
    args = (*command, "afile") if command[0] == "convert" else (*command, "--out", "afile")
    for force in ((), ("--force",)):
        r = cli(*args, *force)
        assert r.exit_code == 2, r.output
        said = " ".join(r.output.split())
        assert ("afile is a file, not an output folder (expected a folder, or a name that does not "
                "exist yet)") in said, (force, said)
        assert "--force" not in said, (force, said)
    assert _tree(tmp_path) == before


def test_a_link_to_nowhere_or_in_a_loop_as_out_is_named_as_such(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by review: `--out dangling` (a link to nowhere) and `--out loop` (a link to itself)
    were refused as "is a file", where `ls` showed no file; the message now says what they are."""
    work = tmp_path / "work"
    write_mini_flee(work / "case")
    (work / "dangling").symlink_to("nowhere")
    (work / "loop").symlink_to("loop")
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    for out, said in [("dangling", "dangling is a link to 'nowhere' (which does not exist), not an "
                                   "output folder"),
                      ("loop", "loop is a link in a loop, not an output folder"),
                      ("dangling/sub", "dangling is a link to 'nowhere' (which does not exist), "
                                       "not a folder: dangling/sub cannot be written under it")]:
        r = cli("run", "case", "--out", out)
        assert r.exit_code == 2, r.output
        assert said in " ".join(r.output.split()), r.output
    assert _tree(tmp_path) == before


def test_an_output_name_that_is_not_utf8_is_refused_before_the_run(tmp_path: Path) -> None:
    """Found by an error audit: a name with an undecodable byte ran, then died writing Parquet."""
    case = write_mini_flee(tmp_path / "case")
    r = cli("run", str(case), "--days", "2", "--out", str(tmp_path / "out\udcfe"))
    assert r.exit_code == 2 and "not valid UTF-8" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]


@pytest.mark.parametrize("args", [
    ("ensemble", "case", "--replicas", "1000000001"),
    ("compare", str(CHILE_PERU), "--seeds", "1000000001"),
    ("calibrate", "case", "--params", "p.toml", "--trials", "1000000001"),
    ("main-job", "--seeds", "1000000001"),
])
def test_a_billion_replicas_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        args: tuple[str, ...]) -> None:
    """Found by an error audit: `--replicas 1000000000` grew by 25-50 MB/s spawning every seed."""
    write_mini_flee(tmp_path / "case")
    monkeypatch.chdir(tmp_path)
    r = cli(*args)
    said = re.sub(r"[\s│╭╮╰╯─]+", " ", r.output)  # (typer's box, wrapped)
    assert r.exit_code == 2 and "less than or equal to 1000000" in said, r.output


def test_a_file_system_error_is_a_message_not_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    """The last line of defence in `main`: a disk that fills during any command."""
    import corredor.cli as cli_module

    def full(*a, **k):
        raise OSError(28, "No space left on device", "runs/x/results.parquet")

    monkeypatch.setattr(cli_module, "app", full)
    with pytest.raises(SystemExit) as exit_:
        cli_module.main()
    assert exit_.value.code == 4  # (the environment's, not the input's: a retry may succeed)
    assert capsys.readouterr().err == "error: runs/x/results.parquet: No space left on device\n"


def test_convert_writes_a_folder_with_the_usual_mode(tmp_path: Path) -> None:
    """Found by an error audit: converted scenarios were 0700 (mkdtemp's mode), run folders 0755."""
    import os

    case = write_mini_flee(tmp_path / "case")
    assert cli("convert", str(case), str(tmp_path / "native")).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "native").stat().st_mode & 0o777 == 0o777 & ~umask

# ---- files that cannot be read -----------------------------------------------------------------

# ---- structures that would exhaust the stack or the memory -----------------------------------


def _yaml_bomb(levels: int) -> str:
    """'Billion laughs': each anchor a list of ten aliases of the one before (10^levels values)."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]")
    lines.append(f"spawn_rules: {{conflict_spawn_decay: *a{levels - 1}}}")
    return "\n".join(lines) + "\n"


def test_a_yaml_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    """Nine levels grew `validate` past 1 GB and never ended. Run in a child process with 1.5 GB
    of address space and a time limit, so that a regression fails instead of taking the machine."""
    import subprocess
    import sys

    case = write_mini_flee(tmp_path / "case", {"simsetting.yml": _yaml_bomb(9)})
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))\n"
        "from corredor.scenario import ScenarioError, load_scenario\n"
        "try:\n"
        "    load_scenario(sys.argv[1])\n"
        "except ScenarioError as exc:\n"
        "    print(exc)\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", code, str(case)], capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the YAML bomb was expanded (no answer in 120 s)")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "simsetting.yml:5:45: too many aliases expanded (a YAML bomb?)" in done.stdout, done.stdout
    # a small one (10^5 values) takes the same path, in this process
    small = write_mini_flee(tmp_path / "small", {"simsetting.yml": _yaml_bomb(5)})
    result = cli("validate", str(small))
    assert result.exit_code == 2
    assert "too many aliases expanded (a YAML bomb?)" in result.output


def _native_copy(tmp_path: Path) -> Path:
    import shutil

    folder = tmp_path / "crisis"
    shutil.copytree(CHILE_PERU, folder, ignore=shutil.ignore_patterns("*.py"))
    return folder


def test_toml_nested_beyond_the_stack_is_located(tmp_path: Path) -> None:
    """`x = [[[…]]]` 500 deep raised RecursionError from tomllib (scenario.toml and variants)."""
    folder = _native_copy(tmp_path)
    toml = folder / "scenario.toml"
    lines = toml.read_text(encoding="utf-8").count("\n")
    with toml.open("a", encoding="utf-8") as f:
        f.write("x = " + "[" * 500 + "]" * 500 + "\n")
    result = cli("validate", str(folder))
    assert result.exit_code == 2, result.output
    assert f"scenario.toml:{lines + 1}:69: bad TOML (nested too deeply" in result.output
    variant = folder / "variants" / "deep.toml"
    variant.write_text('[variant]\nbase = ".."\n[crisis.parameters]\nx = ' + "{a=" * 500 + "1" + "}" * 500 + "\n",
                       encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(variant)
    (p,) = info.value.problems
    assert (p.line, p.column) == (4, 197) and "nested too deeply" in p.message


@pytest.mark.parametrize("table", ["policies.csv", "routes.csv", "scenario.toml"])
def test_a_crisis_table_linked_to_itself_is_located(tmp_path: Path, table: str) -> None:
    """A loop of links crashed the report: Path.resolve raised RuntimeError('Symlink loop')."""
    folder = _native_copy(tmp_path)
    (folder / table).unlink()
    (folder / table).symlink_to(table)
    result = cli("validate", str(folder))
    assert result.exit_code == 2, result.output
    where = "scenario.toml:14:1: files.routes: cannot read routes.csv" if table == "routes.csv" else \
        f"{table}: cannot read the file"
    assert f"{where} (symlink loop)" in result.output


def test_a_read_only_folder_is_refused_before_the_run(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Denied writes emulated at os.access (the tests run as root): `run` refuses before any work,
    and `main-job` checks the folder it writes into, not the one above it."""
    import os

    import corredor.targets as targets

    case = write_mini_flee(tmp_path / "case")
    ro = tmp_path / "ro"
    (ro / "out").mkdir(parents=True)
    real_access = os.access

    def access(path, mode, **kw):
        return False if Path(path) == ro and mode & os.W_OK else real_access(path, mode, **kw)

    monkeypatch.setattr(targets.os, "access", access)
    r = cli("run", str(case), "--days", "2", "--out", str(ro / "new"))
    assert r.exit_code == 2 and f"cannot write in {ro}" in r.output
    assert sorted(p.name for p in ro.iterdir()) == ["out"]
    check = targets.check_writable
    check(ro / "out" / "comparison.json")  # inside a writable folder under a read-only one: fine
    with pytest.raises(targets.UnwritableTarget):
        check(ro / "out")


def test_a_killed_writers_temporaries_are_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    """A writer killed hard (SIGKILL, a power cut) leaves its temporary — a run folder's sibling,
    a file's, a folder waiting to be replaced — for good, and one inside an output folder made
    that folder look like someone else's data. Temporaries now name their writer's process and
    machine: the next writer of the same output removes a dead process's (saying so), and keeps
    a live one's, another machine's and anything not named like corredor's temporaries."""
    import os
    import socket
    import subprocess
    import sys

    from corredor import targets

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = proc.pid
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])[:40]  # (as named)
    case = write_mini_flee(tmp_path / "case")
    stale = [f".run.{dead}-{host}.abcd1234.tmp", f".run.{dead}-{host}.old"]
    kept = [f".run.{os.getpid()}-{host}.abcd1234.tmp",  # a writer that runs
            f".run.{dead}-{host}x.abcd1234.tmp",  # another machine's
            ".run.abcd1234.tmp", ".run.notes.tmp",  # not named by a writer of this version
            f".other.{dead}-{host}.abcd1234.tmp"]  # another output's
    for name in stale + kept:
        (tmp_path / name).mkdir()
        (tmp_path / name / "partial").write_text("x")
    with pytest.warns(UserWarning) as caught:
        r = cli("run", str(case), "--days", "2", "--out", str(tmp_path / "run"))
    assert r.exit_code == 0, r.output
    assert len(caught) == 2 and all("no longer runs" in str(w.message) for w in caught)
    assert not [name for name in stale if (tmp_path / name).exists()]
    assert all((tmp_path / name / "partial").is_file() for name in kept)
    # a file's temporary (report.html, comparison files, checkpoints) likewise
    (tmp_path / f".notes.txt.{dead}-{host}.abcd1234.tmp").write_text("half")
    with pytest.warns(UserWarning, match="no longer runs"):
        targets.write_text_atomic(tmp_path / "notes.txt", "whole")
    assert not list(tmp_path.glob(".notes.txt.*"))
    # and a folder holding only a dead writer's leftovers is empty, not someone else's data
    folder = tmp_path / "only-leftovers"
    (folder / f".main-job.{dead}-{host}.abcd1234.tmp" / "baseline").mkdir(parents=True)
    assert not targets.holds_anything(folder)
    targets.check_replaceable(folder)
    (folder / f".main-job.{os.getpid()}-{host}.abcd1234.tmp").mkdir()
    with pytest.raises(targets.UnsafeTarget, match=f"another corredor command \\(process {os.getpid()}"):
        targets.check_replaceable(folder)
    # another machine's temporary (a shared file system): its process cannot be asked, so the
    # message says what to do once that process is known to be gone (it said only "wait")
    (folder / f".main-job.{os.getpid()}-{host}.abcd1234.tmp").rmdir()
    other = folder / f".main-job.77-{host}x.abcd1234.tmp"
    other.mkdir()
    with pytest.raises(targets.UnsafeTarget, match=f"process 77 on {host}x: .*if it no longer runs "
                       f"there, remove {re.escape(str(other))} yourself"):
        targets.check_replaceable(folder)


def _temporary_host() -> str:
    import socket

    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])[:40]  # (as named)


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux's /proc")
def test_a_leftover_whose_process_id_was_reused_is_stale(tmp_path: Path) -> None:
    """Found by review: a killed main job's `.main-job.PID-HOST.RANDOM.tmp` whose PID the system
    has since given to an unrelated process (here a `sleep`, started after the leftover was last
    written) refused every later command with "being written by another corredor command". The
    writer runs only if process PID started before its temporary was made (/proc/PID/stat)."""
    import os
    import subprocess
    import time

    from corredor import targets

    case = write_mini_flee(tmp_path / "case")
    out = tmp_path / "out"
    leftover = out / f".main-job.{{pid}}-{_temporary_host()}.abcd1234.tmp"
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        killed = Path(str(leftover).format(pid=sleeper.pid))
        (killed / "baseline").mkdir(parents=True)
        past = time.time() - 3600  # (written an hour before the sleep started)
        os.utime(killed, (past, past))
        beside = tmp_path / f".out.{sleeper.pid}-{_temporary_host()}.abcd1234.tmp"
        beside.mkdir()  # (a killed `run --out out`'s, removed by the next writer of `out`)
        os.utime(beside, (past, past))
        assert targets.stale_temporary(killed.name, out)
        assert not targets.holds_anything(out)
        with pytest.warns(UserWarning, match=f"process {sleeper.pid}, which no longer runs"):
            r = cli("run", str(case), "--days", "2", "--out", str(out), "--force")
        assert r.exit_code == 0, r.output
        assert (out / "manifest.json").is_file() and not killed.exists() and not beside.exists()
        # a temporary written after the process started is still that process's own: it waits
        live = tmp_path / "busy" / killed.name
        live.mkdir(parents=True)
        assert not targets.stale_temporary(live.name, live.parent)
        r = cli("run", str(case), "--days", "2", "--out", str(live.parent), "--force")
        assert r.exit_code == 2 and f"another corredor command (process {sleeper.pid}" in r.output
        assert live.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux's /proc")
def test_a_leftover_of_a_killed_writer_not_yet_reaped_is_stale(tmp_path: Path) -> None:
    """A writer killed by a script that has not waited for it yet stays a zombie: it runs no
    more, and its temporaries must not block the next command."""
    import subprocess
    import time

    from corredor import targets

    child = subprocess.Popen(["sleep", "0"])
    try:
        stat = Path(f"/proc/{child.pid}/stat")
        deadline = time.monotonic() + 10
        while stat.read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        leftover = tmp_path / f".main-job.{child.pid}-{_temporary_host()}.abcd1234.tmp"
        leftover.mkdir()
        assert targets.stale_temporary(leftover.name, tmp_path)
        targets.check_replaceable(tmp_path)
    finally:
        child.wait()


def test_compare_writing_into_a_folder_does_not_make_it_replaceable(tmp_path: Path) -> None:
    """Found by a bad-input review: `compare --out notes` writes comparison.json into a folder of
    the user's; that marker then let `run --out notes --force` (or convert, ensemble) delete the
    user's files. A comparison.json marks a folder as corredor's only beside compare's and the
    main job's own outputs."""
    from corredor.targets import UnsafeTarget, check_replaceable

    comparison = '{"seeds": [1], "summary": [], "per_seed": {}}'
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "mine.txt").write_text("keep")
    (notes / "comparison.json").write_text(comparison)
    (notes / "comparison.csv").write_text("")
    with pytest.raises(UnsafeTarget, match="corredor did not write"):
        check_replaceable(notes)
    case = write_mini_flee(tmp_path / "case")
    r = cli("convert", str(case), str(notes), "--force")
    assert r.exit_code == 2 and "corredor did not write" in r.output
    assert (notes / "mine.txt").read_text() == "keep"
    main = tmp_path / "main"  # what the main job writes: still replaceable
    (main / "baseline").mkdir(parents=True)
    (main / "baseline" / "manifest.json").write_text('{"engine": "crisis", "seed": 1, "version": "0"}')
    for name in ("comparison.json", "comparison.csv", "observation_check.json"):
        (main / name).write_text(comparison)
    (main / "empty").mkdir()
    check_replaceable(main)
    (main / "baseline" / "mine.txt").write_text("keep")  # a run folder stays a run folder
    check_replaceable(main)
    (main / "other").mkdir()
    (main / "other" / "mine.txt").write_text("keep")
    with pytest.raises(UnsafeTarget):
        check_replaceable(main)


def test_one_text_file_is_written_whole_with_the_usual_mode(tmp_path, monkeypatch):
    """targets.write_text_atomic, behind comparison.csv/json, observation_check.json and every
    report.html: the usual mode (mkstemp's 0600 made comparison.csv unreadable to the others
    who share the folder), the old file kept and no temporary left when writing fails."""
    import os

    from corredor import targets

    old_umask = os.umask(0o022)
    try:
        path = targets.write_text_atomic(tmp_path / "sub" / "comparison.csv", "a,b\r\n1,2\r\n")
    finally:
        os.umask(old_umask)
    assert path.read_bytes() == b"a,b\r\n1,2\r\n"  # line ends as given
    assert path.stat().st_mode & 0o777 == 0o644

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(targets.os, "replace", full)
    with pytest.raises(OSError):
        targets.write_text_atomic(path, "new")
    assert path.read_bytes() == b"a,b\r\n1,2\r\n"
    assert [p.name for p in path.parent.iterdir()] == ["comparison.csv"]


@pytest.mark.parametrize("command", ["ensemble", "compare"])
def test_sweeps_of_a_billion_runs_are_refused_before_they_are_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """Two sweeps of 1,000 values each are a million combinations; times the replicas or seeds,
    more runs than corredor takes at once. They were built (every combination a variant, checked
    one by one) before anything was refused; now refused at once, exit 2, one line."""
    write_mini_flee(tmp_path / "case")
    monkeypatch.chdir(tmp_path)
    many = ",".join(str(k) for k in range(1, 1001))
    if command == "ensemble":
        args = ("ensemble", "case", "--replicas", "10", "--sweep", f"move_rules.camp_weight={many}",
                "--sweep", f"move_rules.conflict_weight={many}")
    else:
        args = ("compare", str(CHILE_PERU), "--seeds", "2", "--sweep", f"crisis.bribe_price_usd={many}",
                "--sweep", f"crisis.route_usd_km={many}")
    import corredor.analysis.ensemble as ensemble_module

    def no_build(*a, **k):
        raise AssertionError("the combinations were built")

    monkeypatch.setattr(ensemble_module, "build_variants", no_build)
    r = cli(*args)
    said = " ".join(r.output.split())
    assert r.exit_code == 2, r.output
    assert "--sweep makes 1,000,000 combinations ×" in said and "more than the 1,000,000" in said
    assert "Traceback" not in r.output and not (tmp_path / "runs").exists()


def test_an_out_path_with_a_leading_tilde_is_under_the_home_folder(tmp_path, monkeypatch):
    """`--out=~/x` (the shell does not expand a `~` after `=`, nor a quoted one) made a folder
    named `~` in the current folder, one `rm -rf ~` away from deleting the home folder: a
    leading `~` is now the home folder, as the shell would have made it."""
    home, here = tmp_path / "home", tmp_path / "here"
    home.mkdir()
    here.mkdir()
    monkeypatch.chdir(here)
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    r = runner.invoke(app, ["run", str(scenario), "--days", "2", "--out=~/x", "--quiet"], env={"HOME": str(home)})
    assert r.exit_code == 0, r.output
    assert (home / "x" / "manifest.json").is_file() and not (here / "~").exists()
