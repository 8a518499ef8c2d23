"""Flee 3.1's behaviour as small numba kernels, run by engine/agents.py in one documented order.

- `locations.py`: conflict decay, location score, spawn weights, move chance (flee-model.md §3.3-3.6)
- `capacity.py`: the capacity multiplier and the full-camp check (§3.8)
- `routes.py`: per-location route tables, route choice, following a route (§3.6)
- `travel.py`: moving along a link, arrival, bounce off a closed link (§3.7)
"""
