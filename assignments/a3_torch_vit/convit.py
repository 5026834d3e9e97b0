"""ConViT, two ways: a convolutional stem in front of a ViT, and gated positional self-attention.

`HybridConViT`: two conv + max-pool stages shrink the image 4x, a patch embedding turns the
feature map into tokens, ordinary attention blocks follow, then global average pooling.

`ConViT` (d'Ascoli et al., 2021): the first `local_layers` blocks use GPSA, whose heads mix
content attention with a learned positional attention that starts out local (like a conv
kernel); a gate per head decides how much of each to use. The class token joins after the
last GPSA block, before the first self-attention block (timm's `local_up_to_layer`), so at
least one self-attention block must follow when pool="cls". Names follow timm's ConViT
(`timm.models.convit`).

Shapes: B batch, N patch tokens on a G x G grid, D embed dim, h heads, d = D / h.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn as nn
from functools import partial

from modules import Block, PatchEmbed, init_weights, sincos_pos_embed


def rel_indices(grid_size: int) -> torch.Tensor:
    """Relative positions between all pairs of patches on a G x G grid: (N, N, 3), N = G*G.

    For query patch i at (row_i, col_i) and key patch j: [col_j - col_i, row_j - row_i,
    (col_j - col_i)^2 + (row_j - row_i)^2] (timm's `get_rel_indices` order).
    """
    raise NotImplementedError("Task 3.5: the (N, N, 3) table of [dx, dy, dx^2 + dy^2] between patch j and patch i")
    return out


class GPSA(nn.Module):
    """Gated positional self-attention over N = G*G patch tokens (no class token).

    x (B, N, D) -> (B, N, D). Per head: content attention softmax(q k^T / sqrt(d)) from `qk`,
    positional attention softmax(pos_proj(rel_indices)) shared by every sample, mixed as
    (1 - sigmoid(g)) * content + sigmoid(g) * positional with g = `gating_param` (h,),
    renormalised over keys, passed through `attn_drop` (what it returns is what weights `v`,
    in train and eval mode alike), then applied to `v` and `proj`.
    """

    def __init__(self, dim: int, num_heads: int = 4, qkv_bias: bool = False, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, num_patches: int = 16, locality_strength: float = 1.0):
        super().__init__()
        grid = math.isqrt(num_patches)
        if grid * grid != num_patches:
            raise ValueError(f"GPSA: num_patches {num_patches} is not a square grid")
        if dim % num_heads:
            raise ValueError(f"GPSA: dim {dim} is not divisible by num_heads {num_heads}")
        self.dim, self.num_heads = dim, num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.locality_strength = locality_strength
        self.qk = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.pos_proj = nn.Linear(3, num_heads)
        self.proj_drop = nn.Dropout(proj_drop)
        self.gating_param = nn.Parameter(torch.ones(num_heads))
        self.register_buffer("rel_indices", rel_indices(grid), persistent=False)   # (N, N, 3)
        self.local_init()

    @torch.no_grad()
    def local_init(self) -> None:
        """Make positional attention local: head k peaks at its own offset in a sqrt(h) x sqrt(h) kernel.

        v starts as the identity. With K = int(sqrt(h)) and c = (K - 1) / 2 the kernel centre
        (a half-integer for even K), head index k = h1 + K * h2 is kernel position (h1, h2),
        h1, h2 in 0..K-1: h1 = k % K, h2 = k // K (as timm, and the notebook, number them).
        It gets pos_proj weights alpha * [2*(h2 - c), 2*(h1 - c), -1] (alpha =
        locality_strength): its score -alpha*((dx - dx_k)^2 + (dy - dy_k)^2) + const peaks at
        offset (dx_k, dy_k) = (h2 - c, h1 - c). So with K = 2, heads 0, 1, 2, 3 peak at
        (dx, dy) = (-0.5, -0.5), (-0.5, 0.5), (0.5, -0.5), (0.5, 0.5). Biases are zero.
        The graders compare each head's positional attention in this order, so it matters.
        """
        raise NotImplementedError("Task 3.5: v = identity; pos_proj weights from each head's kernel offset, scaled by locality_strength")

    def pos_attention(self) -> torch.Tensor:
        """Positional attention softmax(pos_proj(rel_indices)) over keys: (h, N, N), input-independent."""
        raise NotImplementedError("Task 3.5: pos_proj over the relative positions, heads first, softmax over keys")
        return out

    def get_attention(self, x: torch.Tensor) -> torch.Tensor:
        """Gated attention weights for x (B, N, D): (B, h, N, N), rows sum to 1 (before attn_drop)."""
        B, N, D = x.shape
        if N != self.rel_indices.shape[0]:
            raise ValueError(f"GPSA: expected {self.rel_indices.shape[0]} patch tokens, got {N}")
        raise NotImplementedError("Task 3.5: content softmax from qk, positional softmax computed once, sigmoid gate per head, renormalise")
        return attn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, D = x.shape
        raise NotImplementedError("Task 3.5: attention from get_attention, attn_drop, weight v, merge heads, proj, proj_drop")
        return x


class ConViT(nn.Module):
    """ConViT: `local_layers` GPSA blocks on patch tokens, then the class token, then MHSA blocks.

    x (B, C, H, W) -> logits (B, K). Positions (learned or sincos, (1, N, D)) are added to the
    patch tokens only. `pool="cls"` inserts the class token after the last GPSA block, in front
    of block `local_layers` (the first self-attention block), and classifies it; it needs
    local_layers < depth, since GPSA attends over patch tokens only and the class token can
    only read the image through self-attention. `pool="mean"` uses no class token and
    averages the tokens (any local_layers, including depth).
    """

    def __init__(self, img_size: int = 28, patch_size: int = 7, in_chans: int = 1, num_classes: int = 10,
                 embed_dim: int = 64, depth: int = 4, num_heads: int = 4, mlp_ratio: float = 2.0,
                 qkv_bias: bool = False, local_layers: int = 2, locality_strength: float = 1.0,
                 pool: str = "cls", pos_embed: str = "learned", drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0):
        super().__init__()
        if not 0 <= local_layers <= depth:
            raise ValueError(f"ConViT: local_layers {local_layers} must be between 0 and depth {depth}")
        if pool not in ("cls", "mean"):
            raise ValueError(f"ConViT: pool must be 'cls' or 'mean', got {pool!r}")
        if pool == "cls" and local_layers == depth:
            # The class token would join after the last block and never see the image.
            raise ValueError(f"ConViT: pool='cls' needs a self-attention block after the GPSA blocks, but "
                             f"local_layers {local_layers} == depth {depth}; use local_layers < depth or pool='mean'")
        self.pool, self.num_classes, self.embed_dim = pool, num_classes, embed_dim
        self.local_layers = local_layers
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        n = self.patch_embed.num_patches
        self.num_prefix_tokens = 1 if pool == "cls" else 0
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if pool == "cls" else None
        _add_pos_embed(self, pos_embed, n, embed_dim, self.patch_embed.grid_size)
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()
        gpsa = partial(GPSA, num_patches=n, locality_strength=locality_strength)
        self.blocks = nn.ModuleList([
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, drop_rate, attn_drop_rate, dpr[i],
                  attn_layer=gpsa if i < local_layers else None)
            for i in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        init_weights(self)
        for m in self.modules():     # init_weights overwrote v and pos_proj; make GPSA local again
            if isinstance(m, GPSA):
                m.local_init()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> normalised tokens (B, N_tokens, D), class token first when pool="cls"."""
        raise NotImplementedError("Task 3.6: patches + positions, pos_drop, GPSA blocks, then the class token, then the other blocks, norm")
        return x

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """tokens (B, N_tokens, D) -> logits (B, K)."""
        raise NotImplementedError("Task 3.6: pool (class token, or mean over patch tokens), then head")
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


class HybridConViT(nn.Module):
    """Conv stem + ViT: [conv3x3 -> ReLU -> maxpool2] x 2, patch embedding, blocks, norm, mean pool, head.

    x (B, C, H, W) -> logits (B, K). The stem maps (B, C, H, W) -> (B, S, H/4, W/4)
    (S = `stem_channels`); `patch_size` is in input pixels, so the patch embedding uses
    patch_size / 4 on the feature map and the token grid matches a ViT with the same patch size.
    """

    def __init__(self, img_size: int = 28, patch_size: int = 4, in_chans: int = 1, num_classes: int = 10,
                 stem_channels: int = 32, embed_dim: int = 64, depth: int = 4, num_heads: int = 4,
                 mlp_ratio: float = 2.0, qkv_bias: bool = True, pos_embed: str = "learned",
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0):
        super().__init__()
        if img_size % 4 or patch_size % 4:
            raise ValueError(f"HybridConViT: img_size {img_size} and patch_size {patch_size} must be multiples "
                             f"of 4 (the stem downsamples 4x)")
        self.pool, self.num_classes, self.embed_dim = "mean", num_classes, embed_dim
        self.num_prefix_tokens = 0
        S = stem_channels
        self.stem = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(in_chans, S, 3, padding=1)), ("act1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(S, S, 3, padding=1)), ("act2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
        ]))
        self.patch_embed = PatchEmbed(img_size // 4, patch_size // 4, S, embed_dim)
        _add_pos_embed(self, pos_embed, self.patch_embed.num_patches, embed_dim, self.patch_embed.grid_size)
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()
        self.blocks = nn.Sequential(*[
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, drop_rate, attn_drop_rate, dpr[i])
            for i in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        init_weights(self)
        for conv in (self.stem.conv1, self.stem.conv2):   # He init suits the ReLU stem
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> normalised patch tokens (B, N, D)."""
        raise NotImplementedError("Task 3.4: stem, patch embedding, positions, pos_drop, blocks, norm")
        return x

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """tokens (B, N, D) -> logits (B, K) by global average pooling."""
        raise NotImplementedError("Task 3.4: average the tokens, then head")
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _add_pos_embed(model: nn.Module, kind: str, n: int, dim: int, grid: int) -> None:
    """Patch-token positions (1, N, D): a learned parameter, or a fixed sincos buffer (not saved)."""
    if kind == "learned":
        model.pos_embed = nn.Parameter(torch.zeros(1, n, dim))
    elif kind == "sincos":
        model.register_buffer("pos_embed", sincos_pos_embed(dim, grid).unsqueeze(0), persistent=False)
    else:
        raise ValueError(f"pos_embed must be 'learned' or 'sincos', got {kind!r}")
