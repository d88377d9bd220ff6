"""A run's time: the clock of its seconds, and the time budget (``--minutes``) it trains within."""

from __future__ import annotations

import time

from poetry_rnn.training.runtime import Runtime, agree

LOG_EVERY = 50  # steps between loss read-backs (each one waits for the device)


class RunClock:
    """The seconds a run has spent, its earlier commands' included: steps, validations, saves.

    Read every step from the host's monotonic clock, which costs nothing and waits for no
    device. Under torchrun every process must change the rate and stop at the same step, so
    there the clock is rank 0's, shared at each epoch's start and every LOG_EVERY steps, and
    counted on between shares at the pace of the steps before.
    """

    def __init__(self, runtime: Runtime, seconds: float) -> None:
        self.runtime = runtime
        self.origin = time.monotonic() - seconds
        self.shared, self.shared_step, self.pace = seconds, 0, 0.0

    def local(self) -> float:
        """This process's own reading."""
        return time.monotonic() - self.origin

    def read(self, step: int) -> float:
        """The reading after ``step``, the same on every process."""
        if self.runtime.world_size == 1:
            return self.local()
        if step - self.shared_step >= LOG_EVERY:
            return self.share(step)
        return self.shared + self.pace * (step - self.shared_step)

    def share(self, step: int, pace: bool = True) -> float:
        """Rank 0's reading on every process; with ``pace``, the pace of the steps since the
        last share is measured too (without: time other than steps passed since)."""
        now = agree(self.runtime, self.local())
        if pace and step > self.shared_step:
            self.pace = (now - self.shared) / (step - self.shared_step)
        self.shared, self.shared_step = now, step
        return now


class TimeBudget:
    """The minutes a run may take (0: no budget), and when within them training ends."""

    def __init__(self, minutes: float) -> None:
        self.minutes = minutes
        #: The run's seconds when training ends (see training_end), and the seconds an epoch's
        #: end (validation, saving) took last.
        self.end_of_training = minutes * 60
        self.reserve = 0.0

    def spent(self, seconds: float) -> float:
        """The share of the training time that the budget allows that is used after the run's
        ``seconds``; 0 without a budget. The learning rate's cosine follows it to its floor."""
        if not self.minutes:
            return 0.0
        return seconds / max(self.end_of_training, 1e-9)

    def training_end(self, epoch_end: float) -> float:
        """When training ends, in the run's seconds: ``reserve`` before the budget's end, so
        that the final validation and saving end with the budget; or at the end of this epoch
        (``epoch_end``, projected) where no other epoch would fit after it."""
        deadline = self.minutes * 60 - self.reserve
        return epoch_end if deadline - self.reserve <= epoch_end < deadline else deadline
