"""Task 2.5: whole models with one forward/backward call, CS231n style.

    model = ViT(patch_size=7, dim=64, depth=4, num_heads=4)
    scores = model.loss(X)             # (N, K) class scores, evaluation mode
    loss, grads = model.loss(X, y)     # training mode; grads keyed like model.params

ViT:    patch embed -> [CLS] -> + positions -> L blocks -> [final LN] -> head(CLS or mean)
ConViT: (conv 3x3 -> ReLU -> max-pool 2) x 2 -> patch embed -> + learned positions
        -> L blocks -> [final LN] -> mean over tokens -> head

Parameter names: "<part>.w" for weight matrices and conv kernels, "<part>.b" for biases,
"<part>.g" for LayerNorm gains, plus "cls" and "pos". Only names ending in ".w" get weight
decay (see optim.py).
"""
import numpy as np

import attention
import blocks
import conv
import layers
import patches
import tokens

POS_KINDS = ("learned", "sin1d", "sin2d")
POOLS = ("cls", "mean")


class _Encoder:
    """What ViT and ConViT share: parameters of the blocks, final norm and head, and the
    forward/backward through them. Subclasses make the tokens."""

    def _init_encoder(self, depth, dim, num_heads, mlp_ratio, num_classes, final_norm, rng):
        attention._check_heads(dim, num_heads)
        hidden = int(round(dim * mlp_ratio))
        p = self.params
        for i in range(depth):
            pre = f"blocks.{i}."
            p[pre + "ln1.g"], p[pre + "ln1.b"] = np.ones(dim), np.zeros(dim)
            p[pre + "attn.qkv.w"], p[pre + "attn.qkv.b"] = _xavier(rng, dim, 3 * dim), np.zeros(3 * dim)
            p[pre + "attn.proj.w"], p[pre + "attn.proj.b"] = _xavier(rng, dim, dim), np.zeros(dim)
            p[pre + "ln2.g"], p[pre + "ln2.b"] = np.ones(dim), np.zeros(dim)
            p[pre + "mlp.fc1.w"], p[pre + "mlp.fc1.b"] = _xavier(rng, dim, hidden), np.zeros(hidden)
            p[pre + "mlp.fc2.w"], p[pre + "mlp.fc2.b"] = _xavier(rng, hidden, dim), np.zeros(dim)
        if final_norm:
            p["norm.g"], p["norm.b"] = np.ones(dim), np.zeros(dim)
        p["head.w"], p["head.b"] = 0.02 * rng.standard_normal((dim, num_classes)), np.zeros(num_classes)

    def _cast(self):
        self.params = {k: np.ascontiguousarray(v, dtype=self.dtype) for k, v in self.params.items()}

    def _block_params(self, i):
        pre = f"blocks.{i}."
        return {k: self.params[pre + k] for k in blocks.BLOCK_KEYS}

    def _encoder_forward(self, tok, train):
        """tok (N, T, D) -> class scores (N, K) and a cache."""
        cfg = self.config
        raise NotImplementedError("Task 2.5: the blocks, the optional final LayerNorm, pooling, the head")
        return scores, cache

    def _encoder_backward(self, dscores, cache, grads):
        """dscores (N, K) -> dtok (N, T, D); fills grads for the blocks, norm and head."""
        raise NotImplementedError("Task 2.5: reverse _encoder_forward; pooling spreads dfeat back over the tokens")
        return dtok

    def _loss(self, X, y, tokens_forward, tokens_backward):
        X = np.asarray(X, dtype=self.dtype)
        train = y is not None
        tok, c_tok = tokens_forward(X)
        scores, c_enc = self._encoder_forward(tok, train)
        if not train:
            return scores
        raise NotImplementedError("Task 2.5: softmax cross-entropy (with label smoothing), then backward through everything")
        return loss, grads

    @property
    def num_params(self):
        return int(sum(v.size for v in self.params.values()))


class ViT(_Encoder):
    """Vision Transformer: patch embed -> [CLS] -> + positions -> blocks -> [LN] -> head.

    pos: "learned" (parameter pos (1, T, D)), "sin1d" or "sin2d" (fixed; with a CLS token
    its position is a row of zeros). pool: "cls" (head on the CLS token) or "mean" (global
    average pooling over the patch tokens, no CLS token). dtype: float32 to train fast,
    float64 for gradient checks.
    """

    def __init__(self, image_size=28, in_chans=1, patch_size=7, dim=64, depth=4, num_heads=4, mlp_ratio=2.0,
                 num_classes=10, pos="learned", pool="cls", final_norm=True, activation="gelu", dropout=0.0,
                 label_smoothing=0.0, seed=0, dtype=np.float32):
        patches._check_patch_size(image_size, image_size, patch_size)
        attention._check_heads(dim, num_heads)
        blocks._check_activation(activation)
        _check_choice("pos", pos, POS_KINDS)
        _check_choice("pool", pool, POOLS)
        self.dtype = np.dtype(dtype)
        self.config = dict(model="ViT", image_size=image_size, in_chans=in_chans, patch_size=patch_size, dim=dim,
                           depth=depth, num_heads=num_heads, mlp_ratio=mlp_ratio, num_classes=num_classes, pos=pos,
                           pool=pool, final_norm=final_norm, activation=activation, dropout=dropout,
                           label_smoothing=label_smoothing, seed=seed, dtype=self.dtype.name)
        rng = np.random.default_rng(seed)
        self.rng = rng
        grid = image_size // patch_size
        n_tokens = grid * grid + (pool == "cls")
        fan_in = in_chans * patch_size ** 2
        self.params = {"patch.w": _xavier(rng, fan_in, dim), "patch.b": np.zeros(dim)}
        if pool == "cls":
            self.params["cls"] = 0.02 * rng.standard_normal((1, 1, dim))
        self.fixed_pos = None
        if pos == "learned":
            self.params["pos"] = 0.02 * rng.standard_normal((1, n_tokens, dim))
        else:
            pe = tokens.sinusoidal_1d(n_tokens, dim) if pos == "sin1d" else tokens.sinusoidal_2d(grid, grid, dim)
            if pos == "sin2d" and pool == "cls":
                pe = np.concatenate([np.zeros((1, dim)), pe])
            self.fixed_pos = pe[None].astype(self.dtype)  # (1, T, D)
        self._init_encoder(depth, dim, num_heads, mlp_ratio, num_classes, final_norm, rng)
        self._cast()

    def loss(self, X, y=None):
        """X: (N, C, H, W) images (float); y: (N,) int labels or None.

        Returns scores (N, K) if y is None, else (loss, grads) with grads keyed like params.
        """
        _check_images(X, self.config)
        return self._loss(X, y, self._tokens_forward, self._tokens_backward)

    def _tokens_forward(self, X):
        p, cfg = self.params, self.config
        raise NotImplementedError("Task 2.5: patch embedding, CLS token (pool \"cls\" only), positions")
        return tok, cache

    def _tokens_backward(self, dtok, cache, grads):
        cfg = self.config
        raise NotImplementedError("Task 2.5: positions, CLS, patch embedding in reverse")


class ConViT(_Encoder):
    """Hybrid ConViT: a small CNN stem, then a Transformer encoder on its feature map.

    (conv kxk, padding k//2 -> ReLU -> max-pool 2) for each of `channels`, then patch
    embedding (patch_size on the pooled map), learned positions, `depth` blocks, optional
    final LayerNorm, global average pooling over the tokens, linear classifier.
    """

    def __init__(self, image_size=28, in_chans=1, channels=(16, 32), kernel_size=3, patch_size=1, dim=64,
                 depth=2, num_heads=4, mlp_ratio=2.0, num_classes=10, final_norm=True, activation="gelu",
                 dropout=0.0, label_smoothing=0.0, seed=0, dtype=np.float32):
        channels = tuple(int(c) for c in channels)
        if len(channels) != 2:
            raise ValueError(f"ConViT has two conv layers; channels must have 2 entries, got {channels}")
        if image_size % 4:
            raise ValueError(f"image_size {image_size} must be divisible by 4 (two 2x2 max-pools)")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd to keep the size with padding k//2, got {kernel_size}")
        patches._check_patch_size(image_size // 4, image_size // 4, patch_size)
        attention._check_heads(dim, num_heads)
        blocks._check_activation(activation)
        self.dtype = np.dtype(dtype)
        self.config = dict(model="ConViT", image_size=image_size, in_chans=in_chans, channels=list(channels),
                           kernel_size=kernel_size, patch_size=patch_size, dim=dim, depth=depth,
                           num_heads=num_heads, mlp_ratio=mlp_ratio, num_classes=num_classes, pos="learned",
                           pool="mean", final_norm=final_norm, activation=activation, dropout=dropout,
                           label_smoothing=label_smoothing, seed=seed, dtype=self.dtype.name)
        rng = np.random.default_rng(seed)
        self.rng = rng
        c_in, k = in_chans, kernel_size
        self.params = {}
        for i, c in enumerate(channels, start=1):
            self.params[f"conv{i}.w"] = rng.standard_normal((c, c_in, k, k)) * np.sqrt(2.0 / (c_in * k * k))
            self.params[f"conv{i}.b"] = np.zeros(c)
            c_in = c
        grid = image_size // 4 // patch_size
        self.params["patch.w"] = _xavier(rng, c_in * patch_size ** 2, dim)
        self.params["patch.b"] = np.zeros(dim)
        self.params["pos"] = 0.02 * rng.standard_normal((1, grid * grid, dim))
        self._init_encoder(depth, dim, num_heads, mlp_ratio, num_classes, final_norm, rng)
        self._cast()

    def loss(self, X, y=None):
        """Same contract as `ViT.loss`."""
        _check_images(X, self.config)
        return self._loss(X, y, self._tokens_forward, self._tokens_backward)

    def _tokens_forward(self, X):
        p, cfg = self.params, self.config
        raise NotImplementedError("Task 2.5: the conv stem (conv, ReLU, pool; twice), patch embedding, positions")
        return tok, cache

    def _tokens_backward(self, dtok, cache, grads):
        raise NotImplementedError("Task 2.5: positions, patch embedding, then the stem in reverse")


MODELS = {"ViT": ViT, "ConViT": ConViT}


def build_model(config):
    """Make a model from its `config` dict (as saved in a checkpoint)."""
    config = dict(config)
    name = config.pop("model", None)
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r} in config (known: {', '.join(MODELS)})")
    if name == "ConViT":
        config.pop("pos", None), config.pop("pool", None)
    return MODELS[name](**config)


def _xavier(rng, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}")


def _check_images(X, cfg):
    want = (cfg["in_chans"], cfg["image_size"], cfg["image_size"])
    if np.ndim(X) != 4 or tuple(np.shape(X)[1:]) != want:
        raise ValueError(f"{cfg['model']} expects images (N, {want[0]}, {want[1]}, {want[2]}), got shape {np.shape(X)}")
