"""The sandboxed side: imports a student's modules and runs calls sent by the grader.

Started by `autograder.engine.sandbox` as `python -I worker.py REQ_FD RESP_FD`, inside
bubblewrap where available. `-I` means PYTHONPATH, the user site and the script's folder
are ignored, so the submission's `sitecustomize.py`, `usercustomize.py` and `.pth` files
never run; the submission folder is put on sys.path here, after start-up.

Protocol (see wire.py): an "init" message, answered once, then "call"/"getattr"
messages, each answered with {"ok": true, "value": ...} or {"ok": false, "error": ...}.
Everything this process says is untrusted by the grader: it only ever carries values.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback

GRADER_LIB = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, GRADER_LIB)

import numpy as np  # noqa: E402  (preloaded before any student code)

from autograder.engine.inside import doubles, wire  # noqa: E402

# modules whose public names student code may not rebind (the tamper check): what graders and
# the harness compute with, and what the harness observes files through (os.listdir, os.replace)
WATCHED = ("builtins", "numpy", "numpy.linalg", "numpy.random", "numpy.testing", "math",
           "torch", "torch.nn.functional", "torch.linalg", "torch.autograd", "os", "os.path", "shutil", "json")


class Missing(Exception):
    """The call's target (module, function, attribute) does not exist in the submission."""


class Worker:
    def __init__(self, init: dict):
        self.task = init["task"]
        self.submission = init["submission_dir"]
        self.given: dict[str, str] = init.get("given_sources") or {}
        self.owners: dict[str, dict[str, str]] = init.get("owners", {})
        self.doubles = [tuple(p) for p in init.get("doubles", [])]
        self.assignment = init.get("assignment", "")
        self.objects: dict[int, object] = {}
        self.ids: dict[int, int] = {}
        self.import_errors: dict[str, BaseException] = {}
        for name in init.get("preload", []):
            importlib.import_module(name)
        _import_harness(self.assignment)
        self.snapshot = _snapshot()
        sys.path.insert(1, self.submission)
        os.chdir(init.get("cwd", self.submission))

    # -- set-up --------------------------------------------------------------------------
    def import_student(self) -> None:
        for mod in self.owners:
            try:
                importlib.import_module(mod)
            except BaseException as e:  # noqa: BLE001 - SyntaxError, SystemExit, anything
                self.import_errors[mod] = e
        self.isolate()

    def isolate(self) -> None:
        """Given code goes back to its released version, and the code of this assignment's
        other tasks is replaced by the harness's test doubles (engine/inside/doubles.py)."""
        replaced: dict[int, tuple[object, object]] = {}   # id(old) -> (old, new); old kept alive so ids stay unique
        for mod, source in self.given.items():
            student = sys.modules.get(mod)
            if student is None:
                continue
            try:
                released = _load_given(source, mod)
            except BaseException:  # noqa: BLE001 - e.g. it imports a student module that fails
                continue
            for qual in sorted(self.owners.get(mod, {})):
                old = _swap(student, released, qual)
                if old is not None:
                    replaced[id(old[0])] = old
        if self.doubles:
            table = doubles.table(os.path.join(GRADER_LIB, "autograder", "harness"), self.assignment)
            for owner, name, old in doubles.install(sys.modules, self.doubles, table):
                if callable(old) and not isinstance(owner, type):
                    replaced[id(old)] = (old, getattr(owner, name))
        if replaced:
            _rebind(replaced, (self.submission, GIVEN_FILE))

    # -- calls ---------------------------------------------------------------------------
    def keep(self, obj) -> int:
        key = id(obj)
        if key not in self.ids:
            hid = len(self.objects) + 1
            self.objects[hid] = obj
            self.ids[key] = hid
        return self.ids[key]

    def resolve(self, hid: int):
        if hid not in self.objects:
            raise wire.ProtocolError(f"unknown handle #{hid}")
        return self.objects[hid]

    def target(self, msg: dict):
        t = msg["target"]
        if isinstance(t, dict):  # a method or attribute of a handle
            obj = self.resolve(t["handle"])
            return _getattr_chain(obj, t["attr"].split("."), type(obj).__name__)
        if t.startswith("harness:"):
            path = t[len("harness:"):]
            mod, _, attr = path.rpartition(".")
            return _getattr_chain(importlib.import_module(f"autograder.harness.{mod}"),
                                  attr.split("."), f"harness {mod}")
        return self.student_target(t)

    def student_target(self, dotted: str):
        parts = dotted.split(".")
        mod = parts[0]
        if mod in self.import_errors:
            raise self.import_errors[mod]
        if mod not in sys.modules:
            if importlib.util.find_spec(mod) is None:
                raise Missing(f"module {mod!r} not found in the submission")
            importlib.import_module(mod)
        return _getattr_chain(sys.modules[mod], parts[1:], mod)

    def handle(self, msg: dict) -> dict:
        op = msg.get("op")
        try:
            fn = self.target(msg)
            if op == "call":
                args = wire.decode(msg["args"], self._blobs, resolve=self.resolve)
                kwargs = wire.decode(msg["kwargs"], self._blobs, resolve=self.resolve)
                if not callable(fn):
                    raise Missing(f"{_name(msg['target'])} is not callable")
                value = fn(*args, **kwargs)
            elif op == "getattr":
                value = fn
            else:
                raise wire.ProtocolError(f"unknown op {op!r}")
        except wire.ProtocolError:
            raise
        except MemoryError:
            # the trusted side takes "out of memory" only from how this process ends, never
            # from a field of a reply: end the way the grader recognises
            os._exit(MEMORY_EXIT)
        except BaseException as e:  # noqa: BLE001 - student code may raise SystemExit etc.
            return {"ok": False, "error": self.describe(e)}
        return {"ok": True, "value": value}

    def describe(self, e: BaseException) -> dict:
        kind = ("missing" if isinstance(e, (Missing, ModuleNotFoundError)) and _is_missing(e, self)
                else "not_implemented" if isinstance(e, NotImplementedError)
                else "error")
        return {"type": _safe(lambda: type(e).__name__, "Exception"), "kind": kind,
                "message": _safe(lambda: str(e), "<unprintable exception>")[:2000],
                "traceback": _student_traceback(e, self.submission)}

    def serve(self, rfd: int, wfd: int) -> None:
        while True:
            try:
                msg, self._blobs = wire.recv(rfd)
            except EOFError:
                return
            reply = self.handle(msg)
            tampered = _changed(self.snapshot)
            if tampered:
                reply = {"ok": False, "tampered": tampered}
            _send_reply(wfd, reply, self.keep)


def _import_harness(assignment: str) -> None:
    """The assignment's harness module and test doubles, before the tamper check's snapshot,
    so their state is watched from the start (neither imports a student module at import)."""
    if not assignment:
        return
    doubles.table(os.path.join(GRADER_LIB, "autograder", "harness"), assignment)
    if importlib.util.find_spec(f"autograder.harness.{assignment}") is not None:
        importlib.import_module(f"autograder.harness.{assignment}")


def _is_missing(e: BaseException, w: Worker) -> bool:
    if isinstance(e, Missing):
        return True
    # a ModuleNotFoundError is "missing" only when the missing module is the target itself
    return getattr(e, "name", None) in w.owners


def _getattr_chain(obj, names: list[str], where: str):
    for name in names:
        if name.startswith("__") or not name.isidentifier():
            raise Missing(f"{name!r} cannot be called by the grader")
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise Missing(f"{where} has no attribute {name!r}") from None
        where = f"{where}.{name}"
    return obj


def _name(target) -> str:
    return target if isinstance(target, str) else f"<handle #{target.get('handle')}>.{target.get('attr')}"


GIVEN_FILE = "<given>"
MEMORY_EXIT = 75     # exit status of a worker whose student code ran out of memory (student.py)


def _load_given(source: str, mod: str):
    """Given code (an earlier assignment's, shipped whole in this release) as released."""
    import types
    module = types.ModuleType(f"_vitlab_given.{mod}")
    module.__file__ = f"{GIVEN_FILE}/{mod.replace('.', '/')}.py"
    sys.modules[module.__name__] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def _swap(student, ref, qual: str):
    """Put ref's `qual` (e.g. 'softmax' or 'Attention.forward') into the student's module."""
    *owner_path, name = qual.split(".")
    src, dst = ref, student
    for part in owner_path:
        src, dst = getattr(src, part, None), getattr(dst, part, None)
        if src is None or dst is None:
            return None
    new = getattr(src, name, None)
    if new is None:
        return None
    old = getattr(dst, name, None)
    try:
        setattr(dst, name, new)
    except (AttributeError, TypeError):
        return None
    return (old, new) if old is not None else None


def _rebind(replaced: dict[int, tuple[object, object]], roots: tuple[str, ...]) -> None:
    """`from layers import softmax` copied the old object; point every such name at the new one."""
    for mod in list(sys.modules.values()):
        file = getattr(mod, "__file__", None) or ""
        if not file.startswith(roots):
            continue
        ns = getattr(mod, "__dict__", {})
        for k, v in list(ns.items()):
            pair = replaced.get(id(v))
            if pair is not None and pair[0] is v:
                ns[k] = pair[1]


def _snapshot() -> dict:
    snap = {}
    for name in WATCHED:
        mod = sys.modules.get(name)
        if mod is not None:
            snap[name] = {k: id(v) for k, v in vars(mod).items() if not k.startswith("_") or name == "builtins"}
    torch = sys.modules.get("torch")
    if torch is not None:
        snap["torch.Tensor"] = {k: id(v) for k, v in vars(torch.Tensor).items()}
    for name, mod in list(sys.modules.items()):   # the grader's own code in here: harness and engine
        if name.startswith(OWN) and mod is not None:
            snap[name] = _own_state(mod)
    return snap


OWN = ("autograder.harness.", "autograder.engine.")


def _own_state(mod) -> dict:
    """A module of the grader's: every function's code, and the contents of its constants
    (BANNED_FUNCTIONS.clear() keeps the dict's id, not its items). Private caches (`_FIXED`)
    and the names a module lists in `_MUTABLE` may change."""
    mutable = set(getattr(mod, "_MUTABLE", ()))
    out = {}
    for k, v in vars(mod).items():
        if k in mutable or k.startswith("__"):
            continue
        if callable(v) and hasattr(v, "__code__"):
            out[k] = (id(v), id(v.__code__), id(v.__defaults__), id(v.__kwdefaults__))
        elif isinstance(v, type) and v.__module__ == mod.__name__:
            out[k] = (id(v), frozenset((a, id(b)) for a, b in vars(v).items()))
        elif k.isupper() and not k.startswith("_") and isinstance(v, (dict, list, set, tuple)):
            items = v.items() if isinstance(v, dict) else enumerate(v) if not isinstance(v, set) else ((x, x) for x in v)
            out[k] = (id(v), frozenset((repr(a)[:200], id(b)) for a, b in items))
    return out


def _changed(snap: dict) -> list[str]:
    out = []
    for name, attrs in snap.items():
        if name.startswith(OWN):
            mod = sys.modules.get(name)
            now = _own_state(mod) if mod is not None else {}
        else:
            obj = sys.modules.get(name) if name != "torch.Tensor" else sys.modules["torch"].Tensor
            now = {k: id(v) for k, v in vars(obj).items()} if obj is not None else {}
        for k, ident in attrs.items():
            if k not in now or now[k] != ident:
                out.append(f"{name}.{k}")
    return out[:10]


def _safe(fn, default: str) -> str:
    try:
        return str(fn())
    except BaseException:  # noqa: BLE001
        return default


def _student_traceback(e: BaseException, submission: str) -> str:
    """Frames from the student's own files only: never the grader's or a reference's."""
    try:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith(submission)]
        if isinstance(e, SyntaxError) and e.filename and str(e.filename).startswith(submission):
            lines = traceback.format_exception_only(type(e), e)
        else:
            lines = traceback.format_list(frames) + [f"{type(e).__name__}: {_safe(lambda: str(e), '?')[:500]}\n"]
        text = "".join(lines).replace(submission + "/", "")
        return text[-4000:]
    except BaseException:  # noqa: BLE001
        return ""


def _send_reply(wfd: int, reply: dict, keep) -> None:
    if reply.get("ok"):
        try:
            node, blobs = wire.encode(reply["value"], handle_of=keep)
        except BaseException as e:  # noqa: BLE001 - e.g. a tensor that cannot be saved
            reply = {"ok": False, "error": {"type": type(e).__name__, "kind": "error",
                                            "message": f"the result could not be sent: {e}"[:500],
                                            "traceback": ""}}
        else:
            wire.send(wfd, {"ok": True, "value": node}, blobs)
            return
    wire.send(wfd, reply)


def confine(init: dict) -> None:
    """Lower our own limits before any student code exists (lowering needs no privilege)."""
    import resource
    for name, value in init.get("rlimits", {}).items():
        resource.setrlimit(getattr(resource, name), (value, value))
    if init.get("seccomp", True):  # the zygote that forked us had to keep fork
        from autograder.engine.inside import seccomp
        if seccomp.supported():
            seccomp.install()


def run(rfd: int, wfd: int) -> None:
    """Serve one task: the init message, then calls until the grader closes the pipe."""
    msg, _ = wire.recv(rfd)
    confine(msg)
    worker = Worker(msg)
    worker.import_student()
    tampered = _changed(worker.snapshot)
    errors = {m: worker.describe(e) for m, e in worker.import_errors.items()}
    wire.send(wfd, {"ok": True, "import_errors": errors, "tampered": tampered})
    worker.serve(rfd, wfd)


if __name__ == "__main__":
    run(int(sys.argv[1]), int(sys.argv[2]))
