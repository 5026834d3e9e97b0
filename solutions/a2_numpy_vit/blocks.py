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
    ### BEGIN SOLUTION Task 2.4: linear, activation, dropout, linear; keep every cache
    h, c1 = layers.linear_forward(x, w1, b1)  # (N, T, M)
    a, c_act = _act_forward(h, activation)
    a, c_drop = layers.dropout_forward(a, p_drop, train=train, rng=rng)
    out, c2 = layers.linear_forward(a, w2, b2)  # (N, T, D')
    cache = (c1, c_act, c_drop, c2, activation)
    ### END SOLUTION
    return out, cache


def mlp_backward(dout, cache):
    """Backward pass of `mlp_forward`.

    dout: (N, T, D'). Returns dx (N, T, D), dw1 (D, M), db1 (M,), dw2 (M, D'), db2 (D',).
    """
    ### BEGIN SOLUTION Task 2.4: the forward steps in reverse order
    c1, c_act, c_drop, c2, activation = cache
    da, dw2, db2 = layers.linear_backward(dout, c2)
    da = layers.dropout_backward(da, c_drop)
    dh = _act_backward(da, c_act, activation)
    dx, dw1, db1 = layers.linear_backward(dh, c1)
    ### END SOLUTION
    return dx, dw1, db1, dw2, db2


def block_forward(x, params, num_heads, activation="gelu", p_drop=0.0, train=True, rng=None):
    """Pre-norm encoder block: y = x + MHSA(LN1(x)); out = y + MLP(LN2(y)).

    x: (N, T, D); params: dict with the keys of BLOCK_KEYS (shapes in the module docstring).
    Uses the vectorised `attention.mhsa_forward`. Returns out (N, T, D) and a cache.
    """
    missing = [k for k in BLOCK_KEYS if k not in params]
    if missing:
        raise ValueError(f"block parameters are missing {', '.join(missing)}")
    ### BEGIN SOLUTION Task 2.4: two residual branches, each starting with its LayerNorm
    p = params
    h, c_ln1 = layers.layernorm_forward(x, p["ln1.g"], p["ln1.b"])
    h, c_attn = attention.mhsa_forward(h, p["attn.qkv.w"], p["attn.qkv.b"],
                                       p["attn.proj.w"], p["attn.proj.b"], num_heads)
    y = x + h
    h, c_ln2 = layers.layernorm_forward(y, p["ln2.g"], p["ln2.b"])
    h, c_mlp = mlp_forward(h, p["mlp.fc1.w"], p["mlp.fc1.b"], p["mlp.fc2.w"], p["mlp.fc2.b"],
                           activation, p_drop, train, rng)
    out = y + h
    cache = (c_ln1, c_attn, c_ln2, c_mlp)
    ### END SOLUTION
    return out, cache


def block_backward(dout, cache):
    """Backward pass of `block_forward`.

    dout: (N, T, D). Returns dx (N, T, D) and grads, a dict keyed like the block's params.
    """
    ### BEGIN SOLUTION Task 2.4: a residual connection adds the branch gradient to the identity path
    c_ln1, c_attn, c_ln2, c_mlp = cache
    g = {}
    dh, g["mlp.fc1.w"], g["mlp.fc1.b"], g["mlp.fc2.w"], g["mlp.fc2.b"] = mlp_backward(dout, c_mlp)
    dh, g["ln2.g"], g["ln2.b"] = layers.layernorm_backward(dh, c_ln2)
    dy = dout + dh
    dh, g["attn.qkv.w"], g["attn.qkv.b"], g["attn.proj.w"], g["attn.proj.b"] = attention.mhsa_backward(dy, c_attn)
    dh, g["ln1.g"], g["ln1.b"] = layers.layernorm_backward(dh, c_ln1)
    dx = dy + dh
    grads = {k: g[k] for k in BLOCK_KEYS}
    ### END SOLUTION
    return dx, grads
