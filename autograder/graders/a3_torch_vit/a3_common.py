"""Trusted-side helpers for the Assignment 3 graders: weights, inputs, reference runs, comparisons.

Every module comparison follows one recipe: build the reference module, give it random
(non-trivial) weights, send the same weights and inputs to the student's module in the
sandbox (harness `a3.module_io`), run forward and backward on both sides, and compare the
output and every gradient: 1e-10 in float64, 1e-5 in float32, relative to the tensor and
with an absolute floor of a quarter of the largest value compared in the same run (a
gradient that is zero in exact arithmetic, like GPSA's pos_proj.bias, is rounding noise of
the size of the others, which a correct float32 rewrite does not reproduce bit for bit).
With `train=True` both sides run in train mode from the same seed, so every dropout and
drop-path must draw the same random numbers in the same order.
"""
from __future__ import annotations

import importlib

import torch

from autograder.engine.checks import GradingFailure, expect_array, expect_close

TOL = {"float64": 1e-10, "float32": 1e-5}
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def ref(name: str):
    """A reference module of solutions/a3_torch_vit (on sys.path in the grading process)."""
    return importlib.import_module(name)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen(seed), dtype=torch.float64) * scale


def random_state(module: torch.nn.Module, seed: int, scale: float = 0.3) -> dict:
    """The module's state dict with every float tensor perturbed, so biases, norm gains and
    gates are all non-trivial (a bug hidden by a zero bias or a unit gain shows up)."""
    g = gen(seed)
    out = {}
    for k, v in module.state_dict().items():
        if v.is_floating_point():
            v = (v.double() + scale * torch.randn(v.shape, generator=g, dtype=torch.float64)).float()
        out[k] = v.clone()
    return out


def reference_io(path: str, kwargs: dict, state: dict, inputs: list, grad_out, dtype: str,
                 method: str = "forward", seed: int = 0, train: bool = False) -> dict:
    """What harness a3.module_io computes, with the reference class."""
    mod, _, attr = path.partition(".")
    torch.manual_seed(seed)
    m = getattr(ref(mod), attr)(**kwargs)
    m.load_state_dict(state, strict=True)
    m = m.to(DTYPES[dtype]).train(train)
    if train:
        torch.manual_seed(seed + 1)
    xs = [x.detach().to(DTYPES[dtype]).requires_grad_() if x.is_floating_point() else x for x in inputs]
    out = getattr(m, method)(*xs)
    out.backward(grad_out.to(DTYPES[dtype]))
    return {"out": out.detach(), "input_grads": [x.grad if x.is_floating_point() else None for x in xs],
            "param_grads": {n: p.grad for n, p in m.named_parameters()}}


def compare_io(got: dict, want: dict, dtype: str, what: str, hint: str | None = None) -> None:
    """Strictly compare module_io results: output, input gradients, every parameter gradient."""
    if type(got) is not dict or set(got) != {"out", "input_grads", "param_grads"}:
        raise GradingFailure(f"{what}: the harness returned something unexpected")
    tol = TOL[dtype]
    floor = 0.25 * _largest([want["out"], *want["input_grads"], *want["param_grads"].values()])
    close(got["out"], want["out"], tol, f"{what} output", hint, floor)
    for i, (g, w) in enumerate(zip(got["input_grads"], want["input_grads"])):
        if w is not None:
            close(g, w, tol, f"{what} gradient of input {i}", hint, floor)
    gp, wp = got["param_grads"], want["param_grads"]
    if type(gp) is not dict or set(gp) != set(wp):
        missing = sorted(set(wp) - set(gp if type(gp) is dict else {}))
        raise GradingFailure(f"{what}: parameters differ from the expected layout (missing: {missing[:5]})")
    for name in sorted(wp):
        if wp[name] is None:
            continue
        if gp[name] is None:
            raise GradingFailure(f"{what}: parameter {name!r} got no gradient (is it used in forward?)", hint)
        close(gp[name], wp[name], tol, f"{what} gradient of {name}", hint, floor)


def _largest(tensors) -> float:
    return max([float(t.detach().abs().max()) for t in tensors if torch.is_tensor(t) and t.numel()] or [0.0])


def close(value, expected: torch.Tensor, tol: float, name: str, hint: str | None = None, floor: float = 0.0):
    """expect_close with an absolute floor scaled to the tensor's magnitude (or to `floor`, the
    magnitude of its siblings in the same comparison, when that is larger)."""
    scale = float(expected.detach().abs().max()) if expected.numel() else 1.0
    return expect_close(value, expected.detach(), rtol=tol, atol=tol * max(scale, floor, 1e-3), name=name,
                        hint=hint)


def check_module(student, path: str, kwargs: dict, inputs: list, dtype: str, what: str, seed: int,
                 method: str = "forward", hint: str | None = None, state: dict | None = None,
                 train: bool = False) -> None:
    """Build both, share weights, compare forward and backward (in train mode with `train`)."""
    mod, _, attr = path.partition(".")
    torch.manual_seed(seed)
    module = getattr(ref(mod), attr)(**kwargs)
    state = state if state is not None else random_state(module, seed)
    module.load_state_dict(state, strict=True)
    with torch.no_grad():
        probe = getattr(module.double().eval(), method)(*[x.double() if x.is_floating_point() else x
                                                          for x in inputs])
    grad_out = randn(*probe.shape, seed=seed + 7)
    want = reference_io(path, kwargs, state, inputs, grad_out, dtype, method, seed, train)
    got = student.call("harness:a3.module_io", path, kwargs, state, inputs, grad_out, dtype, method, seed,
                       train=train)
    compare_io(got, want, dtype, what, hint)


def follows_attn_drop(student, path: str, kwargs: dict, x: torch.Tensor, what: str, seed: int,
                      hint: str) -> None:
    """Replace the module's `attn_drop` (documented: the attention weights pass through it) by
    an elementwise map of the weights, on both sides, and compare the eval-mode outputs: only
    code that weights the values with what attn_drop returns follows it. The module and the
    map are built in the sandbox through handles; the map is torch's Tanhshrink (smooth, so
    no weight sits on a threshold that rounding could flip)."""
    mod, _, attr = path.partition(".")
    torch.manual_seed(seed)
    module = getattr(ref(mod), attr)(**kwargs)
    state = random_state(module, seed)
    module.load_state_dict(state)
    module.attn_drop = torch.nn.Tanhshrink()
    with torch.no_grad():
        want = module.eval()(x)
    handle = student.call(path, **kwargs)
    student.call(handle, "load_state_dict", state)
    student.call(handle, "register_module", "attn_drop", student.call("torch.nn.Tanhshrink"))
    student.call(handle, "eval")
    got = student.call(handle, "forward", x)
    close(got.detach() if torch.is_tensor(got) else got, want, 1e-5, f"{what} output with attn_drop replaced",
          hint=hint)


def cfg_dict(**changes) -> dict:
    """A small, fast config as a plain dict (what crosses the sandbox boundary)."""
    Config = ref("config").Config
    base = dict(img_size=8, patch_size=2, in_chans=1, num_classes=4, embed_dim=16, depth=2, num_heads=4,
                mlp_ratio=2.0, local_layers=1, drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0,
                stem_channels=4, progress=False, device="cpu", amp="none")
    base.update(changes)
    return Config.from_dict(base).to_dict()


def build(cfg: dict, state: dict | None = None, seed: int = 0):
    """A reference model for a config dict, optionally with weights."""
    torch.manual_seed(seed)
    model = ref("models").build_model(ref("config").Config.from_dict(cfg))
    if state is not None:
        model.load_state_dict(state, strict=True)
    return model


def expect_state(value, expected: dict, tol: float, what: str) -> None:
    """A returned state dict: same names, each tensor close (float) or equal (int)."""
    if type(value) is not dict or set(value) != set(expected):
        got = sorted(value) if type(value) is dict else value
        raise GradingFailure(f"{what}: expected tensors named {sorted(expected)[:6]}..., got "
                             f"{got if not isinstance(got, list) else got[:6]}")
    for k in sorted(expected):
        if expected[k].is_floating_point():
            close(value[k], expected[k], tol, f"{what}[{k!r}]")
        else:
            expect_close(value[k], expected[k], name=f"{what}[{k!r}]")


__all__ = ["GradingFailure", "expect_array", "expect_close", "TOL", "ref", "randn", "random_state",
           "reference_io", "compare_io", "close", "check_module", "follows_attn_drop", "cfg_dict", "build",
           "expect_state"]
