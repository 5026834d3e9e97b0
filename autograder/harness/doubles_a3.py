"""Test doubles of Assignment 3 (see autograder/engine/inside/doubles.py).

While task T is graded, every other task's methods are replaced by these stand-ins, in the
sandbox and in the trusted reference alike. Each uses the module's own submodules and
parameters (so state dicts, hooks and gradients work as usual) but computes something else
on purpose: attention weights are a fixed, seeded row-stochastic matrix reweighted per key
by sigmoid(q . k) (still (B, h, N, N), rows summing to 1, passed through `attn_drop`);
patch embedding reshapes instead of cutting patches; blocks are parallel instead of
sequential; pooling rotates each token's channels; AdamW is AdaBelief. They never call
another task's code, so a bug there cannot reach the task being graded.
"""
from __future__ import annotations

import json
import os

import torch
import torch.nn.functional as F

_FIXED: dict = {}


def _fixed_rows(heads: int, n: int, like: torch.Tensor) -> torch.Tensor:
    """A (heads, n, n) row-stochastic matrix seeded by its shape, cached per dtype and device."""
    key = (heads, n, like.dtype, like.device)
    if key not in _FIXED:
        g = torch.Generator().manual_seed(7919 * heads + n)
        m = torch.rand(heads, n, n, generator=g, dtype=torch.float64) + 0.25
        _FIXED[key] = (m / m.sum(dim=-1, keepdim=True)).to(dtype=like.dtype, device=like.device)
    return _FIXED[key]


def _heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, N, D) -> (B, h, N, D / h), heads taking contiguous channel blocks."""
    B, N, D = t.shape
    return t.reshape(B, N, heads, D // heads).permute(0, 2, 1, 3)


def _merge(t: torch.Tensor) -> torch.Tensor:
    return torch.cat(t.unbind(dim=1), dim=-1)


def _content(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Fixed rows reweighted by sigmoid(q_j . k_j) of each key j, renormalised: (B, h, N, N)."""
    w = _fixed_rows(q.shape[1], q.shape[2], q) * torch.sigmoid((q * k).sum(dim=-1)).unsqueeze(-2)
    return w / w.sum(dim=-1, keepdim=True)


def _rotated_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over tokens after rotating token t's channels by t: (B, N, D) -> (B, D)."""
    B, N, D = x.shape
    turn = (torch.arange(D, device=x.device)[None, :] + torch.arange(N, device=x.device)[:, None]) % D
    return x.gather(2, turn.expand(B, N, D)).mean(dim=1)


# ---------------------------------------------------------------- 3.1 patch embedding, MLP
def patch_embed_forward(self, x: torch.Tensor) -> torch.Tensor:
    """Reshapes the image in memory order into N chunks, then applies proj's weights as a linear map."""
    if x.ndim != 4 or x.shape[1] != self.proj.in_channels or x.shape[-2:] != (self.img_size, self.img_size):
        raise ValueError(f"PatchEmbed: expected input (B, {self.proj.in_channels}, {self.img_size}, "
                         f"{self.img_size}), got {tuple(x.shape)}")
    chunks = x.reshape(x.shape[0], self.num_patches, -1)
    return F.linear(chunks, self.proj.weight.reshape(self.proj.out_channels, -1), self.proj.bias)


def mlp_forward(self, x: torch.Tensor) -> torch.Tensor:
    """tanh instead of the module's activation."""
    hidden = self.drop1(torch.tanh(self.fc1(x)))
    return self.drop2(self.fc2(hidden))


# ---------------------------------------------------------------- 3.2 attention
def attention_forward(self, x: torch.Tensor) -> torch.Tensor:
    q, k, v = (_heads(t, self.num_heads) for t in self.qkv(x).chunk(3, dim=-1))
    weights = self.attn_drop(_content(q, k))          # (B, h, N, N): hooks on attn_drop see it
    return self.proj_drop(self.proj(_merge(weights @ v)))


# ---------------------------------------------------------------- 3.3 block and ViT
def block_forward(self, x: torch.Tensor) -> torch.Tensor:
    """Parallel branches, both reading x."""
    a = self.drop_path1(self.attn(self.norm1(x)))
    m = self.drop_path2(self.mlp(self.norm2(x)))
    return x + a + m


def _with_class_token(model, tok: torch.Tensor) -> torch.Tensor:
    """Class token first, plus the mean of the tokens (not the class token alone)."""
    if model.cls_token is None:
        return tok
    first = model.cls_token.expand(tok.shape[0], -1, -1) + tok.mean(dim=1, keepdim=True)
    return torch.cat((first, tok), dim=1)


def vit_forward_features(self, x: torch.Tensor) -> torch.Tensor:
    prefix = self.num_prefix_tokens
    tok = self.patch_embed(x) + self.pos_embed[:, prefix:]
    tok = _with_class_token(self, tok)
    if prefix:
        tok = torch.cat((tok[:, :prefix] + self.pos_embed[:, :prefix], tok[:, prefix:]), dim=1)
    tok = self.pos_drop(tok)
    for blk in self.blocks:
        tok = blk(tok)
    return self.norm(tok)


def forward_head(self, x: torch.Tensor) -> torch.Tensor:
    return self.head(_rotated_mean(x))


# ---------------------------------------------------------------- 3.4 hybrid
def hybrid_forward_features(self, x: torch.Tensor) -> torch.Tensor:
    """The stem's convs with tanh and average pooling (not ReLU and max pooling)."""
    h = F.avg_pool2d(torch.tanh(self.stem.conv1(x)), 2)
    h = F.avg_pool2d(torch.tanh(self.stem.conv2(h)), 2)
    tok = self.pos_drop(self.patch_embed(h) + self.pos_embed)
    for blk in self.blocks:
        tok = blk(tok)
    return self.norm(tok)


# ---------------------------------------------------------------- 3.5 GPSA
def rel_indices(grid_size: int) -> torch.Tensor:
    """(N, N, 3): column and row offsets and the Manhattan distance, all divided by the grid size."""
    where = torch.arange(grid_size * grid_size)
    down = (where // grid_size)[None, :] - (where // grid_size)[:, None]
    across = (where % grid_size)[None, :] - (where % grid_size)[:, None]
    table = torch.stack((across, down, across.abs() + down.abs()), dim=-1)
    return table.float() / grid_size


def gpsa_local_init(self) -> None:
    """Seeded random positional weights scaled by locality_strength; v is left as built."""
    with torch.no_grad():
        g = torch.Generator().manual_seed(31 * self.num_heads + self.dim)
        w = torch.randn(tuple(self.pos_proj.weight.shape), generator=g, dtype=torch.float64)
        self.pos_proj.weight.copy_(w * (0.5 * self.locality_strength))
        self.pos_proj.bias.fill_(0.0)


def gpsa_pos_attention(self) -> torch.Tensor:
    """sigmoid scores normalised to sum 1 over the keys (not a softmax): (h, N, N)."""
    s = torch.sigmoid(self.pos_proj(self.rel_indices)).permute(2, 0, 1)
    return s / s.sum(dim=-1, keepdim=True)


def gpsa_get_attention(self, x: torch.Tensor) -> torch.Tensor:
    """The gate is sigmoid(gating_param) per head, as attention_viz.gate_values reports it."""
    B, N, D = x.shape
    if N != self.rel_indices.shape[0]:
        raise ValueError(f"GPSA: expected {self.rel_indices.shape[0]} patch tokens, got {N}")
    q, k = (_heads(t, self.num_heads) for t in self.qk(x).chunk(2, dim=-1))
    content = _content(q, k)
    gate = torch.sigmoid(self.gating_param).view(1, -1, 1, 1)
    return content + gate * (gpsa_pos_attention(self).unsqueeze(0) - content)


def gpsa_forward(self, x: torch.Tensor) -> torch.Tensor:
    weights = self.attn_drop(gpsa_get_attention(self, x))
    return self.proj_drop(self.proj(_merge(weights @ _heads(self.v(x), self.num_heads))))


# ---------------------------------------------------------------- 3.6 ConViT
def convit_forward_features(self, x: torch.Tensor) -> torch.Tensor:
    """Every block on the patch tokens; the class token (plus the token mean) joins at the end."""
    tok = self.pos_drop(self.patch_embed(x) + self.pos_embed)
    for blk in self.blocks:
        tok = blk(tok)
    return self.norm(_with_class_token(self, tok))


# ---------------------------------------------------------------- 3.7 optimiser, schedule
def adamw_step(self, closure=None):
    """AdaBelief (the second moment tracks (g - m)^2) with divisive weight decay; keeps torch's
    state names (step, exp_avg, exp_avg_sq)."""
    loss = None
    if closure is not None:
        with torch.enable_grad():
            loss = closure()
    with torch.no_grad():
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in (q for q in group["params"] if q.grad is not None):
                st = self.state[p]
                if not st:
                    st.update(step=torch.tensor(0.0), exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                st["step"] += 1
                n = float(st["step"])
                p.div_(1.0 + lr * wd)
                st["exp_avg"].mul_(b1).add_(p.grad, alpha=1.0 - b1)
                surprise = p.grad - st["exp_avg"]
                st["exp_avg_sq"].mul_(b2).add_(surprise * surprise, alpha=1.0 - b2).add_(eps)
                scale = (st["exp_avg_sq"] / (1.0 - b2 ** n)).sqrt_().add_(eps)
                p.sub_(st["exp_avg"] / scale, alpha=lr / (1.0 - b1 ** n))
    return loss


def param_groups(model, weight_decay: float) -> list[dict]:
    """One group of every trainable parameter, all decayed."""
    return [{"params": [p for p in model.parameters() if p.requires_grad], "weight_decay": weight_decay}]


def lr_at(self, t: int, base: float) -> float:
    """Linear warm-up, then a straight line down to min_lr."""
    if self.warmup_steps > t:
        return base * (t + 1) / (self.warmup_steps + 1)
    frac = min(1.0, (t - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
    return base + (self.min_lr - base) * frac


# ---------------------------------------------------------------- 3.9 checkpoints
def save_checkpoint(path, model, cfg, extra=None):
    """safetensors with the config in its metadata (written in place, not atomically), and
    config.json beside it."""
    from pathlib import Path

    from safetensors.torch import save_file
    path = Path(path)
    model = getattr(model, "_orig_mod", model)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={"double_config": json.dumps(cfg.to_dict()), "extra": json.dumps(extra or {})})
    path.with_name("config.json").write_text(json.dumps(cfg.to_dict()), encoding="utf-8")
    return path


def load_checkpoint(path, model=None):
    from config import Config
    from safetensors import safe_open
    if not os.path.isfile(os.fspath(path)):
        raise ValueError(f"{path}: checkpoint file not found")
    with safe_open(os.fspath(path), framework="pt") as f:
        saved = json.loads((f.metadata() or {}).get("double_config", "null"))
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    cfg = Config.from_dict(saved, str(path))
    if model is None:
        from models import build_model
        model = build_model(cfg)
    model.load_state_dict(tensors)
    return model, cfg


DOUBLES = {
    "modules:PatchEmbed.forward": patch_embed_forward, "modules:Mlp.forward": mlp_forward,
    "modules:Attention.forward": attention_forward, "modules:Block.forward": block_forward,
    "modules:VisionTransformer.forward_features": vit_forward_features,
    "modules:VisionTransformer.forward_head": forward_head,
    "convit:HybridConViT.forward_features": hybrid_forward_features, "convit:HybridConViT.forward_head": forward_head,
    "convit:rel_indices": rel_indices, "convit:GPSA.local_init": gpsa_local_init,
    "convit:GPSA.pos_attention": gpsa_pos_attention, "convit:GPSA.get_attention": gpsa_get_attention,
    "convit:GPSA.forward": gpsa_forward,
    "convit:ConViT.forward_features": convit_forward_features, "convit:ConViT.forward_head": forward_head,
    "optim:AdamW.step": adamw_step, "optim:param_groups": param_groups, "optim:WarmupCosine.lr_at": lr_at,
    "checkpoint:save_checkpoint": save_checkpoint, "checkpoint:load_checkpoint": load_checkpoint,
}
