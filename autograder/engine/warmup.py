"""Imported once by the grading forkserver when graders use torch as an oracle.

torch imports a lot lazily the first time autograd runs a backward with a given gradient
(torch.fx's symbolic shapes pull in sympy, ~400 modules); importing it here, before the
per-student processes fork, saves each of them seconds of CPU. Only imports: running a
torch op here would start its thread pool, and a forked child would then wait forever
for pool threads that do not exist in it.
"""
import torch
import torch.fx.experimental.symbolic_shapes  # noqa: F401
import torch.nn.functional  # noqa: F401
