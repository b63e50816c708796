"""Which step of a run is on screen: plain state that knows nothing of widgets."""

from __future__ import annotations


class StepCursor:
    """An index into a run's `count` steps (None when the run has no steps).

    Every move returns True if the index changed, so the caller redraws only then.
    """

    def __init__(self, count: int, index: int = 0) -> None:
        self.count = count
        self.index: int | None = min(max(index, 0), count - 1) if count else None

    def next(self) -> bool:
        """One step on (stays put at the last step)."""
        return self.jump(self.index + 1) if self.index is not None else False

    def prev(self) -> bool:
        """One step back (stays put at the first step)."""
        return self.jump(self.index - 1) if self.index is not None else False

    def jump(self, index: int | None) -> bool:
        """Go to step `index`, clamped into the run; None (no such step) leaves it unchanged."""
        if index is None or self.index is None:
            return False
        index = min(max(index, 0), self.count - 1)
        changed = index != self.index
        self.index = index
        return changed

    @property
    def at_end(self) -> bool:
        return self.index is None or self.index == self.count - 1

    def __repr__(self) -> str:
        return f"StepCursor(index={self.index}, count={self.count})"
