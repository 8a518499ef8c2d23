"""Command line: thin wrappers that parse arguments, call the API and print with rich.

Every command exits 2 with `path:line:col: message` lines (no traceback) on bad input.
Each command's body lives in a small function here; heavy work happens in the library.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType

from .engine import MAX_SEED  # (the package, not engine.rng: that imports numba)
from .scenario import ScenarioError
from .scenario.model import MAX_DAYS
from .scenario.settings import MAX_HASTEN

#: The most replicas, seeds or trials one command takes: far beyond any study (a million runs of
#: the Chile–Peru scenario is a day of CPU), and a bound on what is spawned and kept up front
MAX_RUNS = 1_000_000

if TYPE_CHECKING:
    from typer._click.core import Context as ClickContext  # (the click typer bundles)

    from .outputs.plotworker import PlotWorker

class UsageArgument(Protocol):
    """What a usage line needs of a command-line argument (a click or typer argument)."""

    @property
    def name(self) -> str | None: ...
    @property
    def metavar(self) -> str | None: ...
    @property
    def required(self) -> bool: ...
    @property
    def nargs(self) -> int: ...


def usage_name(param: UsageArgument) -> str:
    """An argument as a usage line names it, as click does: PATH, PATHS..., [VARIANTS]...

    >>> from types import SimpleNamespace as Arg
    >>> usage_name(Arg(name="variants", metavar=None, required=False, nargs=-1))
    '[VARIANTS]...'
    """
    name = param.metavar or (param.name or "arg").upper()
    if not param.required:
        name = f"[{name}]"
    return f"{name}..." if param.nargs != 1 else name


#: The help's word for a value of each type, as click writes it
VALUE_WORDS = {int: "INTEGER", float: "FLOAT", str: "TEXT", bool: "BOOLEAN"}


def value_word(annotation: Any, path_kind: str | None = None) -> str:
    """The help's word for a value: INTEGER, FLOAT, TEXT, PATH (FILE, DIR); a list's element's.

    >>> import datetime
    >>> value_word(list[Path], "path"), value_word(int), value_word(datetime.date)
    ('PATH', 'INTEGER', 'DATE')
    """
    args: tuple[Any, ...] = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is list and len(args) == 1:
        annotation = args[0]
    if path_kind is not None:
        return path_kind.upper()
    return VALUE_WORDS.get(annotation) or getattr(annotation, "__name__", str(annotation)).upper()


def _bound(x: float) -> str:
    """A range's end as a reader takes it in: 1,000,000; 2^64-1 rather than its 20 digits."""
    if isinstance(x, int) and x >= 2**32 and (x + 1) & x == 0:
        return f"2^{(x + 1).bit_length() - 1}-1"
    return f"{x:,}"


def range_words(low: float | None, high: float | None) -> str | None:
    """A number option's range as its help says it (rather than typer's `[0<=x<=18446744073709551615]`),
    without a space, where rich would wrap it.

    >>> range_words(1, None), range_words(1, 1_000_000), range_words(0, 2**64 - 1), range_words(None, None)
    ('≥1', '1–1,000,000', '0–2^64-1', None)
    """
    if low is None and high is None:
        return None
    if high is None:
        return f"≥{_bound(low)}"  # type: ignore[arg-type]
    if low is None:
        return f"≤{_bound(high)}"
    return f"{_bound(low)}–{_bound(high)}"


#: The help's word for the value of these options, where the help text names it ("simulate only
#: the first N days", "one agent per H people") or a type word would say less (DIR, KEY=VALUE).
OPTION_WORDS = {"--seed": "SEED", "--seeds": "N", "--replicas": "N", "--trials": "N", "--days": "N",
                "--hasten": "H", "--workers": "N", "--threads": "N", "--checkpoint-every": "N",
                "--every": "N", "--out": "DIR", "--set": "KEY=VALUE", "--sweep": "KEY=VALUES",
                "--address": "URL", "--params": "FILE", "--comparison": "FILE", "--sweep-date": "NAME"}


def _plain_type(param: TyperOption | TyperArgument) -> str | None:
    """The help's type column for a parameter: none for a flag; its metavar or `OPTION_WORDS`
    word; else `value_word`."""
    if isinstance(param, TyperOption):
        if param.is_flag or param.count:
            return None
        if param.metavar is not None:
            return param.metavar
        if param.opts[0] in OPTION_WORDS:
            return OPTION_WORDS[param.opts[0]]
    desc = param.type_descriptor
    if desc.is_choice:
        return param.display_type(ctx=None)  # type: ignore[arg-type]  # ([a|b], as typer shows it)
    word = value_word(desc.annotation, desc.path_type if desc.is_path else None)
    # (an argument's name says `paths...` already)
    return f"{word}..." if isinstance(param, TyperOption) and param.nargs != 1 else word


class Option(TyperOption):
    """A typer option whose help row shows a flag without a type and a value by a plain word
    (INTEGER, PATH, TEXT or its metavar) and its range in its help (`≥1`), not in the type column.

    Why: typer 0.29 shows `<bool>` on every flag, `<list[str]>`, `<int range> [0<=x<=18446744073709551615]`.
    """

    def display_type_rich(self, ctx: ClickContext) -> str | None:
        return _plain_type(self)

    def _get_number_range_help_str(self) -> str | None:
        return None  # (in the help text: `with_plain_types`)


class Argument(TyperArgument):
    """A typer argument shown as `Option` shows an option; an error names it as the usage line does.

    Why: typer 0.29 said `Missing argument 'dest'.` under `convert [OPTIONS] SRC DEST`.
    """

    def display_type_rich(self, ctx: ClickContext) -> str | None:
        return _plain_type(self)

    def _get_number_range_help_str(self) -> str | None:
        return None

    # (Option's two methods are not shared through a mixin: `with_plain_types` swaps a
    # parameter's class, which needs Option's and Argument's layout to be typer's own)

    def get_error_hint(self) -> str:
        return f"'{usage_name(self)}'"


def with_plain_types(params: list[Any]) -> list[Any]:
    """`params` with each typer option an `Option` and each argument an `Argument` (once; its
    range joins its help as `\\[≥1]`, escaped as every help text here is, for rich markup)."""
    for param in params:
        kind = Option if type(param) is TyperOption else Argument if type(param) is TyperArgument else None
        if kind is None:
            continue
        param.__class__ = kind  # (typer makes its parameters itself and has no hook for their class)
        words = range_words(param.min, param.max)
        if words and not getattr(param, "count", False):
            param.help = f"{param.help or ''} \\[{words}]".strip()
    return params


class Command(TyperCommand):
    """A subcommand whose usage line reads `run [OPTIONS] PATH` (`usage_name`), and whose help
    shows plain value words (`with_plain_types`).

    Why: typer 0.29 writes a required argument in braces, `run [OPTIONS] {path}`, in `--help` and
    in usage errors; a reader takes the braces for a placeholder syntax to type.
    """

    def get_params(self, ctx: ClickContext) -> list[Any]:
        return with_plain_types(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: ClickContext) -> list[str]:
        """[OPTIONS] then each argument by `usage_name` (options add nothing to the line)."""
        pieces = [self.options_metavar] if self.options_metavar else []
        # (typer's arguments are TyperArguments, not click Arguments; both say "argument")
        return pieces + [usage_name(p) for p in self.get_params(ctx) if p.param_type_name == "argument"]


class Group(TyperGroup):
    """The top command, its options shown as a `Command`'s are (`--version` without `<bool>`)."""

    def get_params(self, ctx: ClickContext) -> list[Any]:
        return with_plain_types(super().get_params(ctx))


class App(typer.Typer):
    """The typer app whose subcommands are `Command`s, so that every one gets the same usage line."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[CommandFunctionType], CommandFunctionType]:
        """typer's `command`, with `cls=Command` unless another class is asked for."""
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)


app = App(
    cls=Group,
    help="corredor: simulate people moving along migration corridors while borders close.",
    epilog="Exit status: 0 done; 1 unexpected error; 2 the input or the command line; 3 internal "
           "error (an invariant broken); 4 the environment (a full disk, a lost worker, an "
           "unreachable Dask scheduler: a retry may succeed); 130, 143 stopped by SIGINT, SIGTERM "
           "(docs/reliability.md).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from .provenance import version_text

        console.print(version_text(), markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print corredor's version and exit."),
) -> None:
    """corredor: simulate people moving along migration corridors while borders close."""


def fail_with_problems(exc: ScenarioError) -> None:
    """Print every problem of a ScenarioError as `path:line:col: message` and exit 2."""
    for w in exc.warnings:
        err_console.print(str(w), markup=False, highlight=False, soft_wrap=True)
    for p in exc.problems:
        err_console.print(str(p), markup=False, highlight=False, soft_wrap=True)
    n = len(exc.problems)
    # (the paths are relative to the scenario's folder: name it, or `compare A B` does not say which)
    where = f" in the scenario {exc.folder} (paths relative to it)" if getattr(exc, "folder", "") else ""
    err_console.print(f"{n} problem{'s' if n != 1 else ''} found{where}; nothing was run or written.",
                      markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def usage_error(message: str) -> None:
    """A wrong command-line value: print it and exit 2."""
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_INPUT)


#: The exit statuses of `corredor` (docs/reliability.md, "Exit statuses"): a scheduler retries
#: only EXIT_ENVIRONMENT. A stop signal is 128 + the signal (130, 143).
EXIT_OK, EXIT_UNEXPECTED, EXIT_INPUT, EXIT_INTERNAL, EXIT_ENVIRONMENT = 0, 1, 2, 3, 4

#: File-system and system errors that say nothing of the input or the options: a full disk or
#: quota, an I/O error, no memory or file handles, a network file system that went away.
_TRANSIENT_ERRNOS = frozenset(getattr(errno, name) for name in (
    "ENOSPC", "EDQUOT", "EIO", "ENOMEM", "EAGAIN", "EBUSY", "ENFILE", "EMFILE", "ETIMEDOUT",
    "ESTALE", "EINTR", "ENETDOWN", "ENETUNREACH", "ECONNRESET", "ECONNREFUSED", "EHOSTUNREACH",
    "ENOLINK", "ECOMM", "EREMOTEIO") if hasattr(errno, name))


def os_error_status(exc: OSError) -> int:
    """The exit status of a file-system error met while a command wrote: EXIT_ENVIRONMENT (4)
    for a full disk, an I/O error and the like (nothing to fix in the command: a retry may
    succeed), EXIT_INPUT (2) for the rest (a read-only or forbidden folder, a name that is not
    allowed, an output written meanwhile: the command line has to change)."""
    return EXIT_ENVIRONMENT if exc.errno in _TRANSIENT_ERRNOS else EXIT_INPUT


def write_error(path: object, exc: OSError) -> None:
    """A write of `path` that failed: one line, and exit with `os_error_status`."""
    err_console.print(f"error: cannot write {path}: {exc.strerror or exc}", markup=False,
                      highlight=False, soft_wrap=True)
    raise typer.Exit(os_error_status(exc))


def _home(path: Path | None) -> Path | None:
    """An output path with a leading `~` made the home folder: the shell leaves `--out=~/x` (and
    a quoted "~/x") as it is, and a folder named `~` in the current folder, made silently, is one
    `rm -rf ~` away from deleting the home folder."""
    return path.expanduser() if path is not None and str(path).startswith("~") else path


def safe_name(name: str) -> str:
    """A scenario name as one harmless file name: no separators, no '..', nothing hidden.

    Why: a default output folder is named after the scenario, and a native scenario's name is
    free text in scenario.toml; `../../x` must not write outside runs/.
    """
    cleaned = "".join(c if c.isalnum() or c in "-_.+" else "-" for c in str(name)).strip("-.")
    return cleaned.replace("..", "-") or "scenario"


#: PATH's help wherever a command takes one scenario (`load_scenario` reads each kind), and its
#: plural where it takes several: run, info and ensemble said "Flee case folder or native
#: scenario folder", and a reader of their help did not know that a variant file works too.
SCENARIO_HELP = "Flee case folder, native scenario folder or variant .toml file"
SCENARIOS_HELP = "Flee case folders, native scenario folders or variant .toml files"


@app.command()
def validate(paths: list[Path] = typer.Argument(..., help=SCENARIOS_HELP)) -> None:
    """Check scenarios: print every problem and warning; exit 2 if any problem is an error."""
    from .scenario.validate import validate_path

    failed = 0
    for path in paths:  # (`validate scenarios/x/variants/*.toml`: each checked, all reported)
        try:
            warnings = validate_path(path)
        except ScenarioError as exc:
            if len(paths) == 1:
                fail_with_problems(exc)
            failed += 1
            for p in (*exc.warnings, *exc.problems):  # (named from the scenario's folder, as alone)
                err_console.print(str(p), markup=False, highlight=False, soft_wrap=True)
            n = len(exc.problems)
            err_console.print(f"{path}: {n} problem{'s' if n != 1 else ''}", markup=False,
                              highlight=False, soft_wrap=True)
            continue
        for w in warnings:
            console.print(str(w), markup=False, highlight=False, soft_wrap=True)
        console.print(f"{path}: ok ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})",
                      markup=False, highlight=False, soft_wrap=True)
    if failed:
        err_console.print(f"{failed} of {len(paths)} scenarios have problems", markup=False)
        raise typer.Exit(2)


@app.command()
def run(
    path: Path = typer.Argument(..., help=SCENARIO_HELP),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="random seed (same seed, same result on any thread count)"),
    hasten: int | None = typer.Option(None, "--hasten", help="one agent per H people \\[the scenario's]"),
    days: int | None = typer.Option(None, "--days", help="simulate only the first N days"),
    set_: list[str] | None = typer.Option(
        None, "--set", help="a setting for this run, e.g. move_rules.camp_weight=2 (as in "
                            "calibrate's best_params.toml); repeat for more",
    ),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads \\[all]"),
    out: Path | None = typer.Option(None, "--out", help="run folder \\[runs/<scenario>]", callback=_home),
    force: bool = typer.Option(False, "--force", help="replace an existing run folder"),
    flee_out: bool = typer.Option(False, "--flee-out", help="also write Flee 3.1's out.csv"),
    engine: str = typer.Option("auto", "--engine", help="auto | agents | cohorts"),
    backend: str = typer.Option("cpu", "--backend", help="cpu | gpu (the agent engine on a CUDA GPU)"),
    draws: str = typer.Option(
        "gaps", "--draws",
        help="how the agent engine draws who moves: gaps | bernoulli (one draw per person, the "
             "GPU's fast pass A); same distribution, each its own numbers for a seed",
    ),
    check: bool = typer.Option(False, "--check", help="check invariants every day (slower)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing on success (no day counter either)"),
    checkpoint_every: int = typer.Option(
        0, "--checkpoint-every", min=0,
        help="save the run's state every N days beside the run folder (OUT.checkpoint.npz); "
             "Flee cases use the agent engine",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="go on from OUT.checkpoint.npz if it exists (same scenario and seed)"
    ),
    no_csv: bool = typer.Option(
        False, "--no-csv",
        help="leave out the per-day CSV tables (population.csv, populations.csv, needs.csv, "
             "sites_by_group.csv); results.parquet holds the same numbers and `corredor report` "
             "still works",
    ),
    no_plots: bool = typer.Option(
        False, "--no-plots", help="leave out the PNG figures (the report then has no charts)"
    ),
) -> None:
    """Simulate one replica and write a run folder (manifest.json, results.parquet, CSV tables,
    GeoJSON, figures; docs/outputs.md)."""
    import contextlib

    from .outputs.plotworker import plot_worker

    # the figures' helper process starts now, while this process has no other threads, and loads
    # matplotlib while the run computes; it is handed to write_run_folder (outputs/plotworker.py)
    with (contextlib.nullcontext(None) if no_plots else plot_worker()) as helper:
        _run(path, seed, hasten, days, threads, out, force, flee_out, engine, backend, draws, check,
             quiet, checkpoint_every, resume, helper, set_, csv=not no_csv, plots=not no_plots)


def _with_settings_or_exit(scenario, assignments: list[str]):
    """`scenario` with `run --set key=value` applied (`apply_overrides`, which records them for
    the manifest's `set`), and the settings as a dict;
    a bad key or value is one line and exit 2, before the run (as for ensemble and compare)."""
    from .analysis.ensemble import OverrideError, apply_overrides, parse_assignment

    try:
        settings = dict(parse_assignment(a) for a in assignments)
        changed = apply_overrides(scenario, settings) if settings else scenario
    except OverrideError as exc:
        usage_error(str(exc))
    if settings:
        _print_override_warnings({str(scenario.metadata.get("variant") or scenario.name): changed})
    return changed, settings


def _run(path: Path, seed: int, hasten: int | None, days: int | None, threads: int | None,
         out: Path | None, force: bool, flee_out: bool, engine: str, backend: str, draws: str,
         check: bool, quiet: bool, checkpoint_every: int, resume: bool,
         helper: PlotWorker | None, assignments: list[str] | None = None, csv: bool = True,
         plots: bool = True, loaded: Any = None) -> None:
    """The body of `run` (see there); `helper` draws the figures, or None to draw them here;
    `loaded`: the scenario, already loaded with its options and settings (`rerun`), else `path`
    is loaded here."""
    from .engine.agents import EngineError
    from .engine.crisis import InvariantError
    from .outputs.runfolder import RunFolderExists, write_run_folder
    from .simulate import ENGINES, draws_refusal, simulate

    if engine not in ENGINES:
        usage_error(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}")
    if backend not in ("cpu", "gpu"):
        usage_error(f"unknown backend '{backend}'; choose cpu or gpu")
    if backend == "gpu" and (checkpoint_every or resume):
        usage_error("--checkpoint-every and --resume work with --backend cpu")
    if draws != "gaps" and (checkpoint_every or resume):
        usage_error("--checkpoint-every and --resume work with --draws gaps")
    # (apply_overrides records the --set values in the scenario; the manifest writes them as `set`)
    scenario = loaded if loaded is not None else \
        _with_settings_or_exit(_load_or_exit(path, hasten, days, engine), assignments or [])[0]
    if not quiet:
        _note_warnings(path, scenario)
    refusal = draws_refusal(draws, engine, scenario)
    if refusal:
        usage_error(f"--draws: {refusal}")
    if flee_out and scenario.crisis is not None:  # (refused before the run, not after it)
        usage_error(f"--flee-out: {path} is a border-crisis scenario; Flee 3.1's out.csv "
                    "compares camps with UNHCR data, which only Flee-style scenarios have")
    out = out or Path("runs") / safe_name(scenario.name)
    _replaceable_or_exit(out, [scenario.source], replace=force)
    if out.exists() and not force:
        usage_error(f"{out} exists; use --force to replace it")
    ckpt = None
    if checkpoint_every or resume:
        from .engine.checkpoint import checkpoint_path

        if engine not in ("auto", "agents") and scenario.crisis is None:
            usage_error(f"--checkpoint-every and --resume need --engine agents (found {engine})")
        ckpt = checkpoint_path(out)
        if not resume and not force and os.path.lexists(ckpt):  # (hours of work, maybe)
            usage_error(f"{ckpt} holds the checkpoint of an earlier run: add --resume to go on "
                        "from it, or --force to start again from day 0")
        if resume and not ckpt.exists() and not quiet:
            err_console.print(f"no checkpoint at {ckpt}; starting from day 0", markup=False,
                              highlight=False, soft_wrap=True)
    plan = None
    if ckpt is not None and engine == "auto" and scenario.crisis is None:
        from .engine.checkpoint import auto_would_pick_cohorts
        from .plan import compile_plan

        try:  # (compiled once, here: the run takes this plan)
            compiled = compile_plan(scenario)
        except ScenarioError as exc:
            fail_with_problems(exc)
            raise
        plan = compiled
        instead = auto_would_pick_cohorts(compiled)
        if instead and not quiet:  # (before the run, which may take hours: not after it)
            err_console.print(f"warning: --checkpoint-every runs the agent engine; {instead}. "
                              "Without --checkpoint-every the cohort engine runs (it has no "
                              "checkpoints); --engine agents silences this warning",
                              markup=False, highlight=False, soft_wrap=True)
    from .progress import day_counter

    try:  # (the day the engine has reached, on stderr while it runs: progress.day_counter)
        with day_counter(scenario.name, quiet=quiet, console=err_console):
            if ckpt is not None:
                from .engine.checkpoint import CheckpointError, simulate_with_checkpoints

                def resuming(day: int, n_days: int) -> None:  # (else a resume looks like a restart)
                    if not quiet:
                        err_console.print(f"resuming from day {day} of {n_days} ({ckpt})", markup=False,
                                          highlight=False, soft_wrap=True)

                try:
                    res = simulate_with_checkpoints(plan if plan is not None else scenario, seed,
                                                    every=checkpoint_every, path=ckpt, resume=resume,
                                                    threads=threads, check=check, asked=engine,
                                                    on_resume=resuming)
                except CheckpointError as exc:
                    usage_error(str(exc))
            elif backend == "gpu":
                from .engine.gpu import GpuUnavailable

                try:
                    res = simulate(scenario, seed=seed, engine=engine, check=check, backend="gpu",
                                   draws=draws)
                except (GpuUnavailable, ValueError) as exc:
                    usage_error(f"--backend gpu: {exc}")
            else:
                res = simulate(scenario, seed=seed, engine=engine, threads=threads, check=check,
                               draws=draws)
    except ScenarioError as exc:
        fail_with_problems(exc)
    except EngineError as exc:
        usage_error(f"{path}: {exc}")
    except InvariantError as exc:  # a bug in the rules, not in the input: say so, exit 3
        err_console.print(f"internal error (please report): {exc}", markup=False, highlight=False,
                          soft_wrap=True)
        raise typer.Exit(EXIT_INTERNAL) from None
    from .provenance import invocation

    # (the options that leave no other trace, and the command as run: `corredor rerun` reads them)
    options = {"engine": engine, "draws": draws, "backend": backend, "threads": threads,
               "check": check, "flee_out": flee_out, "csv": csv, "plots": plots,
               "checkpoint_every": checkpoint_every}
    res.manifest["invocation"] = invocation(options, out)
    res.manifest["invocation"]["command"] = run_command(res.manifest, Path(os.path.abspath(out)))
    try:
        write_run_folder(res, out, force=force, flee_out=flee_out, plot_worker=helper, csv=csv,
                         plots=plots)
    except RunFolderExists as exc:
        usage_error(str(exc))
    except OSError as exc:
        write_error(out, exc)
    if ckpt is not None:  # the run folder is complete: the checkpoint is no longer needed
        ckpt.unlink(missing_ok=True)
    ran_on = res.manifest.get("threads")
    if threads is not None and threads > 1 and res.manifest.get("engine") == "cohorts":
        # (its kernel is serial: the 1 it ran on says nothing of the machine)
        err_console.print(f"note: --threads {threads}: the cohort engine runs on one thread",
                          markup=False, highlight=False, soft_wrap=True)
    elif threads is not None and isinstance(ran_on, int) and 0 < ran_on < threads:
        # (numba runs on at most the machine's threads: the manifest's figure is what ran)
        err_console.print(f"note: --threads {threads} is more than this machine's {ran_on}; ran on {ran_on}",
                          markup=False, highlight=False, soft_wrap=True)
    if not quiet:
        m = res.manifest
        tm = m.get("timing", {})
        # (the cohort engine moves counts, not agents: its steps are people's, or at hasten h
        # the dataset's unit, agents of h people; the manifest's key stays timing.agent_steps)
        steps = ("agent-steps" if m.get("engine") != "cohorts"
                 else f"{'person' if m.get('hasten', 1) == 1 else 'agent'}-steps moved as counts")
        # (a resumed run's timing is of the days this process ran: checkpoint._timing_of_this_process)
        resumed = tm.get("resumed_from_day")
        ran = (f"resumed from day {resumed}: {tm.get('agent_steps', 0):,} {steps} of days "
               f"{resumed}–{int(m.get('days') or 0) - 1}" if resumed
               else f"{tm.get('agent_steps', 0):,} {steps}")
        msg = (f"wrote {out}: {scenario.name}, {m.get('days')} days, seed {seed}, "
               f"{ran} in {tm.get('loop_s', 0.0):.2f} s")
        if tm.get("compile_s", 0.0) >= 1.0:  # a first run on this machine: say where the time went
            msg += (f" (of which {tm['compile_s']:.0f} s compiling the engine, once per machine: "
                    "later runs reuse it)")
        met = m.get("metrics")
        if met:
            from .analysis.metrics import ard_line

            msg += f"; {ard_line(met)}"
        console.print(msg, markup=False, highlight=False, soft_wrap=True)
        choice = m.get("engine_choice")
        if choice:  # which engine ran and why (auto: the cheaper one; agents if a rule needs history)
            console.print(f"engine {choice['engine']} ({engine}): {choice['reason']}",
                          markup=False, highlight=False, soft_wrap=True)
            if choice.get("caveat"):  # (the cohort engine on a case with camp capacities)
                err_console.print(f"warning: {scenario.name}: {choice['caveat']}",
                                  markup=False, highlight=False, soft_wrap=True)
        import json

        figures = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("key_figures")
        if figures:  # a border-crisis run: the key figures its folder keeps, as its page gives them
            from .analysis.compare import key_figure_rows

            rows = key_figure_rows(figures, m.get("start_date"))
            width = max(len(k) for k, _ in rows)
            console.print("key figures of this run (one seed: `corredor compare` gives the spread):\n"
                          + "\n".join(f"  {k:<{width}}  {v}" for k, v in rows),
                          markup=False, highlight=False, soft_wrap=True)


def _set_text(value: Any) -> str:
    """A `set` value as `--set key=VALUE` reads it back: true/false, a number's repr, a date as
    YYYY-MM-DD, text as is."""
    import json

    if isinstance(value, str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else json.dumps(value)


def run_command(manifest: dict[str, Any], out: Path) -> str:
    """The `corredor run` command that repeats the run `manifest` describes into `out`, as one
    shell line (absolute scenario path: it works from any folder). Why: the manifest's
    `invocation.command`, and what `corredor rerun --dry-run` prints."""
    import shlex

    scen = manifest.get("scenario") or {}
    opts = (manifest.get("invocation") or {}).get("options") or {}
    words = ["corredor", "run", str(scen.get("variant_file") or scen.get("source") or "?"),
             "--seed", str(manifest.get("seed_text") or manifest.get("seed", 0))]
    if manifest.get("engine") != "crisis-agents":  # (a border-crisis scenario has no hasten)
        words += ["--hasten", str(manifest.get("hasten", 1))]
    words += ["--days", str(manifest.get("days"))]
    for key, value in (manifest.get("set") or {}).items():
        words += ["--set", f"{key}={_set_text(value)}"]
    engine = opts.get("engine") or (manifest.get("engine_choice") or {}).get("asked") or "auto"
    words += ["--engine", str(engine)]
    for flag, default in (("draws", "gaps"), ("backend", "cpu")):
        if opts.get(flag, manifest.get(flag, default)) != default:
            words += [f"--{flag}", str(opts.get(flag, manifest.get(flag)))]
    if opts.get("threads"):
        words += ["--threads", str(opts["threads"])]
    if opts.get("checkpoint_every"):
        words += ["--checkpoint-every", str(opts["checkpoint_every"])]
    words += [flag for flag, on in (("--check", opts.get("check")), ("--flee-out", opts.get("flee_out")),
                                    ("--no-csv", opts.get("csv") is False),
                                    ("--no-plots", opts.get("plots") is False)) if on]
    return shlex.join([*words, "--out", str(out)])


@app.command()
def rerun(
    run_dir: Path = typer.Argument(..., help="run folder to repeat (its manifest.json)"),
    out: Path = typer.Option(..., "--out", help="folder for the new run", callback=_home),
    scenario: Path | None = typer.Option(
        None, "--scenario", help="read this scenario instead of the one the manifest names (a copy "
                                 "elsewhere or under another name; it must hold the same inputs)"),
    force: bool = typer.Option(False, "--force", help="replace an existing run folder"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing on success"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="check the scenario's files against the manifest and print the "
                                 "equivalent `corredor run` command; run nothing"),
) -> None:
    """Run a run folder's scenario again, with the seed, settings and options its manifest.json records, into a new folder: the same files but for manifest.json's timing and invocation. Exit 2, running nothing, when the scenario's inputs changed since (the files that changed are named)."""
    import contextlib
    import json

    from .analysis.ensemble import OverrideError, replay_overrides
    from .outputs.plotworker import plot_worker
    from .provenance import changed_inputs, input_files, scenario_digest

    path = run_dir / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        usage_error(f"{path}: cannot be read as a run's manifest ({exc})")
    scen = manifest.get("scenario") if isinstance(manifest, dict) else None
    if not isinstance(scen, dict) or "seed" not in manifest or manifest.get("kind"):
        usage_error(f"{path}: not a run's manifest (expected a run folder of `corredor run`)")
        return
    target = scenario or Path(str(scen.get("variant_file") or scen.get("source") or ""))
    if not str(target) or str(target) == ".":
        usage_error(f"{path}: names no scenario; give it with --scenario")
    opts = (manifest.get("invocation") or {}).get("options") or {}
    engine = str(opts.get("engine") or (manifest.get("engine_choice") or {}).get("asked") or "auto")
    crisis = manifest.get("engine") == "crisis-agents"
    loaded = _load_or_exit(target, None if crisis else manifest.get("hasten"), manifest.get("days"),
                           engine)
    try:
        loaded = replay_overrides(loaded, manifest.get("set") or {}) if manifest.get("set") else loaded
    except OverrideError as exc:
        usage_error(f"{path}: its `set`: {exc}")
    recorded = scen.get("files")
    changed = (changed_inputs(recorded, input_files(loaded.source, loaded.metadata.get("variant_file")))
               if isinstance(recorded, dict) else [])
    digest = scenario_digest(loaded)
    if digest != scen.get("sha256"):
        which = f"; changed since the run: {', '.join(changed)}" if changed else ""
        usage_error(f"{target}: not the scenario the run read (its sha256 is {digest}, the run's "
                    f"{scen.get('sha256')}){which}; the run cannot be repeated from it")
    if changed and not quiet:  # (files the run does not read: the same scenario all the same)
        err_console.print(f"{target}: warning: changed since the run, with no effect on it (same "
                          f"sha256): {', '.join(changed)}", markup=False, highlight=False, soft_wrap=True)
    if dry_run:
        named = {**manifest, "scenario": {"source": os.path.abspath(target)}} if scenario else manifest
        console.print(run_command(named, Path(os.path.abspath(out))), markup=False, highlight=False,
                      soft_wrap=True)
        return
    seed = int(manifest.get("seed_text") or manifest["seed"])
    plots = opts.get("plots", True) is not False
    with (contextlib.nullcontext(None) if not plots else plot_worker()) as helper:
        _run(target, seed, None, None, opts.get("threads"), out, force, bool(opts.get("flee_out")),
             engine, str(opts.get("backend") or manifest.get("backend") or "cpu"),
             str(opts.get("draws") or manifest.get("draws") or "gaps"), bool(opts.get("check")),
             quiet, int(opts.get("checkpoint_every") or 0), False, helper,
             csv=opts.get("csv", True) is not False, plots=plots, loaded=loaded)


@app.command()
def info(
    path: Path = typer.Argument(..., help=SCENARIO_HELP),
    every: int = typer.Option(0, "--every", min=0, help="Days between rows of the data table (0: about 12 rows)"),
) -> None:
    """Summarise a scenario: places by kind, routes, camps, period, population, data totals by day."""
    from .scenario import load_scenario
    from .scenario.summary import print_summary

    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        fail_with_problems(exc)
        return
    print_summary(scenario, console, every=every)


@app.command()
def convert(
    src: Path = typer.Argument(..., help="Flee case folder (or native folder) to read"),
    dest: Path = typer.Argument(..., help="Folder to write in corredor's native format", callback=_home),
    force: bool = typer.Option(False, "--force", help=(
        "replace DEST where corredor wrote it (a run folder; a conversion only while unedited and "
        "holding nothing else); a folder of your own files is never replaced")),
) -> None:
    """Write a Flee case folder as a native scenario folder (scenario.toml + CSV tables)."""
    from .scenario import load_scenario
    from .scenario.convert import DestinationExists, write_native

    try:
        scenario = load_scenario(src)
    except ScenarioError as exc:
        fail_with_problems(exc)
        return
    if scenario.crisis is not None:
        usage_error(f"{src} has crisis sections; convert writes Flee-style scenarios only")
    # (all of the check, `--force` or not: a folder of notes is named as such, not "exists")
    _replaceable_or_exit(dest, [src, scenario.source], replace=True)
    try:
        write_native(scenario, dest, force=force, description=f"converted from {src}")
    except DestinationExists:
        usage_error(f"{dest} exists; use --force to replace it")
    except ScenarioError as exc:
        fail_with_problems(exc)
    except OSError as exc:
        write_error(dest, exc)
    console.print(f"wrote {dest}", markup=False, highlight=False, soft_wrap=True)


def _replaceable_or_exit(out: Path, sources: list, *, replace: bool,
                         into: str | None = None) -> None:
    """Exit 2 (before any work) when `out` is a scenario folder being read or lies inside one;
    when, with `replace` (`--force`), replacing it would delete the current folder, a folder
    above it, a scenario being read, a file or someone else's folder (targets.check_replaceable,
    the check the library's writers make again); or when it cannot be written
    (targets.check_writable). Called before the command's own "exists; use --force"."""
    from .targets import UnsafeTarget, UnwritableTarget, check_replaceable, check_writable

    try:  # (`into`: the command writes that file into the folder, not the folder beside it)
        check_replaceable(out, sources, replace=replace)
        check_writable(out / into if into else out)
    except (UnsafeTarget, UnwritableTarget) as exc:
        usage_error(str(exc))


def _executor_or_exit(kind: str, workers: int | None, address: str | None):
    """Build an executor from CLI options, exiting 2 with one line on a bad value."""
    from .analysis.executors import SchedulerUnreachable, make_executor

    if address and kind != "dask":
        usage_error("--address needs --executor dask")
    try:
        return make_executor(kind, workers=workers, address=address)
    except SchedulerUnreachable as exc:  # (not up yet, or the network: a retry may succeed)
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ENVIRONMENT) from None
    except (ValueError, RuntimeError) as exc:
        usage_error(str(exc))


def _check_engine(engine: str) -> None:
    from .simulate import ENGINES

    if engine not in ENGINES:
        usage_error(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}")


def _load_or_exit(path: Path, hasten: int | None, days: int | None, engine: str = "auto"):
    """The scenario at `path` with --hasten and --days applied; exit 2 with the problems, or
    where an option would do nothing (a border-crisis run simulates every person on its own
    engine: it has no hasten and no cohort engine)."""
    from . import load_scenario

    if hasten is not None and not 1 <= hasten <= MAX_HASTEN:
        usage_error(f"--hasten must be from 1 to {MAX_HASTEN:,}, found {hasten}")
    if days is not None and days < 1:
        usage_error(f"--days must be at least 1, found {days}")
    try:
        scenario = load_scenario(path, hasten=hasten)
    except ScenarioError as exc:
        fail_with_problems(exc)
    if scenario.crisis is not None:
        if hasten is not None and hasten != 1:
            from .scenario.model import CRISIS_HASTEN

            usage_error(f"--hasten {hasten:,}: {CRISIS_HASTEN}; leave --hasten out")
        if engine == "cohorts":
            usage_error("--engine cohorts cannot run a border-crisis scenario: its rules follow each "
                        "person (cash, days waited); use --engine auto or agents")
    if days is not None and days > scenario.days:  # past its end no data, policy or conflict says anything
        usage_error(f"--days {days:,} runs past the scenario's {scenario.days:,} days "
                    f"(--days simulates the first N days; expected at most {scenario.days:,})")
    if days is not None and days > MAX_DAYS:  # (a scenario longer than that is refused when compiled)
        usage_error(f"--days {days:,} is more than the {MAX_DAYS:,} days (100 years) corredor accepts")
    return scenario.with_days(days) if days is not None else scenario


@app.command()
def ensemble(
    path: Path = typer.Argument(..., help=SCENARIO_HELP),
    replicas: int = typer.Option(20, "--replicas", "-n", min=1, max=MAX_RUNS, help="replicas per variant"),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="base seed; replica seeds are spawned from it"),
    out: Path | None = typer.Option(None, "--out", help="output folder \\[runs/<scenario>-ensemble]", callback=_home),
    force: bool = typer.Option(False, "--force", help="replace an existing output folder"),
    set_: list[str] | None = typer.Option(None, "--set", help="setting for every variant, e.g. move_rules.camp_weight=2"),
    sweep: list[str] | None = typer.Option(None, "--sweep", help="one variant per value, e.g. move_rules.awareness_level=1,2 (a..b/step: a range)"),
    executor: str = typer.Option("local", "--executor", help="local (processes) | dask | serial"),
    address: str | None = typer.Option(None, "--address", help="Dask scheduler, e.g. tcp://host:8786"),
    workers: int | None = typer.Option(None, "--workers", min=1, help="worker processes \\[all cores]"),
    hasten: int | None = typer.Option(None, "--hasten", help="one agent per H people"),
    days: int | None = typer.Option(None, "--days", help="simulate only the first N days"),
    engine: str = typer.Option("auto", "--engine", help="auto | agents | cohorts"),
    no_plot: bool = typer.Option(False, "--no-plot", help="skip bands.png"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar or summary"),
    resume: bool = typer.Option(
        False, "--resume",
        help="go on from OUT.partial, where a stopped ensemble kept its finished replicas: only "
             "the missing ones run (same scenario and options; the result is as in one go)",
    ),
) -> None:
    """Run seeded replicas (and sweeps) and write quantile bands and metric distributions.

    Each finished replica is kept in OUT.partial beside the output until the output is written,
    so that a stopped ensemble (a signal, a lost worker, a wall-time limit) goes on with --resume."""
    from .analysis.ensemble import (
        BASELINE,
        PARTIAL_IDENTITY,
        OverrideError,
        apply_overrides,
        build_variants,
        few_replicas_note,
        kept_replicas,
        parse_assignment,
        parse_sweep,
        partial_path,
        run_ensemble,
        to_run,
        write_ensemble,
    )
    from .progress import progress_bar

    _check_engine(engine)
    scenario = _load_or_exit(path, hasten, days, engine)
    if not quiet:
        _note_warnings(path, scenario)
    try:
        settings = dict(parse_assignment(s) for s in set_ or [])
        sweeps = [parse_sweep(s) for s in sweep or []]
        _runs_or_exit(sweeps, replicas, "replicas")
        variants = build_variants(settings, sweeps,
                                  base_label=str(scenario.metadata.get("variant") or BASELINE),
                                  meaning=_value_meaning(scenario))
        # refuse bad keys before any work; a warning every variant has (of a --set value, or of a
        # parameter no table reads) is said once, of the scenario
        varied = {v.label: apply_overrides(scenario, v.overrides) for v in variants}
        _print_override_warnings(varied if len(varied) > 1 else {scenario.name: next(iter(varied.values()))},
                                 together=scenario.name)
    except OverrideError as exc:
        usage_error(str(exc))
    out = out or Path("runs") / f"{safe_name(scenario.name)}-ensemble"
    _replaceable_or_exit(out, [scenario.source], replace=force)
    if out.exists() and not force:
        usage_error(f"{out} exists; use --force to replace it")
    import shutil

    total = replicas * len(variants)
    partial = partial_path(out)
    ours = partial.is_dir() and not partial.is_symlink() and (partial / PARTIAL_IDENTITY).is_file()
    if os.path.lexists(partial) and not ours:  # (someone else's file or folder: never removed)
        usage_error(f"{partial} exists and is no folder of an interrupted ensemble (it has no "
                    f"{PARTIAL_IDENTITY}); remove it, or write the ensemble elsewhere (--out)")
    if ours and not resume:
        if not force:  # (hours of replicas, maybe)
            usage_error(f"{partial} keeps {len(kept_replicas(partial))} finished replicas of an "
                        "interrupted ensemble: add --resume to run only the missing ones, or --force "
                        "to start again")
        shutil.rmtree(partial)
    kept = kept_replicas(partial) if resume else set()
    if resume and not quiet:  # (else a resume looks like a restart)
        said = (f"resuming: {len(kept)} of {total} replicas are kept in {partial}; running the other "
                f"{to_run(kept, len(variants), replicas)}" if ours
                else f"no partial ensemble at {partial}; running every replica")
        err_console.print(said, markup=False, highlight=False, soft_wrap=True)
    ex = _executor_or_exit(executor, workers, address)
    if (few := few_replicas_note(replicas)) is not None:  # ("5–95 %" is not 90 % of them below 20)
        err_console.print(f"warning: {scenario.name}: {few}", markup=False, highlight=False, soft_wrap=True)
    n_run = to_run(kept, len(variants), replicas) if kept else total
    try:
        try:
            with ex, progress_bar(f"{scenario.name}: {n_run} replicas", n_run, quiet=quiet) as advance:
                ens = run_ensemble(scenario, replicas, seed=seed, variants=variants, executor=ex,
                                   engine=engine, progress=lambda done, n: advance(), partial=partial)
        except BaseException as exc:
            _say_how_to_resume(exc, partial, total)
            raise
    except ScenarioError as exc:  # e.g. a setting the plan compiler refuses
        fail_with_problems(exc)
    except ValueError as exc:  # e.g. an unknown engine; a partial folder of another ensemble
        usage_error(str(exc))
    from .provenance import invocation

    ens.manifest["invocation"] = invocation({"plot": not no_plot}, out)  # (the command as run)
    try:
        write_ensemble(ens, out, force=force, plot=not no_plot)
    except OSError as exc:  # (a disk filled or a folder became read-only during the run)
        write_error(out, exc)
    shutil.rmtree(partial, ignore_errors=True)  # (the output is complete: its replicas are in it)
    if not quiet:
        from rich.table import Table

        # (a long variant name is folded, not cut: two sweep points read "crisis.peru_block=2023-04…";
        # a file or a pipe gets whole lines, each parameter of a sweep point on its own; a metric
        # by compare's label and unit, folded at its spaces: its key, `stranded_person_days`,
        # broke as "stranded_person_d" / "ays" at 80 columns)
        from .analysis.compare import METRIC_LABELS, heading, name_lines
        from .analysis.ensemble import NO_VALUE_REASONS
        from .outputs.report.ensemble import metric_format

        table = Table(title=f"{replicas} replica{'s' if replicas != 1 else ''} each")
        labels = {label: name_lines(label) for label in ens.summary}
        longest = max(len(line) for text in labels.values() for line in text.split("\n"))
        table.add_column("variant", overflow="fold",
                         min_width=12 if console.is_terminal else min(40, longest))
        table.add_column("metric", overflow="fold")
        table.add_column("median", justify="right", no_wrap=True)
        table.add_column("5–95 %", justify="right", no_wrap=True)
        notes = []
        for label, metrics in ens.summary.items():
            for k, (name, s) in enumerate(metrics.items()):
                said = METRIC_LABELS.get(name, (name, ""))[0]  # (in a note: the label, as compare's notes)
                some = 0 < s["n"] < replicas  # (NaN in some replicas, e.g. the camp not yet empty)
                why = NO_VALUE_REASONS.get(name)
                if some:
                    notes.append(f"* {label}, {said}: a value in {s['n']:.0f} of {replicas} replicas"
                                 + (f" (in the others {why})" if why else "") + "; the figures are of those")
                elif why and not s["n"]:
                    notes.append(f"{label}, {said}: {why} in any replica")
                # (as the ensemble's page writes them: a count whole, 498 – 508, as compare prints
                # it; a day its date, 2023-04-14 – 2023-04-19; any other to 4 significant digits)
                num = metric_format(name, s, ens.manifest.get("start_date"))
                median, band = ((num(s["q50"]) + ("*" if some else ""), f"{num(s['q05'])} – {num(s['q95'])}")
                                if s["n"] else ("–", "in no replica"))
                table.add_row(labels[label] if k == 0 else "", heading(name), median, band,
                              end_section=k == len(metrics) - 1)
        console.print(table, crop=console.is_terminal)  # (a file or a pipe: whole lines)
        for note in notes:
            console.print(note, markup=False, highlight=False, soft_wrap=True)
        if ens.differences:  # (a sweep: whether each variant's difference stands out of the seed noise)
            _print_differences(ens, replicas)
        console.print(f"wrote {out} ({ens.manifest['wall_s']:.1f} s)", markup=False, highlight=False,
                      soft_wrap=True)
    caveat = (ens.manifest.get("engine_choice") or {}).get("caveat")
    if caveat:  # (the cohort engine on a case with camp capacities: its bands there can be too wide)
        err_console.print(f"warning: {scenario.name}: {caveat}", markup=False, highlight=False, soft_wrap=True)


def _say_how_to_resume(exc: BaseException, partial: Path, total: int) -> None:
    """Where an ensemble failed or was stopped with finished replicas kept in `partial`, say how
    to go on: in the stop's line (stopping.exit_stopped), in a lost worker's error, or as a note
    before any other error. Nothing where none was kept, or where the folder was refused."""
    from . import stopping
    from .analysis.ensemble import PartialMismatch, kept_replicas
    from .analysis.executors import WorkerLost

    n = len(kept_replicas(partial))
    if not n or isinstance(exc, PartialMismatch | typer.Exit | SystemExit):
        return
    hint = (f"{n} of {total} finished replicas are kept in {partial}: add --resume to the same "
            f"command to run only the other {total - n}")
    if isinstance(exc, KeyboardInterrupt):
        stopping.add_detail(hint)
    elif isinstance(exc, WorkerLost) and exc.args:
        exc.args = (f"{exc.args[0]}; {hint}", *exc.args[1:])
    else:
        err_console.print(f"note: {hint}", markup=False, highlight=False, soft_wrap=True)


def _print_differences(ens, replicas: int) -> None:
    """A sweep's table of each variant's difference from the first, seed by seed (median and
    5–95 %), and the correlation of the two on a seed: the terminal's version of the page's
    table, so that two medians side by side are not read as the settings' effect."""
    from rich.table import Table

    from .analysis.compare import DIFF_METRICS, heading, name_lines
    from .outputs.formatting import MINUS
    from .outputs.report.ensemble import difference_format

    first = next(iter(ens.summary))
    table = Table(title=f"difference from {first}, seed by seed ({replicas} pairs)")
    longest = max(len(line) for label in ens.differences for line in name_lines(label).split("\n"))
    table.add_column("variant", overflow="fold", min_width=12 if console.is_terminal else min(40, longest))
    table.add_column("metric", overflow="fold")
    table.add_column("median", justify="right", no_wrap=True)
    table.add_column("5–95 %", justify="right", no_wrap=True)
    table.add_column("r", justify="right", no_wrap=True)
    for label, metrics in ens.differences.items():
        # (a crisis's ~25 metrics: the ones compare sets against its baseline; a Flee case's all)
        keys = [k for k in metrics if k in DIFF_METRICS] or list(metrics)
        for k, name in enumerate(keys):
            s = metrics[name]
            num = difference_format(name, ens.summary[first].get(name) or {})  # (as the page writes it)
            r = f"{s['r']:+.2f}".replace("-", MINUS) if math.isfinite(s["r"]) else "–"
            table.add_row(name_lines(label) if k == 0 else "", heading(name),
                          num(s["q50"]) if s["n"] else "–",
                          f"{num(s['q05'])} – {num(s['q95'])}" if s["n"] else "in no pair", r,
                          end_section=k == len(keys) - 1)
    console.print(table, crop=console.is_terminal)
    console.print("r: the correlation of the two variants' values on the same seed. Near 0 (a Flee "
                  "case's replicas part after the first decision a setting changes) the difference "
                  "is mostly seed noise: its band, not the medians side by side, says whether the "
                  "settings made one (metrics_differences.json; the page, `corredor report`).",
                  markup=False, highlight=False, soft_wrap=True)


@app.command()
def calibrate(
    paths: list[Path] = typer.Argument(..., help=f"one or more, fitted jointly: {SCENARIOS_HELP}"),
    # (help texts escape "[": rich read "[params.<section>.<name>]" and "[runs/…]" as markup and
    # dropped them from --help)
    params: Path = typer.Option(..., "--params", help="params.toml: \\[params.<section>.<name>] tables with low and high"),
    trials: int = typer.Option(30, "--trials", min=1, max=MAX_RUNS, help="Optuna trials"),
    replicas: int = typer.Option(3, "--replicas", "-n", min=1, max=MAX_RUNS,
                                 help="replicate seeds per case per trial"),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="seeds the sampler and the replicas"),
    objective: str | None = typer.Option(None, "--objective", help="ard | interval | interval-all (held-out observations fitted too) \\[ard for Flee cases, interval for crises]"),
    hold_out: list[str] | None = typer.Option(None, "--hold-out", help="NAME[,NAME]: hold out these observations (a check's name or a date YYYY-MM-DD) instead of the observations file's roles; the others keep theirs, or are fitted where the file has no role column"),
    out: Path | None = typer.Option(None, "--out", help="output folder \\[runs/<scenario>-calibration]", callback=_home),
    force: bool = typer.Option(False, "--force", help="replace an existing output folder"),
    executor: str = typer.Option("local", "--executor", help="local (processes) | dask | serial"),
    address: str | None = typer.Option(None, "--address", help="Dask scheduler, e.g. tcp://host:8786"),
    workers: int | None = typer.Option(None, "--workers", min=1, help="worker processes \\[all cores]"),
    hasten: int | None = typer.Option(None, "--hasten", help="one agent per H people"),
    days: int | None = typer.Option(None, "--days", help="simulate only the first N days"),
    engine: str = typer.Option("auto", "--engine", help="auto | agents | cohorts"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar or summary"),
) -> None:
    """Fit settings within bounds to the observations of one or more scenarios (Optuna)."""
    from .analysis.calibrate import (
        OBJECTIVES,
        bound_warnings,
        loss_change,
        objective_refusal,
        observations_fitted,
        read_params,
        resolve_objective,
        summary_lines,
        write_calibration,
    )
    from .analysis.calibrate import calibrate as run_calibration
    from .analysis.overrides import unused_parameters, unused_warning
    from .progress import progress_bar

    _check_engine(engine)
    scenarios = [_load_or_exit(p, hasten, days, engine) for p in paths]
    held_names = [n.strip() for text in hold_out or () for n in text.split(",") if n.strip()]
    if held_names:  # (which observations the fit holds out, chosen here rather than in the file)
        from .analysis.observations import with_held_out

        unknown = set(held_names)
        for k, sc in enumerate(scenarios):
            scenarios[k], missed = with_held_out(sc, held_names)
            unknown &= set(missed)
        if unknown:
            usage_error(f"--hold-out: no observation is named or dated {', '.join(sorted(unknown))} (expected "
                        "a name of the observations' check column or a date YYYY-MM-DD of a row)")
    try:
        specs = read_params(params, scenarios[0])
        for sc in scenarios[1:]:
            read_params(params, sc)
    except ScenarioError as exc:
        fail_with_problems(exc)
    for sc in scenarios:  # (a variant that replaced the tables keeps its baseline's parameters;
        # what else `apply_overrides` warns of is refused in params.toml: a date, a flat pop power)
        for dotted in unused_parameters(sc, [spec.name for spec in specs]):
            err_console.print(f"warning: {sc.name}: {unused_warning(dotted)}", markup=False,
                              highlight=False, soft_wrap=True)
    if objective is not None and objective not in OBJECTIVES:
        usage_error(f"unknown objective '{objective}'; choose one of {', '.join(OBJECTIVES)}")
    chosen = resolve_objective(objective, scenarios)
    for sc in scenarios:  # (refused now, not after every trial scored 0 or failed)
        if why := objective_refusal(chosen, sc):
            usage_error(why)
    if not quiet:  # (which observations the fit uses, and which it holds out: before the trials)
        for sc in scenarios:
            if (selection := observations_fitted(chosen, sc)) is not None:
                for line in selection.lines(sc.name):
                    console.print(line, markup=False, highlight=False, soft_wrap=True)
    name = "+".join(s.name for s in scenarios)
    out = out or Path("runs") / f"{safe_name(name)}-calibration"
    _replaceable_or_exit(out, [sc.source for sc in scenarios], replace=force)
    if out.exists() and not force:
        usage_error(f"{out} exists; use --force to replace it")
    ex = _executor_or_exit(executor, workers, address)
    try:
        with ex, progress_bar(f"calibrating {name}", trials + 2, quiet=quiet) as advance:
            cal = run_calibration(scenarios, specs, trials=trials, replicas=replicas, seed=seed,
                                  executor=ex, objective=objective, engine=engine,
                                  progress=lambda done, n: advance())
    except ScenarioError as exc:
        fail_with_problems(exc)
    except (ValueError, RuntimeError) as exc:  # an unknown engine; every trial failed
        usage_error(str(exc))
    cal.manifest["params_file"] = str(params.resolve())  # (the manifest says what was searched)
    if held_names:
        cal.manifest["hold_out"] = held_names
    from .provenance import invocation

    cal.manifest["invocation"] = invocation({}, out)  # (the command as run, and where)
    try:
        write_calibration(cal, out, force=force)
    except OSError as exc:  # (a disk filled or a folder became read-only during the run)
        write_error(out, exc)
    for spec, why in bound_warnings(cal):  # (at the parameter's table in params.toml)
        err_console.print(f"{params}:{spec.line or 1}:1: warning: {why}", markup=False,
                          highlight=False, soft_wrap=True)
    if not quiet:
        from rich.table import Table

        from .outputs.formatting import signed_percent

        # which loss, over how many seeds, and the change: "0.2770 ± 0.0028" alone said none
        n_eval = cal.manifest["eval_replicas"]
        objective = cal.manifest["objective"]  # ("ard": which of the two ARDs, docs/outputs.md)
        said = "ard: ARD (Flee's score, rescaled)" if objective == "ard" else objective
        changes = loss_change(cal)
        paired = all(c["paired"] for c in changes.values())
        table = Table(title=f"loss ({said}, lower is better): mean ± sd over "
                            f"{n_eval} fresh seed{'s' if n_eval != 1 else ''}",
                      caption=f"change: fitted − own settings ± its standard error"
                              f"{', paired on the same seeds' if paired else ''}")
        table.add_column("case", overflow="fold")
        for heading in ("own settings", "fitted", "change (in-sample)"):
            table.add_column(heading, justify="right", no_wrap=True)
        for case in cal.before:
            b, a, c = cal.before[case], cal.after[case], changes[case]
            change = signed_percent(c["relative"], 1, " ")
            if c["relative"] is not None and c["relative_se"] is not None:
                change += f" ± {100 * c['relative_se']:.1f}"
            table.add_row(case, f"{b['mean']:.4f} ± {b['sd']:.4f}", f"{a['mean']:.4f} ± {a['sd']:.4f}", change)
        console.print(table, crop=console.is_terminal)  # (a file or a pipe: whole lines)
        console.print(f"best (trial {cal.manifest['best_trial']} of {trials}): "
                      + ", ".join(f"{k}={v:.4g}" for k, v in cal.best.items())
                      + f" (every digit: {out / 'best_params.toml'})", markup=False,
                      highlight=False, soft_wrap=True)
        for line in summary_lines(cal):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.print(f"wrote {out}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def report(
    run_dir: Path = typer.Argument(..., help="a run folder (`corredor run`), an ensemble folder (`corredor ensemble`) or a comparison folder (`corredor compare --out`)"),
    comparison: Path | None = typer.Option(
        None, "--comparison", help="policy table: comparison.json of `corredor compare`, or a JSON list of {variant: metrics} [RUN_DIR/comparison.json]; run folders only"
    ),
    other_scenario: bool = typer.Option(
        False, "--other-scenario", help="show a --comparison of another scenario than the run's (refused otherwise), marked so on the page"
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing on success"),
) -> None:
    """Write RUN_DIR/report.html, one self-contained offline page: a run's map, charts, needs and fit; or an ensemble's median and 25–75 / 5–95 % bands per variant at the busiest places, and its metrics over the replicas. Given a comparison folder (comparison.json, no manifest.json), write its comparison.html again: the tables `corredor compare` printed, the differences and comparison.png."""
    from .outputs.report import build_report
    from .outputs.report.checks import NotARunFolder, ReportError, read_json
    from .outputs.report.comparison import (
        COMPARISON_HTML,
        build_comparison_report,
        is_comparison_folder,
    )
    from .outputs.report.comparison_section import OtherScenario, comparison_rows, png_beside
    from .outputs.report.ensemble import build_ensemble_report, is_ensemble_folder

    ensemble = is_ensemble_folder(run_dir)
    if ensemble and comparison is not None:
        usage_error("--comparison is for a run folder's report; an ensemble's page compares its own variants")
    if not ensemble and is_comparison_folder(run_dir):  # (`compare --out`'s folder, the main job's)
        if comparison is not None:
            usage_error(f"{run_dir} is a comparison folder: its page shows its own comparison.json; "
                        "--comparison adds a comparison to a run folder's report")
        try:
            path = build_comparison_report(run_dir)
        except ReportError as exc:
            usage_error(f"{exc}; nothing was written")
        except OSError as exc:
            write_error(run_dir / COMPARISON_HTML, exc)
        if not quiet:
            console.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)
        return
    rows = None  # (the run folder itself is checked by build_report, before anything is written)
    if comparison is not None:
        try:
            rows = read_json(comparison)
        except ReportError as exc:
            usage_error(f"{exc} (--comparison)")
        try:
            comparison_rows(rows)  # (checked before anything is written; the report reads its seeds too)
        except ValueError as exc:
            usage_error(f"{comparison}: {exc}")

    def say(line: str) -> None:  # (what the page says above the comparison, said here too)
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)

    png = png_beside(comparison) if comparison is not None else None  # (compare --out's figure)
    try:
        path = (build_ensemble_report(run_dir) if ensemble else
                build_report(run_dir, comparison=rows, comparison_png=png, other_scenario=other_scenario,
                             say=say))
    except OtherScenario as exc:  # (named here: build_report was given the file's content)
        usage_error(f"{comparison}: {exc}; nothing was written" if comparison is not None else
                    f"{exc}; nothing was written")
    except (NotARunFolder, ReportError) as exc:  # each names its file
        usage_error(f"{exc}; nothing was written")
    except OSError as exc:  # writing report.html
        write_error(run_dir / "report.html", exc)
    if not quiet:
        console.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)


def _note_warnings(path: Path, scenario) -> None:
    """One line on stderr when the scenario loaded with warnings: `run`, `ensemble` and `compare`
    printed nothing of them (only `validate` did), so a policy gap that leaves a crossing open to
    everyone, or an event dated outside the run, went unseen by whoever skipped validate."""
    n = len(scenario.metadata.get("warnings", ()))
    if n:
        err_console.print(f"note: {path} has {n} warning{'s' if n != 1 else ''} (corredor validate "
                          f"{path} lists them)", markup=False, highlight=False, soft_wrap=True)


def _load_crisis_or_exit(path: Path, quiet: bool = False):
    """A crisis scenario folder or a variant .toml file; exit 2 with problems otherwise. Its
    warnings are counted in a note unless `quiet` (as `ensemble --quiet`)."""
    from .scenario.native_crisis import load_any

    if not path.exists():
        usage_error(f"{path}: no such scenario folder or variant file")
    try:
        scenario = load_any(path)
    except ScenarioError as exc:
        fail_with_problems(exc)
    if scenario.crisis is None:
        usage_error(f"{path}: not a border-crisis scenario (no [crisis] table)")
    if not quiet:
        _note_warnings(path, scenario)
    return scenario


def _runs_or_exit(sweeps: list[tuple[str, list]], each: int, what: str) -> None:
    """Exit 2 when the sweeps' combinations times `each` run exceed MAX_RUNS, before the
    combinations are built (three sweeps of 1,000 values are 10^9 variants: memory, then days)."""
    n = math.prod(len(values) for _, values in sweeps)
    if n * each > MAX_RUNS:
        usage_error(f"--sweep makes {n:,} combinations × {each:,} {what} = {n * each:,} runs, more "
                    f"than the {MAX_RUNS:,} corredor runs at once (expected fewer values)")


def _print_override_warnings(varied: dict, together: str | None = None) -> None:
    """Print the warnings `apply_overrides` recorded in each scenario of `varied` (name -> the
    scenario with its values), as `warning: NAME: …`; with `together`, those that every one of
    several has once, as `warning: TOGETHER: …` (a sweep of a parameter no table reads gave the
    same line once per value)."""
    from .analysis.overrides import shared_warnings

    warned = {name: list(sc.metadata.get("override_warnings", ())) for name, sc in varied.items()}
    common, own = shared_warnings(warned) if together is not None and len(warned) > 1 else ([], warned)
    for name, lines in [(together, common), *own.items()]:
        for line in lines:
            err_console.print(f"warning: {name}: {line}", markup=False, highlight=False, soft_wrap=True)


def _compared_name(path: Path, scenario, taken) -> str:
    """The name of a compared variant's rows: its `[variant] name` (or its file's or folder's
    name), made unique (`_unique_or_noted`). A variant file may not call itself "baseline",
    compare's name for its first scenario: exit 2 at its name (a folder so named is renamed).

    Why: a second bribe-55 became "bribe-55'" and a variant named baseline "baseline'", silently;
    a reader of comparison.csv saw two near-identical names, one of them the baseline's."""
    name = str(scenario.metadata.get("variant") or path.stem)
    file = scenario.metadata.get("variant_file")
    if name == "baseline" and file:
        from .scenario.native import toml_place
        from .scenario.problems import Problem
        from .scenario.tomlread import loads_toml

        try:  # (it loaded a moment ago: it reads and parses)
            text = Path(file).read_text(encoding="utf-8-sig")
            own = bool(loads_toml(text)["variant"].get("name"))
        except (OSError, ValueError, KeyError, AttributeError):
            text, own = "", False
        line, col = toml_place(text, "variant", "name" if own else None)
        named = "its [variant] name" if own else "its file's name (it has no [variant] name)"
        fail_with_problems(ScenarioError([Problem(file, line, col, (
            f"the variant is named \"baseline\" by {named}, which compare gives its first scenario, "
            "the one the variants are compared with; expected another name"))]))
    return _unique_or_noted(name, taken, str(path))


def _unique_or_noted(name: str, taken, what: str) -> str:
    """`name`, or `name-2`, `name-3`, … where an earlier scenario compared has it (as calibrate
    names its cases, `ensemble.unique_name`), with a note on stderr saying which rows are whose."""
    from .analysis.ensemble import unique_name

    unique = unique_name(name, taken)
    if unique != name:
        err_console.print(f"note: {what} is named \"{name}\", as an earlier scenario compared is; its "
                          f"rows are named \"{unique}\"", markup=False, highlight=False, soft_wrap=True)
    return unique


def _set_in(name: str, scenario, common: dict, compared: int):
    """`apply_overrides(scenario, common)` for `compare --set`, whose refusal names the scenario:
    --set changes every scenario compared, and "unknown crisis parameter 'corridor_open'" alone
    did not say that the baseline, not the corridor variant that has it, lacked it."""
    from .analysis.ensemble import OverrideError, apply_overrides

    try:
        return apply_overrides(scenario, common)
    except OverrideError as exc:
        where = scenario.metadata.get("variant_file") or scenario.source
        every = "; --set changes every scenario compared (--sweep only the baseline)" if compared > 1 else ""
        raise OverrideError(f"--set in {name} ({where}): {exc}{every}") from None


def _sweep_keys_in_baseline(baseline: Path, scenarios, keys: list[str]) -> None:
    """Refuse (OverrideError) a `--sweep crisis.NAME` that the baseline lacks but another scenario
    compared defines, saying so: --sweep varies only the baseline, the first scenario given.
    Why: `compare BASELINE corridor_28apr.toml --sweep crisis.corridor_open=…` said only "unknown
    crisis parameter 'corridor_open'", though the corridor variant beside it has it. A key no
    scenario has is left to `apply_overrides` (its did-you-mean)."""
    from .analysis.ensemble import OverrideError

    crisis = getattr(scenarios["baseline"], "crisis", None)
    if crisis is None:
        return
    for dotted in keys:
        section, _, key = dotted.partition(".")
        if section != "crisis" or key in crisis.parameters:
            continue
        having = {name: sc for name, sc in scenarios.items()
                  if name != "baseline" and key in getattr(getattr(sc, "crisis", None), "parameters", {})}
        if not having:
            continue
        said = " and ".join(f"{name} ({sc.metadata.get('variant_file') or sc.source})" for name, sc in having.items())
        dated = any(key in sc.crisis.date_parameters for sc in having.values())
        raise OverrideError(
            f"--sweep {dotted}: the baseline ({baseline}) has no crisis parameter '{key}': --sweep "
            f"varies only the baseline, the first scenario given, not the other scenarios; {said} "
            f"define{'s' if len(having) == 1 else ''} it. To sweep it, give that variant first (every row "
            "is then compared with it, not with this baseline)"
            + ("; to compare with no such event, give first a variant that sets "
               f"{key} after the run's last day (the event then does nothing: docs/chile-peru-2023.md "
               "shows how)" if dated else ""))


def _with_set(scenario, assignments: list[str]):
    """`scenario` whose description (comparison.json's) ends with the `--set` assignments made to
    it, so that a saved comparison says every scenario in it was changed."""
    if not assignments:
        return scenario
    return _described(scenario, f"--set {' '.join(a.strip() for a in assignments)}")


def _described(scenario, said: str):
    """`scenario` whose description (comparison.json's) ends with `said`, in brackets."""
    key = "variant_description" if scenario.metadata.get("variant") else "description"
    text = str(scenario.metadata.get(key, "")).rstrip()
    return dataclasses.replace(scenario, metadata={**scenario.metadata,
                                                   key: f"{text} ({said})" if text else said})


def _value_meaning(scenario):
    """`build_variants`' `meaning` for sweeps of `scenario`: what a swept `crisis.NAME` value means
    where its name would mislead (`native_crisis.zero_meaning`: a price of 0 is no paid passage)."""
    from .scenario.native_crisis import zero_meaning

    crisis = getattr(scenario, "crisis", None)

    def meaning(dotted: str, value) -> str | None:
        section, _, key = dotted.partition(".")
        return zero_meaning(crisis, key, value) if section == "crisis" and crisis is not None else None

    return meaning


def _own_values(scenario, keys: list[str]) -> str:
    """The values `scenario` gives the `crisis.NAME` parameters among `keys`, as a sweep point's
    name writes them ("peru_block=2023-04-13, bribe_price_usd=100"); "" when it has none of them."""
    from .analysis.ensemble import point_name

    crisis = getattr(scenario, "crisis", None)
    if crisis is None:
        return ""
    values = crisis.parameter_dates(scenario.start_date)  # (dates as YYYY-MM-DD, numbers as floats)
    meaning = _value_meaning(scenario)
    said = []
    for dotted in keys:
        section, _, key = dotted.partition(".")
        if section == "crisis" and key in values:  # (as the sweep's names write theirs)
            said.append(point_name(dotted, values[key], meaning(dotted, values[key])))
    return ", ".join(said)


def _laid_out(title: str, headings: list[str], rows: list[list[str]], widths: list[int], name_width: int,
              fits: bool):
    """A comparison table (rich's): the scenario column `name_width` wide (at least 12 where not
    `fits`: a terminal, which folds), the figures' columns at least `widths` wide where `fits`
    (a file or a pipe, whose lines are whole); and the width it needs."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("scenario", style="bold", overflow="fold",
                     min_width=name_width if fits else min(12, name_width), max_width=name_width)
    for head, width in zip(headings, widths, strict=True):
        table.add_column(head, justify="right", overflow="fold", min_width=width if fits else None)
    for row in rows:
        table.add_row(*row)
    return table, name_width + sum(widths) + 3 * len(widths) + 4


def _printed_width(renderable, width: int) -> int:
    """The widest line of `renderable` printed whole (not cropped) on a console `width` wide."""
    import io

    buffer = io.StringIO()
    Console(width=width, file=buffer, color_system=None).print(renderable, crop=False)
    return max((len(line) for line in buffer.getvalue().splitlines()), default=0)


def _sweep_changes(baseline, point) -> dict:
    """What a sweep point changes in the baseline, as a variant file's `variant_changes` says it
    (`native_crisis.parameter_changes`): its parameters' values, no file."""
    from .scenario.native_crisis import parameter_changes

    params, _ = parameter_changes(baseline, point.crisis)
    return {"parameters": params, "unchanged": [], "files": []}


def _print_comparison(comp) -> None:
    """The metrics in the tables of compare.METRIC_TABLES (each fits a 130-column terminal), and
    the differences from the baseline, seed by seed, in those of compare.DIFF_TABLES; under the first
    table of whole-run totals, the day they stop at (`Comparison.whole_run_note`). The tables and
    their cells are `outputs.comparison_tables`', which comparison.html shows too. Each scenario
    by its readable name (`Comparison.label`), as comparison.png and the page show it."""
    from .analysis.compare import heading, name_lines
    from .outputs.comparison_tables import comparison_tables

    wide = Console(width=max(console.width, 130)) if not console.is_terminal else console  # (notes)
    fits = not console.is_terminal
    for t in comparison_tables(comp.summary(), comp.shown_names(), len(comp.seeds), comp.whole_run_note(),
                               comp.labels, baseline=comp.names[0]):
        rows = [[name_lines(comp.label(name)), *(cell.lines() for cell in cells)] for name, cells in t.rows]
        # a figure is never cut (it was, as "210,…", beside a --sweep's long name), nor a name
        # folded (it was, "peru_block=2023-03-" / "30", to make room for the headings): a file
        # or a pipe gets the width they need (the headings fold at their spaces), a terminal
        # folds what does not fit
        widths = [max(len(line) for r in rows for line in r[j].split("\n"))
                  for j in range(len(t.metrics) + 1)]
        name_width = min(40, widths.pop(0))
        table, need = _laid_out(t.title, [heading(key, "\n") for key in t.metrics], rows, widths, name_width, fits)
        # a readable name (a variant's label, "Informal price 0 USD (no informal passage)") wraps
        # at its spaces where a file's or a pipe's table would pass 130 columns, never inside a word
        words = max(8, *(len(word) for r in rows for word in r[0].split()))
        while fits and name_width > words and _printed_width(table, max(console.width, 130, need)) > 130:
            name_width = max(words, name_width - 4)
            table, need = _laid_out(t.title, [heading(key, "\n") for key in t.metrics], rows, widths, name_width, fits)
        out = console if console.is_terminal else Console(width=max(console.width, 130, need))
        out.print(table, crop=not fits)  # (a file or a pipe: whole lines; rich can overshoot)
        for note in t.notes:
            wide.print(note, markup=False, highlight=False, soft_wrap=True)


@app.command()
def compare(
    baseline: Path = typer.Argument(..., help="baseline crisis scenario folder (or a variant file)"),
    variants: list[Path] = typer.Argument(None, help="variant .toml files (or other scenario folders)"),
    seeds: int = typer.Option(20, "--seeds", min=1, max=MAX_RUNS, help="seeds per scenario (common to all)"),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="base seed of the replica seeds"),
    out: Path | None = typer.Option(None, "--out", help="write comparison.csv, comparison.json, comparison.png and comparison.html (a page of the tables) here", callback=_home),
    force: bool = typer.Option(False, "--force", help="replace comparison files already in --out"),
    set_: list[str] | None = typer.Option(None, "--set", help="parameter for every scenario, e.g. crisis.give_up_base=0.02"),
    sweep: list[str] | None = typer.Option(None, "--sweep", help="one more scenario per value, made from the baseline (the first scenario) only, e.g. crisis.bribe_price_usd=0,55 or crisis.peru_block=2023-03-30..2023-04-27/7 (a range)"),
    executor: str = typer.Option("local", "--executor", help="local (processes) | dask | serial"),
    address: str | None = typer.Option(None, "--address", help="Dask scheduler, e.g. tcp://host:8786"),
    workers: int | None = typer.Option(None, "--workers", min=1, help="worker processes \\[all cores]"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar or tables, warnings only (with --out: the files hold the comparison)"),
) -> None:
    """Run a baseline and its policy variants over the same seeds and print the policy metrics.

    Variants are files, or `--sweep` values of the baseline's parameters (each combination one scenario, named by its values). The runs go to worker processes (or a Dask cluster); the same seeds give the same figures whatever runs them.
    """  # (the help's paragraph on one line: typer keeps a docstring's line ends)
    from .analysis.compare import COMPARISON_FILES, ComparisonExists, sweep_table, write_comparison
    from .analysis.compare import compare as run_compare
    from .analysis.ensemble import (
        OverrideError,
        apply_overrides,
        build_variants,
        parse_assignment,
        parse_sweep,
    )
    from .analysis.overrides import same_run
    from .progress import progress_bar

    if quiet and out is None:  # (the runs' figures would be neither printed nor written)
        usage_error("--quiet prints no tables: give --out FOLDER to keep the comparison")
    if out is not None:  # refused before the runs, not after them
        from .outputs.plots import COMPARISON_PNG  # (matplotlib: only with --out)
        from .outputs.report.comparison import COMPARISON_HTML
        from .targets import UnsafeTarget, UnwritableTarget, check_folder_or_new, check_writable

        try:  # (the check every command makes of its --out: a file there is no folder)
            check_folder_or_new(out)
            check_writable(out / COMPARISON_FILES[0])
        except (UnsafeTarget, UnwritableTarget) as exc:
            usage_error(str(exc))
        there = [name for name in (*COMPARISON_FILES, COMPARISON_PNG, COMPARISON_HTML) if (out / name).exists()]
        if there and not force:
            usage_error(f"{out} already holds {', '.join(there)}; use --force to replace them")
    scenarios = {"baseline": _load_crisis_or_exit(baseline, quiet)}
    for path in variants or []:
        sc = _load_crisis_or_exit(path, quiet)
        scenarios[_compared_name(path, sc, scenarios)] = sc
    if out is not None:  # (it adds files to `out`, replacing no folder: only this check applies)
        from .targets import UnsafeTarget, check_outside_scenarios

        try:  # (write_comparison checks again, as the library's writers do)
            check_outside_scenarios(out, [sc.source for sc in scenarios.values()])
        except UnsafeTarget as exc:
            usage_error(str(exc))
    own = ""  # (the baseline's values of the swept parameters, said above the tables)
    same: list[str] = []  # (the sweep's points that are the baseline as written)
    points: list[str] = []  # (the sweep's points run, by name)
    try:  # (every key and value checked before any run)
        common = dict(parse_assignment(a) for a in set_ or [])
        sweeps = [parse_sweep(a) for a in sweep or []]
        _runs_or_exit(sweeps, seeds, "seeds")
        _sweep_keys_in_baseline(baseline, scenarios, [k for k, _ in sweeps])  # (before any warning)
        swept = build_variants({}, sweeps, meaning=_value_meaning(scenarios["baseline"])) if sweeps else []
        both = sorted(set(common) & {k for v in swept for k in v.overrides})
        if both:
            raise OverrideError(f"{', '.join(both)} is both --set and --sweep; give it in one of them")
        loaded = scenarios
        scenarios = {name: _with_set(_set_in(name, sc, common, len(loaded)), set_ or [])
                     for name, sc in scenarios.items()}
        if common:  # (each scenario's own: --set changes every one)
            _print_override_warnings(scenarios)
        # the baseline's own values of the swept keys: its row is named "baseline" only, and a
        # planner reading a sweep of the day Peru closes could not tell which day that is
        own = _own_values(scenarios["baseline"], [k for k, _ in sweeps])
        if own:
            scenarios["baseline"] = _described(scenarios["baseline"], f"as written: {own}")
        points_made = {v.label: apply_overrides(scenarios["baseline"], v.overrides) for v in swept}
        # (a warning every point has, e.g. of a parameter no table reads, is said once)
        _print_override_warnings(points_made, together=f"every --sweep point of {baseline}")
        for name, sc in points_made.items():  # (named by its values, as an ensemble's are: `point_name`)
            if same_run(sc, scenarios["baseline"]):  # (the baseline as written: its row, run once)
                same.append(name)
                continue
            name = _unique_or_noted(name, scenarios, f"the sweep's {name}")
            # (its own description: the baseline's, a variant file's "Informal price 0 USD", was
            # copied to comparison.json beside a sweep of another price)
            scenarios[name] = dataclasses.replace(sc, metadata={
                **sc.metadata, "variant": name,
                "variant_description": f"the baseline ({baseline}) with {name}",
                "variant_changes": _sweep_changes(scenarios["baseline"], sc)})
            points.append(name)
    except OverrideError as exc:
        usage_error(str(exc))
    sweep_keys, swept_values, order = sweep_table(scenarios, [k for k, _ in sweeps], points)
    base_name = "baseline"
    if len(sweeps) == 1 and own:  # (its value in its name, among the points in value order)
        base_name = f"{own} (baseline)"
        scenarios = {(base_name if n == "baseline" else n): sc for n, sc in scenarios.items()}
        swept_values = {(base_name if n == "baseline" else n): v for n, v in swept_values.items()}
        order = [base_name if n == "baseline" else n for n in order]
    if same and not quiet:  # (before the runs: the count of scenarios on the progress bar is one less)
        err_console.print(f"note: the sweep's {' and '.join(same)} is the baseline as written: it runs "
                          f"once, as the row \"{base_name}\"", markup=False, highlight=False, soft_wrap=True)
    base = scenarios[base_name]
    for name, sc in scenarios.items():  # metrics summed over days compare like with like only
        if (sc.start_date, sc.days) != (base.start_date, base.days):
            err_console.print(f"warning: {name} runs {sc.days} days from {sc.start_date}, the "
                              f"baseline {base.days} days from {base.start_date}: totals over "
                              "the run (person-days, give-ups, water) cover different periods",
                              markup=False, highlight=False, soft_wrap=True)
    ex = _executor_or_exit(executor, workers, address)
    total = seeds * len(scenarios)
    with ex, progress_bar(f"{len(scenarios)} scenarios × {seeds} seeds", total, quiet=quiet) as advance:
        comp = run_compare(scenarios, seeds=seeds, base_seed=seed, executor=ex,
                           progress=lambda name, done, n: advance())
    comp = dataclasses.replace(comp, sweep_keys=sweep_keys, swept=swept_values, order=order,
                               settings=common, sweeps={k: list(v) for k, v in sweeps})
    # the files first, the tables after: printed first, a closed pipe (`| head`: rich exits 1 on
    # a broken pipe) lost the comparison that the runs had just computed
    paths: list[Path] = []
    failed: OSError | None = None
    if out is not None:
        try:
            # (the four files and the page of the tables below; without --force not another
            # compare's, written meanwhile)
            paths = write_comparison(comp, out, force=force)
        except ComparisonExists as exc:  # (none was there before the runs: written meanwhile)
            from .targets import written_meanwhile

            failed = FileExistsError(written_meanwhile(exc.paths))
        except OSError as exc:
            failed = exc
    if own and not quiet:  # (above the tables it names the row of)
        also = f" (the sweep's {' and '.join(same)}, run once)" if same else ""
        console.print(f"baseline ({baseline}) as written: {own}{also}", markup=False, highlight=False,
                      soft_wrap=True)
    if not quiet:
        _print_comparison(comp)
        for line in comp.identical_notes():  # (a row of zeros reads as a variant not applied)
            console.print(f"note: {line}", markup=False, highlight=False, soft_wrap=True)
    if failed is not None:  # (after the tables: the runs' figures are still shown)
        write_error(out, failed)
    if paths and not quiet:
        console.print("wrote " + ", ".join(str(p) for p in paths), markup=False, highlight=False,
                      soft_wrap=True)


@app.command("main-job")
def main_job(
    out: Path = typer.Option(Path("runs/main"), "--out", help="output folder", callback=_home),
    force: bool = typer.Option(False, "--force", help="replace an existing output folder"),
    seeds: int = typer.Option(20, "--seeds", min=1, max=MAX_RUNS, help="seeds per scenario"),
    executor: str = typer.Option("local", "--executor", help="local (processes) | dask | serial"),
    address: str | None = typer.Option(None, "--address", help="Dask scheduler, e.g. tcp://host:8786"),
    workers: int | None = typer.Option(None, "--workers", min=1, help="worker processes \\[all cores]"),
    scenario: Path | None = typer.Option(None, "--scenario", callback=_home,
                                         help="the border-crisis scenario folder \\[the checkout's "
                                              "scenarios/chile-peru-2023, else ./scenarios/chile-peru-2023]"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar, tables or check lines, warnings only (the files hold them)"),
    sweep_date: str | None = typer.Option(None, "--sweep-date",
                                          help="the date parameter moved 1–2 weeks earlier and later "
                                               "\\[peru_block where the scenario has it, else no date sweep]"),
) -> None:
    """Run a border-crisis baseline (Chile–Peru 2023 unless --scenario), its variants and its date parameter 1–2 weeks earlier or later; write run folders, comparison, reports."""
    from .mainjob import (
        CLOSURE_SHIFTS_DAYS,
        SCENARIO_DIR,
        check_lines,
        run_main_job,
        sweep_parameter,
        variant_files,
    )
    from .scenario import load_scenario
    from .targets import holds_anything

    scenario_dir = scenario if scenario is not None else SCENARIO_DIR
    if not (scenario_dir / "scenario.toml").is_file():
        usage_error(f"{scenario_dir}: no scenario.toml (expected a border-crisis scenario folder, such as the "
                    "repository's scenarios/chile-peru-2023" + ("; give its folder with --scenario)" if scenario is None
                                                                 else ")"))
    # (as if replacing, `--force` or not: it replaces the run folders and files inside `out`)
    _replaceable_or_exit(out, [scenario_dir], replace=True, into="comparison.json")
    if out.is_dir() and holds_anything(out) and not force:
        usage_error(f"{out} exists; use --force to replace it")
    try:  # (read first: `--sweep-date` is checked against it before any work)
        baseline = load_scenario(scenario_dir)
    except ScenarioError as exc:
        fail_with_problems(exc)
    if getattr(baseline, "crisis", None) is None:
        usage_error(f"{scenario_dir}: not a border-crisis scenario (no [crisis] section); the main job "
                    "compares a crisis scenario's policy variants (for a Flee case: corredor ensemble)")
    try:
        swept = sweep_parameter(baseline, sweep_date)
    except ValueError as exc:
        usage_error(str(exc))
    from .progress import progress_bar

    ex = _executor_or_exit(executor, workers, address)
    n_runs = seeds * (1 + len(variant_files(scenario_dir)) + (len(CLOSURE_SHIFTS_DAYS) if swept else 0))
    try:
        with ex, progress_bar(f"{n_runs:,} runs", n_runs, quiet=quiet) as advance:
            result = run_main_job(out, seeds=seeds, force=force, executor=ex, scenario_dir=scenario_dir,
                                  say=(lambda m: None) if quiet else
                                  (lambda m: console.print(m, markup=False, highlight=False, soft_wrap=True)),
                                  progress=lambda name, done, n: advance(), sweep_date=swept,
                                  baseline=baseline)
    except ScenarioError as exc:
        fail_with_problems(exc)
    except OSError as exc:
        write_error(out, exc)
    if quiet:  # (comparison.* and observation_check.json hold what follows)
        return
    _print_comparison(result["comparison_object"])
    # (each observation with what it is to the fit: only the held-out ones test the model)
    console.print("baseline vs observations, the median over the seeds (fitted: a target of the fit; "
                  "held out: not used by the fit; set by an event: true by construction):",
                  markup=False, highlight=False, soft_wrap=True)
    for line in check_lines(result["checks"]):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {out}: {len(result['runs'])} run folders, comparison.csv, comparison.json, comparison.png, "
                  "comparison.html"
                  + (f", {len(result['reports'])} reports" if result["reports"] else ""), markup=False,
                  highlight=False, soft_wrap=True)


def _warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  line: str | None = None) -> str:
    """A library warning as one `warning: ...` line, without the source line that Python adds
    (a user of the command did not write that code)."""
    return f"warning: {message}\n"


def _tolerant_streams() -> None:
    """Let stdout and stderr write what their encoding lacks as `?`: under a locale or a
    PYTHONIOENCODING that is not UTF-8 (ASCII, Latin-1), the en dash of "5–95 %" in a table's
    title was a UnicodeEncodeError traceback (after the runs; `compare` then wrote nothing)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # (None when closed: `>&-`)
        if reconfigure is not None and str(getattr(stream, "encoding", "")).lower().replace("-", "") != "utf8":
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # (a stream already written to in another way)
                pass


def main() -> None:
    """The `corredor` command, once imported (its entry point, `corredor.__main__.main`, handles
    the stop signals before importing this module; a script that calls this handles them here).

    A stop signal seen before the command's output was in place ends it with 128 + the signal,
    whatever the command returned: its KeyboardInterrupt may have been swallowed in a finalizer
    and the command gone on to exit 0 (stopping.py). One that came after the output was in place
    did not stop it (`stopping.late`): the command's own status stands.

    Each call is a command of its own: it starts with no stop seen, and where it installed the
    handler itself (a script, a notebook, the tests; not `__main__.main`, whose process ends)
    it puts the previous handlers back and forgets its stop when it ends, so that neither the
    next command nor a library `simulate()` in the same process is stopped by it."""
    from . import stopping

    # SIGINT and SIGTERM: each writer's cleanup runs (stopping.py). Needed here too, for scripts
    # and tests that call this `main` without `__main__.main`; after that one, installing again
    # sets the same handler (a signal ignored under nohup stays ignored) and starts the
    # command's stop state afresh (that one ends the process on a stop during its imports).
    ours = not stopping.installed()
    stopping.install()
    try:
        _tolerant_streams()
        try:
            _main()
        except KeyboardInterrupt:
            if stopping.stopped_by() is None:
                raise
        except SystemExit:  # (typer turns KeyboardInterrupt into a silent exit 130)
            if stopping.stopped_by() is None:
                raise
        finally:
            _numba_cache_note()
        signum = stopping.stopped_by()
        details = stopping.details()  # (uninstall forgets them)
    finally:
        if ours:
            stopping.uninstall()
    if signum is not None:
        stopping.exit_stopped(signum, details)


def _numba_cache_note() -> None:
    """One line on stderr when the engine was compiled into a temporary numba cache (numba could
    not write its own: `engine.numba_cache`), so that whoever wonders why each run compiles
    for a minute learns of NUMBA_CACHE_DIR."""
    from .engine import numba_cache_fallback

    fallback = numba_cache_fallback()
    if fallback is not None and fallback.used():
        try:
            print(f"warning: {fallback.note()}", file=sys.stderr, flush=True)
        except (OSError, ValueError):  # (stderr closed or full: nothing more to say)
            pass


def _main() -> None:
    """`main` without the stop signals: the app, with file-system and input errors as lines."""
    import warnings

    from . import stopping
    from .analysis.executors import VersionMismatch, WorkerLost

    warnings.formatwarning = _warning_line  # this process's own; the library never sets it
    try:
        app()
    except WorkerLost as exc:  # (a worker killed: by the OOM killer, say) one line, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_ENVIRONMENT)
    except VersionMismatch as exc:  # (a Dask worker with another install: the cluster's to fix)
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_ENVIRONMENT)
    except ScenarioError as exc:  # last line of defence: never a traceback for bad input
        for p in exc.problems:
            print(str(p), file=sys.stderr)
        sys.exit(EXIT_INPUT)
    except OSError as exc:  # the same for the file system (a full disk, a folder made read-only
        where = exc.filename or ""  # during the run): what failed, not a traceback
        done = stopping.output()
        if done is not None and not where:  # (no file named: printing what was written failed)
            if exc.errno != errno.EPIPE:  # (`| head -1`: the reader had what it wanted)
                print(f"warning: could not write to stdout ({exc.strerror or exc}); {done} was "
                      "written and is complete", file=sys.stderr)
            sys.exit(EXIT_OK)
        print(f"error: {where}{': ' if where else ''}{exc.strerror or exc}", file=sys.stderr)
        sys.exit(os_error_status(exc))

if __name__ == "__main__":
    main()
