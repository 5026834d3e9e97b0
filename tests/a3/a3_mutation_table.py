"""Assignment 3's mutation table: realistic student bugs, each a small edit of the reference
inside one task's solution fence, and correct rewrites that must keep full marks.

An entry is (name, task, file, [(reference text, edited text), ...], status); every edit
sits in a fence of its own task; status is what the task must report ("failed", or
"banned" for library attention). test_a3_graded_variants.py grades them through the real
hidden graders, at most one entry per task in each submission.
"""
from __future__ import annotations

from typing import NamedTuple


class Mutation(NamedTuple):
    name: str
    task: str
    file: str
    edits: tuple[tuple[str, str], ...]
    status: str = "failed"


def _m(task: str, file: str, name: str, *edits: tuple[str, str], status: str = "failed") -> Mutation:
    return Mutation(name, task, file, tuple(edits), status)


MO, CV, OP, TR, AU, CK, VZ = ("modules.py", "convit.py", "optim.py", "train.py", "augment.py", "checkpoint.py",
                              "attention_viz.py")
ATT_SCORES = "attn = (q * self.scale) @ k.transpose(-2, -1)    # (B, h, N, N)\n        attn = attn.softmax(dim=-1)"
CONTENT = "content = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)   # (B, h, N, N)"

BUGS = [
    # ---- 3.1 PatchEmbed, Mlp ----------------------------------------------------------------
    _m("3.1", MO, "PatchEmbed tokens in column-major order",
       ("x = x.flatten(2).transpose(1, 2)     # (B, N, D)", "x = x.transpose(2, 3).flatten(2).transpose(1, 2)")),
    _m("3.1", MO, "PatchEmbed reshapes instead of transposing",
       ("x = x.flatten(2).transpose(1, 2)     # (B, N, D)", "x = x.flatten(2).reshape(x.shape[0], -1, x.shape[1])")),
    _m("3.1", MO, "Mlp skips drop1", ("x = self.drop1(self.act(self.fc1(x)))  # (B, N, hidden)", "x = self.act(self.fc1(x))")),
    _m("3.1", MO, "Mlp skips drop2", ("x = self.drop2(self.fc2(x))            # (B, N, D_out)", "x = self.fc2(x)")),
    _m("3.1", MO, "Mlp dropout also at evaluation (F.dropout, training=True)",
       ("x = self.drop1(self.act(self.fc1(x)))  # (B, N, hidden)",
        "x = F.dropout(self.act(self.fc1(x)), self.drop1.p, training=True)")),
    _m("3.1", MO, "Mlp with the tanh GELU", ("x = self.drop1(self.act(self.fc1(x)))  # (B, N, hidden)",
                                            'x = self.drop1(F.gelu(self.fc1(x), approximate="tanh"))')),
    # ---- 3.2 attention ----------------------------------------------------------------------
    _m("3.2", MO, "attention without 1/sqrt(d)", ("attn = (q * self.scale) @ k.transpose(-2, -1)",
                                                 "attn = q @ k.transpose(-2, -1)")),
    _m("3.2", MO, "softmax over the queries", ("attn = attn.softmax(dim=-1)", "attn = attn.softmax(dim=-2)")),
    _m("3.2", MO, "qkv split as (H, 3, d) instead of timm's (3, H, d)",
       ("qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim)",
        "qkv = self.qkv(x).reshape(B, N, self.num_heads, 3, self.head_dim)"),
       ("q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)", "q, k, v = qkv.permute(3, 0, 2, 1, 4).unbind(0)")),
    _m("3.2", MO, "attention skips attn_drop", ("attn = self.attn_drop(attn)", "pass")),
    _m("3.2", MO, "attention skips proj_drop", ("x = self.proj_drop(self.proj(x))\n", "x = self.proj(x)\n")),
    _m("3.2", MO, "heads merged without moving the head axis back",
       ("x = x.transpose(1, 2).reshape(B, N, D)           # (B, N, D)", "x = x.reshape(B, N, D)")),
    _m("3.2", MO, "eval mode weights the values with the weights given to attn_drop, not its output",
       ("attn = self.attn_drop(attn)", "attn = self.attn_drop(attn) if self.training else (self.attn_drop(attn), attn)[1]")),
    _m("3.2", MO, "F.scaled_dot_product_attention in Attention",
       ("x = attn @ v                                     # (B, h, N, d)", "x = F.scaled_dot_product_attention(q, k, v)"),
       status="banned"),
    # ---- 3.3 Block, VisionTransformer -------------------------------------------------------
    _m("3.3", MO, "Block skips drop_path2", ("x = x + self.drop_path2(self.mlp(self.norm2(x)))", "x = x + self.mlp(self.norm2(x))")),
    _m("3.3", MO, "Block skips drop_path1", ("x = x + self.drop_path1(self.attn(self.norm1(x)))", "x = x + self.attn(self.norm1(x))")),
    _m("3.3", MO, "post-norm block", ("x = x + self.drop_path1(self.attn(self.norm1(x)))",
                                     "x = self.norm1(x + self.drop_path1(self.attn(x)))"),
       ("x = x + self.drop_path2(self.mlp(self.norm2(x)))", "x = self.norm2(x + self.drop_path2(self.mlp(x)))")),
    _m("3.3", MO, "ViT skips pos_drop", ("x = self.pos_drop(x + self.pos_embed)", "x = x + self.pos_embed")),
    _m("3.3", MO, "ViT without the final norm", ("x = self.blocks(x)\n        x = self.norm(x)", "x = self.blocks(x)")),
    _m("3.3", MO, "ViT classifies the last token",
       ("x = x[:, 0] if self.pool == \"cls\" else x[:, self.num_prefix_tokens:].mean(dim=1)  # (B, D)",
        "x = x[:, -1] if self.pool == \"cls\" else x[:, self.num_prefix_tokens:].mean(dim=1)")),
    _m("3.3", MO, "mean pooling squeezes away a batch of one",
       ("x = x[:, 0] if self.pool == \"cls\" else x[:, self.num_prefix_tokens:].mean(dim=1)  # (B, D)",
        "x = x[:, 0] if self.pool == \"cls\" else x[:, self.num_prefix_tokens:].mean(dim=1, keepdim=True).squeeze()")),
    # ---- 3.4 hybrid ConViT ------------------------------------------------------------------
    _m("3.4", CV, "hybrid without positions", ("x = self.pos_drop(self.patch_embed(x) + self.pos_embed)   # (B, N, D)",
                                              "x = self.pos_drop(self.patch_embed(x))")),
    _m("3.4", CV, "hybrid skips pos_drop", ("x = self.pos_drop(self.patch_embed(x) + self.pos_embed)   # (B, N, D)",
                                           "x = self.patch_embed(x) + self.pos_embed")),
    _m("3.4", CV, "hybrid max-pools the tokens", ("x = self.head(x.mean(dim=1))", "x = self.head(x.amax(dim=1))")),
    _m("3.4", CV, "hybrid without the final norm", ("x = self.norm(self.blocks(x))", "x = self.blocks(x)")),
    # ---- 3.5 GPSA ---------------------------------------------------------------------------
    _m("3.5", CV, "GPSA gate not applied", ("attn = (1.0 - gate) * content + gate * position",
                                           "attn = 0.5 * content + 0.5 * position")),
    _m("3.5", CV, "GPSA gate swapped", ("attn = (1.0 - gate) * content + gate * position",
                                       "attn = gate * content + (1.0 - gate) * position")),
    _m("3.5", CV, "GPSA skips attn_drop", ("attn = self.attn_drop(self.get_attention(x))", "attn = self.get_attention(x)")),
    _m("3.5", CV, "GPSA skips proj_drop", ("x = self.proj_drop(self.proj(x))\n", "x = self.proj(x)\n")),
    _m("3.5", CV, "GPSA weights v with the weights given to attn_drop in eval mode",
       ("attn = self.attn_drop(self.get_attention(x))",
        "attn = self.get_attention(x)\n        dropped = self.attn_drop(attn)\n"
        "        attn = dropped if self.training else attn")),
    _m("3.5", CV, "rel_indices with dx and dy swapped", ("torch.stack([dx, dy, dx ** 2 + dy ** 2], dim=-1)",
                                                        "torch.stack([dy, dx, dx ** 2 + dy ** 2], dim=-1)")),
    _m("3.5", CV, "local_init ignores locality_strength", ("self.pos_proj.weight.mul_(self.locality_strength)", "pass")),
    _m("3.5", CV, "positional softmax over the queries", ("out = scores.softmax(dim=-1)", "out = scores.softmax(dim=-2)")),
    _m("3.5", CV, "v not the identity at initialisation", ("self.v.weight.copy_(torch.eye(self.dim))", "pass")),
    _m("3.5", CV, "library attention hidden behind a computed name in GPSA",
       (CONTENT, 'content = getattr(torch.nn.functional, "scaled_dot_" + "product_attention")'
                 '(q, k, torch.eye(N).expand(B, self.num_heads, N, N))'), status="banned"),
    # ---- 3.6 ConViT -------------------------------------------------------------------------
    _m("3.6", CV, "class token before the GPSA blocks", ("if i == self.local_layers and self.cls_token is not None:",
                                                        "if i == 0 and self.cls_token is not None:")),
    _m("3.6", CV, "ConViT skips pos_drop", ("x = self.pos_drop(self.patch_embed(x) + self.pos_embed)     # (B, N, D)",
                                           "x = self.patch_embed(x) + self.pos_embed")),
    _m("3.6", CV, "ConViT never inserts the class token", ("if i == self.local_layers and self.cls_token is not None:",
                                                          "if False:")),
    _m("3.6", CV, "ConViT averages the tokens even with pool='cls'",
       ('x = x[:, 0] if self.pool == "cls" else x[:, self.num_prefix_tokens:].mean(dim=1)\n        x = self.head(x)',
        "x = x[:, self.num_prefix_tokens:].mean(dim=1)\n        x = self.head(x)")),
    # ---- 3.7 AdamW, groups, schedule --------------------------------------------------------
    _m("3.7", OP, "AdamW decays biases and norms", ('if param.ndim < 2 or qualname.split(".")[-1] in skip:',
                                                   'if qualname.split(".")[-1] in skip:')),
    _m("3.7", OP, "AdamW without bias correction", ("bias1 = 1.0 - beta1 ** t", "bias1 = 1.0")),
    _m("3.7", OP, "AdamW with coupled weight decay", ("p.mul_(1.0 - lr * wd)", "g = g.add(p, alpha=wd)")),
    _m("3.7", OP, "eps inside the square root", ("denom = (v.sqrt() / math.sqrt(bias2)).add_(eps)",
                                                "denom = (v / bias2).add_(eps).sqrt()")),
    _m("3.7", OP, "warm-up one step ahead", ("return base * t / self.warmup_steps", "return base * (t + 1) / self.warmup_steps")),
    _m("3.7", OP, "cosine to zero, ignoring min_lr", ("lr = self.min_lr + (base - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * s))",
                                                     "lr = base * 0.5 * (1.0 + math.cos(math.pi * s))")),
    _m("3.7", OP, "positions decayed", ('skip = ("pos_embed", "cls_token", "gating_param")', 'skip = ("cls_token", "gating_param")')),
    _m("3.7", OP, "frozen parameters put in a group", ("        if not param.requires_grad:\n            continue\n", "")),
    # ---- 3.8 augmentation, train step, evaluation -------------------------------------------
    _m("3.8", TR, "gradients never zeroed", ("optimizer.zero_grad(set_to_none=True)", "pass")),
    _m("3.8", TR, "label smoothing ignored", ("loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)",
                                             "loss = F.cross_entropy(logits.float(), y)")),
    _m("3.8", TR, "gradients never clipped", ("nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)", "pass")),
    _m("3.8", TR, "evaluation in train mode", ("    model.eval()\n    total_loss", "    model.train()\n    total_loss")),
    _m("3.8", TR, "evaluation sums batch means", ('F.cross_entropy(logits.float(), yb, reduction="sum")',
                                                 'F.cross_entropy(logits.float(), yb, reduction="mean")')),
    _m("3.8", AU, "random_hflip ignores its generator",
       ("flip = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5",
        "flip = torch.rand(x.shape[0], device=x.device) < 0.5")),
    _m("3.8", AU, "random_crop ignores its generator", ("(2, B), device=x.device, generator=generator)", "(2, B), device=x.device)")),
    _m("3.8", AU, "crop offsets never reach 2p", ("off = torch.randint(0, 2 * padding + 1,", "off = torch.randint(0, 2 * padding,")),
    _m("3.8", AU, "crop offsets from rounded uniform floats (the ends half as likely)",
       ("off = torch.randint(0, 2 * padding + 1, (2, B), device=x.device, generator=generator)",
        "off = (torch.rand(2, B, device=x.device, generator=generator) * 2 * padding).round().long()")),
    _m("3.8", TR, "evaluate's accuracy a NumPy scalar", ("loss, acc = total_loss.item() / n, correct.item() / n",
                                                        "loss, acc = total_loss.item() / n, correct.cpu().numpy() / n")),
    _m("3.8", AU, "flip upside down", ("out = torch.where(flip[:, None, None, None], x.flip(-1), x)",
                                      "out = torch.where(flip[:, None, None, None], x.flip(-2), x)")),
    # ---- 3.9 checkpoints --------------------------------------------------------------------
    _m("3.9", CK, "checkpoint without its config", ("save_file(tensors, partial, metadata=metadata)", "save_file(tensors, partial)")),
    _m("3.9", CK, "checkpoint written in place (not atomic)",
       ("    with atomic_path(path) as partial:\n        save_file(tensors, partial, metadata=metadata)",
        "    save_file(tensors, str(path), metadata=metadata)")),
    _m("3.9", CK, "wrong shapes not checked before loading", ("if value.shape != own[key].shape:", "if False:")),
    _m("3.9", CK, "missing tensors not reported by name", ("        if key not in tensors:\n", "        if False:\n")),
    # ---- 3.10 attention maps, rollout, gates ------------------------------------------------
    _m("3.10", VZ, "rollout without the residual path", ("a = 0.5 * a + 0.5 * eye", "a = a + 0 * eye")),
    _m("3.10", VZ, "hooks never removed", ("            h.remove()", "            pass")),
    _m("3.10", VZ, "rollout multiplies in the wrong order", ("joint = a if joint is None else a @ joint",
                                                            "joint = a if joint is None else joint @ a")),
    _m("3.10", VZ, "gates without the sigmoid", ("torch.sigmoid(b.attn.gating_param.detach().float()).cpu()",
                                                "b.attn.gating_param.detach().float().cpu()")),
    _m("3.10", VZ, "heads fused by max", ("a = a.mean(dim=1)", "a = a.amax(dim=1)")),
    _m("3.10", VZ, "attention_maps leaves the model in eval mode", ("        model.train(was_training)\n", "")),
    _m("3.10", VZ, "gates read from the first local_layers blocks (a ViT has none)",
       ('for b in model.blocks if hasattr(b.attn, "gating_param")]', "for b in model.blocks[:model.local_layers]]")),
    _m("3.10", VZ, "gates not detached", ("torch.sigmoid(b.attn.gating_param.detach().float()).cpu()",
                                         "torch.sigmoid(b.attn.gating_param.float()).cpu()")),
]

REWRITES = [
    _m("3.1", MO, "patch tokens with einsum", ("x = self.proj(x)                     # (B, D, H/P, W/P)\n"
                                              "        x = x.flatten(2).transpose(1, 2)     # (B, N, D)",
                                              'x = torch.einsum("bchw->bhwc", self.proj(x)).flatten(1, 2)')),
    _m("3.2", MO, "attention as a loop over heads",
       (ATT_SCORES, "attn = torch.stack([(q[:, i] @ k[:, i].transpose(-2, -1) * self.scale).softmax(dim=-1)\n"
                    "                            for i in range(self.num_heads)], dim=1)")),
    _m("3.3", MO, "block with a temporary", ("x = x + self.drop_path1(self.attn(self.norm1(x)))",
                                            "h = self.attn(self.norm1(x))\n        x = x + self.drop_path1(h)")),
    _m("3.4", CV, "mean as sum over count", ("x = self.head(x.mean(dim=1))", "x = self.head(x.sum(dim=1) / x.shape[1])")),
    _m("3.5", CV, "GPSA without the final renormalisation", ("attn = attn / attn.sum(dim=-1, keepdim=True)", "pass")),
    _m("3.5", CV, "GPSA content scores with einsum", (CONTENT, 'content = (torch.einsum("bhid,bhjd->bhij", q, k) '
                                                              "* self.scale).softmax(dim=-1)")),
    _m("3.6", CV, "class token with repeat", ("x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)",
                                             "x = torch.cat([self.cls_token.repeat(x.shape[0], 1, 1), x], dim=1)")),
    _m("3.7", OP, "AdamW moments as the docstring's formula",
       ("m.lerp_(g, 1.0 - beta1)", "m.copy_(beta1 * m + (1.0 - beta1) * g)"),
       ("v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)", "v.copy_(beta2 * v + (1.0 - beta2) * g * g)")),
    _m("3.7", OP, "AdamW update written out", ("denom = (v.sqrt() / math.sqrt(bias2)).add_(eps)\n"
                                              "                p.addcdiv_(m, denom, value=-lr / bias1)",
                                              "p.sub_(lr * (m / bias1) / ((v / bias2).sqrt() + eps))")),
    _m("3.8", AU, "flip coins with randint", ("flip = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5",
                                             "flip = torch.randint(0, 2, (x.shape[0],), device=x.device, "
                                             "generator=generator).bool()")),
    _m("3.8", AU, "crop offsets drawn as (B, 2)",
       ("off = torch.randint(0, 2 * padding + 1, (2, B), device=x.device, generator=generator)",
        "off = torch.randint(0, 2 * padding + 1, (B, 2), device=x.device, generator=generator).T")),
    _m("3.8", AU, "crop window drawn as one index of the (2p+1)^2 windows",
       ("off = torch.randint(0, 2 * padding + 1, (2, B), device=x.device, generator=generator)",
        "k = torch.randint(0, (2 * padding + 1) ** 2, (B,), device=x.device, generator=generator)\n"
        "    off = torch.stack([k // (2 * padding + 1), k % (2 * padding + 1)])")),
    _m("3.8", TR, "evaluate restores the model's previous mode",
       ("    model.eval()\n    total_loss", "    was_training = model.training\n    model.eval()\n    total_loss"),
       ("    loss, acc = total_loss.item() / n, correct.item() / n\n",
        "    loss, acc = total_loss.item() / n, correct.item() / n\n    model.train(was_training)\n")),
    _m("3.10", VZ, "rollout residual as a mean", ("a = 0.5 * a + 0.5 * eye", "a = (a + eye) / 2")),
]
