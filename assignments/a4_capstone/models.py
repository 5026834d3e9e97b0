"""Build any of the three models from a Config: "vit", "convit_hybrid" or "convit"."""
from __future__ import annotations

import torch.nn as nn

from config import Config, ConfigError
from convit import ConViT, HybridConViT
from modules import VisionTransformer

MODELS = ("vit", "convit_hybrid", "convit")


def build_model(cfg: Config) -> nn.Module:
    """A freshly initialised model for `cfg`, with `model.cfg = cfg` attached for checkpoints.

    Raises ConfigError naming the value when the shapes don't fit (e.g. a patch size that
    does not divide the image), or when a "convit" with pool "cls" has no self-attention
    block after its GPSA blocks (local_layers == depth).
    """
    if cfg.model not in MODELS:
        raise ConfigError(f"unknown model {cfg.model!r} (known: {', '.join(MODELS)})")
    if cfg.img_size % cfg.patch_size:
        raise ConfigError(f"patch_size = {cfg.patch_size} does not divide img_size = {cfg.img_size}")
    if cfg.embed_dim % cfg.num_heads:
        raise ConfigError(f"embed_dim = {cfg.embed_dim} is not divisible by num_heads = {cfg.num_heads}")
    if cfg.pos_embed == "sincos" and cfg.embed_dim % 4:
        raise ConfigError(f"pos_embed = 'sincos' needs embed_dim divisible by 4, got {cfg.embed_dim}")
    common = dict(img_size=cfg.img_size, patch_size=cfg.patch_size, in_chans=cfg.in_chans,
                  num_classes=cfg.num_classes, embed_dim=cfg.embed_dim, depth=cfg.depth,
                  num_heads=cfg.num_heads, mlp_ratio=cfg.mlp_ratio, qkv_bias=cfg.qkv_bias,
                  pos_embed=cfg.pos_embed, drop_rate=cfg.drop_rate, attn_drop_rate=cfg.attn_drop_rate,
                  drop_path_rate=cfg.drop_path_rate)
    if cfg.model == "vit":
        model = VisionTransformer(pool=cfg.pool, **common)
    elif cfg.model == "convit_hybrid":
        if cfg.patch_size % 4 or cfg.img_size % 4:
            raise ConfigError(f"model 'convit_hybrid' needs img_size and patch_size divisible by 4 (the stem "
                              f"downsamples 4x), got img_size = {cfg.img_size}, patch_size = {cfg.patch_size}")
        model = HybridConViT(stem_channels=cfg.stem_channels, **common)
    else:
        grid = cfg.img_size // cfg.patch_size
        if cfg.local_layers > cfg.depth:
            raise ConfigError(f"local_layers = {cfg.local_layers} exceeds depth = {cfg.depth}")
        if cfg.pool == "cls" and cfg.local_layers == cfg.depth:
            raise ConfigError(f"local_layers = {cfg.local_layers} equals depth = {cfg.depth} with pool = 'cls': "
                              "the class token needs a self-attention block after the GPSA blocks; use "
                              "local_layers < depth or pool = 'mean'")
        if int(cfg.num_heads ** 0.5) ** 2 != cfg.num_heads:
            # local_init places the heads on a sqrt(h) x sqrt(h) kernel; other counts leave heads unset.
            raise ConfigError(f"model 'convit' needs a square num_heads (1, 4, 9, 16, ...), got {cfg.num_heads}")
        if grid < 2:
            raise ConfigError(f"model 'convit' needs at least a 2 x 2 patch grid, got img_size = "
                              f"{cfg.img_size}, patch_size = {cfg.patch_size}")
        model = ConViT(local_layers=cfg.local_layers, locality_strength=cfg.locality_strength,
                       pool=cfg.pool, **common)
    model.cfg = cfg
    return model


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
