"""Task 2.6: optimisers and learning-rate schedules.

Every optimiser updates a dict of parameter arrays *in place* from a dict of gradients with
the same keys (the gradient arrays are left unchanged: state such as a momentum buffer is the
optimiser's own copy), and follows torch.optim's update rules exactly, so the two can be compared
step by step:

    opt = AdamW(model.params, lr=1e-3, weight_decay=0.05)
    loss, grads = model.loss(X, y)
    opt.step(grads)                    # model.params changed in place
    opt.lr = warmup_cosine(step, ...)  # a schedule just sets opt.lr

Weight decay: `decays(name)` says which parameters are decayed. Only weight matrices and
conv kernels (names ending in ".w") are; biases, LayerNorm gains and shifts, position
embeddings and the CLS token are not (decaying them towards 0 only hurts).
"""
import math

import numpy as np


def decays(name):
    """True if parameter `name` gets weight decay: weights ("....w"), not biases, norms, pos, cls."""
    return name.endswith(".w")


class Optimizer:
    """Shared bookkeeping: the parameter dict, the learning rate, per-parameter state."""

    def __init__(self, params, lr):
        if not isinstance(params, dict) or not params:
            raise ValueError("an optimiser needs a non-empty dict of parameter arrays (e.g. model.params)")
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got lr={lr!r}")
        self.params = params
        self.lr = float(lr)
        self.t = 0  # steps taken
        self.state = {}  # name -> dict of arrays (momentum buffers, moments)

    def step(self, grads):
        """Update every parameter in place from grads (a dict with the same keys)."""
        missing = set(self.params) - set(grads)
        if missing:
            raise KeyError(f"no gradient for parameter(s) {', '.join(sorted(missing))}")
        self.t += 1
        for name, p in self.params.items():
            g = grads[name]
            if g.shape != p.shape:
                raise ValueError(f"gradient for {name!r} has shape {g.shape}, parameter has {p.shape}")
            self._update(name, p, np.asarray(g, dtype=p.dtype))

    def _update(self, name, p, g):
        raise NotImplementedError

    def state_dict(self):
        """Everything needed to resume: {"t", "lr", "state": {name: {key: array}}}."""
        return {"t": self.t, "lr": self.lr, "state": {k: dict(v) for k, v in self.state.items()}}

    def load_state_dict(self, sd):
        self.t, self.lr = int(sd["t"]), float(sd["lr"])
        self.state = {k: {kk: np.array(vv, dtype=self.params[k].dtype) for kk, vv in v.items()}
                      for k, v in sd["state"].items()}


class SGD(Optimizer):
    """SGD with momentum, as torch.optim.SGD (dampening 0).

    g = grad + weight_decay * p            (coupled L2, every parameter)
    buf = g on the first step, else buf = momentum * buf + g
    g = g + momentum * buf if nesterov else buf      (when momentum > 0)
    p = p - lr * g
    """

    def __init__(self, params, lr=0.01, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr)
        self.momentum, self.weight_decay, self.nesterov = float(momentum), float(weight_decay), bool(nesterov)

    def _update(self, name, p, g):
        raise NotImplementedError("Task 2.6: torch's SGD rule; the momentum buffer lives in self.state[name][\"buf\"]")


class Adam(Optimizer):
    """Adam, as torch.optim.Adam: weight decay here is *coupled* L2 (added to the gradient).

    g = grad + weight_decay * p
    m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2          (m, v start at 0)
    p = p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = (float(betas[0]), float(betas[1])), float(eps), float(weight_decay)

    def _decay(self, name, p, g):
        return g + self.weight_decay * p if self.weight_decay else g

    def _update(self, name, p, g):
        g = self._decay(name, p, g)
        raise NotImplementedError("Task 2.6: moment estimates in self.state[name] (\"m\", \"v\"), bias correction with self.t")


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter), as torch.optim.AdamW: *decoupled* weight decay.

    Before the Adam step (with no L2 term in the gradient), every parameter with
    decays(name) shrinks: p = p - lr * weight_decay * p. Others are not decayed.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, betas, eps, weight_decay)

    def _decay(self, name, p, g):
        raise NotImplementedError("Task 2.6: shrink p in place (only where decays(name)); leave g untouched")


def warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    """Linear warm-up, then cosine decay to min_lr. step counts from 0.

    step < warmup_steps:  base_lr * (step + 1) / warmup_steps
    afterwards:           min_lr + (base_lr - min_lr) * (1 + cos(pi * s)) / 2,
                          s = (step - warmup_steps) / (total_steps - warmup_steps), capped at 1
    """
    if warmup_steps < 0 or total_steps < 1 or warmup_steps > total_steps:
        raise ValueError(f"need 0 <= warmup_steps <= total_steps and total_steps >= 1, "
                         f"got warmup_steps={warmup_steps}, total_steps={total_steps}")
    raise NotImplementedError("Task 2.6: the two branches of the formula above")


def step_decay(step, base_lr, step_size, gamma=0.1):
    """Step decay: base_lr * gamma ** (step // step_size)."""
    if step_size < 1:
        raise ValueError(f"step_size must be a positive number of steps, got {step_size}")
    raise NotImplementedError("Task 2.6: multiply by gamma once every step_size steps")


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
