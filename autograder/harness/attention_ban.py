"""The runtime guard against library attention in Assignment 3 (runs *inside* the sandbox).

Calling one raises BannedCallError naming the call, and every attempt is remembered, so a
student who catches the error still fails the harness call (`guarded`). Student code can
undo anything in here: the engine's tamper check watches this module's code and constants,
and the trusted side's static scan (graders/a3_torch_vit/a3_ban.py) is the part that holds.
"""
from __future__ import annotations

import importlib.abc
import sys

import torch
from torch.overrides import TorchFunctionMode

# Functions caught at call time by a TorchFunctionMode, by name, however they were imported
# (`from torch.nn.functional import scaled_dot_product_attention as f` included). Nothing in
# torch, torch.nn.functional or numpy is replaced, so the engine's tamper check stays quiet.
BANNED_FUNCTIONS = {
    "scaled_dot_product_attention": "F.scaled_dot_product_attention",
    "multi_head_attention_forward": "F.multi_head_attention_forward",
    "_native_multi_head_attention": "torch._native_multi_head_attention",
    "_transformer_encoder_layer_fwd": "torch._transformer_encoder_layer_fwd",
    "_scaled_dot_product_attention_math": "torch._scaled_dot_product_attention_math",
    "_scaled_dot_product_flash_attention": "torch._scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention": "torch._scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention": "torch._scaled_dot_product_cudnn_attention",
    "flex_attention": "flex_attention",
}
# Classes replaced in torch.nn (not a watched module) so that building one fails at once.
BANNED_CLASSES = ("MultiheadAttention", "Transformer", "TransformerEncoder", "TransformerEncoderLayer",
                  "TransformerDecoder", "TransformerDecoderLayer")
BANNED_MODULES = ("timm", "einops.layers", "xformers", "flash_attn", "torch.nn.attention")
ATTEMPTS: list[str] = []      # every banned call attempted in this process, even if caught
_MUTABLE = ("ATTEMPTS", "_MODE", "_ATEN")   # state the engine's tamper check lets change
# The same attention at the operator level (torch.ops.aten, however it is reached): these
# kernels are replaced by ones that refuse, for every dispatch key they have.
BANNED_OPS = ("scaled_dot_product_attention", "_scaled_dot_product_attention_math",
              "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
              "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
              "_scaled_dot_product_fused_attention_overrideable", "_native_multi_head_attention",
              "_transformer_encoder_layer_fwd")
_OP_KEYS = ("CPU", "CUDA", "CompositeImplicitAutograd", "CompositeExplicitAutograd")


class BannedCallError(RuntimeError):
    """Student code called library attention; the message names the call."""


def _refuse(name: str):
    ATTEMPTS.append(name)
    raise BannedCallError(f"{name} is not allowed in Assignment 3: write attention by hand")


class _NoLibraryAttention(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = BANNED_FUNCTIONS.get(getattr(func, "__name__", ""))
        if name is not None:
            _refuse(name)
        return func(*args, **(kwargs or {}))


def _banned_class(name: str):
    def __init__(self, *args, **kwargs):
        _refuse(f"nn.{name}")
    return type(name, (torch.nn.Module,), {"__init__": __init__, "__vitlab_banned__": True,
                                           "__module__": "torch.nn"})


class _BlockImports(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if any(fullname == m or fullname.startswith(m + ".") for m in BANNED_MODULES):
            _refuse(f"import {fullname}")
        return None


_MODE: list = []
_ATEN: list = []


def _refusing_kernel(name: str):
    def kernel(*args, **kwargs):
        _refuse(f"torch.ops.aten.{name}")
    return kernel


def _block_ops() -> None:
    import warnings
    lib = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "overriding a previously registered kernel" is the point
        for name in BANNED_OPS:
            packet = getattr(torch.ops.aten, name, None)
            if packet is None:
                continue
            qual = packet.default.name()
            for key in _OP_KEYS:
                if torch._C._dispatch_has_kernel_for_dispatch_key(qual, key):
                    lib.impl(name, _refusing_kernel(name), key)
    _ATEN.append(lib)   # the overrides last as long as this object


def install_ban() -> bool:
    """Turn the guard on in this process (idempotent). Returns True."""
    import torch.nn.modules.activation as activation
    import torch.nn.modules.transformer as transformer
    for name in BANNED_CLASSES:
        for mod in (torch.nn, activation, transformer):
            if hasattr(mod, name) and not getattr(getattr(mod, name), "__vitlab_banned__", False):
                setattr(mod, name, _banned_class(name))
    for m in BANNED_MODULES:
        if m in sys.modules and m != "torch.nn.attention":
            del sys.modules[m]
    if not any(isinstance(f, _BlockImports) for f in sys.meta_path):
        sys.meta_path.insert(0, _BlockImports())
    if not _ATEN:
        _block_ops()
    if not _MODE:
        mode = _NoLibraryAttention()
        mode.__enter__()      # stays on the mode stack for the life of this process
        _MODE.append(mode)
    return True


def check_ban() -> None:
    """Raise BannedCallError if a banned call was attempted anywhere so far (even if caught)."""
    if ATTEMPTS:
        raise BannedCallError(f"{ATTEMPTS[0]} is not allowed in Assignment 3: write attention by hand")


def guarded(fn):
    """Wrap a harness entry point: after it runs (or raises), fail if a banned call was tried."""
    def run(*args, **kwargs):
        try:
            out = fn(*args, **kwargs)
        finally:
            check_ban()
        return out
    run.__name__, run.__doc__ = fn.__name__, fn.__doc__
    return run
