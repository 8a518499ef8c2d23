"""Self-contained offline HTML report of a run folder (`build_report`)."""

from __future__ import annotations

from .builder import build_report

__all__ = ["build_report"]
