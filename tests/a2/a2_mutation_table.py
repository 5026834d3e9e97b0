"""Assignment 2's mutation table: realistic student bugs, each a small edit of the reference
inside one task's solution fence, and correct rewrites that must keep full marks.

An entry is (name, task, file, [(reference text, edited text), ...]); every edit sits in a
fence of its own task. test_buggy_variants.py grades them through the real hidden graders,
at most one entry per task in each submission.
"""
from __future__ import annotations

from typing import NamedTuple


class Mutation(NamedTuple):
    name: str
    task: str
    file: str
    edits: tuple[tuple[str, str], ...]


def _m(task: str, file: str, name: str, *edits: tuple[str, str]) -> Mutation:
    return Mutation(name, task, file, tuple(edits))


P, T, A, B, M = "patches.py", "tokens.py", "attention.py", "blocks.py", "models.py"
O, D, S, C, R = "optim.py", "data.py", "solver.py", "checkpoint.py", "predict.py"

INLINE_HEAD_LOOP = """    outs = []
    for h in range(H):  # one head at a time, written out inline
        s = (q[:, h] @ k[:, h].swapaxes(-1, -2)) * d ** -0.5
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        outs.append((s / s.sum(axis=-1, keepdims=True)) @ v[:, h])
    a = np.stack(outs, axis=1)
    _, attn_cache = attention_forward(q, k, v)  # (N, H, T, d)
"""

MAP_HEAD_LOOP = """    qh, kh, vh = (t.transpose(1, 0, 2, 3) for t in (q, k, v))  # heads first
    s = np.array(list(map(np.matmul, qh, kh.swapaxes(-1, -2)))) * d ** -0.5  # map runs the loop in C
    s = np.exp(s - s.max(axis=-1, keepdims=True))
    a = np.array(list(map(np.matmul, s / s.sum(axis=-1, keepdims=True), vh))).transpose(1, 0, 2, 3)
    _, attn_cache = attention_forward(q, k, v)  # (N, H, T, d)
"""

BUGS = [
    # ---- 2.1 patches ------------------------------------------------------------------------
    _m("2.1", P, "patch vector laid out channels-last (p, p, C)",
       ("x = x.transpose(0, 2, 4, 1, 3, 5)  # (N, rows, cols, C, p, p)", "x = x.transpose(0, 2, 4, 3, 5, 1)")),
    _m("2.1", P, "patches in column-major grid order",
       ("x = x.transpose(0, 2, 4, 1, 3, 5)  # (N, rows, cols, C, p, p)", "x = x.transpose(0, 4, 2, 1, 3, 5)")),
    _m("2.1", P, "unpatchify swaps rows and columns",
       ("x = x.transpose(0, 3, 1, 4, 2, 5)  # (N, C, rows, p, cols, p)", "x = x.transpose(0, 3, 2, 4, 1, 5)")),
    _m("2.1", P, "patch_embed_backward returns the patch gradient, not the image gradient",
       ("dx = unpatchify(dpatches, p, image_shape)", "dx = dpatches")),
    _m("2.1", P, "image shape kept as (C, W, H) in the cache", ("cache = (lin_cache, p, (C, H, W))",
                                                               "cache = (lin_cache, p, (C, W, H))")),
    _m("2.1", P, "unpatchify builds a float64 image", ("x = x.reshape(N, C, H, W)\n",
                                                      "out = np.zeros((N, C, H, W))\n    out[...] = x.reshape(N, C, H, W)\n"
                                                      "    x = out\n")),
    # ---- 2.2 tokens -------------------------------------------------------------------------
    _m("2.2", T, "CLS gradient dropped", ("dcls = dout[:, :1].sum(axis=0, keepdims=True)", "dcls = 0 * dout[:1, :1]")),
    _m("2.2", T, "dpos not summed over the batch", ("dpos = dout.sum(axis=0, keepdims=True)", "dpos = dout[:1]")),
    _m("2.2", T, "sin and cos concatenated, not interleaved",
       ("pe[:, 0::2] = np.sin(angles)\n    pe[:, 1::2] = np.cos(angles)",
        "pe[:, :D // 2] = np.sin(angles)\n    pe[:, D // 2:] = np.cos(angles)")),
    _m("2.2", T, "frequency exponent divided by D/2",
       ("inv_freq = base ** (-np.arange(0, D, 2, dtype=np.float64) / D)",
        "inv_freq = base ** (-np.arange(0, D, 2, dtype=np.float64) / (D // 2))")),
    _m("2.2", T, "2-D positions: rows and columns swapped",
       ("np.repeat(rows, grid_w, axis=0),  # patch k has row k // gw", "np.tile(rows, (grid_w, 1)),"),
       ("np.tile(cols, (grid_h, 1)),  # and column k % gw", "np.repeat(cols, grid_h, axis=0),")),
    _m("2.2", T, "CLS token appended at the end",
       ("[np.broadcast_to(cls, (N, 1, cls.shape[-1])), x]", "[x, np.broadcast_to(cls, (N, 1, cls.shape[-1]))]")),
    _m("2.2", T, "2-D encodings ignore base", ("rows = sinusoidal_1d(grid_h, D // 2, base)", "rows = sinusoidal_1d(grid_h, D // 2)"),
       ("cols = sinusoidal_1d(grid_w, D // 2, base)", "cols = sinusoidal_1d(grid_w, D // 2)")),
    # ---- 2.3 attention ----------------------------------------------------------------------
    _m("2.3", A, "softmax over the queries",
       ("attn, sm_cache = layers.softmax_forward(scores, axis=-1)", "attn, sm_cache = layers.softmax_forward(scores, axis=-2)")),
    _m("2.3", A, "no 1/sqrt(d) scaling", ("scale = 1.0 / float(np.sqrt(q.shape[-1]))", "scale = 1.0")),
    _m("2.3", A, "dscores misses the scale", ("dscores = layers.softmax_backward(dattn, cache[\"softmax\"]) * scale",
                                             "dscores = layers.softmax_backward(dattn, cache[\"softmax\"])")),
    _m("2.3", A, "qkv split as (H, 3, d) instead of timm's (3, H, d)",
       ("q, k, v = qkv.reshape(N, T, 3, H, d).transpose(2, 0, 3, 1, 4)",
        "q, k, v = qkv.reshape(N, T, H, 3, d).transpose(3, 0, 2, 1, 4)")),
    _m("2.3", A, "heads merged without moving the head axis back",
       ("merged = a.transpose(0, 2, 1, 3).reshape(N, T, D)", "merged = a.reshape(N, T, D)")),
    _m("2.3", A, "vectorised version loops over the heads inline",
       ("    a, attn_cache = attention_forward(q, k, v)  # (N, H, T, d)\n", INLINE_HEAD_LOOP)),
    _m("2.3", A, "loop backward writes dq, dk, dv interleaved per head",
       ("dqkv[..., j * D + h * d:j * D + (h + 1) * d] = g", "dqkv[..., 3 * h * d + j * d:3 * h * d + (j + 1) * d] = g")),
    _m("2.3", A, "float64 scale upcasts float32 attention",
       ("scale = 1.0 / float(np.sqrt(q.shape[-1]))", "scale = 1.0 / np.sqrt(np.float64(q.shape[-1]))")),
    _m("2.3", A, "vectorised version loops over the heads through map (no Python line per head)",
       ("    a, attn_cache = attention_forward(q, k, v)  # (N, H, T, d)\n", MAP_HEAD_LOOP)),
    _m("2.3", A, "attention weights cached under another key",
       ('"attn": attn, "softmax"', '"weights": attn, "softmax"'), ('cache["attn"], cache["scale"]', 'cache["weights"], cache["scale"]')),
    _m("2.3", A, "vectorised backward builds dqkv in float64", ("dqkv = np.empty((N, T, 3, H, d), dtype=dmerged.dtype)",
                                                               "dqkv = np.empty((N, T, 3, H, d))")),
    # ---- 2.4 blocks -------------------------------------------------------------------------
    _m("2.4", B, "block's dropout runs at evaluation (train=True passed on)",
       ("activation, p_drop, train, rng)\n    out = y + h", "activation, p_drop, True, rng)\n    out = y + h")),
    _m("2.4", B, "MLP dropout ignores train", ("layers.dropout_forward(a, p_drop, train=train, rng=rng)",
                                              "layers.dropout_forward(a, p_drop, train=True, rng=rng)")),
    _m("2.4", B, "dropout backward skipped", ("da = layers.dropout_backward(da, c_drop)", "pass")),
    _m("2.4", B, "MLP branch without its residual", ("out = y + h\n", "out = h\n")),
    _m("2.4", B, "block backward drops the identity path", ("dx = dy + dh", "dx = dh")),
    _m("2.4", B, "LN2 normalises x instead of y", ("layers.layernorm_forward(y, p[\"ln2.g\"], p[\"ln2.b\"])",
                                                  "layers.layernorm_forward(x, p[\"ln2.g\"], p[\"ln2.b\"])")),
    # ---- 2.5 models -------------------------------------------------------------------------
    _m("2.5", M, "CLS gradient dropped in the model", ('dtok, grads["cls"] = tokens.cls_backward(dtok, c_cls)',
                                                       'dtok, grads["cls"] = tokens.cls_backward(dtok, c_cls)[0], '
                                                       '0 * self.params["cls"]')),
    _m("2.5", M, "model's dropout runs at evaluation", ('cfg["dropout"], train, self.rng)', 'cfg["dropout"], True, self.rng)')),
    _m("2.5", M, "ConViT stem padding hard-coded to 1", ('padding=cfg["kernel_size"] // 2)', "padding=1)")),
    _m("2.5", M, "mean pooling backward not divided by T", ("dfeat[:, None, :] / T, (N, T, D))", "dfeat[:, None, :], (N, T, D))")),
    _m("2.5", M, "head reads the last token", ('feat = tok[:, 0] if cfg["pool"] == "cls"', 'feat = tok[:, -1] if cfg["pool"] == "cls"'),
       ("dtok[:, 0] = dfeat", "dtok[:, -1] = dfeat")),
    _m("2.5", M, "final LayerNorm never applied", ('tok, c_norm = layers.layernorm_forward(tok, self.params["norm.g"], self.params["norm.b"])',
                                              'c_norm = None')),
    # ---- 2.6 optimisers ---------------------------------------------------------------------
    _m("2.6", O, "AdamW with coupled weight decay", ("            p *= 1 - self.lr * self.weight_decay\n        return g",
                                                    "            return g + self.weight_decay * p\n        return g")),
    _m("2.6", O, "Adam without bias correction", ("bc1, bc2 = 1 - b1 ** self.t, 1 - b2 ** self.t", "bc1, bc2 = 1.0, 1.0")),
    _m("2.6", O, "SGD momentum buffer dampened", ('st["buf"] += g', 'st["buf"] += (1 - self.momentum) * g')),
    _m("2.6", O, "warm-up starts at step 0 with lr 0 (off by one)",
       ("return base_lr * (step + 1) / warmup_steps", "return base_lr * step / warmup_steps")),
    _m("2.6", O, "step decay decays continuously", ("return base_lr * gamma ** (step // step_size)", "return base_lr * gamma ** (step / step_size)")),
    _m("2.6", O, "eps inside the square root", ("(np.sqrt(v) / math.sqrt(bc2) + self.eps)", "np.sqrt(v / bc2 + self.eps)")),
    _m("2.6", O, "SGD momentum buffer is the caller's gradient array", ('st["buf"] = g.copy()', 'st["buf"] = g')),
    _m("2.6", O, "SGD rebinds the parameter instead of updating it in place",
       ("p -= self.lr * g", "self.params[name] = p - self.lr * g")),
    # ---- 2.7 data ---------------------------------------------------------------------------
    _m("2.7", D, "crop offsets never reach 2p", ("rng.integers(0, 2 * padding + 1, size=(N, 2))",
                                                "rng.integers(0, 2 * padding, size=(N, 2))")),
    _m("2.7", D, "flip upside down", ("out[flip] = x[flip, :, :, ::-1]", "out[flip] = x[flip, :, ::-1, :]")),
    _m("2.7", D, "normalise without 1/255", ("scale = (1.0 / (255.0 * std))", "scale = (1.0 / std)")),
    _m("2.7", D, "shuffle ignores its seed", ("np.random.default_rng(seed).permutation(n)", "np.random.default_rng().permutation(n)")),
    _m("2.7", D, "last partial batch dropped", ("for start in range(0, n, batch_size):",
                                               "for start in range(0, n - batch_size + 1, batch_size):")),
    _m("2.7", D, "one crop offset per image for both axes", ("rng.integers(0, 2 * padding + 1, size=(N, 2))",
                                                            "np.repeat(rng.integers(0, 2 * padding + 1, size=(N, 1)), 2, axis=1)")),
    _m("2.7", D, "crop output assumes uint8 images", ("out = np.empty_like(x)", "out = np.empty(x.shape, dtype=np.uint8)")),
    _m("2.7", D, "flip writes into the caller's batch", ("out = x.copy()\n    out[flip]", "out = x\n    out[flip]")),
    # ---- 2.8 training loop and checkpoints --------------------------------------------------
    _m("2.8", S, "the same shuffle every epoch", ("seed=[self.seed, self.epoch])", "seed=self.seed)")),
    _m("2.8", S, "augmentation silently ignored", ("self._step(self._prepare(Xb, rng), yb)", "self._step(self._prepare(Xb), yb)")),
    _m("2.8", S, "check_accuracy returns a count", ("return float(np.mean(np.argmax(self.scores(X), axis=1) == y))",
                                                   "return float(np.sum(np.argmax(self.scores(X), axis=1) == y))")),
    _m("2.8", S, "learning rate never scheduled", ("lr = self.lr_at(self._schedule_step())", "lr = self.base_lr")),
    _m("2.8", C, "checkpoint loaded with allow_pickle=True", ("np.load(path, allow_pickle=False)", "np.load(path, allow_pickle=True)")),
    _m("2.8", C, "checkpoint written in place (not atomic)",
       ("        with os.fdopen(fd, \"wb\") as f:", "        os.close(fd)\n        os.unlink(tmp)\n        tmp = path\n"
                                                   "        with open(path, \"wb\") as f:")),
    _m("2.8", C, "load_checkpoint hands back what this process saved at that path",
       ('arrays["meta"] = np.array(json.dumps(meta))\n',
        'arrays["meta"] = np.array(json.dumps(meta))\n'
        '    load_checkpoint.saved = {os.path.abspath(path): {k: np.array(v) for k, v in arrays.items()}}\n'),
       ('    if "meta" not in files:\n',
        '    files = {**files, **getattr(load_checkpoint, "saved", {}).get(os.path.abspath(path), {})}\n'
        '    if "meta" not in files:\n')),
    _m("2.8", C, "progress=None stored as null", ('"progress": progress or {}', '"progress": progress')),
    _m("2.8", C, "temporary checkpoint made in the system temp folder",
       ('tempfile.mkstemp(prefix=".ckpt-", suffix=".npz.tmp", dir=folder)', 'tempfile.mkstemp(prefix=".ckpt-", suffix=".npz.tmp")')),
    _m("2.8", S, "max_steps checked only between epochs", ("                if self._out_of_time():\n                    break\n", "")),
    # ---- 2.9 inference ----------------------------------------------------------------------
    _m("2.9", R, "top-k in ascending order", ('order = np.argsort(-p, kind="stable")[:k]', 'order = np.argsort(p, kind="stable")[:k]')),
    _m("2.9", R, "light backgrounds never inverted", ("        x = 255 - x\n", "        x = x\n")),
    _m("2.9", R, "probabilities not normalised", ("    p /= p.sum()\n", "")),
    _m("2.9", R, "invert='yes' ignored", ('if invert == "yes" or (invert == "auto" and in_chans == 1 and _border_mean(x) > 127):',
                                        'if invert == "auto" and in_chans == 1 and _border_mean(x) > 127:')),
]

REWRITES = [
    _m("2.1", P, "moveaxis instead of transpose",
       ("x = x.transpose(0, 2, 4, 1, 3, 5)  # (N, rows, cols, C, p, p)", "x = np.moveaxis(x, (2, 4), (1, 2))")),
    _m("2.2", T, "dpos with np.sum and a new axis", ("dpos = dout.sum(axis=0, keepdims=True)", "dpos = np.sum(dout, axis=0)[None]")),
    _m("2.3", A, "content scores with einsum", ("scores = (q @ k.swapaxes(-1, -2)) * scale  # (..., Tq, Tk)",
                                               'scores = np.einsum("...qd,...kd->...qk", q, k) * scale')),
    _m("2.4", B, "residual sums written the other way round", ("dx = dy + dh", "dx = dh + dy"),
       ("out = y + h\n", "out = h + y\n")),
    _m("2.5", M, "mean-pool backward with np.repeat", ("dtok = np.broadcast_to(dfeat[:, None, :] / T, (N, T, D))",
                                                      "dtok = np.repeat(dfeat[:, None, :] / T, T, axis=1)")),
    _m("2.6", O, "Adam moments as the docstring's formula, not in place",
       ("m *= b1\n        m += (1 - b1) * g", "m[...] = b1 * m + (1 - b1) * g"),
       ("v *= b2\n        v += (1 - b2) * (g * g)", "v[...] = b2 * v + (1 - b2) * g ** 2")),
    _m("2.7", D, "flip with np.where", ("out = x.copy()\n    out[flip] = x[flip, :, :, ::-1]",
                                       "out = np.where(flip[:, None, None, None], x[..., ::-1], x)")),
    _m("2.7", D, "crop offsets drawn one image at a time, dy then dx",
       ("    offsets = rng.integers(0, 2 * padding + 1, size=(N, 2))\n",
        "    offsets = [(rng.integers(0, 2 * padding + 1), rng.integers(0, 2 * padding + 1)) for _ in range(N)]\n")),
    _m("2.7", D, "mini-batches as a returned iterator (arguments checked at the call, not at the first next())",
       ("    for start in range(0, n, batch_size):\n        idx = order[start:start + batch_size]\n        yield X[idx], y[idx]\n",
        "    return iter([(X[order[s:s + batch_size]], y[order[s:s + batch_size]]) for s in range(0, n, batch_size)])\n")),
    _m("2.8", S, "accuracy as a count divided by the number of images",
       ("return float(np.mean(np.argmax(self.scores(X), axis=1) == y))",
        "return float(np.count_nonzero(self.scores(X).argmax(axis=1) == y) / len(y))")),
    _m("2.9", R, "probabilities normalised out of place", ("    p /= p.sum()\n", "    p = p / np.sum(p)\n")),
]
