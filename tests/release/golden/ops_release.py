"""A tiny fenced module used to pin down what `make release` produces."""
import numpy as np


def scale_forward(x, alpha):
    """x (N, D), alpha float -> out (N, D)."""
    if x.ndim != 2:
        raise ValueError(f"scale_forward: expected x of shape (N, D), got {x.shape}")
    # keep the dtype of x
    raise NotImplementedError("Task 1.1: multiply x by alpha")
    return out, alpha


class Doubler:
    def __call__(self, x):
        raise NotImplementedError("Task 1.2: return \"twice\" x")

    def name(self):
        return "doubler"


