"""Shared helpers for the public tests: small float64 models, gradient checks, seeds."""
import pytest
import torch

# These tensors are tiny: one thread is fastest, and it stays fast on a busy machine.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def gradcheck(module: torch.nn.Module, *inputs: torch.Tensor) -> None:
    """torch.autograd.gradcheck of module(*inputs) w.r.t. the inputs, in float64 and eval mode."""
    module = module.double().eval()
    xs = tuple(x.double().requires_grad_() for x in inputs)
    assert torch.autograd.gradcheck(module, xs, eps=1e-6, atol=1e-5), "analytic and numerical gradients differ"


def param_grads_finite(module: torch.nn.Module, out: torch.Tensor) -> None:
    """Backpropagate out.sum(); every parameter gets a finite gradient."""
    out.sum().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient: is it used in forward?"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"
