"""Vision Transformer building blocks, from scratch, with timm's names and boundaries.

The names (`patch_embed.proj`, `blocks.0.attn.qkv`, `norm`, `head`, ...) match timm's
`VisionTransformer`, so state dicts are predictable and easy to compare.

Write attention by hand: nn.MultiheadAttention, nn.Transformer* layers,
F.scaled_dot_product_attention, timm and einops layers are not allowed anywhere in this
assignment. The graders scan your files for them and block them at run time, and a task
that uses one scores 0. So that the scan can see every call, the graded files may not read
attributes by a computed name (`getattr(obj, name)` with a name that is not a literal,
`vars()`, `__dict__`), use reflection (frames, `__globals__`, `gc`, `inspect`, `ctypes`,
`sys.modules`) or load code dynamically (`eval`, `exec`, `__import__`, unpickling). Every
.py file you hand in counts, your own tests/ included (a released file you left unchanged
is not scanned), so keep library attention out of your own tests as well. Imports: the
standard library's everyday modules (math, random, collections, dataclasses, functools,
itertools, typing, pathlib, json, time, ...), numpy, torch's public parts (torch, nn,
nn.functional, optim, utils.data, linalg, autograd, cuda, ...), torchvision (not its
models), safetensors, matplotlib, einops (not its layers) and tqdm; a file that imports
anything else, or that Python would read differently from the scan (a source encoding
other than UTF-8, bytecode, archives, .pth files), is refused with a message naming it.

Shapes: B batch, C channels, H x W image, P patch size, N tokens, D embed dim,
h heads, d = D / h head dim, K classes.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class PatchEmbed(nn.Module):
    """Cut an image into P x P patches and project each to D dims with one strided conv.

    x (B, C, H, W) -> tokens (B, N, D), N = (H / P) * (W / P), row-major over the grid.
    """

    def __init__(self, img_size: int = 28, patch_size: int = 7, in_chans: int = 1, embed_dim: int = 64):
        super().__init__()
        if img_size % patch_size:
            raise ValueError(f"PatchEmbed: img_size {img_size} is not divisible by patch_size {patch_size}")
        self.img_size, self.patch_size = img_size, patch_size
        self.grid_size = img_size // patch_size
        self.num_patches = self.grid_size ** 2
        # A conv with kernel = stride = P is exactly "unfold + linear" on non-overlapping patches.
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.proj.in_channels or x.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(f"PatchEmbed: expected input (B, {self.proj.in_channels}, {self.img_size}, "
                             f"{self.img_size}), got {tuple(x.shape)}")
        x = self.proj(x)                     # (B, D, H/P, W/P)
        x = x.flatten(2).transpose(1, 2)     # (B, N, D)
        return x


class Mlp(nn.Module):
    """Two-layer perceptron applied to every token: fc1 -> GELU -> dropout -> fc2 -> dropout.

    x (B, N, D) -> (B, N, D_out); the hidden layer has `hidden_features` units.
    """

    def __init__(self, in_features: int, hidden_features: int | None = None, out_features: int | None = None,
                 drop: float = 0.0):
        super().__init__()
        hidden_features = hidden_features or in_features
        out_features = out_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop1(self.act(self.fc1(x)))  # (B, N, hidden)
        x = self.drop2(self.fc2(x))            # (B, N, D_out)
        return x


class Attention(nn.Module):
    """Multi-head self-attention, written out by hand.

    x (B, N, D) -> (B, N, D). One linear `qkv` makes queries, keys and values for all h heads;
    each head attends with softmax(q k^T / sqrt(d)); `attn_drop` drops attention weights
    (a forward hook on it sees the (B, h, N, N) attention map) and what it returns weights
    the values, in train and eval mode alike; `proj` mixes the heads.
    """

    def __init__(self, dim: int, num_heads: int = 4, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"Attention: dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, D = x.shape
        # qkv's output is laid out as (3, h, d) per token, as in timm.
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)   # each (B, h, N, d)
        attn = (q * self.scale) @ k.transpose(-2, -1)    # (B, h, N, N)
        attn = attn.softmax(dim=-1)
        attn = self.attn_drop(attn)
        x = attn @ v                                     # (B, h, N, d)
        x = x.transpose(1, 2).reshape(B, N, D)           # (B, N, D)
        x = self.proj_drop(self.proj(x))
        return x


class DropPath(nn.Module):
    """Stochastic depth: drop a whole residual branch per sample with probability p (train only)."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)  # (B, 1, 1)
        return x * mask / keep


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).

    x (B, N, D) -> (B, N, D). `attn_layer` builds the attention (ConViT passes GPSA).
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 drop: float = 0.0, attn_drop: float = 0.0, drop_path: float = 0.0, attn_layer=None):
        super().__init__()
        attn_layer = attn_layer or Attention
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = attn_layer(dim, num_heads=num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop)
        self.drop_path1 = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)
        self.drop_path2 = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path1(self.attn(self.norm1(x)))
        x = x + self.drop_path2(self.mlp(self.norm2(x)))
        return x


def sincos_pos_embed(dim: int, grid_size: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine positions (MAE style): (grid_size**2, dim), row-major over the grid.

    Half the channels encode the row, half the column; each half is [sin(p w_k), cos(p w_k)]
    with w_k = 1 / 10000^(k / (dim/4)).
    """
    if dim % 4:
        raise ValueError(f"sincos_pos_embed: dim {dim} must be divisible by 4")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim // 4))   # (dim/4,)
    pos = torch.arange(grid_size, dtype=torch.float64)
    rows, cols = torch.meshgrid(pos, pos, indexing="ij")                                # (G, G)

    def encode(p):  # (G*G,) -> (G*G, dim/2)
        angle = p.reshape(-1, 1) * omega
        return torch.cat([angle.sin(), angle.cos()], dim=1)

    return torch.cat([encode(rows), encode(cols)], dim=1).float()                        # (G*G, dim)


class VisionTransformer(nn.Module):
    """ViT (Dosovitskiy et al., 2021): patches -> tokens (+ class token) + positions -> blocks -> norm -> head.

    x (B, C, H, W) -> logits (B, K). `pool="cls"` classifies the class token, `"mean"` the mean
    of the patch tokens. `pos_embed="learned"` is a parameter (1, N_tokens, D); `"sincos"` a
    fixed buffer of the same shape (zero for the class token) kept out of the state dict.
    """

    def __init__(self, img_size: int = 28, patch_size: int = 7, in_chans: int = 1, num_classes: int = 10,
                 embed_dim: int = 64, depth: int = 4, num_heads: int = 4, mlp_ratio: float = 2.0,
                 qkv_bias: bool = True, pool: str = "cls", pos_embed: str = "learned", drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0):
        super().__init__()
        if pool not in ("cls", "mean"):
            raise ValueError(f"VisionTransformer: pool must be 'cls' or 'mean', got {pool!r}")
        if pos_embed not in ("learned", "sincos"):
            raise ValueError(f"VisionTransformer: pos_embed must be 'learned' or 'sincos', got {pos_embed!r}")
        self.pool, self.num_classes, self.embed_dim = pool, num_classes, embed_dim
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        self.num_prefix_tokens = 1 if pool == "cls" else 0
        n_tokens = self.patch_embed.num_patches + self.num_prefix_tokens
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if pool == "cls" else None
        if pos_embed == "learned":
            self.pos_embed = nn.Parameter(torch.randn(1, n_tokens, embed_dim) * 0.02)
        else:
            pe = sincos_pos_embed(embed_dim, self.patch_embed.grid_size)
            pe = torch.cat([torch.zeros(self.num_prefix_tokens, embed_dim), pe]).unsqueeze(0)
            self.register_buffer("pos_embed", pe, persistent=False)
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()  # deeper blocks drop more often
        self.blocks = nn.Sequential(*[
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, drop_rate, attn_drop_rate, dpr[i])
            for i in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        init_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> normalised tokens (B, N_tokens, D), class token first when pool="cls"."""
        x = self.patch_embed(x)                                    # (B, N, D)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)  # (B, 1 + N, D)
        x = self.pos_drop(x + self.pos_embed)
        x = self.blocks(x)
        x = self.norm(x)
        return x

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """tokens (B, N_tokens, D) -> logits (B, K)."""
        x = x[:, 0] if self.pool == "cls" else x[:, self.num_prefix_tokens:].mean(dim=1)  # (B, D)
        x = self.head(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def init_weights(model: nn.Module) -> None:
    """timm's ViT initialisation: truncated normal (std 0.02) for linears and tokens, zero biases."""
    for name, p in model.named_parameters():
        if name.endswith("cls_token") or name.endswith("pos_embed"):
            nn.init.trunc_normal_(p, std=0.02)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            # Patch embedding: like a linear layer over the flattened patch.
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            nn.init.trunc_normal_(m.weight, std=math.sqrt(1.0 / fan_in))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
