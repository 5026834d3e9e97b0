"""A tiny fenced module used to pin down what `make release` produces."""
import numpy as np


def scale_forward(x, alpha):
    """x (N, D), alpha float -> out (N, D)."""
    if x.ndim != 2:
        raise ValueError(f"scale_forward: expected x of shape (N, D), got {x.shape}")
    ### BEGIN SOLUTION Task 1.1: multiply x by alpha
    # keep the dtype of x
    out = (alpha * x).astype(x.dtype)  # (N, D)
    ### END SOLUTION
    return out, alpha


class Doubler:
    def __call__(self, x):
        ### BEGIN SOLUTION Task 1.2: return "twice" x
        return 2 * x
        ### END SOLUTION

    def name(self):
        return "doubler"


### BEGIN HIDDEN TESTS
assert scale_forward(np.ones((1, 1)), 3.0)[0][0, 0] == 3.0
### END HIDDEN TESTS
