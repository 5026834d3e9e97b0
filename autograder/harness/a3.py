"""Assignment 3 helpers that run *inside* the sandbox (nothing here is secret).

Hidden graders call them as `student.call("harness:a3.<name>", ...)`. Each builds the
student's object from plain data (constructor kwargs, a state dict), runs it, and returns
only tensors, numbers, strings and dicts/lists of them, so the trusted process compares
values and never touches a student object.

Importing this module also installs the guard against library attention
(attention_ban.py); graders also call `install_ban` first thing in each task's sandbox, and
every helper here is `guarded`: a banned call attempted during it fails the call.
"""
from __future__ import annotations

import importlib
import os
import tempfile

import torch

from autograder.harness.attention_ban import guarded, install_ban
from autograder.harness.torch_state import settle_torch

install_ban()
# Grading tensors are tiny: one thread is fastest, and stays fast when graders run in parallel.
torch.set_num_threads(1)

# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _resolve(dotted: str):
    mod, _, attr = dotted.partition(".")
    obj = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _load(module: torch.nn.Module, state: dict, what: str) -> None:
    """Strict load that names the first missing / unexpected key."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise KeyError(f"{what}: state dict names differ from the expected layout "
                       f"(missing: {missing[:5]}, unexpected: {unexpected[:5]})")
    module.load_state_dict(state, strict=True)


def _grads(module: torch.nn.Module) -> dict:
    return {n: (p.grad.detach().clone() if p.grad is not None else None) for n, p in module.named_parameters()}


def _config(cfg: dict):
    from config import Config
    return Config.from_dict(cfg, "grader config")


# --------------------------------------------------------------------------------------
# Modules: forward + backward with given weights
# --------------------------------------------------------------------------------------
@guarded
def module_io(path: str, kwargs: dict, state: dict, inputs: list, grad_out, dtype: str = "float64",
              method: str = "forward", seed: int = 0, post_init: str | None = None, train: bool = False) -> dict:
    """Build `path(**kwargs)` (e.g. "modules.Attention"), load `state`, cast to `dtype`, run
    `method(*inputs)` in eval mode (train mode with `train`, the global RNG seeded with
    seed + 1 just before the forward, as the grader's reference run is), backpropagate `grad_out`.

    Returns {"out", "input_grads" (list, None for non-float inputs), "param_grads" {name: grad}}.
    """
    torch.manual_seed(seed)
    m = _resolve(path)(**kwargs)
    if post_init:
        getattr(m, post_init)()
    _load(m, state, path)
    m = m.to(DTYPES[dtype]).train(bool(train))
    if train:
        torch.manual_seed(seed + 1)
    xs = [x.detach().to(DTYPES[dtype]).requires_grad_() if torch.is_tensor(x) and x.is_floating_point() else x
          for x in inputs]
    out = getattr(m, method)(*xs)
    out.backward(grad_out.to(DTYPES[dtype]))
    return {"out": out.detach(),
            "input_grads": [x.grad if torch.is_tensor(x) and x.is_floating_point() else None for x in xs],
            "param_grads": _grads(m)}


@guarded
def attn_drop_input(path: str, kwargs: dict, state: dict, x) -> list:
    """What the module's `attn_drop` receives during one eval forward of x: a list of tensors."""
    m = _resolve(path)(**kwargs)
    _load(m, state, path)
    seen = []
    hook = m.attn_drop.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach()))
    with torch.no_grad():
        m.eval()(x)
    hook.remove()
    return seen


@guarded
def build_state(path: str, kwargs: dict, seed: int = 0) -> dict:
    """The state dict of a freshly constructed `path(**kwargs)` (what __init__ produced)."""
    torch.manual_seed(seed)
    m = _resolve(path)(**kwargs)
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


@guarded
def gpsa_probe(kwargs: dict, state: dict | None, x) -> dict:
    """Build GPSA(**kwargs) (optionally with `state`), then: its pos_attention(), and how often
    pos_proj runs, and on what shape, during one forward of x (B, N, D)."""
    gpsa = _resolve("convit.GPSA")(**kwargs)
    if state is not None:
        _load(gpsa, state, "GPSA")
    calls = []
    hook = gpsa.pos_proj.register_forward_hook(lambda mod, inp, out: calls.append(list(inp[0].shape)))
    with torch.no_grad():
        pos = gpsa.pos_attention()
        calls.clear()
        out = gpsa(x)
    hook.remove()
    return {"pos_attention": pos.detach(), "pos_proj_calls": calls, "out": out.detach(),
            "rel_indices": gpsa.rel_indices.detach().clone()}


@guarded
def rel_indices(grid_size: int):
    return _resolve("convit.rel_indices")(grid_size)


# --------------------------------------------------------------------------------------
# Optimiser and schedule
# --------------------------------------------------------------------------------------
def _fake_grads(params: list, t: int, seed: int) -> None:
    """Deterministic gradients that depend on the parameters (so errors compound)."""
    g = torch.Generator().manual_seed(seed * 1000 + t)
    for p in params:
        p.grad = torch.sin(3.0 * p.detach()) + torch.randn(p.shape, generator=g, dtype=p.dtype)


@guarded
def adamw_run(params: list, groups: list[dict], defaults: dict, steps: int, seed: int = 0,
              reload_at: int | None = None) -> dict:
    """Run the student's AdamW for `steps` steps on copies of `params` with _fake_grads.

    `groups`: [{"idx": [param indices], **options}]. With `reload_at`, the optimiser is
    rebuilt from its state_dict after that many steps. Returns final params and state.
    """
    settle_torch()
    AdamW = _resolve("optim.AdamW")
    ps = [p.detach().clone().requires_grad_() for p in params]

    def make():
        return AdamW([{**{k: v for k, v in g.items() if k != "idx"}, "params": [ps[i] for i in g["idx"]]}
                      for g in groups], **defaults)
    opt = make()
    for t in range(steps):
        if reload_at is not None and t == reload_at:
            sd = opt.state_dict()
            opt = make()
            opt.load_state_dict(sd)
        _fake_grads(ps, t, seed)
        opt.step()
    state = opt.state_dict()["state"]
    return {"params": [p.detach() for p in ps],
            "state": {int(i): {k: (v.detach() if torch.is_tensor(v) else v) for k, v in s.items()}
                      for i, s in state.items()}}


@guarded
def param_group_names(cfg: dict, weight_decay: float) -> list:
    """Student's param_groups on a model built from cfg: [(sorted names, weight_decay), ...]."""
    settle_torch()
    from models import build_model
    model = build_model(_config(cfg))
    names = {id(p): n for n, p in model.named_parameters()}
    out = []
    for g in _resolve("optim.param_groups")(model, weight_decay):
        out.append((sorted(names.get(id(p), "<not a model parameter>") for p in g["params"]),
                    float(g.get("weight_decay", -1.0))))
    return out


@guarded
def schedule(base_lrs: list, warmup: int, total: int, min_lr: float, steps: int) -> list:
    """Learning rates of each group after 0..steps scheduler steps: list of lists."""
    settle_torch()
    from optim import AdamW, WarmupCosine
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in base_lrs]
    opt = AdamW([{"params": [p], "lr": lr} for p, lr in zip(params, base_lrs)])
    sched = WarmupCosine(opt, warmup, total, min_lr)
    out = [[float(g["lr"]) for g in opt.param_groups]]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append([float(g["lr"]) for g in opt.param_groups])
    return out


# --------------------------------------------------------------------------------------
# Training: augmentation, steps, evaluation
# --------------------------------------------------------------------------------------
@guarded
def augment(fn: str, x, seed: int, *args) -> object:
    """augment.<fn>(x, *args, generator) with a seeded generator (fn: random_crop / random_hflip)."""
    g = torch.Generator().manual_seed(seed)
    return _resolve(f"augment.{fn}")(x, *args, generator=g)


@guarded
def augment_seeded(fn: str, x, seed: int, global_seed: int, *args) -> dict:
    """augment.<fn>(x, *args, generator) with the global RNG seeded by `global_seed` first:
    the output, and whether the call drew from the generator (its state moved)."""
    torch.manual_seed(global_seed)
    g = torch.Generator().manual_seed(seed)
    start = g.get_state()
    out = _resolve(f"augment.{fn}")(x, *args, generator=g)
    return {"out": out, "advanced": not torch.equal(start, g.get_state())}


def _model(cfg: dict, state: dict | None):
    from models import build_model
    model = build_model(_config(cfg))
    if state is not None:
        _load(model, state, "model")
    return model


@guarded
def sgd_steps(cfg: dict, state: dict, batches: list, lr: float) -> dict:
    """Student's train_step with plain SGD(lr) on each (x, y) in `batches`; returns losses,
    logits of the last step and the final weights."""
    settle_torch()
    c = _config(cfg)
    model = _model(cfg, state)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses, logits = [], None
    for x, y in batches:
        loss, logits = _resolve("train.train_step")(model, x, y, opt, c)
        losses.append(loss)
    return {"losses": losses, "logits": logits, "state": {k: v.detach() for k, v in model.state_dict().items()}}


@guarded
def overfit(cfg: dict, x, y, steps: int, seed: int = 0) -> dict:
    """Train a fresh model on one batch with the student's train_step for `steps` steps (AdamW,
    no augmentation); returns the final weights for the grader to evaluate."""
    settle_torch()
    from optim import AdamW, param_groups
    torch.manual_seed(seed)
    c = _config(cfg)
    model = _model(cfg, None)
    opt = AdamW(param_groups(model, c.weight_decay), lr=c.lr)
    step = _resolve("train.train_step")
    for _ in range(steps):
        step(model, x, y, opt, c)
    return {k: v.detach() for k, v in model.state_dict().items()}


@guarded
def evaluate(cfg: dict, state: dict, x, y, train_mode: bool = True) -> tuple:
    """Student's evaluate on a model with `state` (left in train mode first when train_mode)."""
    model = _model(cfg, state)
    model.train(train_mode)
    return _resolve("train.evaluate")(model, x, y, _config(cfg))


# --------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------
def _bytes(path) -> object:
    import numpy as np
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8).copy()


@guarded
def checkpoint_roundtrip(cfg: dict, state: dict, extra: dict) -> dict:
    """save_checkpoint then load_checkpoint (model=None) in a fresh folder; returns the files
    written (names and bytes) and what loading gave back."""
    from checkpoint import load_checkpoint, save_checkpoint
    from config import Config
    model = _model(cfg, state)
    folder = tempfile.mkdtemp(prefix="ckpt-")
    path = os.path.join(folder, "checkpoint.safetensors")
    returned = save_checkpoint(path, model, Config.from_dict(cfg), extra)
    files = sorted(os.listdir(folder))
    payload = {name: _bytes(os.path.join(folder, name)) for name in files
               if os.path.isfile(os.path.join(folder, name))}
    loaded, loaded_cfg = load_checkpoint(path)
    return {"files": files, "bytes": payload, "returned": str(returned),
            "state": {k: v.detach() for k, v in loaded.state_dict().items()},
            "config": loaded_cfg.to_dict(), "loaded_type": type(loaded).__name__}


@guarded
def checkpoint_crash(cfg: dict, state: dict) -> dict:
    """Save a checkpoint, then save another whose safetensors write dies half-way (save_file: the
    first half of the bytes reach the file it writes, then an OSError; save, for code that
    writes the bytes itself: an OSError). Returns whether the crash came through, the file's
    bytes before and after (the trusted side compares them), and the folder's listing."""
    import safetensors.torch as st
    import checkpoint as ck
    from config import Config
    folder = tempfile.mkdtemp(prefix="ckpt-")
    path = os.path.join(folder, "checkpoint.safetensors")
    ck.save_checkpoint(path, _model(cfg, state), Config.from_dict(cfg))
    before = _bytes(path).tobytes()
    real = {"save_file": st.save_file, "save": st.save}

    def dying_save_file(tensors, filename, metadata=None):
        blob = real["save"](tensors, metadata=metadata)
        with open(filename, "wb") as f:
            f.write(blob[:len(blob) // 2])
        raise OSError("simulated crash while writing the checkpoint")

    def dying_save(tensors, metadata=None):   # bytes first, then the student's own write
        raise OSError("simulated crash while serialising the checkpoint")

    dying = {"save_file": dying_save_file, "save": dying_save}
    patched = [(st, n) for n in real] + [(ck, n) for n in real if getattr(ck, n, None) is real[n]]
    for mod, name in patched:
        setattr(mod, name, dying[name])
    raised = False
    try:
        ck.save_checkpoint(path, _model(cfg, None), Config.from_dict(cfg))
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - any exception is the expected outcome
        raised = True
    finally:
        for mod, name in patched:
            setattr(mod, name, real[name])
    import numpy as np
    return {"raised": raised, "before": np.frombuffer(before, dtype=np.uint8).copy(), "after": _bytes(path),
            "listing": sorted(os.listdir(folder))}


@guarded
def checkpoint_load_into(cfg_saved: dict, state: dict, cfg_model: dict, tamper: str | None = None) -> dict:
    """Save with save_checkpoint, optionally edit the file, then ask load_checkpoint to load it
    into a model built from `cfg_model`. `tamper`: "drop:<key>", "add:<key>", "shape:<key>" or None.
    Returns {"ok": bool, "error_type", "message", "state"}."""
    from checkpoint import load_checkpoint, save_checkpoint
    from config import Config
    from safetensors.torch import load_file, save_file
    folder = tempfile.mkdtemp(prefix="ckpt-")
    path = os.path.join(folder, "checkpoint.safetensors")
    save_checkpoint(path, _model(cfg_saved, state), Config.from_dict(cfg_saved))
    if tamper:
        action, key = tamper.split(":", 1)
        tensors = load_file(path)
        with open(path, "rb") as f:
            import json
            meta = json.loads(f.read(int.from_bytes(f.read(8), "little")))["__metadata__"]
        if action == "drop":
            tensors.pop(key)
        elif action == "shape":
            tensors[key] = torch.zeros(tuple(tensors[key].shape) + (2,))
        else:
            tensors[key] = torch.zeros(3)
        save_file(tensors, path, metadata=meta)
    target = _model(cfg_model, None)
    try:
        model, _ = load_checkpoint(path, target)
    except Exception as e:  # noqa: BLE001 - the grader wants the type and message
        return {"ok": False, "error_type": type(e).__name__, "message": str(e)[:500], "state": None}
    return {"ok": True, "error_type": None, "message": "",
            "state": {k: v.detach() for k, v in model.state_dict().items()}}


# --------------------------------------------------------------------------------------
# Attention maps
# --------------------------------------------------------------------------------------
@guarded
def attention_maps(cfg: dict, state: dict, images) -> list:
    return _resolve("attention_viz.attention_maps")(_model(cfg, state), images)


def _hook_count(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


@guarded
def attention_maps_aftermath(cfg: dict, state: dict, images) -> dict:
    """attention_maps on a model left in train mode, twice: the number of maps each time, the
    hooks left on the model afterwards, and whether it is back in train mode."""
    model = _model(cfg, state).train()
    before = _hook_count(model)
    fn = _resolve("attention_viz.attention_maps")
    counts = [len(fn(model, images)), len(fn(model, images))]
    return {"counts": counts, "hooks_left": _hook_count(model) - before, "training": bool(model.training)}


@guarded
def gate_values(cfg: dict, state: dict) -> list:
    return _resolve("attention_viz.gate_values")(_model(cfg, state))
