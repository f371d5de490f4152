"""Device choice and seeding: everything runs on CPU, CUDA is a speed-up."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

from forensicloc.errors import ForensiclocError


def resolve_device(spec: str = "auto") -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``; ``cuda[:n]`` is checked."""
    import torch

    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ForensiclocError(f"device {spec!r} asked for, but CUDA is not available", hint="use --device cpu or auto")
        index = spec.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise ForensiclocError(
                f"device {spec!r} does not exist ({torch.cuda.device_count()} CUDA device(s))",
                hint="use --device cuda:0 or auto",
            )
        return spec
    raise ForensiclocError(f"unknown device {spec!r}", hint="use auto, cpu, cuda or cuda:N")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch so CPU runs repeat exactly."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


@contextlib.contextmanager
def cpu_threads(threads: int, device: str) -> Iterator[None]:
    """Run the block with at most ``threads`` torch CPU threads (``0``: leave as is).

    Small models gain little from a second thread on an idle machine, while threads
    that wait on each other on busy cores (other jobs, parallel tests) make a run
    several times slower. Only CPU devices are affected; the previous setting is
    restored afterwards.
    """
    import torch

    before = torch.get_num_threads()
    wanted = min(threads, before) if threads > 0 and str(device).startswith("cpu") else before
    if wanted != before:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if wanted != before:
            torch.set_num_threads(before)
