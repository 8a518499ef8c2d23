"""Warnings about `--set`/`--sweep` values: what a value applied to a scenario quietly does.

Why: the loader warns about a scenario's own values (a policy gap, an event outside the run), but a
value applied afterwards (`analysis.ensemble.apply_overrides`, which every command and the Python
API use) can move a date outside the run, make two policy rows overlap or set a parameter no table
reads. These checks used to be in the CLI only, so the same overrides applied from Python gave
no warning. `apply_overrides` now records them in the copy's `metadata["override_warnings"]`,
and every command prints them from there.

>>> import corredor, datetime
>>> from corredor.analysis.ensemble import apply_overrides
>>> sc = corredor.load_scenario("scenarios/chile-peru-2023", days=5)  # doctest: +SKIP
>>> late = apply_overrides(sc, {"crisis.peru_block": datetime.date(2032, 4, 13)})  # doctest: +SKIP
>>> late.metadata["override_warnings"][0]  # doctest: +SKIP
"crisis.peru_block = 2032-04-13 lies after the run's last day (2023-02-05): rows dated from ..."
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

#: What a value of a parameter that no table reads does.
CHANGES_NOTHING = "any value given to it changes nothing"


def unused_parameters(scenario: Any, keys: Iterable[str]) -> list[str]:
    """The `crisis.NAME` keys among `keys` that no table of `scenario` is written against and no
    rule reads: a value given to one changes nothing. A variant that replaced the tables keeps its
    baseline's parameters (`no_peru_closure` keeps `peru_block`), so a sweep of one ran the same
    scenario once per value."""
    from ..scenario.native_crisis import PARAMETERS

    crisis = getattr(scenario, "crisis", None)
    if crisis is None:
        return []
    used = crisis.referenced_parameters()
    out = []
    for dotted in dict.fromkeys(keys):
        section, _, key = dotted.partition(".")
        if section == "crisis" and key in crisis.parameters and key not in PARAMETERS and key not in used:
            out.append(dotted)
    return out


def unused_warning(dotted: str) -> str:
    """The warning for a parameter `unused_parameters` names."""
    return f"no table is written against {dotted}; {CHANGES_NOTHING}"


def new_policy_day_warnings(before: Any, after: Any, given: Iterable[str] = ()) -> list[str]:
    """Overlaps and gaps in a policies file (and events a transfer of `all` now empties) that a
    date parameter's new value makes: the reader warned of those at the file's own values only.
    Also each date parameter whose value falls outside the run: typed 2032-04-13, it quietly gave
    a run without the rows written against it. Every key in `given` (the dotted keys applied) is
    checked so, its file's own value too: `--days 30 --sweep crisis.peru_block=2023-04-13,…` said
    nothing of 13 April, after the run as much as 20 April was."""
    from ..scenario.native_crisis import policy_day_warnings

    if getattr(after, "crisis", None) is None:
        return []
    named = {dotted.partition(".")[2] for dotted in given if dotted.partition(".")[0] == "crisis"}
    changed = after.crisis.parameters != before.crisis.parameters
    if not changed and not named:
        return []
    lines = []
    used = after.crisis.referenced_parameters()
    last = after.start_date + dt.timedelta(days=after.days - 1)
    for key, value in after.crisis.parameters.items():
        if (before.crisis.parameters.get(key) == value and key not in named) or key not in used:
            continue
        if key in after.crisis.date_parameters and not 0 <= value < after.days:
            when = after.start_date + dt.timedelta(days=int(value))
            lines.append(f"crisis.{key} = {when} lies before the run's first day ({after.start_date}): "
                         f"rows dated from ${key} start before the run" if value < 0 else
                         f"crisis.{key} = {when} lies after the run's last day ({last}): rows dated "
                         f"from ${key} do not start within the run")
    if changed:
        known = set(policy_day_warnings(before))
        lines += [line for line in policy_day_warnings(after) if line not in known]
    return lines


def inert_setting_warnings(before: Any, after: Any) -> list[str]:
    """Where a new value of move_rules.use_pop_for_loc_weight or pop_power_for_loc_weight changes
    nothing in this scenario under Flee 3.1's rule (`plan.pop_weight_warnings`; the file's own
    values are warned of when it loads)."""
    from ..plan import pop_weight_warnings

    if after.settings == before.settings:
        return []
    known = {w.message for w in pop_weight_warnings(before)}
    return [w.message for w in pop_weight_warnings(after) if w.message not in known]


def override_warnings(before: Any, after: Any, given: Iterable[str]) -> list[str]:
    """Every warning about the values `given` (dotted keys) that turned `before` into `after`:
    new policy-day problems and dates outside the run, settings that change nothing here, and
    parameters no table reads, in that order."""
    given = list(given)
    return [*new_policy_day_warnings(before, after, given), *inert_setting_warnings(before, after),
            *(unused_warning(dotted) for dotted in unused_parameters(after, given))]


def same_run(scenario: Any, baseline: Any) -> bool:
    """Whether `scenario`, `baseline` with some values applied (`apply_overrides` changes settings
    and crisis parameters only), runs as `baseline`: every value is its own. Why: `compare --sweep
    crisis.peru_block=2023-03-30..2023-04-27/7` ran the baseline twice, as "baseline" and as
    "peru_block=2023-04-13", identical in every cell and a sixth of the runs."""
    return (scenario.settings == baseline.settings
            and getattr(scenario.crisis, "parameters", None) == getattr(baseline.crisis, "parameters", None))


def shared_warnings(warned: dict[str, list[str]]) -> tuple[list[str], dict[str, list[str]]]:
    """The warnings every one of several scenarios (name -> its warnings) has, said once, and each
    one's others: a sweep of a parameter no table reads gave the same line once per value."""
    lists = list(warned.values())
    common = [w for w in dict.fromkeys(lists[0]) if all(w in ws for ws in lists[1:])] if lists else []
    return common, {name: [w for w in ws if w not in common] for name, ws in warned.items()}
