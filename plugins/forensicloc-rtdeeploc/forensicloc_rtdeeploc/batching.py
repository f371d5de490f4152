"""Torch helpers shared by the training loops: padded batches, optimiser, autocast.

Imported lazily (it imports torch).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch


def pad_batch(
    items: Sequence[Sequence[np.ndarray]], length: int | None = None, device: str | torch.device = "cpu"
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Stack variable-length items into padded tensors with a validity mask.

    :param items: ``B`` items, each a list of per-modality ``[T_b, D_m]`` arrays.
    :param length: padded length (default: the longest item).
    :returns: per modality ``[B, L, D_m]`` float32 (zeros in padding), and ``valid``
        ``[B, L]`` bool.
    """
    lengths = [int(item[0].shape[0]) for item in items]
    length = length or max(lengths)
    valid = np.zeros((len(items), length), dtype=bool)
    out = []
    for m in range(len(items[0])):
        buf = np.zeros((len(items), length, items[0][m].shape[1]), dtype=np.float32)
        for b, item in enumerate(items):
            buf[b, : lengths[b]] = item[m][:length]
        out.append(torch.from_numpy(buf).to(device))
    for b, n in enumerate(lengths):
        valid[b, : min(n, length)] = True
    return out, torch.from_numpy(valid).to(device)


def autocast(device: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (a speed-up with fp32 range, so no loss scaling);
    full fp32 on CPU, where bf16 is slow and would make runs differ from fp32 ones."""
    if str(device).startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()




def optimizer_and_schedule(
    model: torch.nn.Module, lr: float, weight_decay: float, total_steps: int, warmup: float = 0.05
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW with a short linear warm-up then cosine decay to 5% of ``lr``."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or name.endswith("token") else decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )
    warm = max(1, int(warmup * total_steps))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = min(1.0, (step - warm) / max(1, total_steps - warm))
        return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def state_to_numpy(module: torch.nn.Module, prefix: str) -> dict[str, np.ndarray]:
    """A module's parameters and buffers as contiguous float32 numpy arrays."""
    return {
        f"{prefix}{k}": v.detach().to("cpu", torch.float32).contiguous().numpy().copy()
        for k, v in module.state_dict().items()
    }


def load_numpy_state(module: torch.nn.Module, tensors: dict[str, np.ndarray], prefix: str) -> None:
    """Inverse of :func:`state_to_numpy`; a missing or extra key raises (corrupt model)."""
    own = {k[len(prefix):]: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items() if k.startswith(prefix)}
    module.load_state_dict(own, strict=True)


def copy_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
