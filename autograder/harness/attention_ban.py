"""The runtime guard against library attention in Assignment 3 (runs *inside* the sandbox).

Calling one raises BannedCallError naming the call, and every attempt is remembered, so a
student who catches the error still fails the harness call (`guarded`). The Python-level parts
(the TorchFunctionMode, the replaced classes, the import hook) can be undone by code that
reaches them; the engine's tamper check watches this module's code and constants, and the
trusted side's static scan (graders/a3_torch_vit/a3_ban.py) refuses every route to them.

The operator-level block cannot be undone from Python: its kernels are registered with the
dispatcher through a registration object that nothing in Python refers to (its one reference
is leaked on purpose, and the object is not tracked by gc), so no Library, finalizer, list or
module attribute exists to destroy or reset; a later registration over it only stacks above it.
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
_MUTABLE = ("ATTEMPTS", "_MODE", "_BLOCKED")   # state the engine's tamper check lets change
# The same attention at the operator level (torch.ops.aten, however it is reached): these
# kernels are replaced by ones that refuse, for every overload and every dispatch key they have.
BANNED_OPS = ("scaled_dot_product_attention", "_scaled_dot_product_attention_math",
              "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
              "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
              "_scaled_dot_product_fused_attention_overrideable", "_native_multi_head_attention",
              "_transformer_encoder_layer_fwd", "_flash_attention_forward", "_efficient_attention_forward",
              "_cudnn_attention_forward", "_triton_scaled_dot_attention", "_triton_multi_head_attention",
              "_scaled_dot_product_attention_math_for_mps")


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
_BLOCKED: list = []     # op names blocked in this process (bookkeeping only: nothing to undo here)


def _refusing_kernel(name: str):
    def kernel(*args, **kwargs):
        _refuse(f"torch.ops.aten.{name}")
    return kernel


def _block_ops() -> None:
    """Register a refusing kernel for each overload of BANNED_OPS, at every dispatch key it has
    a kernel for, through a dispatcher registration that Python keeps no reference to."""
    import ctypes
    registration = torch._C._dispatch_library("IMPL", "aten", "", __file__, 0)
    keys = [k for k in torch._C.DispatchKey.__members__ if k != "Undefined"]
    for name in BANNED_OPS:
        packet = getattr(torch.ops.aten, name, None)
        if packet is None:
            continue
        for overload in packet.overloads():
            qual = getattr(packet, overload).name()          # aten::name or aten::name.overload
            target = qual.split("::", 1)[1]
            for key in keys:
                try:
                    has = torch._C._dispatch_has_kernel_for_dispatch_key(qual, key)
                except RuntimeError:
                    continue
                if has:
                    registration.impl(target, key, _refusing_kernel(name), False)
        _BLOCKED.append(name)
    # one reference leaked on purpose: the registration lives as long as the process, and no
    # Python object (list, finalizer, attribute) holds it, so none can reset or destroy it
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(registration))
    del registration


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
    if not _BLOCKED:
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
