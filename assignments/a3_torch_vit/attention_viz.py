"""Look inside a trained model: attention maps per head, attention rollout, GPSA gates.

    python attention_viz.py --checkpoint runs/a3/checkpoint.safetensors --out attn.png [--n 4]

Every attention layer here (Attention, GPSA) passes its (B, h, N, N) weights through a
module called `attn_drop`; a forward hook on it records them without touching the model.

Rollout (Abnar & Zuidema, 2020): average the heads, add the residual path as 0.5 A + 0.5 I,
renormalise rows, and multiply the layers together; the output token's row says how much
each input patch flows into it. GPSA layers come before the class token exists, so their
maps are padded with an identity entry for it.

Shapes: B images, h heads, N tokens (N_p patches on a G x G grid, plus the class token when
pool="cls").
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

import vitdata
from atomic_io import atomic_path
from augment import normalize


@torch.no_grad()
def attention_maps(model: nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    """Attention weights of every block, in order: a list of (B, h, N_l, N_l) float tensors.

    `images` are normalised float (B, C, H, W); the model runs once in eval mode (no grad).
    Afterwards the model is as it was: its hooks removed, and back in the mode (train or
    eval) it was in before the call.
    """
    raise NotImplementedError("Task 3.10: forward hooks on each block's attn.attn_drop record its input; run the model in eval mode; remove the hooks")
    return maps


def attention_rollout(maps: list[torch.Tensor], num_prefix_tokens: int = 1) -> torch.Tensor:
    """How much each patch flows into the output: (B, N_p), from per-layer maps (B, h, N_l, N_l).

    Heads are averaged, 0.5 A + 0.5 I is row-normalised, maps with fewer tokens than the last
    one (GPSA before the class token) get identity rows/columns for the missing prefix tokens
    in front, and the layers are multiplied, last layer on the left. With a class token
    (num_prefix_tokens = 1) the result is its row over the patches; without one, the mean of
    all rows. (Rows of the joint map sum to 1 over all tokens, prefix included.)
    """
    raise NotImplementedError("Task 3.10: fuse heads, add identity, renormalise, pad missing prefix tokens, multiply layers, read out patches")
    return out


def gate_values(model: nn.Module) -> list[torch.Tensor]:
    """sigmoid(gating_param) of each GPSA layer, in order: a list of (h,) tensors in [0, 1].

    1 means the head attends by position only, 0 by content only. Empty for models without GPSA.
    The tensors are detached float32 on the CPU, whatever device the model is on (callers
    call .numpy() and .tolist() on them).
    """
    raise NotImplementedError("Task 3.10: one sigmoid(gating_param) per block whose attention has a gating_param, detached")
    return out


def head_maps(maps: list[torch.Tensor], layer: int, num_prefix_tokens: int) -> torch.Tensor:
    """Per-head attention over patches at `layer`: (B, h, N_p) — the class token's row when the
    layer has one, otherwise the attention each patch receives, averaged over queries."""
    a = maps[layer]                                                    # (B, h, N_l, N_l)
    n_patches = maps[-1].shape[-1] - num_prefix_tokens
    prefix = a.shape[-1] - n_patches
    if prefix:
        return a[:, :, 0, prefix:]
    return a.mean(dim=2)


def plot_attention(model: nn.Module, images: torch.Tensor, path: str | Path, layer: int = -1) -> Path:
    """Save a PNG grid: one row per image with the image, each head's map at `layer` and the
    rollout, all upsampled over the image; plus a row of GPSA gate values for ConViT.

    images: normalised float (B, C, H, W). Returns the path written.
    """
    # a Figure of its own: saving a file switches no backend and leaves a notebook's inline plots on
    from matplotlib.figure import Figure

    prefix = getattr(model, "num_prefix_tokens", 0)
    maps = attention_maps(model, images)
    heads = head_maps(maps, layer, prefix)                             # (B, h, N_p)
    rollout = attention_rollout(maps, prefix)                          # (B, N_p)
    B, h, n_p = heads.shape
    grid = math.isqrt(n_p)
    size = images.shape[-1]

    def upsample(m):  # (..., N_p) -> (..., H, W) for overlaying on the image
        m = m.reshape(-1, 1, grid, grid)
        return F.interpolate(m, size=(size, size), mode="nearest").reshape(-1, size, size)

    gates = gate_values(model)
    rows = B + (1 if gates else 0)
    fig = Figure(figsize=(1.6 * (h + 2), 1.6 * rows))
    axes = fig.subplots(rows, h + 2, squeeze=False)
    pictures = _displayable(images)                                    # (B, H, W, C) in 0..1
    for b in range(B):
        ups = upsample(torch.cat([heads[b], rollout[b:b + 1]]))        # (h + 1, H, W)
        axes[b, 0].imshow(pictures[b].squeeze(-1), cmap="gray" if pictures.shape[-1] == 1 else None)
        for j in range(h + 1):
            ax = axes[b, j + 1]
            ax.imshow(pictures[b].mean(-1), cmap="gray")
            ax.imshow(ups[j].cpu(), cmap="inferno", alpha=0.6)
        if b == 0:
            axes[b, 0].set_title("input", fontsize=8)
            for j in range(h):
                axes[b, j + 1].set_title(f"layer {layer % len(maps)} head {j}", fontsize=7)
            axes[b, h + 1].set_title("rollout", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([]); ax.set_yticks([])
    if gates:
        for ax in axes[-1]:
            ax.remove()
        ax = fig.add_subplot(rows, 1, rows)
        g = torch.stack(gates)                                         # (L_gpsa, h)
        width = 0.8 / g.shape[1]
        for j in range(g.shape[1]):
            ax.bar(torch.arange(len(gates)) + j * width, g[:, j], width, label=f"head {j}")
        ax.set_xticks(torch.arange(len(gates)) + 0.4 - width / 2, [f"GPSA {i}" for i in range(len(gates))])
        ax.set_ylim(0, 1)
        ax.set_ylabel("sigmoid(gate)")
        ax.legend(fontsize=6, ncol=g.shape[1])
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def _displayable(images: torch.Tensor) -> torch.Tensor:
    """Undo per-image normalisation for display: (B, C, H, W) -> (B, H, W, C) in 0..1."""
    x = images.detach().float().cpu()
    lo = x.amin(dim=(1, 2, 3), keepdim=True)
    hi = x.amax(dim=(1, 2, 3), keepdim=True)
    return ((x - lo) / (hi - lo).clamp_min(1e-8)).permute(0, 2, 3, 1)


def main(argv: list[str] | None = None) -> int:
    from checkpoint import CheckpointError, load_checkpoint

    parser = argparse.ArgumentParser(description="Render attention maps, rollout and GPSA gates as a PNG.")
    parser.add_argument("--checkpoint", required=True, help="checkpoint.safetensors (config.json beside it)")
    parser.add_argument("--out", default="attention.png", help="PNG to write")
    parser.add_argument("--n", type=int, default=4, help="number of test images")
    parser.add_argument("--layer", type=int, default=-1, help="block whose heads are shown")
    args = parser.parse_args(argv)
    try:
        model, cfg = load_checkpoint(args.checkpoint)
        if not -cfg.depth <= args.layer < cfg.depth:
            raise ValueError(f"--layer {args.layer} is out of range for depth {cfg.depth}")
        if cfg.synthetic:
            x, _ = vitdata.synthetic(cfg.dataset, "test", max(args.n, 1))
        else:
            x, _ = vitdata.load(cfg.dataset, "test", cfg.data_root or None)
    except (CheckpointError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    images = normalize(torch.as_tensor(x[:args.n]), vitdata.MEAN[cfg.dataset], vitdata.STD[cfg.dataset])
    out = plot_attention(model, images, args.out, args.layer)
    for i, g in enumerate(gate_values(model)):
        print(f"GPSA layer {i} gates: " + " ".join(f"{v:.3f}" for v in g.tolist()))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
