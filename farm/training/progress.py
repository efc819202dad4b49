"""Training speed and time left, for the log line the trainer writes at each evaluation."""

from __future__ import annotations

import time


class ProgressClock:
    """Steps per second since training (re)started, and the time the remaining steps take
    at that rate.

    Args:
        total_steps (int): Steps of the whole run (epochs × batches per epoch).
        start_step (int): Steps already done when the clock starts (after a resume).

    Example:
        >>> clock = ProgressClock(total_steps=1000, start_step=0)
        >>> clock.summary(step=100)  # doctest: +SKIP
        'step 100/1000 (10%), 4.21 steps/s, ETA 3m34s'
    """

    def __init__(self, total_steps: int, start_step: int = 0):
        self.total_steps = total_steps
        self.start_step = start_step
        self.start_time = time.monotonic()

    def steps_per_second(self, step: int) -> float | None:
        """The rate since the clock started; ``None`` before the first step."""
        elapsed = time.monotonic() - self.start_time
        done = step - self.start_step
        return done / elapsed if done > 0 and elapsed > 0 else None

    def summary(self, step: int) -> str:
        """``step 100/1000 (10%), 4.21 steps/s, ETA 3m34s``."""
        share = f" ({100 * step / self.total_steps:.0f}%)" if self.total_steps else ""
        text = f"step {step}/{self.total_steps}{share}"
        rate = self.steps_per_second(step)
        if rate is None:
            return text
        left = max(self.total_steps - step, 0) / rate
        return f"{text}, {rate:.2f} steps/s, ETA {format_duration(left)}"


def format_duration(seconds: float) -> str:
    """``42s``, ``3m34s``, ``2h05m``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
