"""What needs a moderator most: the order of the review queue and its confidence bands.

The queue shows flagged views first, then views the classifier was least sure of, then the
rest, oldest first within each group. The group is stored with the view (review_priority)
so that the first page of a large backlog is one range of a partial index, not a sort of
every waiting view.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Priority(IntEnum):
    FLAGGED = 0
    LOW_CONFIDENCE = 1
    ROUTINE = 2


class Band(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


# The classifier's calibrated probability for the bureau: [low, high) per band. A view with no
# prediction (routing failed or has not run yet) counts as low.
BANDS = {Band.LOW: (0.0, 0.5), Band.MEDIUM: (0.5, 0.8), Band.HIGH: (0.8, 1.01)}
LOW_CONFIDENCE_BELOW = BANDS[Band.LOW][1]


def review_priority(flags: str | None, bureau_p: float | None) -> Priority:
    if flags:
        return Priority.FLAGGED
    if bureau_p is None or bureau_p < LOW_CONFIDENCE_BELOW:
        return Priority.LOW_CONFIDENCE
    return Priority.ROUTINE


def band(bureau_p: float | None) -> Band:
    if bureau_p is None:
        return Band.LOW
    return next((b for b, (low, high) in BANDS.items() if low <= bureau_p < high), Band.HIGH)
