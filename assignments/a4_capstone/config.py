"""Every knob of a run in one typed dataclass, read from TOML.

A config file only lists what differs from the defaults below, and may inherit from
another file with `base = "other.toml"` (a path relative to the file that names it):

    base = "other.toml"
    model = "convit"
    local_layers = 3

Unknown keys, wrong types and unknown choices raise `ConfigError` naming the key, the
value and the file, before any model is built or any data is loaded.
"""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

# Keys whose value must be one of a fixed set.
CHOICES = {
    "model": ("vit", "convit_hybrid", "convit"),
    "dataset": ("mnist", "cifar10"),
    "pool": ("cls", "mean"),
    "pos_embed": ("learned", "sincos"),
    "device": ("auto", "cpu", "cuda"),
    "amp": ("bf16", "none"),
}

# Keys that define the architecture: a checkpoint only loads into a model that agrees on all.
ARCH_KEYS = (
    "model", "img_size", "in_chans", "num_classes", "patch_size", "embed_dim", "depth",
    "num_heads", "mlp_ratio", "qkv_bias", "local_layers", "locality_strength", "pool",
    "pos_embed", "stem_channels",
)


# A ConViT's class token joins in front of the first self-attention block (timm's
# local_up_to_layer); with every block GPSA there is none, and the token would never see the image.
_CLS_AFTER_LAST_BLOCK = ("{source}: local_layers = {n} equals depth = {n} with pool = 'cls': the class token "
                         "joins after the GPSA blocks and needs at least one self-attention block after them "
                         "to read the image; use local_layers < depth or pool = 'mean'")


class ConfigError(ValueError):
    """A config key, value or file is wrong; the message names which."""


@dataclass
class Config:
    # model
    model: str = "vit"
    img_size: int = 28
    in_chans: int = 1
    num_classes: int = 10
    patch_size: int = 7
    embed_dim: int = 64
    depth: int = 4
    num_heads: int = 4
    mlp_ratio: float = 2.0
    qkv_bias: bool = True
    local_layers: int = 2          # GPSA layers at the start of a "convit" model (< depth with pool "cls")
    locality_strength: float = 1.0
    pool: str = "cls"              # "convit_hybrid" always pools by averaging
    pos_embed: str = "learned"
    drop_rate: float = 0.0
    attn_drop_rate: float = 0.0
    drop_path_rate: float = 0.0
    stem_channels: int = 32        # "convit_hybrid": channels of both conv stages
    # data
    dataset: str = "mnist"
    data_root: str = ""            # "" = vitdata's default location
    synthetic: bool = False        # vitdata.synthetic stand-in with the dataset's shapes (tests, smoke runs)
    train_subset: int = 0          # 0 = the whole training set
    # optimisation
    epochs: int = 10
    batch_size: int = 128
    eval_batch_size: int = 1000
    lr: float = 1e-3
    min_lr: float = 1e-5
    weight_decay: float = 0.05
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.0
    grad_clip: float = 1.0         # 0 = no clipping
    # augmentation (on the device, per batch)
    crop_padding: int = 0
    hflip: bool = False
    mixup_alpha: float = 0.0       # 0 = off
    # run
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    amp: str = "bf16"              # used on CUDA only
    compile: bool = False
    # time_budget_s counts training seconds only (each epoch's batch loop; evaluations and
    # checkpoints excluded) and is checked after every step: the run stops after the step that
    # reaches it, and that cut-short epoch is still evaluated and checkpointed. 0 = no limit
    time_budget_s: float = 0.0
    eval_every: int = 1            # epochs between evaluations (and checkpoints)
    out_dir: str = "runs/a3"
    # progress: a tqdm bar when stdout and stderr are terminals; anywhere else (a notebook, a log
    # file, a pipe) a plain line through train()'s `log` every log_every steps: step, loss, images/s
    progress: bool = True
    log_every: int = 100           # steps between progress lines off a terminal; 0 = none
    # CPU threads for torch, set before the model is built (torch.set_num_threads); 0 = torch's
    # default (every core). Small models run fastest on one: on a 2-core machine shared with other
    # work, two threads ran the MNIST recipe 3-4x slower than one
    threads: int = 1
    # strong augmentation (the capstone's randaug.py; 0 = off, as before)
    randaug_ops: int = 0           # RandAugment ops per image, each drawn per image
    randaug_magnitude: float = 9.0  # 0..10; each op's magnitude is drawn from [0, this]
    cutmix_alpha: float = 0.0      # CutMix Beta(a, a); with mixup_alpha too, a coin per image

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict, source: str = "dict") -> "Config":
        """Build a Config from a plain dict (e.g. a checkpoint's config.json), checking it."""
        if not isinstance(d, dict):
            raise ConfigError(f"{source}: expected a table of settings, got {type(d).__name__}")
        cfg = cls()
        for key, value in d.items():
            cfg = _set(cfg, key, value, source)
        cfg.validate(source)
        return cfg

    def replace(self, **changes) -> "Config":
        """A checked copy with some fields changed."""
        return Config.from_dict({**self.to_dict(), **changes}, "replace()")

    def validate(self, source: str = "config") -> "Config":
        """Check values that types alone cannot catch; raise ConfigError naming the key."""
        values = self.to_dict()     # by key, not getattr: a3's rules refuse computed attribute names
        for key, options in CHOICES.items():
            value = values[key]
            if value not in options:
                raise ConfigError(f"{source}: {key} = {value!r} is not one of {', '.join(map(repr, options))}")
        positive = ("img_size", "in_chans", "num_classes", "patch_size", "embed_dim", "depth",
                    "num_heads", "epochs", "batch_size", "eval_batch_size", "eval_every", "stem_channels")
        for key in positive:
            if values[key] <= 0:
                raise ConfigError(f"{source}: {key} = {values[key]!r} must be positive")
        nonneg = ("lr", "min_lr", "weight_decay", "warmup_epochs", "grad_clip", "crop_padding",
                  "mixup_alpha", "time_budget_s", "train_subset", "local_layers", "threads", "log_every", "eps")
        for key in nonneg:
            if values[key] < 0:
                raise ConfigError(f"{source}: {key} = {values[key]!r} must not be negative")
        for key in ("drop_rate", "attn_drop_rate", "drop_path_rate", "label_smoothing", "beta1", "beta2"):
            if not 0.0 <= values[key] < 1.0:
                raise ConfigError(f"{source}: {key} = {values[key]!r} must be in [0, 1)")
        if self.mlp_ratio <= 0 or self.locality_strength <= 0:
            key = "mlp_ratio" if self.mlp_ratio <= 0 else "locality_strength"
            raise ConfigError(f"{source}: {key} = {values[key]!r} must be positive")
        if self.randaug_ops < 0 or self.randaug_ops > 4 or not 0 <= self.randaug_magnitude <= 10 or self.cutmix_alpha < 0:
            raise ConfigError(f"{source}: randaug_ops = {self.randaug_ops} (0..4), randaug_magnitude = "
                              f"{self.randaug_magnitude} (0..10), cutmix_alpha = {self.cutmix_alpha} (>= 0): out of range")
        if self.embed_dim % self.num_heads:
            raise ConfigError(f"{source}: embed_dim = {self.embed_dim} is not divisible by num_heads = {self.num_heads}")
        if self.model == "convit" and self.local_layers > self.depth:
            raise ConfigError(f"{source}: local_layers = {self.local_layers} exceeds depth = {self.depth}")
        if self.model == "convit" and self.pool == "cls" and self.local_layers == self.depth:
            raise ConfigError(_CLS_AFTER_LAST_BLOCK.format(source=source, n=self.local_layers))
        return self


def _set(cfg: Config, key: str, value, source: str) -> Config:
    """A copy of `cfg` with `key` set to a value of the field's type (ConfigError otherwise)."""
    fields = {f.name: f for f in dataclasses.fields(Config)}
    if key not in fields:
        hint = _closest(key, fields)
        raise ConfigError(f"{source}: unknown key {key!r}{hint}")
    want = type(Config().to_dict()[key])
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not want:
        raise ConfigError(f"{source}: {key} = {value!r} should be a {want.__name__}, not {type(value).__name__}")
    return dataclasses.replace(cfg, **{key: value})


def _closest(key: str, fields) -> str:
    import difflib
    match = difflib.get_close_matches(key, list(fields), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _read(path: Path, seen: tuple[Path, ...]) -> dict:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: 'base' inheritance loops back to this file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        where = f" (named as base in {seen[-1]})" if seen else ""
        raise ConfigError(f"{path}: config file not found{where}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    base = raw.pop("base", None)
    if base is None:
        return {k: (v, path) for k, v in raw.items()}
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base = {base!r} should be a path string")
    merged = _read(path.parent / base, seen + (path,))
    merged.update({k: (v, path) for k, v in raw.items()})
    return merged


def load_config(path: str | Path, overrides: dict | None = None) -> Config:
    """Read a TOML config (with `base` inheritance) and optional overrides into a checked Config."""
    cfg = Config()
    for key, (value, source) in _read(Path(path), ()).items():
        cfg = _set(cfg, key, value, str(source))
    for key, value in (overrides or {}).items():
        cfg = _set(cfg, key, value, "--set")
    return cfg.validate(str(path))


def parse_set(items: list[str]) -> dict:
    """Parse `--set key=value` pairs; values are TOML literals, bare words are strings."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, text = (s.strip() for s in item.split("=", 1))
        try:
            out[key] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = text
    return out
