"""Hidden graders, task 2.9: reading image files and the predict command."""
import io
import re

import numpy as np
import pytest
from PIL import Image

from autograder.engine.checks import GradingFailure, expect_close, sweep

pytestmark = pytest.mark.task2_9

MODEL = dict(model="ViT", image_size=28, in_chans=1, patch_size=7, dim=16, depth=1, num_heads=2, mlp_ratio=2.0,
             num_classes=10, pos="learned", pool="cls", final_norm=True, activation="gelu", dropout=0.0,
             label_smoothing=0.0, seed=3, dtype="float32")


def _encode(array, fmt):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt)
    return np.frombuffer(buf.getvalue(), dtype=np.uint8)


def _digit(rng, h, w, background):
    img = np.full((h, w), background, np.uint8)
    img[h // 4:3 * h // 4, w // 2 - 2:w // 2 + 2] = 255 - background  # a "1"
    return np.clip(img.astype(int) + rng.integers(-10, 10, img.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("case", ["png-28", "png-64x48", "jpeg-rgb-50x40", "png-light-background"])
def test_load_image(student, reference, rng, tmp_path, case):
    if case == "png-28":
        arr, fmt = _digit(rng, 28, 28, 0), "PNG"
    elif case == "png-64x48":
        arr, fmt = _digit(rng, 64, 48, 0), "PNG"
    elif case == "jpeg-rgb-50x40":
        arr, fmt = np.stack([_digit(rng, 50, 40, 0)] * 3, axis=-1), "JPEG"
    else:
        arr, fmt = _digit(rng, 40, 40, 255), "PNG"
    blob = _encode(arr, fmt)
    path = student.call("harness:a2.write_file", blob, "img." + fmt.lower())
    got = student.call("predict.load_image", path, 28, 1)
    local = tmp_path / ("img." + fmt.lower())
    local.write_bytes(blob.tobytes())
    expected = reference("predict").load_image(str(local), 28, 1)
    expect_close(got, expected, rtol=0, atol=1, name=f"load_image ({case})",
                 hint="convert to grey, resize to 28x28 (bilinear), shape (1, 1, 28, 28), uint8; "
                      "invert a light background")


def test_load_image_rgb_model(student, reference, rng, tmp_path):
    arr = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    blob = _encode(arr, "PNG")
    path = student.call("harness:a2.write_file", blob, "c.png")
    got = student.call("predict.load_image", path, 32, 3)
    local = tmp_path / "c.png"
    local.write_bytes(blob.tobytes())
    expect_close(got, reference("predict").load_image(str(local), 32, 3), rtol=0, atol=1,
                 name="load_image for a 3-channel 32x32 model")


def test_load_image_invert_options(student, reference, rng, tmp_path):
    """invert="yes" always inverts, "no" never does, "auto" only grey images with a light background
    (not an RGB model's image)."""
    def check(case):
        bg, chans = (255 if case["background"] == "light" else 0), case["in_chans"]
        arr = _digit(rng, 30, 26, bg)
        arr = np.stack([arr] * 3, axis=-1) if chans == 3 else arr
        blob = _encode(arr, "PNG")
        path = student.call("harness:a2.write_file", blob, "inv.png")
        got = student.call("predict.load_image", path, 28, chans, case["invert"])
        local = tmp_path / "inv.png"
        local.write_bytes(blob.tobytes())
        expect_close(got, reference("predict").load_image(str(local), 28, chans, case["invert"]), rtol=0, atol=1,
                     name=f"load_image(invert={case['invert']!r}) of a {case['background']} image, in_chans={chans}")
    sweep([dict(invert="yes", background="dark", in_chans=1), dict(invert="no", background="light", in_chans=1),
           dict(invert="auto", background="light", in_chans=1), dict(invert="yes", background="light", in_chans=3),
           dict(invert="auto", background="light", in_chans=3)], check)


def test_top_k(student, reference, rng):
    scores = rng.standard_normal(10) * 3
    got = student.call("predict.top_k", scores, 3)
    expected = reference("predict").top_k(scores, 3)
    if type(got) not in (list, tuple) or len(got) != 3:
        raise GradingFailure("top_k(scores, 3) should return 3 (class index, probability) pairs")
    for (gi, gp), (ei, ep) in zip(got, expected):
        if gi != ei:
            raise GradingFailure("top_k returned the classes in the wrong order")
        expect_close(gp, ep, rtol=1e-9, name="top_k probability")
    big = np.array([1000.0, 999.0, -1000.0])
    got = student.call("predict.top_k", big, 2)
    expect_close(got[0][1], float(1 / (1 + np.exp(-1.0))), rtol=1e-9, name="top_k probability with large scores",
                 hint="subtract the max before exp")


def test_predict_command(student, reference, rng):
    """End to end: checkpoint + image file -> three lines 'rank. class probability%'."""
    ckpt = student.call("harness:a2.write_checkpoint", MODEL)
    arr = _digit(rng, 28, 28, 0)
    img = student.call("harness:a2.write_file", _encode(arr, "PNG"), "digit.png")
    r = student.call("harness:a2.predict_main", ["--checkpoint", ckpt, img])
    if r["exception"] is not None or r["code"] not in (0, None):
        raise GradingFailure(f"predict.main failed: {r['exception'] or r['stderr'][-300:]}")
    model = reference("models").build_model(MODEL)
    pr = reference("predict")
    scores = model.loss(reference("data").normalize(arr[None, None], (0.1307,), (0.3081,)))[0]
    expected = pr.top_k(scores, 3)
    found = re.findall(r"^\s*(\d)\.\s+(\S+)\s+([\d.]+)%", r["stdout"], flags=re.M)
    if len(found) != 3:
        raise GradingFailure("the output should have 3 lines like '  1. 7   93.20%'")
    for (rank, name, pct), (ei, ep) in zip(found, expected):
        if name != str(ei) or abs(float(pct) / 100 - ep) > 1e-3:
            raise GradingFailure(f"line {rank}: expected another class or probability")


def test_bad_inputs_are_clear_errors(student):
    ckpt = student.call("harness:a2.write_checkpoint", MODEL)
    good = student.call("harness:a2.write_file", _encode(np.zeros((28, 28), np.uint8), "PNG"), "good.png")
    r = student.call("harness:a2.predict_main", ["--checkpoint", ckpt, good])
    if r["exception"] is not None or r["code"] not in (0, None):
        raise GradingFailure("predict.main should classify a valid image before bad inputs are tried")
    bad = student.call("harness:a2.write_file", np.frombuffer(b"\x00garbage, not an image", np.uint8), "broken.png")
    r = student.call("harness:a2.predict_main", ["--checkpoint", ckpt, bad])
    text = r["stderr"] + r["stdout"] + (r["exception"][1] if r["exception"] else "")
    if r["code"] in (0, None) and r["exception"] is None or "broken.png" not in text:
        raise GradingFailure("an unreadable image must give a non-zero exit and a message naming the file")
    img = student.call("harness:a2.write_file", _encode(np.zeros((28, 28), np.uint8), "PNG"), "ok.png")
    missing = ckpt + ".missing"
    r = student.call("harness:a2.predict_main", ["--checkpoint", missing, img])
    text = r["stderr"] + r["stdout"] + (r["exception"][1] if r["exception"] else "")
    if r["code"] in (0, None) and r["exception"] is None or "missing" not in text:
        raise GradingFailure("a missing checkpoint must give a non-zero exit and a message naming it")
