"""Hidden graders, task 2.5: whole models, float64 gradient checks, CLS and pooling paths."""
import numpy as np
import pytest

from a2util import expect_grad, expect_grads, expect_same, numeric_grad
from autograder.engine.checks import GradingFailure, expect_close

pytestmark = pytest.mark.task2_5

BASE = dict(model="ViT", image_size=8, in_chans=2, patch_size=4, dim=8, depth=2, num_heads=2, mlp_ratio=2.0,
            num_classes=3, pos="learned", pool="cls", final_norm=True, activation="gelu", dropout=0.0,
            label_smoothing=0.0, seed=0, dtype="float64")
VIT_CONFIGS = {
    "cls+learned": {},
    "mean+sin2d, no final norm": dict(pool="mean", pos="sin2d", final_norm=False, patch_size=2, depth=1),
    "cls+sin1d, relu, label smoothing": dict(pos="sin1d", activation="relu", label_smoothing=0.1, depth=1),
}
CONVIT = dict(model="ConViT", image_size=8, in_chans=2, channels=[3, 4], kernel_size=3, patch_size=1, dim=8,
              depth=1, num_heads=2, mlp_ratio=2.0, num_classes=3, final_norm=True, activation="gelu", dropout=0.0,
              label_smoothing=0.0, seed=0, dtype="float64")


def _setup(reference, rng, config):
    models = reference("models")
    model = models.build_model(config)
    params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in model.params.items()}  # off the init point
    model.params = {k: v.copy() for k, v in params.items()}
    X = rng.standard_normal((4, config["in_chans"], config["image_size"], config["image_size"]))
    y = rng.integers(0, config["num_classes"], 4)
    return model, params, X, y


def _check_model(student, reference, rng, config):
    model, params, X, y = _setup(reference, rng, config)
    scores = student.call("harness:a2.model_loss", config, params, X)
    expect_same(scores, model.loss(X), "scores (evaluation mode)", rtol=1e-9)
    loss, grads = student.call("harness:a2.model_loss", config, params, X, y)
    ref_loss, ref_grads = model.loss(X, y)
    expect_close(loss, float(ref_loss), rtol=1e-9, name="loss")
    expect_grads(grads, ref_grads, "grads", rtol=1e-6)
    # float64 gradient check of every parameter, on a sample of its entries
    for key, value in params.items():
        idx = np.random.default_rng(len(key)).choice(value.size, min(value.size, 6), replace=False)

        def f(z, key=key):
            model.params[key] = z
            return model.loss(X, y)[0]
        num = numeric_grad(f, value, index=idx)
        model.params[key] = value.copy()
        expect_grad(grads[key], num, f"grads[{key!r}]", index=idx)


@pytest.mark.parametrize("name", list(VIT_CONFIGS))
def test_vit_loss_and_gradients(student, reference, rng, name):
    _check_model(student, reference, rng, {**BASE, **VIT_CONFIGS[name]})


def test_convit_loss_and_gradients(student, reference, rng):
    _check_model(student, reference, rng, CONVIT)


def test_convit_stem_kernel_5(student, reference, rng):
    """ConViT with 5 x 5 stem convolutions: padding kernel_size // 2 keeps the feature map's size."""
    _check_model(student, reference, rng, {**CONVIT, "kernel_size": 5, "channels": [2, 3]})


@pytest.mark.parametrize("name", ["ViT", "ConViT"])
def test_dropout_train_and_eval(student, reference, rng, name):
    """With dropout 0.5: evaluation (no labels) drops nothing, so the scores equal the dropout-free
    model's; training draws from the model's own rng exactly as the reference does."""
    config = {**(BASE if name == "ViT" else CONVIT), "dropout": 0.5}
    model, params, X, y = _setup(reference, rng, config)
    scores = student.call("harness:a2.model_loss", config, params, X)
    model.config = {**model.config, "dropout": 0.0}
    expect_same(scores, model.loss(X), "scores in evaluation mode (dropout 0.5 must not act)", rtol=1e-9)
    loss, grads = student.call("harness:a2.model_loss", config, params, X, y)
    fresh = reference("models").build_model(config)   # a fresh model: its rng starts from the seed
    fresh.params = {k: v.copy() for k, v in params.items()}
    ref_loss, ref_grads = fresh.loss(X, y)
    expect_close(loss, float(ref_loss), rtol=1e-9, name="training loss with dropout 0.5")
    expect_grads(grads, ref_grads, "grads with dropout 0.5", rtol=1e-7)


def test_cls_token_gets_its_gradient(student, reference, rng):
    """With pool="cls" the head reads only the CLS token, so grads["cls"] carries the signal."""
    model, params, X, y = _setup(reference, rng, BASE)
    _, grads = student.call("harness:a2.model_loss", BASE, params, X, y)
    if type(grads) is not dict or "cls" not in grads:
        raise GradingFailure("grads has no 'cls' entry")
    expect_same(grads["cls"], model.loss(X, y)[1]["cls"], "grads['cls']", rtol=1e-6)


def test_float32_training_mode(student, reference, rng):
    """A float32 model keeps float32 gradients (that is what makes training fast)."""
    config = {**BASE, "dtype": "float32", "image_size": 28, "in_chans": 1, "patch_size": 7, "dim": 16}
    model = reference("models").build_model(config)
    X = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    loss, grads = student.call("harness:a2.model_loss", config, model.params, X, y)
    ref_loss, ref_grads = model.loss(X, y)
    expect_close(loss, float(ref_loss), rtol=1e-4, name="loss (float32)")
    for k, v in ref_grads.items():
        expect_close(grads.get(k), v, rtol=2e-2, atol=2e-3 * float(np.abs(v).max() + 1e-12),
                     name=f"grads[{k!r}] (float32)")
