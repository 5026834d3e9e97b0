"""Bad input to the Assignment 3 reference: clear errors that name the value, before any
training starts (configs, shapes, data, checkpoints, pickle files)."""
import pytest

from .conftest import run_a3



@pytest.fixture(scope="module")
def errors(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("a3_inputs")
    return run_a3(f"""
    import json, torch
    from pathlib import Path
    import vitdata
    from config import Config, ConfigError, load_config
    from checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from models import build_model
    from train import train

    tmp = Path({str(tmp)!r})
    out = {{}}

    def catch(name, fn):
        try:
            fn()
            out[name] = "no error"
        except Exception as e:
            out[name] = f"{{type(e).__name__}}: {{e}}"

    (tmp / "base.toml").write_text('model = "vit"\\nembed_dim = 32\\n')
    (tmp / "child.toml").write_text('base = "base.toml"\\ndepth = 3\\n')
    (tmp / "typo.toml").write_text('embed_dimm = 32\\n')
    (tmp / "type.toml").write_text('depth = "four"\\n')
    (tmp / "choice.toml").write_text('model = "resnet"\\n')
    (tmp / "loop.toml").write_text('base = "loop.toml"\\n')
    (tmp / "pool.toml").write_text('pool = "max"\\n')
    child = load_config(tmp / "child.toml", {{"lr": 0.002}})
    out["inherited"] = [child.model, child.embed_dim, child.depth, child.lr]
    for name in ("typo", "type", "choice", "loop", "pool"):
        catch(name, lambda n=name: load_config(tmp / f"{{n}}.toml"))
    catch("missing", lambda: load_config(tmp / "nope.toml"))
    catch("patch", lambda: build_model(Config(img_size=28, patch_size=5)))
    catch("hybrid_patch", lambda: build_model(Config(model="convit_hybrid", patch_size=7)))
    catch("heads", lambda: build_model(Config(embed_dim=30, num_heads=4)))
    catch("convit_heads", lambda: build_model(Config(model="convit", embed_dim=24, num_heads=6)))
    (tmp / "all_gpsa.toml").write_text('model = "convit"\\ndepth = 3\\nlocal_layers = 3\\n')
    catch("convit_cls_all_gpsa", lambda: load_config(tmp / "all_gpsa.toml"))
    catch("convit_cls_all_gpsa_built", lambda: build_model(Config(model="convit", depth=2, local_layers=2)))
    from convit import ConViT
    catch("convit_cls_all_gpsa_module", lambda: ConViT(depth=2, local_layers=2, pool="cls"))
    out["convit_mean_all_gpsa"] = type(build_model(Config(model="convit", depth=2, local_layers=2,
                                                          pool="mean"))).__name__
    # a config error must come before any data is looked for: no dataset is cached at this path
    catch("before_data", lambda: train(Config(patch_size=5, data_root=str(tmp / "no-data"), out_dir=str(tmp / "r"))))
    catch("no_data", lambda: train(Config(data_root=str(tmp / "no-data"), out_dir=str(tmp / "r2"), epochs=1)))
    x = torch.zeros(4, 3, 28, 28, dtype=torch.uint8)
    y = torch.zeros(4, dtype=torch.int64)
    catch("data_shape", lambda: train(Config(out_dir=str(tmp / "r3")), data=(x, y, x, y)))
    x1 = torch.zeros(4, 1, 28, 28, dtype=torch.uint8)
    catch("labels", lambda: train(Config(out_dir=str(tmp / "r4")), data=(x1, y + 12, x1, y)))
    cfg = Config(embed_dim=32, depth=1)
    path = save_checkpoint(tmp / "ck" / "checkpoint.safetensors", build_model(cfg), cfg)
    catch("ckpt_config", lambda: load_checkpoint(path, build_model(cfg.replace(embed_dim=64))))
    torch.save(build_model(cfg).state_dict(), tmp / "model.pt")
    catch("pickle", lambda: load_checkpoint(tmp / "model.pt"))
    (tmp / "junk.safetensors").write_bytes(b"not a checkpoint at all")
    catch("junk", lambda: load_checkpoint(tmp / "junk.safetensors"))
    out["configs"] = {{p.stem: [load_config(p).model, type(build_model(load_config(p))).__name__]
                       for p in sorted(Path("configs").glob("*.toml"))}}
    catch("resume_nothing", lambda: train(Config(out_dir=str(tmp / "empty"), synthetic=True, epochs=1), resume=True))
    print(json.dumps(out))
    """)


@pytest.mark.parametrize("case,words", [
    ("typo", ["typo.toml", "embed_dimm", "did you mean 'embed_dim'"]),
    ("type", ["type.toml", "depth", "'four'", "int"]),
    ("choice", ["choice.toml", "model", "'resnet'", "'convit'"]),
    ("loop", ["loops"]),
    ("pool", ["pool", "'max'"]),
    ("missing", ["nope.toml", "not found"]),
    ("patch", ["patch_size = 5", "img_size = 28"]),
    ("hybrid_patch", ["convit_hybrid", "patch_size = 7"]),
    ("heads", ["embed_dim = 30", "num_heads = 4"]),
    ("convit_heads", ["square num_heads", "6"]),
    ("convit_cls_all_gpsa", ["ConfigError", "all_gpsa.toml", "local_layers = 3", "depth = 3", "pool = 'cls'"]),
    ("convit_cls_all_gpsa_built", ["ConfigError", "local_layers = 2", "pool = 'cls'"]),
    ("convit_cls_all_gpsa_module", ["ValueError", "local_layers 2", "pool='cls'"]),
    ("before_data", ["ConfigError", "patch_size = 5"]),
    ("no_data", ["DatasetMissingError"]),
    ("data_shape", ["x_train", "(N, 1, 28, 28)", "(4, 3, 28, 28)"]),
    ("labels", ["y_train", "[0, 10)"]),
    ("ckpt_config", ["CheckpointError", "embed_dim", "32", "64"]),
    ("pickle", ["CheckpointError", "pickle", "model.pt"]),
    ("junk", ["CheckpointError", "not a safetensors file"]),
    ("resume_nothing", ["CheckpointError", "nothing to resume"]),
])
def test_bad_input_is_named(errors, case, words):
    message = errors[case]
    for w in words:
        assert w in message, f"{case}: {w!r} not in {message!r}"


def test_convit_all_gpsa_with_mean_pooling_builds(errors):
    """Every block GPSA is a valid ConViT when it pools by averaging (no class token)."""
    assert errors["convit_mean_all_gpsa"] == "ConViT"


def test_base_inheritance_and_overrides(errors):
    assert errors["inherited"] == ["vit", 32, 3, 0.002]


def test_shipped_configs_load_and_build(errors):
    assert errors["configs"] == {"mnist_convit": ["convit", "ConViT"], "mnist_hybrid": ["convit_hybrid", "HybridConViT"],
                                 "mnist_vit": ["vit", "VisionTransformer"], "smoke": ["convit", "ConViT"]}
