"""Simulation settings with Flee 3.1's defaults; unknown keys are refused with a suggestion.

Keys Flee knows but corredor does not implement are accepted with a warning (listed in
`FLEE_KNOWN_UNUSED`); keys that enable Flee-3 demographic rules or conflict-driven spawning are
refused when switched on, because running them wrongly would be worse than not running, and
`use_v1_rules: true` sets the values it sets in Flee 3.1 (`V1_RULES`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from .problems import shown


class _Frozen(BaseModel):
    # no ∞ or NaN anywhere: neither gives any of Flee's rules a meaning (a NaN weight, chance or
    # decay silently drops places; an ∞ speed or weight makes every comparison the same)
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


#: the largest hasten: one agent per billion people is already nobody (and h × counts stays in int64)
MAX_HASTEN = 1_000_000_000


class SpawnRules(_Frozen):
    """Where and how many people appear (flee-model.md §2.8, §3.3)."""

    take_from_population: bool = False
    insert_day0: bool = True
    conflict_zone_spawning_only: bool = True
    #: Flee 3.1's driver spawns from refugees.csv differences (False); HEAD sums the camp series.
    sum_from_camps: bool = False  # a Flee HEAD key, applied (HEAD_KEYS)
    conflict_spawn_decay: tuple[Annotated[float, Field(ge=0)], ...] | None = None  # spawn weight factors
    #: days per step of the decay list: a Flee HEAD key (3.1 fixes 30), applied (HEAD_KEYS)
    conflict_spawn_decay_interval: int = Field(default=30, ge=1)


class MoveRules(_Frozen):
    """How people decide and travel (flee-model.md §2.8, §3.5–3.8)."""

    #: Bounds below: values outside them give no meaning to Flee's rules, only infinite,
    #: negative or undefined weights and chances (an error naming the file, line and column).
    max_move_speed: float = Field(default=360.0, gt=0)  # a divisor of ForceTownMove
    max_walk_speed: float = Field(default=35.0, gt=0)
    foreign_weight: float = Field(default=1.0, ge=0)
    camp_weight: float = Field(default=1.0, ge=0)
    conflict_weight: float = Field(default=1.0 / math.sqrt(10.0), ge=0)
    conflict_movechance: float = Field(default=1.0, ge=0)  # chances: above 1 is "always"
    camp_movechance: float = Field(default=0.001, ge=0)
    idpcamp_movechance: float = Field(default=0.1, ge=0)
    default_movechance: float = Field(default=0.3, ge=0)
    awareness_level: int = Field(default=1, ge=0)  # 0: nobody moves, as in Flee 3.1 (flee-model.md §7)
    capacity_buffer: float = Field(default=0.9, ge=0)
    avoid_short_stints: bool = False
    start_on_foot: bool = False
    softening: float = Field(default=10.0, ge=0)  # 1/(softening + km): < 0 makes it ∞ or < 0
    weight_softening: float = Field(default=0.0, ge=0)
    weight_power: float = Field(default=1.0, gt=0)  # a weight 0 to a power ≤ 0 is ∞ or undefined
    distance_power: float = Field(default=1.0, ge=0)  # < 0 would favour the longest routes
    stay_close_to_home: bool = False
    home_distance_power: float = 0.5
    use_pop_for_loc_weight: bool = False
    pop_power_for_loc_weight: float = 0.1
    movechance_pop_base: float = Field(default=10000.0, gt=0)  # a divisor
    movechance_pop_scale_factor: float = 0.0
    fixed_routes: bool = False
    #: corredor extension: make `link` closures close links (Flee's are silent no-ops).
    fix_link_closures: bool = False


class Optimisations(_Frozen):
    hasten: int = Field(default=1, ge=1, le=MAX_HASTEN)


class Settings(_Frozen):
    """All settings of a run. `log_levels` is accepted and ignored (corredor always records)."""

    spawn_rules: SpawnRules = SpawnRules()
    move_rules: MoveRules = MoveRules()
    optimisations: Optimisations = Optimisations()
    log_levels: dict[str, Any] = Field(default_factory=dict)


#: Flee keys that load (with a warning) but have no effect in corredor. Not fields of the
#: settings: `--set` and calibrate, which offer the fields, refuse them (`no_effect_reason`).
FLEE_KNOWN_UNUSED: dict[str, set[str]] = {
    "spawn_rules": {
        "empty_camps_on_day0",
        "camps_are_sicks",
        "camps_are_sinks",
        "read_from_agents_csv_file",
        "average_social_connectivity",
        "starvation_driven_spawning",
        "flood_zone_spawning_only",
        "flood_driven_spawn_mode",
    },
    "move_rules": {
        "max_crossing_speed",
        "capacity_scaling",
        "pruning_threshold",
        "two_system_decision_making",
        "use_economic_pull",
        "harvest_months",
        "flee_when_starving",
        "avoid_food_deprived_locations",
        "avg_religion_fraction",
        "flood_rules",
    },
    "": {
        "conflict_input_file",
        "flood_level_input_file",
        "default_conflict_intensity",
        "number_of_steps",
    },
}

#: Why some FLEE_KNOWN_UNUSED keys change nothing, said with the warning (docs/model-rules.md,
#: "Flee HEAD settings", has the table of HEAD keys).
NO_EFFECT_WHY: dict[str, str] = {
    "move_rules.capacity_scaling": "it is a Flee HEAD setting, which multiplies each camp's capacity "
                                   "in HEAD; Flee 3.1, which corredor follows, ignores it",
    "move_rules.max_crossing_speed": "Flee reads it, but no rule of Flee 3.1 or HEAD uses it",
    "move_rules.pruning_threshold": "it is a Flee HEAD setting, route pruning, that Flee 3.1 does not have",
    "spawn_rules.empty_camps_on_day0": "it is a Flee HEAD setting (no people in camps on day 0, the data "
                                       "shifted down by day 0's) that Flee 3.1 does not have",
}


def _number_below(limit: float) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v < limit


#: The values of HEAD keys in FLEE_KNOWN_UNUSED under which Flee HEAD too does what 3.1 does
#: (Flee's defaults: every FabFlee case writes `capacity_scaling: 1.0`): no warning there, as
#: nothing differs from HEAD; any other value asks for a HEAD rule that corredor does not run.
HEAD_OFF: dict[str, Callable[[Any], bool]] = {
    "move_rules.capacity_scaling": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v == 1,
    "move_rules.pruning_threshold": _number_below(1.001),  # (HEAD prunes from 1.001)
    "spawn_rules.empty_camps_on_day0": lambda v: v is False or v is None,
}


def no_effect_reason(dotted: str) -> str | None:
    """Why the Flee key `dotted` ("section.key", or a top-level key) is accepted in a settings
    file but changes no run; None for a key that is not such a key."""
    section, _, key = dotted.rpartition(".")
    if key not in FLEE_KNOWN_UNUSED.get(section, set()):
        return None
    return NO_EFFECT_WHY.get(dotted, "corredor does not implement the rule it sets")


def no_effect_warning(dotted: str) -> str:
    """The warning for a FLEE_KNOWN_UNUSED key written in a settings file."""
    return f"Flee setting '{dotted.rpartition('.')[2]}' is accepted but has no effect in corredor: " \
           f"{no_effect_reason(dotted)}"


#: Flee HEAD keys that change a run and that corredor applies, with the value at which they do
#: what Flee 3.1 does: another value is warned of, at its key (results then differ from 3.1's).
HEAD_KEYS: dict[str, tuple[Any, str]] = {
    "spawn_rules.conflict_spawn_decay_interval": (
        30, "Flee 3.1 has no such setting and fixes the interval at 30 days"),
    "spawn_rules.sum_from_camps": (
        False, "Flee 3.1 has no such setting (its driver spawns from refugees.csv's daily differences)"),
}


def head_key_warnings(settings: Settings) -> list[tuple[str, str, str]]:
    """A warning (severity, dotted key, message) for each HEAD_KEYS key set to other than Flee
    3.1's behaviour: corredor applies it, so a file that Flee 3.1 runs gives other results here."""
    out: list[tuple[str, str, str]] = []
    for dotted, (v31, why) in HEAD_KEYS.items():
        section, _, key = dotted.partition(".")
        value = getattr(getattr(settings, section), key)
        if value == v31:
            continue
        if key == "conflict_spawn_decay_interval" and not settings.spawn_rules.conflict_spawn_decay:
            out.append(("warning", dotted, f"{value} changes nothing: there is no "
                        "spawn_rules.conflict_spawn_decay list for it to step through"))
            continue
        out.append(("warning", dotted, f"{shown_value(value)} is a Flee HEAD setting that corredor applies, "
                    f"but {why}, so results differ from Flee 3.1's (docs/model-rules.md, "
                    "\"Flee HEAD settings\")"))
    return out


def shown_value(value: Any) -> str:
    """A setting's value as YAML writes it (true/false for booleans)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


#: Flee-3 demographic switches: refused when true (corredor does not implement them yet).
DEMOGRAPHIC_SWITCHES = {
    "WomenAvoidHazards",
    "ChildrenAvoidHazards",
    "ElderlyAvoidHazards",
    "BoysTakeRisk",
    "MatchCampReligion",
    "MatchCampEthnicity",
    "MatchTownEthnicity",
    "MatchConflictEthnicity",
}

#: What Flee 3.1's `move_rules.use_v1_rules: true` sets, over the file's own values
#: (flee-model.md, settings table): it changes the run, so it is applied, not ignored.
V1_RULES: dict[str, Any] = {"max_move_speed": 200.0, "start_on_foot": False, "avoid_short_stints": False,
                            "camp_weight": 2.0, "conflict_weight": 0.25}

_SECTIONS: dict[str, type[_Frozen]] = {
    "spawn_rules": SpawnRules,
    "move_rules": MoveRules,
    "optimisations": Optimisations,
}


def suggest(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' hint, or '' when nothing is close."""
    # keys from YAML/TOML may be numbers or booleans: compare their text
    close = difflib.get_close_matches(str(word), sorted(str(c) for c in choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def settings_from_mapping(
    data: dict[str, Any] | None,
) -> tuple[Settings | None, list[tuple[str, str, str]]]:
    """Build Settings from a parsed YAML/TOML mapping.

    Returns (settings or None, problems) where each problem is (severity, dotted key, message).
    """
    problems: list[tuple[str, str, str]] = []
    data = dict(data or {})
    out: dict[str, Any] = {}
    top_known = set(_SECTIONS) | {"log_levels"} | FLEE_KNOWN_UNUSED[""]
    for key, value in data.items():
        if key == "log_levels":
            out["log_levels"] = dict(value or {}) if isinstance(value, dict) else {}
            continue
        if key in FLEE_KNOWN_UNUSED[""]:
            problems.append(("warning", key, no_effect_warning(key)))
            continue
        if key not in _SECTIONS:
            problems.append(("error", key, f"unknown settings section '{key}'{suggest(key, top_known)}"))
            continue
        model = _SECTIONS[key]
        fields = set(model.model_fields)
        section: dict[str, Any] = {}
        v1_rules = False
        for sub, v in (value or {}).items() if isinstance(value, dict) else []:
            dotted = f"{key}.{sub}"
            if (key, sub) == ("move_rules", "use_v1_rules"):
                if not isinstance(v, bool) and v is not None:
                    problems.append(("error", dotted, f"expected true or false, found {shown(v, 'mapping')}"))
                v1_rules = v is True
                continue
            if (key, sub) == ("spawn_rules", "conflict_driven_spawning"):
                # Flee 3.1 spawns a fixed number per conflict zone once the key has any value (even
                # false); corredor spawns from the data only: refused rather than run wrongly
                if v is not None:
                    problems.append(("error", dotted, "Flee's conflict-driven spawning is not implemented "
                                     "in corredor (it spawns from the data, as without this key); "
                                     "remove the key"))
                continue
            if sub in DEMOGRAPHIC_SWITCHES:
                if v not in (False, None, 0, "False", "false"):
                    problems.append(("error", dotted, f"Flee-3 demographic rule '{sub}' is not implemented in corredor; switch it off"))
                continue
            if sub in fields:
                if sub == "conflict_spawn_decay" and v is not None:
                    if not isinstance(v, list | tuple):
                        problems.append(("error", dotted, f"expected a list of numbers, found {shown(v, 'mapping')}"))
                        continue
                section[sub] = v
                continue
            if sub in FLEE_KNOWN_UNUSED.get(key, set()):
                if not HEAD_OFF.get(dotted, lambda _: False)(v):
                    problems.append(("warning", dotted, no_effect_warning(dotted)))
                continue
            problems.append(("error", dotted, f"unknown setting '{sub}'{suggest(sub, fields | FLEE_KNOWN_UNUSED.get(key, set()))}"))
        if v1_rules:
            over = [f"{k}: {section[k]}" for k in V1_RULES if k in section and section[k] != V1_RULES[k]]
            if over:
                problems.append(("warning", f"{key}.use_v1_rules", "true sets "
                                 + ", ".join(f"{k} {v}" for k, v in V1_RULES.items())
                                 + f" (as Flee 3.1 does), over this file's {', '.join(over)}"))
            section.update(V1_RULES)
        if not isinstance(value, dict) and value is not None:
            problems.append(("error", key, f"expected a mapping of settings, found {shown(value, 'mapping')}"))
        try:
            out[key] = model(**section)
        except Exception as exc:  # pydantic ValidationError: report each field
            for err in getattr(exc, "errors", lambda: [])():
                loc = ".".join(str(x) for x in err.get("loc", ()))
                problems.append(("error", f"{key}.{loc}", f"{err.get('msg')} (found {shown(err.get('input'), 'mapping')})"))
    if any(sev == "error" for sev, _, _ in problems):
        return None, problems
    settings = Settings(**out)
    return settings, problems + head_key_warnings(settings)
