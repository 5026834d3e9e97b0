"""Memory bounds for evaluating a capstone checkpoint in the trusted process.

A checkpoint is small, but the activations of its forward pass are not: attention holds
(B, h, N, N) scores, so a 30 KB ViT with patch_size 2 and 16 heads asked the grader for
gigabytes at batch 500. Two bounds, both from course.toml [capstone]:

- `eval_memory_mb`, before anything is allocated: the per-image peak of activation bytes is
  estimated from the validated config (activation_bytes), the batch size is the largest that
  fits the budget (at most `eval_batch_size`), and a config whose single image does not fit
  is refused with the numbers (status `memory`);
- `eval_memory_limit_mb`, a hard bound around the forward passes (bounded): on the CPU a soft
  RLIMIT_DATA at the process's data size now plus the limit, on CUDA the caching allocator's
  memory fraction; both are restored afterwards. An allocation that fails under it is the
  checkpoint's `memory` failure, never an internal error or a grader killed by the kernel.
"""
from __future__ import annotations

import contextlib
import resource

from autograder.engine.student import StudentError

FLOAT_BYTES = 4
# Copies of the (h, N, N) attention map alive at once: MHSA holds the scores and their softmax;
# GPSA the content softmax, the gated mix of it with the positional map, and the renormalised map.
ATTN_COPIES = 4
# Copies of a (N, D) token array alive at once in a block: residual, norm, q/k/v (3), scaled q,
# merged heads, projection, two spare, plus the MLP's hidden layer and its GELU (2 x mlp_ratio of them).
TOKEN_COPIES = 12
STEM_COPIES = 3        # conv1's output, its ReLU and the next conv's input window
INPUT_COPIES = 3       # the image as float, minus the mean, over the std


def tokens(cfg) -> int:
    """Tokens a block sees: one per patch, plus the class token (ViT/ConViT with pool="cls")."""
    grid = cfg.img_size // cfg.patch_size
    cls = 1 if cfg.model != "convit_hybrid" and getattr(cfg, "pool", "cls") == "cls" else 0
    return grid * grid + cls


def activation_bytes(cfg) -> int:
    """Estimated peak bytes of activations for ONE image in an inference forward pass of the
    model `cfg` describes (float32), from its numbers alone. Blocks run one after another, so
    the peak is one block's working set plus the stem (convit_hybrid) and the input."""
    n, d, h = tokens(cfg), cfg.embed_dim, cfg.num_heads
    attn = ATTN_COPIES * h * n * n
    tok = (TOKEN_COPIES + 2 * float(cfg.mlp_ratio)) * n * d
    stem = STEM_COPIES * cfg.stem_channels * cfg.img_size ** 2 if cfg.model == "convit_hybrid" else 0
    image = INPUT_COPIES * cfg.in_chans * cfg.img_size ** 2
    return int(FLOAT_BYTES * (attn + tok + stem + image))


def batch_size(cfg, cap: dict, where: str) -> int:
    """Images per forward pass: at most `eval_batch_size`, and few enough that the estimated
    activations fit `eval_memory_mb`. StudentError(memory) when one image does not fit."""
    budget = int(cap.get("eval_memory_mb", 1024)) << 20
    per_image = activation_bytes(cfg)
    if per_image > budget:
        raise StudentError(
            "MemoryBudget",
            f"{where}: evaluating one image of the {cfg.model} its config.json describes needs an estimated "
            f"{per_image / 2**20:,.0f} MB of activations ({tokens(cfg)} tokens x {cfg.num_heads} heads of attention, "
            f"embed_dim {cfg.embed_dim}); the grader evaluates within {budget >> 20:,} MB. Use a larger "
            "patch_size or fewer heads.", "memory")
    return max(1, min(int(cap.get("eval_batch_size", 500)), budget // per_image))


def _data_bytes() -> int:
    """The process's data size now (VmData: what RLIMIT_DATA counts), in bytes."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) << 10
    raise RuntimeError("no VmData in /proc/self/status")


@contextlib.contextmanager
def bounded(cap: dict, device: str, where: str):
    """Run the block with at most `eval_memory_limit_mb` more memory; an allocation that fails
    under the bound raises StudentError(memory) naming `where`. The limits are restored after."""
    limit = int(cap.get("eval_memory_limit_mb", 2048)) << 20
    with _cuda_fraction(limit) if device == "cuda" else _data_limit(limit):
        try:
            yield
        except MemoryError:
            raise _memory_error(where, limit) from None
        except RuntimeError as e:
            if not _is_allocation_failure(e):
                raise
            raise _memory_error(where, limit) from None


def _memory_error(where: str, limit: int) -> StudentError:
    return StudentError("MemoryError", f"evaluating {where} needed more than the {limit >> 20:,} MB the grader "
                        "allows for a checkpoint's evaluation; submit a smaller model (fewer tokens or heads).",
                        "memory")


def _is_allocation_failure(e: RuntimeError) -> bool:
    import torch
    text = str(e)
    return (isinstance(e, torch.cuda.OutOfMemoryError) or "can't allocate memory" in text
            or "out of memory" in text.lower())


@contextlib.contextmanager
def _data_limit(limit: int):
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    want = _data_bytes() + limit
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft != resource.RLIM_INFINITY:
        want = min(want, soft)
    resource.setrlimit(resource.RLIMIT_DATA, (want, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


@contextlib.contextmanager
def _cuda_fraction(limit: int):
    import torch
    dev = torch.cuda.current_device()
    total = torch.cuda.get_device_properties(dev).total_memory
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(min(1.0, (torch.cuda.memory_allocated(dev) + limit) / total), dev)
    try:
        yield
    finally:
        torch.cuda.empty_cache()
        torch.cuda.set_per_process_memory_fraction(1.0, dev)
