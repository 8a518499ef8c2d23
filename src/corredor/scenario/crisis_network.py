"""Where a crisis scenario's people can go: destinations, fallbacks and shelters nobody reaches.

Why: a group whose destination no route leads to ran without a word, and the run said "nobody was
stranded" of people who never left their origin. The checks follow the crisis rules' truth:

- Route choice (engine/rules/crisis_travel.py) moves a person only along ordinary routes (neither
  `irregular` nor `corridor_only`), toward a place whose cost to go is finite. Routes run both
  ways, so a place is reached from another exactly when both lie in one *area* of places joined
  by ordinary routes. A crossing is such a route whatever its policy: a closed one costs
  `route_blocked_km` more in route choice and still leads on, so closures are no concern here.
- Someone whose destination is outside their area does not move along routes at all: they stay
  where they are. Only an event takes them on: a transfer from that very place (they travel on
  from its destination, or stay in it if it is a shelter), a flight from it (out of the run).
- A crossing's irregular path is tried only by people already waiting there, and a corridor takes
  only waiting people: neither makes a destination reachable.
- People give up at crossings (waiting at the staging place) and in shelters, and head for their
  group's fallback from there.

`network_findings` says, at the cell to change (a `Finding`):

- error: the people of a group leaving a departure origin can reach none of the group's
  destinations and no event leaves that origin: they never move;
- warning: a destination the people of some origin cannot reach (who draws it stays there, never
  counted as stranded);
- warning: a fallback that cannot be reached from a place where the group's people give up (who
  gives up there stays there, counted neither as stranded nor as arrived);
- warning: a transfer into, or an event from, a shelter whose capacity is 0 (it holds nobody: a
  transfer into it moves nobody, one from it only people stopped there for another reason);
- warning: a crossing's `irregular_to` or `pushback_to` outside the crossing's area (who crosses
  irregularly, or is pushed back, is left where no ordinary route leads on: they stay there);
- warning: a transfer, flight or corridor from a place nobody is at when the day's events run
  (`stop_places`): travellers pass through it on the road, so the event moves nobody;
- warning: a stop place (locations.csv `stop = yes`) that no transfer, flight or corridor leaves
  for some groups: who of them reaches it is held there for good.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .csvread import header_column
from .model import Crisis, Crossing, Event, Group, Location, Route
from .problems import Problems


@dataclass(frozen=True)
class Finding:
    """A problem of a crisis scenario's network, at a cell of the row `line` of `path`."""

    error: bool
    path: str
    line: int
    column: str  # header name of the cell
    message: str


#: Said with every finding about reaching a place: which routes do not lead anywhere by choice.
NOT_ORDINARY = "routes marked irregular or corridor_only do not count"


def route_number(attributes: Mapping[str, str] | None, key: str) -> float:
    """A route attribute as a number; 0 where empty or not a number (the reader refuses those)."""
    value = attributes.get(key) if attributes else None
    if value in (None, ""):
        return 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def is_ordinary(route: Route) -> bool:
    """True for a route that ordinary route choice uses: neither `irregular` nor `corridor_only`
    above 0 (the crisis plan makes its links' `link_normal` with this test)."""
    return route_number(route.attributes, "irregular") <= 0 and route_number(route.attributes, "corridor_only") <= 0


def _areas(routes: Iterable[Route]) -> dict[str, str]:
    """Each place joined by an ordinary route -> a representative of its area (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in routes:
        if is_ordinary(r):
            a, b = find(r.a), find(r.b)
            if a != b:
                parent[a] = b
    return {x: find(x) for x in parent}


def _listed(names: Iterable[str]) -> str:
    """'a', 'a and b', 'a, b and c' (quoted)."""
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _applies(ev: Event, group: Group) -> bool:
    return not ev.groups or group.name in ev.groups


class _Network:
    """The areas of ordinary routes and the events that move people between places."""

    def __init__(self, crisis: Crisis, routes: Sequence[Route], shelters: set[str]) -> None:
        self.area = _areas(routes)
        self.events = crisis.events
        self.shelters = shelters

    def same_area(self, a: str, b: str) -> bool:
        return a == b or (a in self.area and self.area.get(a) == self.area.get(b))

    def held(self, start: str, group: Group) -> list[str]:
        """Where people of `group` who cannot move on from `start` may be taken: `start`, and
        where transfers lead from there, and on (the order found)."""
        out, todo = [start], [start]
        while todo:
            here = todo.pop()
            for ev in self.events:
                if ev.kind == "transfer" and ev.origin == here and _applies(ev, group) \
                        and ev.destination not in out:
                    out.append(ev.destination)
                    todo.append(ev.destination)
        return out

    def reaches(self, start: str, place: str, group: Group) -> bool:
        """Whether people of `group` at `start` can get to `place`: along ordinary routes, from
        `start` or from a place transfers take them to (not from inside a shelter: those who
        stay in one leave it only by another event)."""
        return any(self.same_area(p, place) for p in self.held(start, group)
                   if p == start or p not in self.shelters)

    def leaves(self, place: str, group: Group) -> bool:
        """Whether some transfer or flight takes people of `group` away from `place`."""
        return any(ev.kind in ("transfer", "flight") and ev.origin == place and _applies(ev, group)
                   for ev in self.events)


def network_findings(crisis: Crisis, locations: Sequence[Location], routes: Sequence[Route],
                     groups_file: str = "groups.csv", events_file: str = "events.csv",
                     crossings_file: str = "crossings.csv",
                     locations_file: str = "locations.csv") -> list[Finding]:
    """Unreachable destinations and fallbacks, events through a shelter of capacity 0 or from a
    place people pass through, stop places nothing leaves (see the module docstring).
    `groups_file`/`events_file`/`crossings_file`: where a row kept no file of its own;
    `locations_file`: the locations table."""
    # (capacities in force: [crisis.capacities] replaces locations.csv's)
    shelters = {loc.name: replace(loc, capacity=crisis.shelter_capacity(loc))
                for loc in locations if loc.kind == "shelter"}
    net = _Network(crisis, routes, set(shelters))
    origins = list(dict.fromkeys(str(row["origin"]) for row in crisis.departures.get("rows", ())
                                 if float(row.get("people_per_day") or 0) > 0))
    out: list[Finding] = []
    for g in crisis.groups:
        if g.share <= 0:
            continue
        out += _group_findings(g, origins, crisis, net, groups_file)
    for ev in crisis.events:
        out += _shelter_findings(ev, shelters, events_file)
    for c in crisis.crossings:
        out += _crossing_findings(c, net, crossings_file)
    waiting, present = stop_places(crisis, locations, routes)
    for ev in crisis.events:
        out += _passing_findings(ev, waiting if ev.kind == "corridor" else present, events_file)
    out += _stop_findings(crisis, locations, locations_file)
    return out


def stop_places(crisis: Crisis, locations: Sequence[Location], routes: Sequence[Route],
                ) -> tuple[set[str], set[str]]:
    """(where a corridor finds people, where a transfer or flight may): the places someone can be
    at, not on a road, when the day's events run (step 7), by the travel kernel
    (engine/rules/crisis_travel.py): a traveller stops only at the start of a crossing, at a stop
    place (`stop = yes`: held), at their destination (and leaves the run, or settles at their
    fallback: no event takes either) or where the day's km run out (on a road, but for a day that
    ends exactly at a place). So: a crossing's `from` (waiting, or given up there), a stop place;
    for a transfer or flight also a pushback place (pushed back that day), a place a transfer
    takes people to (kept in a shelter, or there for a later event of the day), an irregular
    landing place no ordinary route leads on from, and a departure origin from which some
    destination of a group cannot be reached (who draws it stays there). A corridor takes only
    the waiting and the held."""
    waiting = {c.a for c in crisis.crossings} | {loc.name for loc in locations if loc.stops}
    area = _areas(routes)

    def same_area(a: str, b: str) -> bool:
        return a == b or (a in area and area.get(a) == area.get(b))

    present = set(waiting)
    for c in crisis.crossings:
        if c.pushback_to:
            present.add(c.pushback_to)
        if c.irregular_to and not same_area(c.irregular_to, c.a):
            present.add(c.irregular_to)
    present |= {ev.destination for ev in crisis.events if ev.kind == "transfer"}
    dests = {d for g in crisis.groups if g.share > 0 for d, p in g.destinations.items() if p > 0}
    for row in crisis.departures.get("rows", ()):
        origin = str(row["origin"])
        if float(row.get("people_per_day") or 0) > 0 and any(not same_area(origin, d) for d in dests):
            present.add(origin)
    return waiting, present


def _passing_findings(ev: Event, present: set[str], events_file: str) -> list[Finding]:
    """A transfer, flight or corridor from a place nobody is at when the events run."""
    if ev.kind not in ("transfer", "flight", "corridor") or not ev.origin or ev.origin in present:
        return []
    who = ("people stranded at a crossing's `from` place or held at a stop place" if ev.kind == "corridor"
           else "people who are at its origin that day, not those on the road past it")
    return [Finding(False, ev.path or events_file, ev.line, "origin",
                    f"{ev.kind} from {ev.origin!r} moves nobody: travellers pass through it without stopping "
                    "(they stop only at a crossing's `from` place, a stop place or their destination), and a "
                    f"{ev.kind} takes only {who}; to have everyone stop there and wait to be taken on, give "
                    f"{ev.origin!r} `stop = yes` in locations.csv (held there, not counted as stranded), or "
                    "move the event to a place where people stop")]


def _stop_findings(crisis: Crisis, locations: Sequence[Location], locations_file: str) -> list[Finding]:
    """A stop place that no transfer, flight or corridor leaves for some of the groups."""
    out = []
    groups = [g for g in crisis.groups if g.share > 0]
    for loc in locations:
        if not loc.stops:
            continue
        left = [g.name for g in groups if not any(
            ev.kind in ("transfer", "flight", "corridor") and ev.origin == loc.name and _applies(ev, g)
            for ev in crisis.events) and loc.name not in g.destinations]
        if left:
            whom = "any group" if len(left) == len(groups) else f"group{'s' if len(left) > 1 else ''} {_listed(left)}"
            out.append(Finding(False, locations_file, loc.line, "stop",
                               f"stop place {loc.name!r} holds everyone who reaches it (but those heading "
                               f"back to their fallback) until an event moves them on, and no transfer, flight "
                               f"or corridor leaves it for {whom}: who reaches it stays there for good "
                               f"(expected such an event from {loc.name!r} in the events table, or stop "
                               "empty for a place people pass through)"))
    return out


def _crossing_findings(c: Crossing, net: _Network, crossings_file: str) -> list[Finding]:
    """A crossing's irregular landing place or pushback place that no ordinary route joins to the
    crossing's own places: people left there never move on (route choice finds no way)."""
    out = []
    for column, place, who in (("irregular_to", c.irregular_to, "who crosses irregularly"),
                               ("pushback_to", c.pushback_to, "who is pushed back")):
        if place and not net.same_area(place, c.a):
            out.append(Finding(False, c.path or crossings_file, c.line, column,
                               f"crossing {c.name}: {column} {place!r} is joined by no ordinary route to the "
                               f"crossing's places ({c.a!r}, {c.b!r}): {who} is left there and never moves on "
                               f"(expected a place that ordinary routes join to the crossing's; {NOT_ORDINARY})"))
    return out


def _group_findings(g: Group, origins: list[str], crisis: Crisis, net: _Network,
                    groups_file: str) -> list[Finding]:
    """The findings of one group (see `network_findings`)."""
    path = g.path or groups_file
    dests = [d for d, p in g.destinations.items() if p > 0]
    out: list[Finding] = []
    stuck = [o for o in origins if not any(net.reaches(o, d, g) for d in dests) and not net.leaves(o, g)]
    if stuck and dests:
        which = (f"its destination {dests[0]!r} cannot" if len(dests) == 1 else
                 f"none of its destinations ({', '.join(map(repr, dests))}) can")
        out.append(Finding(True, path, g.line, "destinations",
                           f"group {g.name}: {which} be reached by ordinary routes from "
                           f"origin{'s' if len(stuck) > 1 else ''} {_listed(stuck)}, and no event takes "
                           "people away from there: its people who leave from there never move (expected "
                           f"routes in the routes table that lead there; {NOT_ORDINARY})"))
    for d in dests:
        cut = [o for o in origins if o not in stuck and not net.reaches(o, d, g)]
        if cut:
            out.append(Finding(False, path, g.line, "destinations",
                               f"group {g.name}: destination {d!r} (probability {g.destinations[d]:g}) "
                               f"cannot be reached by ordinary routes from origin{'s' if len(cut) > 1 else ''} "
                               f"{_listed(cut)}: who leaves there and draws it stays there (unless an event moves "
                               f"them), never counted as stranded ({NOT_ORDINARY})"))
    if not g.fallback or not dests:
        return out
    # where the group's people give up: crossings' staging places within the areas they travel in,
    # and shelters that transfers take them into from where they are
    held = [p for o in origins if o not in stuck for p in net.held(o, g)]
    moving = [p for p in held if p not in net.shelters and any(net.same_area(p, d) for d in dests)]
    give_up: dict[str, str] = {}
    for c in crisis.crossings:
        staging = c.staging or c.a
        if any(net.same_area(p, staging) for p in moving):
            give_up.setdefault(staging, f"waiting at crossing {c.name}")
    for ev in crisis.events:
        if ev.kind == "transfer" and ev.destination in net.shelters and _applies(ev, g) and (
                ev.origin in held or any(net.same_area(p, ev.origin) for p in moving)):
            give_up.setdefault(ev.destination, "in a shelter")
    cut_off = [p for p in give_up if not net.reaches(p, g.fallback, g)]
    if cut_off:
        where = "; ".join(f"{p!r} ({give_up[p]})" for p in cut_off)
        out.append(Finding(False, path, g.line, "fallback",
                           f"group {g.name}: fallback {g.fallback!r} cannot be reached by ordinary routes "
                           f"from where its people give up: {where}; who gives up there stays there, counted "
                           f"neither as stranded nor as arrived ({NOT_ORDINARY})"))
    return out


def _shelter_findings(ev: Event, shelters: Mapping[str, Location], events_file: str) -> list[Finding]:
    """A transfer into, or a transfer or flight from, a shelter whose capacity is 0."""
    path = ev.path or events_file
    into = shelters.get(ev.destination) if ev.kind == "transfer" else None
    out_of = shelters.get(ev.origin) if ev.kind in ("transfer", "flight") else None
    found = []
    if into is not None and into.capacity == 0:
        found.append(Finding(False, path, ev.line, "destination",
                             f"{ev.kind} into shelter {into.name!r}, whose capacity is 0 (locations table, "
                             f"line {into.line}): it moves nobody (a shelter holds at most its capacity; "
                             "expected a capacity above 0, or −1 or empty for no limit)"))
    if out_of is not None and out_of.capacity == 0:
        found.append(Finding(False, path, ev.line, "origin",
                             f"{ev.kind} from shelter {out_of.name!r}, whose capacity is 0 (locations table, "
                             f"line {out_of.line}): nobody is ever sheltered there, so it takes only people "
                             "stopped there for another reason (waiting at a crossing from it, held if it is a "
                             "stop place), never those passing through (expected a capacity above 0, or −1 or "
                             "empty for no limit)"))
    return found


def report_network(crisis: Crisis, locations: Sequence[Location], routes: Sequence[Route],
                   problems: Problems, folder: Path, files: Mapping[str, object],
                   locations_file: str | Path = "locations.csv") -> None:
    """`network_findings` as errors and warnings of `problems`, each at its cell. `files`: the
    scenario's [crisis] table (the file a row kept no path of falls back to its first file);
    `locations_file`: the locations table, in `folder`."""
    def first(key: str) -> str:
        spec = files.get(key, f"{key}.csv")
        name = spec[0] if isinstance(spec, list) and spec else spec
        return str(folder / name) if isinstance(name, str) else str(folder / f"{key}.csv")

    for f in network_findings(crisis, locations, routes, first("groups"), first("events"), first("crossings"),
                              str(folder / locations_file)):
        (problems.error if f.error else problems.warn)(f.path, f.line, header_column(f.path, f.column), f.message)
