"""Keep torch's public namespaces as the engine's tamper check saw them (runs in the sandbox)."""
from __future__ import annotations

import sys


def settle_torch() -> None:
    """Import torch._dynamo now and put back what that import replaces in torch's namespaces.

    Building any torch.optim optimizer imports torch._dynamo, which wraps `torch.manual_seed`;
    the engine's tamper check (a snapshot of torch, torch.nn.functional, ... taken before
    student code is imported) would blame the student for it. Nothing in the harness
    compiles, so the originals go back. Call it before building an optimizer; a no-op when
    torch._dynamo is already imported (e.g. preloaded).
    """
    if "torch._dynamo" in sys.modules:
        return
    import torch
    import torch.autograd
    import torch.linalg
    import torch.nn.functional
    watched = (torch, torch.nn.functional, torch.linalg, torch.autograd, torch.Tensor)
    before = [dict(vars(m)) for m in watched]
    import torch._dynamo  # noqa: F401
    for m, old in zip(watched, before):
        for k, v in old.items():
            if vars(m).get(k, v) is not v:
                setattr(m, k, v)
