"""Task 2.4: the MLP and the pre-norm Transformer encoder block.

    MLP(x)   = dropout(act(x W1 + b1)) W2 + b2          act = GELU or ReLU
    y        = x + MHSA(LN1(x))                           (N, T, D)
    block(x) = y + MLP(LN2(y))                            (N, T, D)

"Pre-norm": LayerNorm sits inside each residual branch, so the identity path from the
input to the output is untouched and gradients reach early blocks undamped.

A block's parameters are a dict with the keys of `BLOCK_KEYS`:
ln1.g, ln1.b (D,); attn.qkv.w (D, 3D), attn.qkv.b (3D,); attn.proj.w (D, D),
attn.proj.b (D,); ln2.g, ln2.b (D,); mlp.fc1.w (D, M), mlp.fc1.b (M,);
mlp.fc2.w (M, D), mlp.fc2.b (D,).
"""
import layers
import attention

ACTIVATIONS = ("gelu", "gelu_tanh", "relu")
BLOCK_KEYS = ("ln1.g", "ln1.b", "attn.qkv.w", "attn.qkv.b", "attn.proj.w", "attn.proj.b",
              "ln2.g", "ln2.b", "mlp.fc1.w", "mlp.fc1.b", "mlp.fc2.w", "mlp.fc2.b")


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r} (choose one of {', '.join(ACTIVATIONS)})")


def _act_forward(h, activation):
    if activation == "relu":
        return layers.relu_forward(h)
    return layers.gelu_forward(h, approximate="tanh" if activation == "gelu_tanh" else "none")


def _act_backward(dout, cache, activation):
    if activation == "relu":
        return layers.relu_backward(dout, cache)
    return layers.gelu_backward(dout, cache)


def mlp_forward(x, w1, b1, w2, b2, activation="gelu", p_drop=0.0, train=True, rng=None):
    """Two linear layers with an activation and dropout between them.

    x: (N, T, D); w1: (D, M); b1: (M,); w2: (M, D'); b2: (D',).
    activation: "gelu" (exact, erf), "gelu_tanh" or "relu". Dropout with probability
    p_drop acts on the hidden units when train is True (rng: seed or numpy Generator).
    Returns out (N, T, D') and a cache.
    """
    _check_activation(activation)
    raise NotImplementedError("Task 2.4: linear, activation, dropout, linear; keep every cache")
    return out, cache


def mlp_backward(dout, cache):
    """Backward pass of `mlp_forward`.

    dout: (N, T, D'). Returns dx (N, T, D), dw1 (D, M), db1 (M,), dw2 (M, D'), db2 (D',).
    """
    raise NotImplementedError("Task 2.4: the forward steps in reverse order")
    return dx, dw1, db1, dw2, db2


def block_forward(x, params, num_heads, activation="gelu", p_drop=0.0, train=True, rng=None):
    """Pre-norm encoder block: y = x + MHSA(LN1(x)); out = y + MLP(LN2(y)).

    x: (N, T, D); params: dict with the keys of BLOCK_KEYS (shapes in the module docstring).
    Uses the vectorised `attention.mhsa_forward`. Returns out (N, T, D) and a cache.
    """
    missing = [k for k in BLOCK_KEYS if k not in params]
    if missing:
        raise ValueError(f"block parameters are missing {', '.join(missing)}")
    raise NotImplementedError("Task 2.4: two residual branches, each starting with its LayerNorm")
    return out, cache


def block_backward(dout, cache):
    """Backward pass of `block_forward`.

    dout: (N, T, D). Returns dx (N, T, D) and grads, a dict keyed like the block's params.
    """
    raise NotImplementedError("Task 2.4: a residual connection adds the branch gradient to the identity path")
    return dx, grads
