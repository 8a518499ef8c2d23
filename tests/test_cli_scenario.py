"""`corredor validate | info | convert`: exit codes, `path:line:col` output, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corredor.cli import app
from scenario_cases import MINI, edit, write_mini_flee

runner = CliRunner()


def corredor(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real entry point in a fresh interpreter (what a user's shell does)."""
    code = "from corredor.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def test_validate_car_exits_0(flee_cases: Path) -> None:
    r = corredor("validate", str(flee_cases / "car"))
    assert r.returncode == 0, r.stderr
    assert "ok (2 warnings)" in r.stdout
    # warnings carry their line
    assert "input_csv/closures.csv:3:5: warning: closure end day 820" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_car_with_unknown_place_on_routes_line_12_exits_2(flee_cases: Path, tmp_path: Path) -> None:
    case = tmp_path / "car"
    shutil.copytree(flee_cases / "car", case)
    edit(case / "input_csv" / "routes.csv", 12, '"Carnot","Nowhere",140,0')
    r = corredor("validate", str(case))
    assert r.returncode == 2
    assert "input_csv/routes.csv:12:2: unknown location 'Nowhere'" in r.stderr
    assert "1 problem found" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr


@pytest.mark.parametrize(
    ("rel", "data", "expected"),
    [
        (
            "input_csv/locations.csv",
            "Kidal,\xe9".encode("latin-1"),
            "input_csv/locations.csv:1:7: bytes that are not UTF-8",
        ),
        (
            "input_csv/routes.csv",
            MINI["input_csv/routes.csv"].replace(",", ";").encode(),
            "input_csv/routes.csv:2:1: wrong delimiter",
        ),
        ("simsetting.yml", b"move_rules: [1,\n", "simsetting.yml:2:1: bad YAML"),
        ("input_csv/sim_period.csv", b"", "input_csv/sim_period.csv:1:1: empty file"),
    ],
)
def test_bad_inputs_give_lines_not_tracebacks(
    tmp_path: Path, rel: str, data: bytes, expected: str
) -> None:
    folder = write_mini_flee(tmp_path / "m")
    (folder / rel).write_bytes(data)
    r = runner.invoke(app, ["validate", str(folder)])
    assert r.exit_code == 2
    assert expected in r.stderr
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output


def test_validate_missing_and_non_scenario_paths(tmp_path: Path) -> None:
    r = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "no such file or folder" in r.stderr
    r = runner.invoke(app, ["validate", str(tmp_path)])
    assert r.exit_code == 2 and "not a scenario folder" in r.stderr


def test_validate_prints_warnings_and_exit_0(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "m")
    edit(folder / "input_csv/closures.csv", 3, "link,B,C,3,6")
    r = runner.invoke(app, ["validate", str(folder)])
    assert r.exit_code == 0
    assert "input_csv/closures.csv:3:1: warning: link closure never fires" in r.stdout
    assert "ok (1 warning)" in r.stdout


def test_info_summarises(flee_cases: Path) -> None:
    r = runner.invoke(app, ["info", str(flee_cases / "mali2012")], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    out = r.stdout
    for text in (
        "2012-02-29 to 2012-12-24 (300 days)",
        "23 (camp 7, conflict 3, town 13)",
        "147,263",
        "20,075",
    ):
        assert text in out, text


def test_info_every_option(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "m")
    r = runner.invoke(app, ["info", str(folder), "--every", "3"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    # rows: day, date, total, camps sum (D after correction + E), camps with data > 0
    assert table_rows(r.stdout) == [
        ["0", "2020-01-01", "0", "0", "0"],
        ["3", "2020-01-04", "300", "420", "2"],
        ["6", "2020-01-07", "600", "615", "2"],
        ["9", "2020-01-10", "900", "960", "2"],
    ]


def table_rows(text: str) -> list[list[str]]:
    """Cells of the rich table rows that hold a date."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 5 and cells[1].startswith("2020-"):
            rows.append(cells)
    return rows


def test_info_bad_input_exits_2(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "m")
    edit(folder / "input_csv/routes.csv", 3, "B,B,50,")
    r = runner.invoke(app, ["info", str(folder)])
    assert r.exit_code == 2 and "input_csv/routes.csv:3:2: route from 'B' to itself" in r.stderr


def test_convert_then_validate_then_refuse_then_force(tmp_path: Path) -> None:
    src = write_mini_flee(tmp_path / "m")
    dest = tmp_path / "native"
    r = runner.invoke(app, ["convert", str(src), str(dest)])
    assert r.exit_code == 0, r.output
    assert (dest / "scenario.toml").is_file()
    assert runner.invoke(app, ["validate", str(dest)]).exit_code == 0
    r = runner.invoke(app, ["convert", str(src), str(dest)])
    assert r.exit_code == 2 and "exists; use --force" in r.stderr
    r = runner.invoke(app, ["convert", str(src), str(dest), "--force"])
    assert r.exit_code == 0


def test_convert_bad_source_writes_nothing(tmp_path: Path) -> None:
    src = write_mini_flee(tmp_path / "m")
    edit(src / "input_csv/routes.csv", 3, "B,Foo,50,")
    r = runner.invoke(app, ["convert", str(src), str(tmp_path / "out")])
    assert r.exit_code == 2 and "input_csv/routes.csv:3:2:" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["validate", "info", "convert"])
def test_help(command: str) -> None:
    r = runner.invoke(app, [command, "--help"])
    assert r.exit_code == 0 and "Usage" in r.stdout


def test_every_command_taking_a_scenario_says_a_variant_file_works() -> None:
    """Found by a user's acceptance pass: `run`, `info` and `ensemble` take a variant .toml file,
    but their PATH help said "Flee case folder or native scenario folder"; only validate and
    compare named variant files. Every command that takes scenarios now says it in one text."""
    import re

    for command in ("validate", "run", "info", "ensemble", "calibrate"):
        r = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        said = re.sub(r"[\s│]+", " ", r.stdout)
        assert r.exit_code == 0 and re.search(r"Flee case folders?, native scenario folders? or variant "
                                              r"\.toml files?", said), (command, said)


@pytest.mark.parametrize(("command", "default"), [
    ("run", "[runs/<scenario>]"), ("ensemble", "[runs/<scenario>-ensemble]"),
    ("calibrate", "[runs/<scenario>-calibration]"), ("calibrate", "[params.<section>.<name>]"),
])
def test_help_shows_the_defaults_in_brackets(command: str, default: str) -> None:
    """rich read `[runs/<scenario>]` in a help text as a markup tag and dropped it: `--help` said
    "run folder" and never where the folder goes, nor the `--workers`, `--threads` and `--hasten`
    defaults ("[all cores]", "[all]", "[the scenario's]")."""
    r = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and default in r.stdout, r.stdout


#: What each subcommand's usage line says after `[OPTIONS]` (click's way: optional in brackets,
#: `...` for several)
USAGE_ARGUMENTS = {
    "validate": "PATHS...", "run": "PATH", "info": "PATH", "convert": "SRC DEST", "ensemble": "PATH",
    "calibrate": "PATHS...", "report": "RUN_DIR", "compare": "BASELINE [VARIANTS]...", "main-job": "", "rerun": "RUN_DIR",
}


def test_every_subcommands_usage_line_reads_naturally() -> None:
    """typer 0.29 wrote `Usage: corredor calibrate [OPTIONS] {paths}...` (required arguments in
    braces), in `--help` and above usage errors alike. Now every subcommand's line names its
    arguments as click does, and a new subcommand must be added to USAGE_ARGUMENTS."""
    import typer.main

    commands = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert commands == sorted(USAGE_ARGUMENTS)
    for name in commands:
        r = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"})
        assert r.exit_code == 0, r.output
        usage = next(line.strip() for line in r.stdout.splitlines() if "Usage:" in line)
        assert usage.endswith(f" {name} [OPTIONS] {USAGE_ARGUMENTS[name]}".rstrip()), usage
        assert "{" not in usage and "}" not in usage, usage
    r = runner.invoke(app, ["convert", "somewhere"])  # (a usage error prints the same line)
    assert r.exit_code == 2 and "convert [OPTIONS] SRC DEST\n" in r.output, r.output


def test_every_help_screen_shows_plain_value_words() -> None:
    """typer 0.29's help tables showed `<bool>` on every flag, `<list[str]>`, `<path>` and
    `<int range> [0<=x<=18446744073709551615]`. Now a flag shows no type, a value a plain word
    (INTEGER, PATH, TEXT, ...), a range its bounds in the help (`[≥1]`), at 80 columns and 130."""
    import re

    import typer.main

    from corredor.cli import OPTION_WORDS

    group = typer.main.get_command(app)
    for name in ["", *sorted(group.commands)]:  # type: ignore[attr-defined]
        command = group.commands[name] if name else group  # type: ignore[attr-defined]
        for columns in ("80", "130"):
            r = runner.invoke(app, [name, "--help"] if name else ["--help"], env={"COLUMNS": columns})
            assert r.exit_code == 0, r.output
            assert not re.search(r"<(bool|int|str|path|list|float)\b", r.stdout), (name, r.stdout)
            assert "x>=" not in r.stdout and "<=x" not in r.stdout, (name, r.stdout)
        r = runner.invoke(app, [name, "--help"] if name else ["--help"], env={"COLUMNS": "200"})
        for param in (p for p in command.params if p.param_type_name == "option"):
            row = next(line for line in r.stdout.splitlines() if f" {param.opts[0]} " in line)
            words = row.strip("│ ").split()
            after_names = words[words.index(param.opts[-1]) + 1]  # (a flag: its help; else its type)
            assert (after_names in {"INTEGER", "PATH", "TEXT", "FLOAT", *OPTION_WORDS.values()}) != param.is_flag, row
            if param.opts[0] in OPTION_WORDS:
                assert after_names == OPTION_WORDS[param.opts[0]], row
    r = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert "CPU threads [all] [≥1]" in r.stdout and "[0–2^64-1]" in r.stdout, r.stdout


@pytest.mark.parametrize(("args", "named"), [
    (["convert", "somewhere"], "'DEST'"), (["validate"], "'PATHS...'"), (["report"], "'RUN_DIR'"),
])
def test_a_missing_argument_is_named_as_the_usage_line_names_it(args: list[str], named: str) -> None:
    """typer said `Missing argument 'dest'.` under `convert [OPTIONS] SRC DEST`."""
    r = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert r.exit_code == 2 and f"Missing argument {named}." in r.output, r.output


def test_info_on_a_crisis_scenario_shows_its_crisis_tables() -> None:
    """Not Flee's camps, populations and conflict zones ("no observed data", "camps none" and a
    population of 36 million confused a walkthrough): who departs, the crossings, the reports."""
    import corredor
    from corredor.scenario.summary import crisis_counts

    folder = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    r = runner.invoke(app, ["info", str(folder)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "(border crisis)" in text and "population (non-camps)" not in text and "no observed data" not in text
    assert "pe_santa_rosa (camp → santa_rosa)" in text and "20 reports, 2023-02-25 to 2023-05-16" in text
    # what a --sweep of dates can move, row by row (the rows written against it; the rest stay)
    # (read across the table's folds: the console may be 80 columns whatever COLUMNS says)
    flat = " ".join(r.output.replace("│", " ").split())
    assert "date parameters peru_block = 2023-04-13 (policies.csv lines 3–7). Only those rows move" in flat
    r = runner.invoke(app, ["info", str(folder / "variants" / "corridor_28apr.toml")], env={"COLUMNS": "200"})
    assert ("peru_block = 2023-04-13 (policies.csv lines 3–7); corridor_open = 2023-04-28 (corridor.csv line 3)"
            in " ".join(r.output.replace("│", " ").split())), r.output
    # a variant whose own policies no longer use it inherits it, but lists it not
    r = runner.invoke(app, ["info", str(folder / "variants" / "no_peru_closure.toml")], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "date parameters" not in r.output, r.output
    sc = corredor.load_scenario(folder).with_days(80)
    k = crisis_counts(sc)
    assert f"about {crisis_counts(corredor.load_scenario(folder))['departing']:,} over the run" in text
    # the sum of the departures rows is what the run creates, but for each origin's last fraction
    created = int(corredor.simulate(sc, seed=0).dataset["total_people"].values[-1])
    origins = {row["origin"] for row in sc.crisis.departures["rows"]}
    assert 0 <= k["departing"] - created <= len(origins)


def test_line_spans_and_the_rows_a_date_parameter_moves(tmp_path: Path) -> None:
    """`info` names the rows each date parameter moves: policies, events and departures rows
    whose start or end is written against it, in line spans; a row with fixed dates is not named."""
    import shutil

    import corredor
    from corredor.scenario.summary import date_parameter_rows, line_spans

    assert line_spans([9, 4, 5, 6]) == "lines 4–6, 9" and line_spans([7]) == "line 7"
    folder = tmp_path / "s"
    shutil.copytree(Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023", folder)
    dep = folder / "departures.csv"
    lines = dep.read_text(encoding="utf-8").splitlines()
    k = next(i for i, line in enumerate(lines) if i >= 2 and not line.startswith("#"))
    cells = lines[k].split(",")
    cells[2] = "$peru_block+3"  # (its end follows the closure now)
    lines[k] = ",".join(cells)
    dep.write_text("\n".join(lines) + "\n", encoding="utf-8")
    moved = date_parameter_rows(corredor.load_scenario(folder))
    assert moved == {"peru_block": {"policies.csv": [3, 4, 5, 6, 7], "departures.csv": [k + 1]}}


def test_validate_takes_several_scenarios_and_reports_each(tmp_path: Path) -> None:
    """`corredor validate scenarios/x scenarios/x/variants/*.toml` was refused ("unexpected extra
    arguments"): each path is now checked and reported, a bad one named with its problems, and
    the exit status is 2 when any has an error."""
    folder = Path(__file__).resolve().parents[1] / "scenarios" / "chile-peru-2023"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "scenario.toml").write_text("x\n", encoding="utf-8")
    variant = folder / "variants" / "bribe_0.toml"
    r = runner.invoke(app, ["validate", str(folder), str(bad), str(variant)])
    assert r.exit_code == 2, r.output
    assert f"{folder}: ok (0 warnings)" in r.output and f"{variant}: ok (0 warnings)" in r.output
    assert "scenario.toml:1:2: bad TOML" in r.output and f"{bad}: 1 problem" in r.output
    assert "1 of 3 scenarios have problems" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["validate", str(folder), str(variant)])
    assert r.exit_code == 0, r.output
