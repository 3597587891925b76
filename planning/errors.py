"""Errors of the planning layer.

``PlanningError`` is what a planner raises for input a user can fix (an empty
frontier, a missing pooled law, a budget the memory cannot hold). It derives
from ``ValueError`` so that numeric code catching ``ValueError`` keeps
working; the command line prints it as one line. Anything else a planner
raises is a bug and is shown as an internal error.
"""

from __future__ import annotations

__all__ = ["PlanningError"]


class PlanningError(ValueError):
    """A planning request that cannot be met as given; the message says what to change."""
