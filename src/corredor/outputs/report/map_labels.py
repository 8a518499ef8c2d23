"""The report's map: places projected onto the page (`project`, `map_size`), their names placed
without overlapping (`place_labels`: a label beside a dot, a callout for places whose dots
overlap, the rest named under the map) and the map's data for the template (`map_view`).

Why a module of its own: the label placement is geometry (boxes, segments, circles), about a
third of the report's code, and reads nothing but the places and the run's arrays.
"""

from __future__ import annotations

import math
import unicodedata
from typing import TYPE_CHECKING, Any

import numpy as np

from .svg_chart import _fmt_num

if TYPE_CHECKING:
    from .builder import RunData

MAP_W, MAP_H, MAP_PAD = 760, 560, 40


def project(locations: list[dict[str, Any]]) -> dict[int, tuple[float, float]]:
    """Equirectangular projection scaled by cos(mean latitude), fitted into the map box."""
    pts = {i: (loc["lon"], loc["lat"]) for i, loc in enumerate(locations)
           if loc.get("lat") is not None and loc.get("lon") is not None}
    if not pts:
        return {}
    lons = np.array([p[0] for p in pts.values()])
    lats = np.array([p[1] for p in pts.values()])
    k = math.cos(math.radians(float(np.mean(lats))))
    xs, ys = lons * k, lats
    span_x = max(float(xs.max() - xs.min()), 1e-6)
    span_y = max(float(ys.max() - ys.min()), 1e-6)
    scale = min((MAP_W - 2 * MAP_PAD) / span_x, (MAP_H - 2 * MAP_PAD) / span_y)
    return {
        i: (round(MAP_PAD + (lon * k - xs.min()) * scale, 1), round(MAP_PAD + (ys.max() - lat) * scale, 1))
        for i, (lon, lat) in pts.items()
    }


def map_size(xy: dict[int, tuple[float, float]]) -> tuple[int, int]:
    """The map box around projected points: at most MAP_W × MAP_H, at least 320 × 240."""
    if not xy:
        return MAP_W, MAP_H
    w = max(p[0] for p in xy.values()) + MAP_PAD + 110  # room for labels on the right
    h = max(p[1] for p in xy.values()) + MAP_PAD
    return int(min(max(w, 320), MAP_W + 110)), int(min(max(h, 240), MAP_H))


def _peak_day(run: RunData) -> int:
    """Start the slider where something happens: the day most people are stranded or in camps."""
    if "stranded" in run.grids:
        focus = np.nansum(run.grids["stranded"], axis=1)
    elif "population" in run.grids:
        camps = [j for j, loc in enumerate(run.locations) if loc.get("is_camp")]
        focus = np.nansum(run.grids["population"][:, camps], axis=1) if camps else np.zeros(len(run.days))
    else:
        return 0
    return int(np.argmax(focus)) if focus.size and np.nanmax(focus) > 0 else 0


Box = tuple[float, float, float, float]

#: Places whose centres are closer than this (px) are named together, in one callout: at the
#: map's scale their circles overlap (a border's two posts, the camp between them, the town
#: beside them), and a label beside one of them could be read as any of them.
CLUSTER_PX = 7.0
#: The most names one callout lists; the others are named under the map.
CALLOUT_LINES = 8
#: A map label's text size and a callout's line height (px; report.css sets the same size).
LABEL_PX, LINE_PX = 10.0, 13.0


def text_width(text: str, size_px: float = LABEL_PX) -> float:
    """Width (px) of `text` at `size_px`, estimated from DejaVu Sans's advances (the widest of the
    fonts a browser picks for system-ui), so that a label's box is never narrower than its text:
    5.6 px a character was too little ("Bukinanyana" is 65 px) and let labels overlap."""
    em = 0.0
    for ch in text:
        if ch in "ijlI.,:;'|":
            em += 0.34
        elif ch in "ftr()[]-/ !":
            em += 0.42
        elif ch in "mwMW":
            em += 0.99
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            em += 1.0
        elif ch.isupper():
            em += 0.79
        else:
            em += 0.64
    return em * size_px


def _overlaps(box: Box, boxes: list[Box], margin: float = 0.0) -> bool:
    return any(box[0] < b[2] + margin and b[0] < box[2] + margin and box[1] < b[3] + margin
               and b[1] < box[3] + margin for b in boxes)


def _label_spot(x: float, y: float, width: float, taken: list[Box],
                size: tuple[int, int]) -> tuple[float, float, str, Box] | None:
    """Where a place's label goes: above right of its circle, else above left, below right or
    below left, the first that stays inside the map (`size`, width × height) and overlaps no
    box already taken (labels, callouts, other places' dots); None when none does."""
    for dx, dy, anchor in ((5, -5, "start"), (-5, -5, "end"), (5, 13, "start"), (-5, 13, "end")):
        lx, ly = x + dx, y + dy
        left = lx if anchor == "start" else lx - width
        box = (left, ly - 10, left + width, ly + 2)
        if box[0] < 0 or box[1] < 0 or box[2] > size[0] or box[3] > size[1]:
            continue
        if not _overlaps(box, taken, -1.0):  # (touching by a pixel is not overlapping: halo)
            return lx, ly, anchor, box
    return None


def leader_end(x: float, y: float, box: Box) -> tuple[float, float]:
    """Where a callout's leader line from (x, y) meets its box: the middle of the side facing
    the point, moved level with the point where the box is beside it."""
    return (box[0] if box[0] > x else box[2]), min(max(y, box[1] + 6), box[3] - 6)


def _segment_clear(a: tuple[float, float], b: tuple[float, float], circles: list[tuple[float, float, float]],
                   boxes: list[Box]) -> bool:
    """Whether the segment a–b passes outside every circle (x, y, r) and through none of `boxes`
    (one that holds `a` aside: a crossing's badge beside the places the line starts from)."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy or 1e-9
    for cx, cy, r in circles:
        t = min(max(((cx - ax) * dx + (cy - ay) * dy) / length2, 0.0), 1.0)
        if math.hypot(ax + t * dx - cx, ay + t * dy - cy) < r:
            return False
    steps = max(2, int(math.sqrt(length2) / 2))  # (a point every 2 px: labels are 12 px tall)
    points = [(ax + dx * k / steps, ay + dy * k / steps) for k in range(1, steps)]
    return not any(b[0] < px < b[2] and b[1] < py < b[3] for b in boxes
                   if not (b[0] <= ax <= b[2] and b[1] <= ay <= b[3]) for px, py in points)


#: How far (px) a callout may be from its places: its leader line's reach, and a shorter one
#: where the line has to cross labels (a crowded map), so that no such line runs across the map.
CALLOUT_REACH, CROWDED_REACH = 220.0, 70.0


def _callout_spot(x: float, y: float, w: float, h: float, taken: list[Box], size: tuple[float, float],
                  circles: list[tuple[float, float, float]], reach: float = CALLOUT_REACH) -> Box | None:
    """A free box w × h near (x, y) for a callout (joined to the point by a leader line): the
    nearest of a ring of spots right and left of the point, within `reach`, inside the map and
    clear (by 2 px) of every box taken, whose leader line crosses no label nor any of `circles`
    (other places, as drawn: a line across one reads as naming it); where the map is too crowded
    for that, one whose line crosses no label and misses the circles' centres, else any free box
    within CROWDED_REACH; None when none is."""
    spots = []
    for dx in (16, 28, 44, 64, 90, 120, 160, 210):
        for dy in (0, -16, 16, -32, 32, -52, 52, -78, 78, -110, 110, -150, 150):
            for side, left in ((0, x + dx), (1, x - dx - w)):
                spots.append((math.hypot(dx, dy), side, (left, y - h / 2 + dy, left + w, y + h / 2 + dy)))
    free = [(d, box) for d, _, box in sorted(spots, key=lambda s: (s[0], s[1]))
            if box[0] >= 0 and box[1] >= 0 and box[2] <= size[0] and box[3] <= size[1] and not _overlaps(box, taken, 2.0)]
    dots = [(cx, cy, min(r, 3.5)) for cx, cy, r in circles]
    for avoid_circles, avoid_boxes, far in ((circles, taken, reach), (dots, taken, reach),
                                            ([], [], min(reach, CROWDED_REACH))):
        for d, box in free:
            if d <= far and _segment_clear((x, y), leader_end(x, y, box), avoid_circles, avoid_boxes):
                return box
    return None


def _clusters(xy: dict[int, tuple[float, float]]) -> list[list[int]]:
    """Places whose dots are within CLUSTER_PX of one another, chained (one linkage): groups of
    indices, each a list; a place alone is a group of one."""
    keys = list(xy)
    parent = {k: k for k in keys}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    pts = np.array([xy[k] for k in keys], dtype=float).reshape(-1, 2)
    close = np.argwhere(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)) < CLUSTER_PX)
    for a, b in close:
        if a < b:
            parent[root(keys[a])] = root(keys[b])
    groups: dict[int, list[int]] = {}
    for k in keys:
        groups.setdefault(root(k), []).append(k)
    return list(groups.values())


def _along(members: list[int], locations: list[dict[str, Any]]) -> list[int]:
    """A cluster's places in the order they lie: north to south where it is taller than wide,
    else west to east (a border's town, post, camp, post, town read as on the ground)."""
    lat = {j: float(locations[j]["lat"]) for j in members}
    lon = {j: float(locations[j]["lon"]) for j in members}
    k = math.cos(math.radians(sum(lat.values()) / len(lat)))
    tall = max(lat.values()) - min(lat.values()) >= (max(lon.values()) - min(lon.values())) * k
    return sorted(members, key=(lambda j: (-lat[j], lon[j])) if tall else (lambda j: (lon[j], -lat[j])))


def place_labels(run: RunData, places: list[dict[str, Any]], peak: np.ndarray, size: tuple[int, int],
                 badges: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str], int]:
    """Name every place on the map, in three rounds, each most important first (camps and places
    people waited at, then those that held anyone, biggest first, then those people only passed
    through):

    1. a place alone gets a label beside its dot (`_label_spot`), clear of other labels and dots;
    2. places whose dots overlap (CLUSTER_PX) get one callout, a box listing them in the order
       they lie, each with a dot in its colour and, where they are in different countries, its
       country on the right, joined to them by a leader line, placed where round 1 left room (a
       callout can go further off; a label read beside the wrong dot cannot);
    3. a place alone that found no room gets a label over a neighbour's dot, else, if people
       stayed there, a callout of its own; what still finds no room is named under the map.

    Sets each place's `label` (and `lx`, `ly`, `anchor`); returns the callouts, the names left
    for the list under the map, and the map's width (wider where a callout needed room)."""
    by_i = {p["i"]: p for p in places}
    xy = {p["i"]: (p["x"], p["y"]) for p in places}

    def rank(j: int) -> tuple[bool, bool, float]:
        return (not by_i[j]["is_camp"], peak[j] <= 0, -float(peak[j]))

    groups = sorted(_clusters(xy), key=lambda g: min(rank(j) for j in g))
    dot = {j: (x - 2.5, y - 2.5, x + 2.5, y + 2.5) for j, (x, y) in xy.items()}
    taken: list[Box] = [(b["x"] - 6, b["y"] - 6, b["x"] + 6, b["y"] + 6) for b in badges]
    wide = (float(MAP_W + 110), float(size[1]))
    callouts: list[dict[str, Any]] = []
    unnamed: list[str] = []

    def label(p: dict[str, Any], avoid: list[Box]) -> bool:
        spot = _label_spot(p["x"], p["y"], text_width(p["name"]), taken + avoid, size)
        if spot is not None:
            p["lx"], p["ly"], p["anchor"], box = spot
            taken.append(box)
        p["label"] = spot is not None
        return p["label"]

    def callout(members: list[int]) -> None:
        shown = sorted(members, key=rank)[:CALLOUT_LINES - 1] if len(members) > CALLOUT_LINES else members
        shown = [j for j in members if j in shown]
        country = {j: str(run.locations[j].get("country") or "") for j in members}
        if len(set(country.values()) - {""}) < 2:
            country = dict.fromkeys(members, "")  # (one country: it goes without saying)
        more = len(members) - len(shown)
        lines = [by_i[j]["name"] for j in shown] + ([f"and {more} more, named under the map"] if more else [])
        cx = sum(xy[j][0] for j in members) / len(members)
        cy = sum(xy[j][1] for j in members) / len(members)
        codes = max((text_width(country[j]) + 8 for j in shown if country[j]), default=0.0)
        w, h = max(text_width(t) for t in lines) + 22 + codes, LINE_PX * len(lines) + 6
        others = [j for j in xy if j not in members]
        box = _callout_spot(cx, cy, w, h, taken + [dot[j] for j in others], wide,
                            [(xy[j][0], xy[j][1], by_i[j]["r"] + 2) for j in others],
                            CALLOUT_REACH if len(members) > 1 else CROWDED_REACH)
        if box is None:
            unnamed.extend(by_i[j]["name"] for j in members)
            return
        taken.append(box)
        unnamed.extend(by_i[j]["name"] for j in members if j not in shown)
        entries = []
        for n, j in enumerate(shown):
            ty = box[1] + LINE_PX * (n + 1)
            entries.append({"i": j, "name": by_i[j]["name"], "country": country[j], "camp": by_i[j]["is_camp"],
                            "people": by_i[j]["people"], "mx": round(box[0] + 8, 1), "my": round(ty - 3.5, 1),
                            "tx": round(box[0] + 15, 1), "ty": round(ty, 1), "cx": round(box[2] - 6, 1)})
        end = leader_end(cx, cy, box)
        callouts.append({"x": round(box[0], 1), "y": round(box[1], 1), "w": round(w, 1), "h": round(h, 1),
                         "x1": round(cx, 1), "y1": round(cy, 1), "x2": round(end[0], 1), "y2": round(end[1], 1),
                         "entries": entries,
                         "more": (lines[-1], round(box[0] + 15, 1), round(box[1] + LINE_PX * len(lines), 1))
                         if more else None})

    for p in places:
        p["label"] = False
    alone = [by_i[g[0]] for g in groups if len(g) == 1]
    for p in alone:
        label(p, [d for j, d in dot.items() if j != p["i"]])
    for group in groups:
        if len(group) > 1:
            callout(_along(group, run.locations))
    for p in alone:
        if p["label"] or label(p, []):
            continue
        if peak[p["i"]] > 0 or p["is_camp"]:
            callout([p["i"]])
        else:
            unnamed.append(p["name"])
    width = max([float(size[0])] + [c["x"] + c["w"] + 4 for c in callouts])
    return callouts, unnamed, int(math.ceil(width))


def map_view(run: RunData) -> dict[str, Any] | None:
    """Places (circles sized by population), roads (lines, closed ones marked), names (labels and
    callouts, `place_labels`) and slider data."""
    xy = project(run.locations)
    if not xy:
        return None
    pop = run.grids.get("population")
    n_days = len(run.days)
    pop = np.nan_to_num(pop) if pop is not None else np.zeros((n_days, len(run.locations)))
    peak = pop.max(axis=0) if n_days else np.zeros(len(run.locations))
    top = float(peak.max()) if peak.size else 0.0
    r_min, r_max = 2.5, 26.0
    r_scale = (r_max - r_min) / math.sqrt(top) if top > 0 else 0.0
    day0 = _peak_day(run)
    st = run.grids.get("stranded")
    waited = np.nan_to_num(st).max(axis=0) > 0 if st is not None else np.zeros(len(run.locations), bool)
    places = []
    for j in sorted(xy, key=lambda j: -peak[j]):  # big circles first, small ones stay clickable on top
        loc = run.locations[j]
        places.append({"i": j, "x": xy[j][0], "y": xy[j][1], "name": run.labels[j], "kind": loc.get("kind", ""),
                       "country": loc.get("country", ""), "is_camp": bool(loc.get("is_camp")) or bool(waited[j]),
                       "r": round(r_min + r_scale * math.sqrt(max(pop[day0, j], 0.0)), 2) if n_days else r_min,
                       "people": _fmt_num(pop[day0, j]) if n_days else "–", "label": True,
                       "stranded": _fmt_num(float(np.nan_to_num(st)[day0, j])) if st is not None and n_days else "–"})
        # a camp is a square of the circle's area (its shape, not only its colour, says camp)
        places[-1]["side"] = round(places[-1]["r"] * math.sqrt(math.pi), 2)
    index = {loc["name"]: j for j, loc in enumerate(run.locations)}
    roads: list[dict[str, Any]] = []
    for k, road in enumerate(run.roads):
        a, b = index.get(road["a"]), index.get(road["b"])
        if a not in xy or b not in xy:
            continue
        status = run.road_status[day0][k] if run.road_status and n_days else 0
        roads.append({"k": k, "x1": xy[a][0], "y1": xy[a][1], "x2": xy[b][0], "y2": xy[b][1],
                      "crossing": road.get("crossing"), "status": status,
                      "label": f"{run.labels[a]} – {run.labels[b]}" + (f" ({road['crossing']})" if road.get("crossing") else "")})
    # crossings get a fixed-size badge at their midpoint: a crossing road is often shorter than a
    # pixel at national scale; badges that would overlap are nudged apart
    badges: list[dict[str, Any]] = []
    for r in roads:
        if not r["crossing"]:
            continue
        x, y = (r["x1"] + r["x2"]) / 2, (r["y1"] + r["y2"]) / 2
        while any(abs(x - b["x"]) < 11 and abs(y - b["y"]) < 11 for b in badges):
            x += 12
        badges.append({"k": r["k"], "x": round(x, 1), "y": round(y, 1), "name": r["crossing"], "status": r["status"]})
    size = map_size(xy)
    callouts, unnamed, w = place_labels(run, places, peak, size, badges)
    data: dict[str, Any] = {
        "dates": [d or str(run.days[t]) for t, d in enumerate(run.dates)],
        "pop": [[int(round(v)) for v in row] for row in pop],
        "rMin": r_min, "rScale": r_scale,
        "roadStatus": run.road_status,
        "stranded": ([[int(round(v)) for v in row] for row in np.nan_to_num(run.grids["stranded"])]
                     if "stranded" in run.grids else None),
    }
    keys = _status_keys(run.road_status, bool(badges))
    data["closedNoun"] = keys["closed_noun"]  # (the day summary counts what the legend names)
    return {"w": w, "h": size[1], "places": places, "roads": roads, "badges": badges, "callouts": callouts,
            "unnamed": unnamed, "day0": day0, "n_days": n_days,
            "date0": data["dates"][day0] if n_days else "", "data": data, **keys}


def _status_keys(road_status: list[list[int]] | None, crossings: bool) -> dict[str, Any]:
    """What the map's legend names: "crossing" where the run has border crossings, else "road"
    (a Flee case closes links); a key for each status that occurs on some day (1 documents
    required, 2 closed)."""
    seen = {int(v) for row in road_status or () for v in row}
    return {"closed_noun": "crossing" if crossings else "road",
            "shows_closed": 2 in seen, "shows_docs": 1 in seen}
