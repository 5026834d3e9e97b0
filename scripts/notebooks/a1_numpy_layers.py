"""Write solutions/a1_numpy_layers/a1_numpy_layers.ipynb (the nbgrader source notebook).

    .venv/bin/python scripts/notebooks/a1_numpy_layers.py

The committed .ipynb is the source of truth for the release; this script only makes it
reproducible. Cells: locked Markdown (derivations), plain code cells (gradient checks
that print PASS/FAIL), and self-check questions: a solution cell (nbgrader's stub in the
release) plus a locked check cell that compares the answer with the student's own layer.
Nothing here is graded: a1 is graded on its `.py` files, and a cell named `task1_X_...`
with points would be an autograded cell no task scores (a test of the release forbids it).
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "solutions" / "a1_numpy_layers" / "a1_numpy_layers.ipynb"


def _meta(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
         "task": False}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def md(grade_id: str, text: str):
    return new_markdown_cell(text.strip(), metadata=_meta(grade_id, locked=True))


def code(text: str):
    return new_code_cell(text.strip())


def answer(grade_id: str, text: str):
    return new_code_cell(text.strip(), metadata=_meta(grade_id, solution=True))


def self_check(grade_id: str, task_id: str, text: str):
    return new_code_cell(_in_task(task_id, text), metadata=_meta(grade_id, locked=True))


def checks(task_id: str, text: str):
    """A task's check cell: inside `with task(...)`, so a stub still to do prints SKIP."""
    return new_code_cell(_in_task(task_id, text))


def _in_task(task_id: str, text: str) -> str:
    body = "\n".join(f"    {line}" if line else "" for line in text.strip().splitlines())
    return f'with task("{task_id}"):  # SKIP while a stub it needs is still to do\n{body}'


INTRO = r"""
# Assignment 1: NumPy building blocks with hand-written backprop

You implement every layer a ViT and a ConViT need, forward **and** backward, in NumPy:
`layers.py` (Linear, ReLU, GELU, softmax, cross-entropy, LayerNorm, dropout), `conv.py`
(Conv2d, MaxPool2d) and `gradcheck.py` (the numerical gradients this notebook uses to
check everything else).

**Convention** (as in CS231n). Every layer is a pair

$$\texttt{x\_forward(x, ...)} \to (\texttt{out}, \texttt{cache}), \qquad
\texttt{x\_backward(dout, cache)} \to (\texttt{dx}, \texttt{dw}, \dots)$$

where `dout` $= \partial L / \partial\,\texttt{out}$ is the upstream gradient of some scalar
loss $L$, and each returned gradient has the shape and dtype of what it is the gradient of.
The docstrings give every array's shape.

**How to work.** Fill in the `raise NotImplementedError("Task X.Y: ...")` stubs in the `.py`
files, then run `make check TASK=X.Y` (the public tests) and the cells below, in any order:
a cell whose task is still a stub prints `SKIP` and the next cells still run. Until your
Task 1.8 (`gradcheck.py`) is done, the checks use a numerical gradient given in the set-up
cell and say so. A gradient
check prints `PASS` when the relative error between your backward pass and a numerical
gradient is below $10^{-6}$ (we use float64 everywhere here; a correct backward pass
usually gets $10^{-8}$ or less, a wrong one $10^{-2}$ or more). The questions in this
notebook are self-checks, not graded; the layers themselves are graded by hidden tests that try
more shapes, dtypes and edge cases than you see here.
"""

SETUP = r"""
%load_ext autoreload
%autoreload 2

import itertools
import math
from contextlib import contextmanager

import numpy as np

import conv
import gradcheck
import layers

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)
results, skipped, given_used = {}, [], set()


@contextmanager
def task(task_id):
    # Run one task's checks. While a stub the cell needs still raises, print SKIP and go on,
    # so the cells below still run: the tasks can be done and checked in any order.
    try:
        yield
    except NotImplementedError as e:
        if not str(e).startswith("Task "):
            raise
        skipped.append(task_id)
        print(f"SKIP  Task {task_id}'s checks: a stub still raises ({e})")


def _given_gradient_array(f, x, dout, h=1e-5):
    # The given numerical gradient, used until your Task 1.8 is done. It is not what 1.8
    # asks for: a fourth-order stencil on copies of x (so f must read its argument).
    grad = np.empty(x.shape, dtype=x.dtype)
    for ix in itertools.product(*map(range, x.shape)):
        def at(d):
            xd = x.copy()
            xd[ix] += d
            return np.asarray(f(xd), dtype=np.float64)
        grad[ix] = np.sum((8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) * dout) / (12 * h)
    return grad


def _given_rel_error(x, y):
    # Normwise, not elementwise as in Task 1.8: good enough to tell a right gradient from a wrong one.
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.linalg.norm(x - y) / max(1e-8, np.linalg.norm(x) + np.linalg.norm(y)))


def _yours_or_given(name, given):
    def run(*args, **kwargs):
        try:
            return getattr(gradcheck, name)(*args, **kwargs)
        except NotImplementedError as e:
            if not str(e).startswith("Task 1.8"):
                raise
            if not given_used:
                print("note: using the given numerical gradient (Task 1.8 not done yet)")
            given_used.add(name)
            return given(*args, **kwargs)
    return run


eval_numerical_gradient_array = _yours_or_given("eval_numerical_gradient_array", _given_gradient_array)
eval_numerical_gradient = _yours_or_given("eval_numerical_gradient",
                                          lambda f, x, h=1e-5: _given_gradient_array(f, x, 1.0, h))
rel_error = _yours_or_given("rel_error", _given_rel_error)


def check(name, analytic, numeric, tol=1e-6):
    # Compare a backward pass with a numerical gradient and print one readable line.
    err = rel_error(analytic, numeric)
    ok = err < tol
    results[name] = ok
    print(f"{'PASS' if ok else 'FAIL'}  {name:<28} rel_error = {err:.2e}")
    return ok
"""

GRADCHECK = r"""
## Task 1.8 first: numerical gradients

Everything below checks an analytic gradient against a **centred difference**

$$\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h},$$

whose error is $O(h^2)$ (a one-sided difference has error $O(h)$). For an array-valued
$f$ with upstream gradient $\texttt{dout}$, differentiate the scalar
$\sum_j f(x)_j\,\texttt{dout}_j$ instead. Perturb `x` **in place** and restore it: a loss is
often a closure that reads the parameters it captured and ignores its argument.

`rel_error(x, y)` $= \max_i |x_i - y_i| / \max(10^{-8}, |x_i| + |y_i|)$.

Implement the three functions in `gradcheck.py`; the cell below checks them on
$f(x) = \sum x^3$, whose centred difference is exactly $3x^2 + h^2$. Until they are done,
every other check uses a numerical gradient given in the set-up cell, and says so.
"""

GRADCHECK_RUN = r"""
x = rng.standard_normal((3, 4))
f = lambda _: np.sum(x ** 3)  # noqa: E731  (a closure: it ignores its argument)
h = 1e-3
w = rng.standard_normal((4, 2))
dout = rng.standard_normal((3, 2))
# yours, not the given fallback: this cell is Task 1.8's own check
check("centred difference", gradcheck.eval_numerical_gradient(f, x, h=h), 3 * x ** 2 + h ** 2, tol=1e-8)
check("array version", gradcheck.eval_numerical_gradient_array(lambda a: a @ w, x, dout), dout @ w.T)
"""

LINEAR = r"""
## Task 1.1: Linear

$\texttt{out} = xW + b$ with $x \in \mathbb{R}^{N \times D}$ (or $N \times T \times D$ for
tokens: every leading axis is a batch axis), $W \in \mathbb{R}^{D \times M}$,
$b \in \mathbb{R}^M$. Writing $G = \texttt{dout}$ and summing over every row $r$ of the
flattened leading axes,

$$\frac{\partial L}{\partial x} = G W^\top, \qquad
\frac{\partial L}{\partial W} = \sum_r x_r^\top G_r = X^\top G, \qquad
\frac{\partial L}{\partial b} = \sum_r G_r .$$

The shapes tell you the order of every product: $\partial L/\partial W$ must be $D \times M$.
"""

LINEAR_RUN = r"""
x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
dout = rng.standard_normal((2, 3, 5))
out, cache = layers.linear_forward(x, w, b)
dx, dw, db = layers.linear_backward(dout, cache)
check("linear dx", dx, eval_numerical_gradient_array(lambda a: layers.linear_forward(a, w, b)[0], x, dout))
check("linear dw", dw, eval_numerical_gradient_array(lambda a: layers.linear_forward(x, a, b)[0], w, dout))
check("linear db", db, eval_numerical_gradient_array(lambda a: layers.linear_forward(x, w, a)[0], b, dout))
"""

ACTIVATIONS = r"""
## Task 1.2: ReLU and GELU

ReLU: $\max(x, 0)$, gradient $\mathbb{1}[x > 0]$ (0 at $x = 0$, as in PyTorch).

GELU weighs its input by the probability that a standard normal falls below it:
$\mathrm{GELU}(x) = x\,\Phi(x)$ with $\Phi(x) = \tfrac12\bigl(1 + \mathrm{erf}(x/\sqrt2)\bigr)$.
By the product rule, with the normal density $\varphi(x) = e^{-x^2/2}/\sqrt{2\pi} = \Phi'(x)$,

$$\frac{d}{dx}\,x\Phi(x) = \Phi(x) + x\,\varphi(x).$$

The tanh approximation replaces $\Phi(x)$ by $\tfrac12(1 + \tanh u)$ with
$u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)$, so its derivative is
$\tfrac12(1 + \tanh u) + \tfrac12 x\,(1 - \tanh^2 u)\,u'(x)$,
$u'(x) = \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,x^2)$.
NumPy has no `erf`; `layers.erf` is given.
"""

ACTIVATIONS_RUN = r"""
x = rng.standard_normal((4, 5)) * 2
dout = rng.standard_normal((4, 5))
_, cache = layers.relu_forward(x)
check("relu dx", layers.relu_backward(dout, cache),
      eval_numerical_gradient_array(lambda a: layers.relu_forward(a)[0], x, dout))
for mode in ("none", "tanh"):
    _, cache = layers.gelu_forward(x, approximate=mode)
    check(f"gelu ({mode}) dx", layers.gelu_backward(dout, cache),
          eval_numerical_gradient_array(lambda a: layers.gelu_forward(a, approximate=mode)[0], x, dout))
"""

SOFTMAX = r"""
## Task 1.3: Softmax and cross-entropy

Along the chosen axis, $s_i = e^{x_i} / \sum_j e^{x_j}$. Subtracting $\max_j x_j$ first
changes nothing mathematically and keeps `exp` from overflowing (try $x = 10^4$).
The Jacobian is $\partial s_i/\partial x_j = s_i(\delta_{ij} - s_j)$, so

$$\frac{\partial L}{\partial x_j} = \sum_i g_i\, s_i(\delta_{ij} - s_j)
= s_j\Bigl(g_j - \sum_i g_i s_i\Bigr), \qquad g = \texttt{dout}:$$

never build the $C \times C$ Jacobian.

**Cross-entropy with label smoothing** $\varepsilon$: the target of row $n$ is
$q = (1 - \varepsilon)\,\mathrm{onehot}(y_n) + \varepsilon / C$, and
$L = -\frac1N \sum_n \sum_c q_{nc} \log s_{nc}$ with $\log s = z - \log\sum_j e^{z_j}$
computed from the shifted logits $z$. Because $\sum_c q_{nc} = 1$,

$$\frac{\partial L}{\partial\,\texttt{logits}_{nc}} = \frac{s_{nc} - q_{nc}}{N}.$$
"""

SOFTMAX_RUN = r"""
x = rng.standard_normal((3, 4, 5))
dout = rng.standard_normal((3, 4, 5))
for axis in (1, -1):
    _, cache = layers.softmax_forward(x, axis=axis)
    check(f"softmax (axis={axis}) dx", layers.softmax_backward(dout, cache),
          eval_numerical_gradient_array(lambda a: layers.softmax_forward(a, axis=axis)[0], x, dout))
logits, y = rng.standard_normal((6, 10)), rng.integers(0, 10, size=6)
for eps in (0.0, 0.1):
    loss, dlogits = layers.softmax_cross_entropy(logits, y, label_smoothing=eps)
    num = eval_numerical_gradient(lambda z: layers.softmax_cross_entropy(z, y, label_smoothing=eps)[0], logits)
    check(f"cross-entropy (eps={eps})", dlogits, num)
big = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 5.0]])
print("loss on logits of size 1e4:", layers.softmax_cross_entropy(big, np.array([1, 1]))[0], "(finite, no warning)")
"""

Q_CE = r"""
### Question 1 (self-check, not graded)

A freshly initialised classifier outputs logits that are all (nearly) equal. What
cross-entropy loss do you expect on a 10-class problem without label smoothing? Assign the
exact value (a Python float) to `ce_at_init`. It is the first sanity check of every training
run: a loss far from it at step 0 means a bug.
"""

A_CE = r"""
### BEGIN SOLUTION
ce_at_init = math.log(10)
### END SOLUTION
"""

T_CE = r"""
assert isinstance(ce_at_init, float), "ce_at_init should be a Python float"
loss0, _ = layers.softmax_cross_entropy(np.zeros((4, 10)), np.array([0, 1, 2, 3]))
print("your answer:", ce_at_init, " the layer on all-zero logits:", loss0)
print("PASS" if abs(ce_at_init - loss0) < 1e-9 else "FAIL: your answer and your layer disagree; one of them is wrong")
"""

LAYERNORM = r"""
## Task 1.4: LayerNorm

Over the last axis of size $D$: $\mu = \frac1D\sum_i x_i$,
$\sigma^2 = \frac1D\sum_i (x_i - \mu)^2$, $\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}$,
$\texttt{out} = \gamma \odot \hat x + \beta$. Compute $\sigma^2$ from the centred values
(two passes): $\mathbb{E}[x^2] - \mathbb{E}[x]^2$ cancels catastrophically when the mean is
large compared with the spread.

The parameter gradients sum over every leading axis:
$\partial L/\partial\beta = \sum g$, $\partial L/\partial\gamma = \sum g \odot \hat x$.
For the input, let $\hat g = g \odot \gamma$ and $\rho = 1/\sqrt{\sigma^2+\epsilon}$. Both
$\mu$ and $\sigma^2$ depend on every $x_j$, which gives two extra terms:

$$\frac{\partial L}{\partial x} = \rho\Bigl(\hat g - \overline{\hat g}
- \hat x \odot \overline{\hat g \odot \hat x}\Bigr),$$

where the bars are means over the last axis. Dropping either mean term is the classic bug;
the gradient check below catches it.
"""

LAYERNORM_RUN = r"""
x, gamma, beta = rng.standard_normal((2, 3, 6)), rng.standard_normal(6), rng.standard_normal(6)
dout = rng.standard_normal((2, 3, 6))
_, cache = layers.layernorm_forward(x, gamma, beta)
dx, dgamma, dbeta = layers.layernorm_backward(dout, cache)
check("layernorm dx", dx, eval_numerical_gradient_array(lambda a: layers.layernorm_forward(a, gamma, beta)[0], x, dout))
check("layernorm dgamma", dgamma,
      eval_numerical_gradient_array(lambda a: layers.layernorm_forward(x, a, beta)[0], gamma, dout))
check("layernorm dbeta", dbeta,
      eval_numerical_gradient_array(lambda a: layers.layernorm_forward(x, gamma, a)[0], beta, dout))
"""

Q_LN = r"""
### Question 2 (self-check, not graded)

Adding the same constant $c$ to every feature of a row does not change LayerNorm's output.
What does that imply for $\sum_i (\partial L/\partial x)_i$, the sum of `dx` over the last
axis, whatever `dout`, $\gamma$ and $\beta$ are? Assign the number to `ln_dx_row_sum`, and
set `ln_shift_term` to the name of the term of the formula above that enforces it: one of
`"mean of g_hat"` or `"mean of g_hat * x_hat"`.
"""

A_LN = r"""
### BEGIN SOLUTION
ln_dx_row_sum = 0.0
ln_shift_term = "mean of g_hat"
### END SOLUTION
"""

T_LN = r"""
assert isinstance(ln_dx_row_sum, (int, float)), "ln_dx_row_sum should be a number"
assert ln_shift_term in ("mean of g_hat", "mean of g_hat * x_hat"), "pick one of the two names"
x_q, g_q, b_q = rng.standard_normal((2, 3, 6)), rng.standard_normal(6), rng.standard_normal(6)
_, cache_q = layers.layernorm_forward(x_q, g_q, b_q)
row_sum = np.abs(layers.layernorm_backward(rng.standard_normal((2, 3, 6)), cache_q)[0].sum(axis=-1)).max()
print("sum of your dx over the last axis:", row_sum)
print("PASS" if abs(row_sum - abs(ln_dx_row_sum)) < 1e-8 else "FAIL: your answer and your layer's dx disagree")
print("for the term: drop it from your backward for a moment and see which check above fails")
"""

DROPOUT = r"""
## Task 1.5: Dropout

*Inverted* dropout keeps each element with probability $1 - p$ and scales the survivors by
$1/(1-p)$, so $\mathbb{E}[\texttt{out}] = x$ and evaluation needs no rescaling: in eval
mode (or with $p = 0$) the layer is the identity. The backward multiplies `dout` by the
same scaled mask, so the forward must draw it once (from `rng`) and keep it in the cache.
"""

DROPOUT_RUN = r"""
x = np.ones((500, 500))
for p in (0.1, 0.5):
    out, cache = layers.dropout_forward(x, p, train=True, rng=0)
    print(f"p={p}: kept {np.mean(out != 0):.3f} (expect {1 - p:.3f}), mean of out {out.mean():.3f} (expect 1)")
out, cache = layers.dropout_forward(x[:4, :4], 0.5, train=True, rng=1)
dout = rng.standard_normal((4, 4))
fwd = lambda a: layers.dropout_forward(a, 0.5, train=True, rng=1)[0]  # noqa: E731  (same seed: same mask)
num = eval_numerical_gradient_array(fwd, x[:4, :4].copy(), dout)
check("dropout dx", layers.dropout_backward(dout, cache), num)
eval_out, _ = layers.dropout_forward(x, 0.5, train=False)
print("eval mode is the identity:", np.array_equal(eval_out, x))
"""

Q_DROP = r"""
### Question 3 (self-check, not graded)

With inverted dropout at $p = 0.2$, what value does a *kept* activation with input $x = 1$
take during training? Assign it to `kept_value` (a float).
"""

A_DROP = r"""
### BEGIN SOLUTION
kept_value = 1.25
### END SOLUTION
"""

T_DROP = r"""
assert isinstance(kept_value, (int, float)), "kept_value should be a number"
out, _ = layers.dropout_forward(np.ones((50, 50)), 0.2, train=True, rng=0)
print("PASS" if np.allclose(out[out != 0], kept_value) else "FAIL: your answer and your dropout_forward disagree")
"""

CONV = r"""
## Task 1.6: Conv2d

With zero padding $P$ and stride $S$, $x_p$ the padded input and
$O_H = \lfloor (H + 2P - K_H)/S \rfloor + 1$ (likewise $O_W$):

$$\texttt{out}[n, f, i, j] = b_f + \sum_{c,k,l} w[f, c, k, l]\; x_p[n, c, Si + k, Sj + l].$$

**im2col.** Gather every window into a matrix
$\texttt{cols}[n, (c,k,l), (i,j)] = x_p[n, c, Si+k, Sj+l]$; the convolution is then one
matrix product $W_{F \times CK_HK_W}\,\texttt{cols}$, and the backward is its transpose:

$$\frac{\partial L}{\partial w} = \sum_n G_n\,\texttt{cols}_n^\top, \quad
\frac{\partial L}{\partial b_f} = \sum_{n,i,j} G[n,f,i,j], \quad
\frac{\partial L}{\partial\,\texttt{cols}_n} = W^\top G_n .$$

`col2im` sends each column back to its window and **adds** (windows overlap when $S < K$),
giving $\partial L/\partial x_p$; crop the padding off to get $\partial L/\partial x$.
Loop over the $K_H \times K_W$ kernel offsets only: each offset moves a whole strided slice
`x_p[:, :, k:k + S*O_H:S, l:l + S*O_W:S]` at once. No loops over the batch, channels or
output positions.
"""

CONV_RUN = r"""
x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
for stride, padding in ((1, 1), (2, 1), (2, 0)):
    out, cache = conv.conv2d_forward(x, w, b, stride=stride, padding=padding)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv.conv2d_backward(dout, cache)
    fwd = lambda x_, w_, b_: conv.conv2d_forward(x_, w_, b_, stride=stride, padding=padding)[0]  # noqa: E731
    tag = f"conv s={stride} p={padding}"
    check(f"{tag} dx", dx, eval_numerical_gradient_array(lambda a: fwd(a, w, b), x, dout))
    check(f"{tag} dw", dw, eval_numerical_gradient_array(lambda a: fwd(x, a, b), w, dout))
    check(f"{tag} db", db, eval_numerical_gradient_array(lambda a: fwd(x, w, a), b, dout))
"""

Q_CONV = r"""
### Question 4 (self-check, not graded)

The ConViT stem of Assignment 2 starts with a $3 \times 3$ convolution from 1 to 16
channels on $28 \times 28$ MNIST digits. Assign to `stem_out_hw` the output height (= width)
of such a convolution with padding 1 and **stride 2**, and to `stem_params` its number of
trainable parameters (weights and biases).
"""

A_CONV = r"""
### BEGIN SOLUTION
stem_out_hw = (28 + 2 * 1 - 3) // 2 + 1
stem_params = 16 * 1 * 3 * 3 + 16
### END SOLUTION
"""

T_CONV = r"""
assert isinstance(stem_out_hw, int) and isinstance(stem_params, int), "both answers are integers"
w0, b0 = np.zeros((16, 1, 3, 3)), np.zeros(16)
out, _ = conv.conv2d_forward(np.zeros((1, 1, 28, 28)), w0, b0, stride=2, padding=1)
print("your conv2d_forward gives", out.shape)
ok = out.shape[2:] == (stem_out_hw, stem_out_hw) and stem_params == w0.size + b0.size
print("PASS" if ok else "FAIL: compare your answers with the output shape above and with w.size + b.size")
"""

POOL = r"""
## Task 1.7: MaxPool2d

Each output is the maximum of a $k \times k$ window, so it depends on one input only:
the backward routes each `dout` entry to the position of its window's maximum and
gives every other position zero. Keep that position (the argmax) in the cache. **Ties**:
the first maximum in row-major order within the window wins, as `np.argmax` and PyTorch
do. With overlapping windows (stride $< k$) an input can be the maximum of several
windows and collects the sum of their gradients.
"""

POOL_RUN = r"""
x = rng.permutation(2 * 3 * 6 * 6).reshape(2, 3, 6, 6) * 0.1  # distinct values: no ties
for k, stride in ((2, None), (3, 1)):
    out, cache = conv.maxpool2d_forward(x, kernel_size=k, stride=stride)
    dout = rng.standard_normal(out.shape)
    check(f"maxpool k={k} s={stride} dx", conv.maxpool2d_backward(dout, cache),
          eval_numerical_gradient_array(lambda a: conv.maxpool2d_forward(a, k, stride)[0], x, dout))
"""

SUMMARY = r"""
## Summary

Every gradient check of this notebook, in one place. Once they all pass, run the public
tests (`make check`) before you submit.
"""

SUMMARY_RUN = r"""
failed = [name for name, ok in results.items() if not ok]
print(f"{len(results) - len(failed)} of {len(results)} gradient checks pass")
for name in failed:
    print("FAIL", name)
if skipped:
    print("not done yet (checks skipped): Task", ", ".join(sorted(set(skipped))))
if given_used:
    print("numerical gradients: the given ones (Task 1.8 not done yet); rerun once it is")
"""


def build() -> nbformat.NotebookNode:
    cells = [
        md("md_intro", INTRO), code(SETUP),
        md("md_gradcheck", GRADCHECK), checks("1.8", GRADCHECK_RUN),
        md("md_linear", LINEAR), checks("1.1", LINEAR_RUN),
        md("md_activations", ACTIVATIONS), checks("1.2", ACTIVATIONS_RUN),
        md("md_softmax", SOFTMAX), checks("1.3", SOFTMAX_RUN),
        md("md_q_ce", Q_CE), answer("answer_ce_at_init", A_CE), self_check("check_ce_at_init", "1.3", T_CE),
        md("md_layernorm", LAYERNORM), checks("1.4", LAYERNORM_RUN),
        md("md_q_ln", Q_LN), answer("answer_ln_dx_row_sum", A_LN), self_check("check_ln_dx_row_sum", "1.4", T_LN),
        md("md_dropout", DROPOUT), checks("1.5", DROPOUT_RUN),
        md("md_q_drop", Q_DROP), answer("answer_kept_value", A_DROP), self_check("check_kept_value", "1.5", T_DROP),
        md("md_conv", CONV), checks("1.6", CONV_RUN),
        md("md_q_conv", Q_CONV), answer("answer_stem_conv", A_CONV), self_check("check_stem_conv", "1.6", T_CONV),
        md("md_pool", POOL), checks("1.7", POOL_RUN),
        md("md_summary", SUMMARY), code(SUMMARY_RUN),
    ]
    for i, cell in enumerate(cells):  # stable ids: regenerating changes only what changed
        cell.id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell{i:02d}"
    nb = new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    return nb


def main(argv=None) -> int:
    nb = build()
    nbformat.validate(nb)
    target = Path(argv[0]) if argv else OUT
    tmp = target.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(target)
    print(f"wrote {target} ({len(nb.cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
