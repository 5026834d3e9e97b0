"""The sandboxed notebook kernel: runs a student's notebook cells and answers calls.

Run as `python -I kernel.py LIMITS_JSON SUBMISSION REQ_FD RESP_FD` (inside bubblewrap
when available). Before any student code it lowers its rlimits and installs the
no-new-processes seccomp filter, copies the submission into a fresh folder under $TMPDIR
(the sandbox's own size-capped tmpfs) and works there, so nothing the notebook writes
reaches a host folder.

Protocol (wire.py frames): the trusted side sends {"op": "run", "source", "timeout"} per
cell and gets the cell's outputs back as plain data; then {"op": "call" | "getattr",
"target", ...} for the names graded cells export, answered with wire values as the `.py`
worker does. Every reply echoes the request's "seq". Everything said here is untrusted by
the grader: outputs only ever end up as text in feedback, values only as test inputs.
"""
from __future__ import annotations

import base64
import io
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import traceback

GRADER_LIB = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TEXT_KEEP = 32 << 10          # characters of one cell's stdout/stderr kept (head + tail)
IMAGE_KEEP = 512 << 10        # bytes of one PNG figure
MAX_OUTPUTS = 20


class CellTimeout(Exception):
    """A cell ran past its time limit (raised by SIGALRM inside the cell)."""


def confine(limits: dict) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
    sys.path.insert(0, GRADER_LIB)
    from autograder.engine.inside import seccomp
    if seccomp.supported():
        seccomp.install()


def _shorten(text: str) -> str:
    if len(text) <= TEXT_KEEP:
        return text
    half = TEXT_KEEP // 2
    return f"{text[:half]}\n[... {len(text) - TEXT_KEEP} characters not shown ...]\n{text[-half:]}"


def _alarm(signum, frame):
    raise CellTimeout("the cell ran past its time limit")


class Kernel:
    def __init__(self, submission: str):
        from IPython.core.interactiveshell import InteractiveShell

        self.work = tempfile.mkdtemp(prefix="notebook-")
        shutil.copytree(submission, self.work, dirs_exist_ok=True, symlinks=True,
                        ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
        os.chdir(self.work)
        sys.path.insert(0, self.work)
        self.shell = InteractiveShell.instance(colors="NoColor")
        self.shell.showtraceback = lambda *a, **k: None    # errors travel as data instead
        self.objects: dict[int, object] = {}
        signal.signal(signal.SIGALRM, _alarm)

    # -- cells -----------------------------------------------------------------------------
    def run(self, source: str, timeout: float) -> dict:
        from IPython.utils.capture import capture_output

        error = None
        with capture_output() as cap:
            signal.setitimer(signal.ITIMER_REAL, max(float(timeout), 0.001))
            try:
                result = self.shell.run_cell(source, store_history=True)
                exc = result.error_before_exec or result.error_in_exec
            except BaseException as e:  # noqa: BLE001 - the alarm may land outside the cell
                exc = e
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if exc is not None:
                error = _describe(exc)
            figures = _figures()
        outputs = []
        for name, text in (("stdout", cap.stdout), ("stderr", cap.stderr)):
            if text:
                outputs.append({"output_type": "stream", "name": name, "text": _shorten(text)})
        for rich in cap.outputs[:MAX_OUTPUTS]:
            data = {"text/plain": _shorten(str(rich.data.get("text/plain", "")))}
            png = rich.data.get("image/png")
            if isinstance(png, (bytes, str)) and len(png) < IMAGE_KEEP:
                data["image/png"] = png if isinstance(png, str) else base64.b64encode(png).decode()
            outputs.append({"output_type": "display_data", "data": data})
        outputs += figures
        return {"outputs": outputs[:MAX_OUTPUTS], "error": error,
                "timed_out": isinstance(exc, CellTimeout) if exc is not None else False}

    # -- exported names --------------------------------------------------------------------
    def keep(self, obj) -> int:
        self.objects[len(self.objects) + 1] = obj
        return len(self.objects)

    def resolve(self, hid: int):
        if hid not in self.objects:
            raise LookupError(f"unknown handle #{hid}")
        return self.objects[hid]

    def target(self, t):
        if isinstance(t, dict):      # a method or attribute of a handle
            obj = self.resolve(t["handle"])
            for part in str(t["attr"]).split("."):
                obj = getattr(obj, part)
            return obj
        if t == "@namespace":        # plain attributes for the call's input, e.g. a config
            import types
            return types.SimpleNamespace
        if t not in self.shell.user_ns:
            raise NameError(f"name {t!r} is not defined (run its cell)")
        return self.shell.user_ns[t]

    def call(self, msg: dict, blobs: list[bytes]):
        from autograder.engine.inside import wire

        fn = self.target(msg["target"])
        if msg["op"] == "getattr":
            return fn
        args = wire.decode(msg["args"], blobs, resolve=self.resolve)
        kwargs = wire.decode(msg["kwargs"], blobs, resolve=self.resolve)
        if not callable(fn):
            raise TypeError(f"{msg['target']} is not callable")
        signal.setitimer(signal.ITIMER_REAL, max(float(msg.get("timeout", 60)), 0.001))
        try:
            return fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def serve(self, rfd: int, wfd: int) -> None:
        from autograder.engine.inside import wire

        wire.send(wfd, {"ready": True})
        while True:
            try:
                msg, blobs = wire.recv(rfd)
            except EOFError:
                return
            seq = msg.get("seq")
            if msg.get("op") == "run":
                wire.send(wfd, {"seq": seq, **self.run(str(msg.get("source", "")), msg.get("timeout", 60))})
                continue
            try:
                value = self.call(msg, blobs)
                node, out = wire.encode(value, handle_of=self.keep)
                size = sum(len(b) for b in out)
                if size > wire.MAX_FRAME:   # say so instead of breaking the wire
                    raise ValueError(f"the value is too large to grade ({size / 2**20:.1f} MB; "
                                     f"the limit is {wire.MAX_FRAME >> 20} MB)")
                reply = {"seq": seq, "ok": True, "value": node}
            except BaseException as e:  # noqa: BLE001 - student code may raise anything
                reply, out = {"seq": seq, "ok": False, "error": _describe(e)}, []
            wire.send(wfd, reply, out)


def _describe(e: BaseException) -> dict:
    kind = ("not_implemented" if isinstance(e, NotImplementedError) else "memory" if isinstance(e, MemoryError)
            else "timeout" if isinstance(e, CellTimeout) else "missing" if isinstance(e, NameError) else "error")
    try:
        frames = traceback.format_exception(type(e), e, e.__traceback__, limit=-4)
        text = "".join(frames)
    except Exception:  # noqa: BLE001 - a hostile __str__
        text = ""
    try:
        message = str(e)
    except Exception:  # noqa: BLE001
        message = "<unprintable exception>"
    return {"ename": type(e).__name__, "evalue": message[:2000], "kind": kind,
            "traceback": _shorten(text)[-4000:]}


def _figures() -> list[dict]:
    """Open matplotlib figures as PNGs, as the inline backend would show them."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    out = []
    try:
        for num in plt.get_fignums()[:MAX_OUTPUTS]:
            buf = io.BytesIO()
            plt.figure(num).savefig(buf, format="png", dpi=60, bbox_inches="tight")
            if buf.tell() < IMAGE_KEEP:
                out.append({"output_type": "display_data",
                            "data": {"image/png": base64.b64encode(buf.getvalue()).decode(),
                                     "text/plain": f"<Figure {num}>"}})
        plt.close("all")
    except Exception:  # noqa: BLE001 - a broken figure is the student's business
        pass
    return out


def main() -> None:
    limits, submission, rfd, wfd = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    confine(limits)
    kernel = Kernel(submission)
    kernel.serve(rfd, wfd)


if __name__ == "__main__":
    main()
