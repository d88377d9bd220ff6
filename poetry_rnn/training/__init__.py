"""Training: the loop, run state and resume, the time budget, DDP."""
