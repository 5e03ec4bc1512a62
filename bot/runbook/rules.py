"""The ES mapping-change runbook from the support site's workflow, as data and rules.

During the deploy, master is frozen; the change goes out in two stages around a
destructive reindex; each step is checked off in order by whoever did it. Landing needs
every step done. The next day, the special branch is merged and the old read index
deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

STEPS: tuple[str, ...] = (
    "Stage 1 commit deployed (ES_WRITE_INDEXES, mappings and indexing code)",
    "Search verified, and ES_INDEXES / ES_WRITE_INDEXES values checked",
    "Destructive reindex into the new write index done",
    "Stage 2 commit deployed (ES_INDEXES, ES_WRITE_INDEXES and search view code)",
    "Search verified again, index settings checked",
    "Bugs fixed by the new search code verified",
)

NEXT_DAY_TODO = (
    "If everything is still fine: merge the special branch into master and delete the old "
    "read index."
)


@dataclass(frozen=True)
class StepDone:
    step: int  # 1-based
    by: str


def next_step(done: set[int]) -> int | None:
    """The step to check off next, or None when all are done."""
    for number in range(1, len(STEPS) + 1):
        if number not in done:
            return number
    return None


def check_step_refusal(step: int, done: set[int]) -> str | None:
    """Steps go in order: refuse a step whose predecessors are not done."""
    if not 1 <= step <= len(STEPS):
        return f"there is no step {step}"
    if step in done:
        return f"step {step} is already checked off"
    expected = next_step(done)
    if expected is not None and step != expected:
        return f"step {expected} ({STEPS[expected - 1]}) comes first"
    return None


def landing_refusal(done: set[int]) -> str | None:
    missing = [n for n in range(1, len(STEPS) + 1) if n not in done]
    if missing:
        return (
            "an ES mapping change lands only when every runbook step is checked off; "
            f"still open: {', '.join(str(n) for n in missing)}"
        )
    return None
