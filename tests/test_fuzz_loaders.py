"""Property-based fuzzing of every input loader: mutated copies of real cases load or fail cleanly.

Why: planners hand-edit CSV and YAML. Whatever they do to a file (cells deleted or added, junk
bytes, huge, negative or NaN numbers, strange names, duplicated rows, a file cut short), corredor
must either load a valid Scenario (which then compiles, or is refused with problems) or raise one
ScenarioError whose every problem renders as `path:line:col: message` (`path: message` for a
whole file) — never any other exception.

Cases: the shared Flee case mali2012 (every file of input_csv/, source_data/ and simsetting.yml),
the small hand-written Flee case of scenario_cases.py, the same case converted to the native
format, and the native Chile–Peru crisis scenario. Each example applies 1–3 random mutations to
copies of the files, loads, checks, and restores the files. Budget: 2,100 loader examples and 150 through the CLI, about a
minute and a half on one quiet core (settings below), a fifth of that in CI, whose examples are the
same on every run (`budget`); FUZZ_FAST=1 skips shrinking.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from corredor.cli import app
from corredor.scenario import Problem, Scenario, ScenarioError, load_scenario
from corredor.scenario.validate import compile_scenario
from scenario_cases import write_mini_flee

REPO = Path(__file__).resolve().parents[1]
SHARED_MALI = REPO.parent / "shared" / "data" / "flee" / "mali2012"
CHILE_PERU = REPO / "scenarios" / "chile-peru-2023"

#: Cell values that break naive readers: empty, signs, huge, tiny, NaN/inf, hex, dates out of
#: range, names with path separators, bidi and CJK characters, quotes, delimiters, YAML tags.
NASTY = [
    "",
    " ",
    "-1",
    "-0",
    "0",
    "1",
    "-999999999999",
    "1e12",
    "1000000000000",
    "1e308",
    "-1e308",
    "9" * 40,
    "1e-320",
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "0x10",
    "1_000",
    "1,5",
    "1.5.5",
    "+7",
    "#",
    "#x",
    "..",
    "../../x",
    "/etc/passwd",
    "名前",
    "ü",
    "\u202ex",
    "\u00a0",
    "a\tb",
    ";",
    '"',
    "''",
    '"a,b"',
    "2020-02-30",
    "0001-01-01",
    "9999-12-31",
    "2012-02-29",
    "2012-2-9",
    "True",
    "false",
    "null",
    "~",
    "camp",
    "conflict_zone",
    "town",
    "total",
    "!!python/object/apply:os.system ['echo pwned']",
    "{",
    "[1, 2",
    "&a [*a, *a]",
    ".nan",
    ".inf",
]

VALUES = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.integers(-(10**15), 10**15).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)

KINDS = (
    "cell",
    "cell",
    "cell",
    "delete_cell",
    "add_cell",
    "dup_row",
    "del_row",
    "new_row",
    "swap_rows",
    "truncate",
    "bytes",
    "empty",
    "remove",
)


def mutate(draw: Callable, raw: bytes, sep: str) -> bytes | None:
    """One random edit of a file's bytes; None means 'delete the file'.

    `sep` splits a line into cells: ',' for CSV, ':' for YAML, '=' for TOML.
    """
    kind = draw(st.sampled_from(KINDS))
    if kind == "remove":
        return None
    if kind == "empty":
        return b""
    if kind == "truncate":
        return raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    if kind == "bytes":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    text = raw.decode("utf-8", errors="replace")
    lines = text.split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    cells = lines[i].split(sep)
    j = draw(st.integers(0, len(cells) - 1))
    glue = " " if sep != "," else ""
    if kind == "cell":
        cells[j] = glue + draw(VALUES) if j > 0 else draw(VALUES)
    elif kind == "delete_cell":
        del cells[j]
    elif kind == "add_cell":
        cells.insert(j, draw(VALUES))
    if kind in ("cell", "delete_cell", "add_cell"):
        lines[i] = sep.join(cells)
    elif kind == "dup_row":
        lines.insert(i, lines[i])
    elif kind == "del_row":
        del lines[i]
    elif kind == "new_row":
        lines.insert(i, sep.join(draw(st.lists(VALUES, min_size=1, max_size=10))))
    elif kind == "swap_rows":
        k = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[k] = lines[k], lines[i]
    return "\n".join(lines).encode("utf-8", errors="surrogatepass")


def render_ok(p: Problem) -> None:
    """A problem renders as `path:line:col: message`, `path:line: message` or `path: message`."""
    assert isinstance(p, Problem)
    assert p.path and isinstance(p.path, str)
    assert isinstance(p.line, int) and p.line >= 0, p
    assert isinstance(p.column, int) and p.column >= 0, p
    assert p.line > 0 or p.column == 0, p
    assert p.message.strip(), p
    text = str(p)
    if p.line and p.column:
        prefix = f"{p.path}:{p.line}:{p.column}: "
    elif p.line:
        prefix = f"{p.path}:{p.line}: "
    else:
        prefix = f"{p.path}: "
    assert text.startswith(prefix), text
    assert re.match(r"^.+?(:\d+){0,2}: \S", text), text


def check_loads_or_fails(folder: Path) -> str:
    """Load (and compile) `folder`; 'ok' or 'error', or an assertion error for anything else."""
    try:
        scenario = load_scenario(folder)
    except ScenarioError as exc:
        assert exc.problems, "a ScenarioError without problems"
        for p in [*exc.problems, *exc.warnings]:
            render_ok(p)
        return "error"
    assert isinstance(scenario, Scenario)
    assert scenario.days >= 1 and scenario.locations
    for w in scenario.metadata.get("warnings", ()):
        render_ok(w)
    try:
        compile_scenario(scenario)  # (as `corredor validate` does)
    except ScenarioError as exc:
        assert exc.problems
        for p in exc.problems:
            render_ok(p)
        return "error"
    return "ok"


class Case:
    """A scenario folder copied once; `mutated` edits some files and restores them afterwards."""

    def __init__(self, folder: Path, files: list[str]) -> None:
        self.folder = folder
        self.files = files
        self.original = {rel: (folder / rel).read_bytes() for rel in files}

    def sep(self, rel: str) -> str:
        return {".yml": ":", ".yaml": ":", ".toml": "="}.get(Path(rel).suffix, ",")

    @contextmanager
    def mutated(self, draw: Callable) -> Iterator[Path]:
        chosen = draw(st.lists(st.sampled_from(self.files), min_size=1, max_size=3))
        current = dict(self.original)
        try:
            for rel in chosen:
                raw = current.get(rel)
                new = mutate(draw, raw if raw is not None else b"", self.sep(rel))
                current[rel] = new
                path = self.folder / rel
                if new is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(new)
            yield self.folder
        finally:  # restore only what was touched: file writes dominate the cost of an example
            for rel in set(chosen):
                (self.folder / rel).write_bytes(self.original[rel])


def _files(folder: Path, patterns: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for pattern in patterns:
        out += sorted(p.relative_to(folder).as_posix() for p in folder.glob(pattern) if p.is_file())
    return out


@pytest.fixture(scope="module")
def mali(tmp_path_factory: pytest.TempPathFactory) -> Case:
    if not SHARED_MALI.is_dir():
        pytest.skip("../shared is not beside the checkout")
    folder = tmp_path_factory.mktemp("fuzz") / "mali2012"
    shutil.copytree(SHARED_MALI, folder)
    assert check_loads_or_fails(folder) == "ok"
    return Case(folder, _files(folder, ("input_csv/*.csv", "source_data/*.csv", "simsetting.yml")))


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Case:
    folder = write_mini_flee(tmp_path_factory.mktemp("fuzz") / "mini")
    assert check_loads_or_fails(folder) == "ok"
    return Case(folder, _files(folder, ("input_csv/*.csv", "source_data/*.csv", "simsetting.yml")))


@pytest.fixture(scope="module")
def mini_native(tmp_path_factory: pytest.TempPathFactory) -> Case:
    from corredor.scenario.convert import write_native

    src = write_mini_flee(tmp_path_factory.mktemp("fuzz") / "mini")
    folder = tmp_path_factory.mktemp("fuzz") / "mini-native"
    write_native(load_scenario(src), folder)
    assert check_loads_or_fails(folder) == "ok"
    return Case(folder, _files(folder, ("*.csv", "scenario.toml")))


@pytest.fixture(scope="module")
def crisis(tmp_path_factory: pytest.TempPathFactory) -> Case:
    folder = tmp_path_factory.mktemp("fuzz") / "chile-peru-2023"
    shutil.copytree(CHILE_PERU, folder, ignore=shutil.ignore_patterns("variants", "*.py"))
    assert check_loads_or_fails(folder) == "ok"
    return Case(folder, _files(folder, ("*.csv", "scenario.toml")))


#: FUZZ_FAST=1 skips shrinking (for hunting several crashes quickly while developing).
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate) if os.environ.get("FUZZ_FAST") else None
@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> Case:
    """The crisis scenario with its policy variants (TOML files merged over the baseline)."""
    folder = tmp_path_factory.mktemp("fuzz") / "chile-peru-2023"
    shutil.copytree(CHILE_PERU, folder, ignore=shutil.ignore_patterns("*.py"))
    return Case(folder, _files(folder, ("variants/*.toml", "variants/*.csv", "policies.csv")))


def check_variant_loads_or_fails(path: Path) -> str:
    """Load a variant file (baseline + overrides): a Scenario, or problems with places."""
    from corredor.engine.rules.crisis_plan import compile_crisis
    from corredor.scenario.native_crisis import load_any

    try:
        scenario = load_any(path)
        compile_crisis(scenario)
    except ScenarioError as exc:
        assert exc.problems
        for p in [*exc.problems, *exc.warnings]:
            render_ok(p)
        return "error"
    return "ok"


def budget(examples: int) -> int:
    """`examples` locally, scaled in CI by its profile's share of hypothesis's default 100 (a
    fifth: tests/conftest.py): CI draws the same examples on every commit (derandomize), so the
    rest of a budget there would only re-check the same fixed inputs; local runs draw fresh ones."""
    return max(10, examples * settings.default.max_examples // 100)


FUZZ = settings(
    deadline=None,
    phases=_PHASES or tuple(Phase),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    print_blob=True,
)


@settings(FUZZ, max_examples=budget(400))
@given(data=st.data())
def test_mali2012_mutations_load_or_fail_with_places(mali: Case, data: st.DataObject) -> None:
    with mali.mutated(data.draw) as folder:
        check_loads_or_fails(folder)


@settings(FUZZ, max_examples=budget(750))
@given(data=st.data())
def test_small_flee_case_mutations_load_or_fail_with_places(
    mini: Case, data: st.DataObject
) -> None:
    with mini.mutated(data.draw) as folder:
        check_loads_or_fails(folder)


@settings(FUZZ, max_examples=budget(400))
@given(data=st.data())
def test_native_mutations_load_or_fail_with_places(mini_native: Case, data: st.DataObject) -> None:
    with mini_native.mutated(data.draw) as folder:
        check_loads_or_fails(folder)


@settings(FUZZ, max_examples=budget(400))
@given(data=st.data())
def test_crisis_mutations_load_or_fail_with_places(crisis: Case, data: st.DataObject) -> None:
    with crisis.mutated(data.draw) as folder:
        check_loads_or_fails(folder)


@settings(FUZZ, max_examples=budget(150))
@given(data=st.data())
def test_variant_mutations_load_or_fail_with_places(variants: Case, data: st.DataObject) -> None:
    names = sorted(p.name for p in (variants.folder / "variants").glob("*.toml"))
    which = data.draw(st.sampled_from(names))
    with variants.mutated(data.draw) as folder:
        check_variant_loads_or_fails(folder / "variants" / which)


runner = CliRunner()


@settings(FUZZ, max_examples=budget(100))
@given(data=st.data(), which=st.sampled_from(["mini", "crisis"]))
def test_validate_cli_exits_0_or_2_without_traceback(
    mini: Case, crisis: Case, data: st.DataObject, which: str
) -> None:
    case = mini if which == "mini" else crisis
    with case.mutated(data.draw) as folder:
        result = runner.invoke(app, ["validate", str(folder)])
        output = result.output
        assert result.exit_code in (0, 2), (result.exit_code, output, result.exception)
        assert "Traceback" not in output
        if result.exit_code == 0:
            assert "ok (" in output
        else:
            assert "problem" in output


@settings(FUZZ, max_examples=budget(50))
@given(data=st.data(), engine=st.sampled_from(["agents", "cohorts"]))
def test_run_cli_on_mutated_cases_exits_0_or_2_without_traceback(
    mini: Case, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, engine: str
) -> None:
    """Inputs that load must also run (or be refused with exit 2): the engines see odd values too."""
    out = tmp_path_factory.mktemp("run") / "out"
    with mini.mutated(data.draw) as folder:
        result = runner.invoke(app, ["run", str(folder), "--engine", engine, "--out", str(out), "-q"])
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert result.exit_code != 0 or (out / "manifest.json").is_file()


def test_validate_subprocess_on_garbage_exits_2(mini: Case, tmp_path: Path) -> None:
    """The real entry point in a fresh interpreter: random bytes as locations.csv -> exit 2."""
    import subprocess
    import sys

    folder = tmp_path / "case"
    shutil.copytree(mini.folder, folder)
    (folder / "input_csv" / "locations.csv").write_bytes(bytes(range(256)) * 3)
    r = subprocess.run(
        [sys.executable, "-c", "from corredor.cli import main; main()", "validate", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "input_csv/locations.csv:1:" in r.stderr
