"""Reproducing a run from what its folder records: content-only scenario hashes, path-free data
files, per-file input hashes, `corredor rerun` (a reproducibility review's findings)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from typer.testing import CliRunner

from corredor.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
CHILE_PERU = REPO / "scenarios" / "chile-peru-2023"


def test_a_flee_case_copied_under_another_name_keeps_its_hash(flee_cases: Path, tmp_path: Path) -> None:
    """mali2012 copied as mali-copy got another `scenario.sha256` (the hash read the folder's
    name), so a reviewer given the case as `supplement/case1` could not show it was the same."""
    from corredor.plan import scenario_sha256
    from corredor.scenario import load_scenario

    a = tmp_path / "mali2012"
    b = tmp_path / "supplement" / "case1"
    shutil.copytree(flee_cases / "mali2012", a)
    shutil.copytree(flee_cases / "mali2012", b)
    sa, sb = load_scenario(a, hasten=10), load_scenario(b, hasten=10)
    assert sa.name != sb.name
    assert scenario_sha256(sa) == scenario_sha256(sb)


def test_a_crisis_scenarios_hash_leaves_out_its_name() -> None:
    """The crisis engine's `scenario_hash` began with the scenario's name, which changes no number."""
    from corredor.engine.crisis import scenario_hash
    from corredor.scenario import load_scenario

    s = load_scenario(CHILE_PERU)
    assert scenario_hash(dataclasses.replace(s, name="renamed")) == scenario_hash(s)


def _run(args: list[str]) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != "manifest.json"}


def _manifest(folder: Path) -> dict:
    import json

    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _mali_in(folder: Path, flee_cases: Path, name: str = "mali2012") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(flee_cases / "mali2012", folder / name)
    return folder / name


MALI_RUN = ["--hasten", "10", "--days", "20", "--seed", "5", "--engine", "agents",
            "--set", "move_rules.camp_weight=2", "--flee-out", "--no-plots", "-q"]


def test_a_run_records_its_command_and_rerun_repeats_it_byte_for_byte(
        flee_cases: Path, tmp_path: Path, monkeypatch) -> None:
    """A manifest recorded `source` as typed (relative to a folder nobody recorded), and neither
    the command, the working directory nor --flee-out/--no-csv/--no-plots/--check: it could not be
    re-run from another folder. Now `invocation` records them and `corredor rerun` repeats it."""
    cwd = tmp_path / "cwd"
    case = _mali_in(cwd, flee_cases)
    monkeypatch.chdir(cwd)
    _run(["run", "mali2012", *MALI_RUN, "--out", "r1"])
    m = _manifest(cwd / "r1")
    assert m["scenario"]["source"] == str(case)
    assert m["scenario"]["files"]["input_csv/locations.csv"] == \
        __import__("hashlib").sha256((case / "input_csv" / "locations.csv").read_bytes()).hexdigest()
    inv = m["invocation"]
    assert inv["cwd"] == str(cwd) and inv["out"] == str(cwd / "r1")
    assert inv["options"] | {"threads": None} == {
        "engine": "agents", "draws": "gaps", "backend": "cpu", "threads": None, "check": False,
        "flee_out": True, "csv": True, "plots": False, "checkpoint_every": 0}
    assert inv["command"] == (f"corredor run {case} --seed 5 --hasten 10 --days 20 --set "
                              f"move_rules.camp_weight=2 --engine agents --flee-out --no-plots "
                              f"--out {cwd / 'r1'}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    _run(["rerun", str(cwd / "r1"), "--out", "r2", "-q"])
    assert _files(elsewhere / "r2") == _files(cwd / "r1")  # results.parquet and out.csv too
    again = _manifest(elsewhere / "r2")
    volatile = ("timing", "threads", "invocation")
    assert {k: v for k, v in again.items() if k not in volatile} == \
        {k: v for k, v in m.items() if k not in volatile}


def test_results_parquet_does_not_depend_on_how_the_path_was_typed(
        flee_cases: Path, tmp_path: Path, monkeypatch) -> None:
    """results.parquet embedded the manifest with `scenario.source` as typed: `x`, `./x/` and
    `/abs/x` gave three checksums for the same numbers."""
    case = _mali_in(tmp_path, flee_cases)
    monkeypatch.chdir(tmp_path)
    _run(["run", "./mali2012/", *MALI_RUN, "--out", "dot"])
    _run(["run", str(case), *MALI_RUN, "--out", "abs"])
    assert (tmp_path / "dot" / "results.parquet").read_bytes() == \
        (tmp_path / "abs" / "results.parquet").read_bytes()


def test_a_band_table_does_not_embed_the_scenarios_path(tmp_path: Path) -> None:
    """An ensemble's bands/*.parquet kept `scenario.source` (and `scenario_source`) as typed."""
    import pandas as pd

    from corredor.analysis.ensemble import write_band_table

    frame = pd.DataFrame({"day": [0, 1], "mean": [1.0, 2.0]})

    def manifest(source: str) -> dict:
        return {"kind": "ensemble", "scenario": {"name": "x", "sha256": "0" * 64, "source": source},
                "scenario_source": source, "invocation": {"cwd": source}}

    write_band_table(frame, tmp_path / "a.parquet", manifest("x"))
    write_band_table(frame, tmp_path / "b.parquet", manifest("/somewhere/else/x"))
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_rerun_names_a_changed_input_file_and_runs_nothing(
        flee_cases: Path, tmp_path: Path, monkeypatch) -> None:
    """An input changed after a run could be found only by re-running and comparing digests, and
    nothing said which file: the manifest kept no file's hash."""
    case = _mali_in(tmp_path, flee_cases)
    monkeypatch.chdir(tmp_path)
    _run(["run", "mali2012", *MALI_RUN, "--out", "r1"])
    (case / "NOTES.md").write_text("read by nobody\n")  # (not an input: said, and run all the same)
    r = runner.invoke(app, ["rerun", "r1", "--out", "r2", "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "warning: changed since the run, with no effect on it (same sha256): NOTES.md (new)" in r.output
    abala = case / "source_data" / "nig-abala.csv"
    abala.write_text(abala.read_text().replace("2012-03-31,804", "2012-03-31,8040"))
    r = runner.invoke(app, ["rerun", "r1", "--out", "r2"])
    assert r.exit_code == 2, r.output
    assert "not the scenario the run read" in r.output
    assert "changed since the run: NOTES.md (new), source_data/nig-abala.csv (changed)" in r.output
    assert not (tmp_path / "r2").exists()


def test_rerun_reads_a_copy_under_another_name(flee_cases: Path, tmp_path: Path, monkeypatch) -> None:
    """A reviewer given the case as supplement/case1 re-runs the paper's run folder from it."""
    _mali_in(tmp_path, flee_cases)
    copy = _mali_in(tmp_path / "supplement", flee_cases, "case1")
    monkeypatch.chdir(tmp_path)
    _run(["run", "mali2012", *MALI_RUN, "--out", "r1"])
    r = runner.invoke(app, ["rerun", "r1", "--scenario", str(copy), "--out", "r2", "--dry-run"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"corredor run {copy} --seed 5 ")
    _run(["rerun", "r1", "--scenario", str(copy), "--out", "r2", "-q"])
    import pyarrow.parquet as pq

    # (the same numbers; the name is the folder's, case1, which the files say where they name it)
    assert pq.read_table(tmp_path / "r2" / "results.parquet").equals(
        pq.read_table(tmp_path / "r1" / "results.parquet"))
    assert _manifest(tmp_path / "r2")["scenario"]["sha256"] == _manifest(tmp_path / "r1")["scenario"]["sha256"]


def test_a_crisis_run_made_outside_simulate_says_its_engine_choice() -> None:
    """The main job's run folders (runs made by `compare`, which calls simulate_crisis) had no
    `engine_choice`, which `corredor run` of the same variant has: their results.parquet differed."""
    from corredor.engine.crisis import simulate_crisis
    from corredor.scenario import load_scenario
    from corredor.simulate import simulate

    s = load_scenario(CHILE_PERU).with_days(5)
    assert simulate_crisis(s, seed=1).manifest["engine_choice"] == simulate(s, seed=1).manifest["engine_choice"]


def test_comparison_json_says_its_provenance_and_what_set_and_sweep_gave(tmp_path: Path, monkeypatch) -> None:
    """comparison.json had no provenance block (only `version`), kept --set only inside a
    description's prose, and named the baseline by the path as typed (relative) beside absolute
    variant paths."""
    import json

    from corredor.provenance import provenance

    monkeypatch.chdir(REPO)
    r = runner.invoke(app, ["compare", "scenarios/chile-peru-2023", "scenarios/chile-peru-2023/variants/bribe_0.toml",
                            "--sweep", "crisis.peru_block=2023-04-13,2023-04-20",
                            "--set", "crisis.give_up_base=0.02", "--seeds", "1", "--executor", "serial",
                            "--out", str(tmp_path / "cmp")])
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text(encoding="utf-8"))
    assert data["provenance"] == provenance()
    assert data["set"] == {"crisis.give_up_base": 0.02}
    assert data["sweep"] == {"crisis.peru_block": ["2023-04-13", "2023-04-20"]}
    ids = data["scenario_identity"]
    assert all(Path(i["source"]).is_absolute() for i in ids.values())
    assert ids["bribe-0"]["variant_file"] == str(CHILE_PERU / "variants" / "bribe_0.toml")
    assert all(Path(f).is_absolute() for f in data["files"].values())


def test_a_runs_page_is_the_same_page_however_long_the_run_took(
        flee_cases: Path, tmp_path: Path, monkeypatch) -> None:
    """report.html said when it was written ("report written 2026-11-29 10:07 UTC") and the run's
    wall seconds: the same command never wrote the same page."""
    import json

    _mali_in(tmp_path, flee_cases)
    monkeypatch.chdir(tmp_path)
    _run(["run", "mali2012", *MALI_RUN, "--out", "r1"])
    _run(["report", "r1"])
    first = (tmp_path / "r1" / "report.html").read_bytes()
    path = tmp_path / "r1" / "manifest.json"
    m = json.loads(path.read_text(encoding="utf-8"))
    m["timing"]["wall_s"] += 12.5
    path.write_text(json.dumps(m, indent=2) + "\n", encoding="utf-8")
    _run(["report", "r1"])
    again = (tmp_path / "r1" / "report.html").read_bytes()
    assert b"report written" not in again and again == first


def test_a_modified_checkout_is_flagged_beside_its_commit(tmp_path: Path) -> None:
    """A checkout with an edited engine file recorded the same `corredor_commit` as the clean one
    and nothing said it was modified: `git checkout <commit>` would give other code."""
    import subprocess
    import sys

    repo = tmp_path / "checkout"
    shutil.copytree(REPO / "src" / "corredor", repo / "src" / "corredor",
                    ignore=shutil.ignore_patterns("__pycache__"))

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t.invalid",
                        *args], check=True, capture_output=True)

    (repo / ".gitignore").write_text("__pycache__/\n")  # (as the project's: bytecode, numba's cache)
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "x")

    def said() -> tuple[dict, str]:
        code = ("import json; from corredor.provenance import provenance, version_text; "
                "print(json.dumps(provenance())); print(version_text())")
        out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(repo / "src"), "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, check=True).stdout.splitlines()
        import json

        return json.loads(out[0]), out[1]

    clean, line = said()
    assert clean["corredor_commit_dirty"] is False and "+modified" not in line
    rules = repo / "src" / "corredor" / "engine" / "cohorts.py"
    rules.write_text(rules.read_text() + "\n# an edit\n")
    dirty, line = said()
    assert dirty["corredor_commit"] == clean["corredor_commit"]
    assert dirty["corredor_commit_dirty"] is True and dirty["corredor_source"] != clean["corredor_source"]
    assert f"commit {clean['corredor_commit'][:12]}+modified)" in line
