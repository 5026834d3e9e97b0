"""The assignment 1 reference itself: bad input raises ValueError naming expected and
received shapes (in the reference and in the released stubs), every function keeps
float32, and the given erf is accurate to float64 precision."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from vitlab.release.fences import render

A1 = Path(__file__).resolve().parents[2] / "solutions" / "a1_numpy_layers"


def _load(name: str, folder: Path):
    spec = importlib.util.spec_from_file_location(f"_a1_{folder.name}_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ref():
    return {m: _load(m, A1) for m in ("layers", "conv", "gradcheck")}


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("a1_stubs")
    for m in ("layers", "conv", "gradcheck"):
        (folder / f"{m}.py").write_text(render((A1 / f"{m}.py").read_text(encoding="utf-8"), f"{m}.py"))
    return {m: _load(m, folder) for m in ("layers", "conv", "gradcheck")}


z = np.zeros
# (module, function, args, kwargs, text the message must contain: expected and received shapes)
BAD = [
    ("layers", "linear_forward", (z((2, 5)), z((4, 3)), z(3)), {}, ["(N, ..., 4)", "(2, 5)"]),
    ("layers", "linear_forward", (z((2, 4)), z((4, 3)), z(2)), {}, ["(3,)", "(2,)"]),
    ("layers", "linear_backward", (z((2, 2)), (z((2, 4)), z((4, 3)))), {}, ["(2, 3)", "(2, 2)"]),
    ("layers", "relu_backward", (z((2, 3)), z((3, 2))), {}, ["(3, 2)", "(2, 3)"]),
    ("layers", "gelu_backward", (z(4), (z(5), z(5), "none")), {}, ["(5,)", "(4,)"]),
    ("layers", "softmax_backward", (z((2, 3)), (z((3, 3)), 1)), {}, ["(3, 3)", "(2, 3)"]),
    ("layers", "softmax_cross_entropy", (z((4, 3)), np.zeros(3, dtype=int)), {}, ["(4,)", "(3,)"]),
    ("layers", "softmax_cross_entropy", (z(3), np.zeros(3, dtype=int)), {}, ["(N, C)", "(3,)"]),
    ("layers", "layernorm_forward", (z((2, 4)), z(3), z(4)), {}, ["gamma", "(4,)", "(3,)"]),
    ("layers", "layernorm_forward", (z((2, 4)), z(4), z(5)), {}, ["beta", "(4,)", "(5,)"]),
    ("layers", "layernorm_backward", (z((2, 4)), (z((2, 5)), z((2, 1)), z(5))), {}, ["(2, 5)", "(2, 4)"]),
    ("layers", "dropout_backward", (z((2, 4)), z((4, 2))), {}, ["(4, 2)", "(2, 4)"]),
    ("conv", "conv2d_forward", (z((1, 3, 5, 5)), z((2, 2, 3, 3)), z(2)), {}, ["(F, 3, KH, KW)", "(2, 2, 3, 3)"]),
    ("conv", "conv2d_forward", (z((1, 2, 5, 5)), z((2, 2, 3, 3)), z(3)), {}, ["(2,)", "(3,)"]),
    ("conv", "conv2d_forward", (z((2, 5, 5)), z((2, 2, 3, 3)), z(2)), {}, ["(N, C, H, W)", "(2, 5, 5)"]),
    ("conv", "conv2d_backward", (z((1, 2, 4, 4)), (z((1, 2, 5, 5)), z((2, 2, 3, 3)), 1, 0, None)), {},
     ["(1, 2, 3, 3)", "(1, 2, 4, 4)"]),
    ("conv", "maxpool2d_forward", (z((2, 4, 4)),), {}, ["(N, C, H, W)", "(2, 4, 4)"]),
    ("conv", "maxpool2d_backward", (z((1, 1, 3, 3)), ((1, 1, 4, 4), 2, 2, z((1, 1, 2, 2), dtype=np.uint8))), {},
     ["(1, 1, 2, 2)", "(1, 1, 3, 3)"]),
    ("gradcheck", "rel_error", (z(3), z(4)), {}, ["(3,)", "(4,)"]),
    ("gradcheck", "eval_numerical_gradient_array", (lambda a: a, z(3), z(4)), {}, ["(3,)", "(4,)"]),
]
BAD_VALUES = [
    ("layers", "gelu_forward", (z(3),), {"approximate": "erf"}, ["approximate", "'erf'"]),
    ("layers", "softmax_forward", (z((2, 3)),), {"axis": 2}, ["axis 2"]),
    ("layers", "softmax_cross_entropy", (z((2, 3)), np.array([0, 3])), {}, ["[0, 3)"]),
    ("layers", "softmax_cross_entropy", (z((2, 3)), np.array([0.0, 1.0])), {}, ["integer"]),
    ("layers", "softmax_cross_entropy", (z((2, 3)), np.array([0, 1])), {"label_smoothing": 1.5}, ["1.5"]),
    ("layers", "dropout_forward", (z(3), 1.2), {}, ["1.2"]),
    ("conv", "conv2d_forward", (z((1, 1, 2, 2)), z((1, 1, 3, 3)), z(1)), {}, ["kernel height 3", "2"]),
    ("conv", "conv2d_forward", (z((1, 1, 5, 5)), z((1, 1, 3, 3)), z(1)), {"stride": 0}, ["stride", ">= 1"]),
    ("conv", "maxpool2d_forward", (z((1, 1, 2, 5)),), {"kernel_size": 3}, ["kernel height 3"]),
]


def _ids(cases):
    return [f"{m}.{f}-{i}" for i, (m, f, *_) in enumerate(cases)]


@pytest.mark.parametrize("module,func,args,kwargs,needles", BAD + BAD_VALUES, ids=_ids(BAD + BAD_VALUES))
def test_bad_input_raises_value_error_in_reference_and_stubs(ref, stubs, module, func, args, kwargs, needles):
    for which, mods in (("reference", ref), ("stub", stubs)):
        with pytest.raises(ValueError) as e:
            getattr(mods[module], func)(*args, **kwargs)
        msg = str(e.value)
        assert msg.startswith(func + ":"), f"{which}: {msg}"
        assert all(n in msg for n in needles), f"{which}: {msg!r} should mention {needles}"


def _float32_cases(ref):
    L, C = ref["layers"], ref["conv"]
    rng = np.random.default_rng(0)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    return [
        (L.linear_forward, L.linear_backward, (f(2, 3, 4), f(4, 5), f(5)), {}),
        (L.relu_forward, L.relu_backward, (f(3, 4),), {}),
        (L.gelu_forward, L.gelu_backward, (f(3, 4),), {}),
        (L.gelu_forward, L.gelu_backward, (f(3, 4),), {"approximate": "tanh"}),
        (L.softmax_forward, L.softmax_backward, (f(3, 4, 5),), {"axis": 1}),
        (L.layernorm_forward, L.layernorm_backward, (f(3, 4, 6), f(6), f(6)), {}),
        (L.dropout_forward, L.dropout_backward, (f(5, 6), 0.3), {"rng": 0}),
        (C.conv2d_forward, C.conv2d_backward, (f(2, 3, 6, 5), f(4, 3, 3, 3), f(4)), {"stride": 2, "padding": 1}),
        (C.maxpool2d_forward, C.maxpool2d_backward, (f(2, 3, 6, 6),), {"kernel_size": 3, "stride": 2}),
    ]


def test_every_layer_keeps_float32(ref):
    for fwd, bwd, args, kwargs in _float32_cases(ref):
        out, cache = fwd(*args, **kwargs)
        grads = bwd(np.ones_like(out), cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads), fwd.__name__
    loss, dlogits = ref["layers"].softmax_cross_entropy(np.ones((3, 4), np.float32), np.array([0, 1, 2]), 0.1)
    assert type(loss) is float and dlogits.dtype == np.float32


def test_erf_is_accurate_to_float64_precision(ref):
    x = np.concatenate([np.linspace(-30, 30, 60001), np.geomspace(1e-300, 1e-3, 50), [0.0, -0.0, 0.46875, 4.0]])
    exact = np.array([math.erf(v) for v in x])
    got = ref["layers"].erf(x)
    rel = np.abs(got - exact) / np.maximum(np.abs(exact), np.finfo(np.float64).tiny)
    assert rel.max() < 4 * np.finfo(np.float64).eps
    assert ref["layers"].erf(np.float32([0.3, -2.0])).dtype == np.float32
    assert np.array_equal(ref["layers"].erf(np.array([np.inf, -np.inf])), [1.0, -1.0])


def test_normal_cdf_float32_is_accurate(ref):
    x = np.linspace(-12, 12, 4801).astype(np.float32)
    exact = np.array([0.5 * math.erfc(-float(v) / math.sqrt(2)) for v in x])
    got = ref["layers"].normal_cdf(x).astype(np.float64)
    assert np.abs(got - exact).max() < 3e-7
    keep = exact > 1e-30  # relative accuracy in the lower tail, where 1 + erf would cancel
    assert (np.abs(got - exact)[keep] / exact[keep]).max() < 1e-4
