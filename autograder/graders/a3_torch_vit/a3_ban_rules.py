"""What an Assignment 3 student file may use: the allow-list behind a3_ban.py (trusted side).

The scan cannot run the code, so it cannot know which object a name holds (`m = F` through a
tuple, a parameter, a container). Instead of chasing each known route to library attention
or to code run from a string, a student file may only use what is listed here:

- **imports**: the modules in ALLOWED_MODULES (torch only through TORCH_MODULES), and the
  submission's own modules (not its tests, conftest or handin.py, which run in pytest only);
  a module whose name has a private part (`torch._C`) or is in DENIED_MODULES is refused;
- **names**: the builtins that run or reach code by a computed name (eval, exec, compile,
  __import__, globals, vars, breakpoint ...) are refused wherever they appear, and
  getattr/setattr/hasattr/delattr, attrgetter/methodcaller and import_module only with
  literal names, which are then checked like written ones;
- **attributes**: dunders only from DUNDERS; no attribute in REFUSED_ATTRS, on any object
  (whichever object holds it: `vitdata.cifar.pickle` is the pickle module); no private
  attribute of a library module (`F._canonical_mask`); `sys` only as `sys.<SYS_NAMES>`.
Strings in annotations (which typing.get_type_hints and singledispatch evaluate) are parsed
and checked as code.
"""
from __future__ import annotations

import ast
import functools
import importlib.util
import sys

# Names that are attention (or a whole transformer layer) done by a library.
BANNED_NAMES = {
    "MultiheadAttention": "nn.MultiheadAttention",
    "TransformerEncoderLayer": "nn.TransformerEncoderLayer",
    "TransformerEncoder": "nn.TransformerEncoder",
    "TransformerDecoderLayer": "nn.TransformerDecoderLayer",
    "TransformerDecoder": "nn.TransformerDecoder",
    "scaled_dot_product_attention": "F.scaled_dot_product_attention",
    "multi_head_attention_forward": "F.multi_head_attention_forward",
    "_native_multi_head_attention": "torch._native_multi_head_attention",
    "_scaled_dot_product_attention_math": "torch._scaled_dot_product_attention_math",
    "_scaled_dot_product_flash_attention": "torch._scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention": "torch._scaled_dot_product_efficient_attention",
    "flex_attention": "flex_attention",
    "_transformer_encoder_layer_fwd": "torch._transformer_encoder_layer_fwd",
    # switching off the sandbox's guard against the calls above
    "DisableTorchFunction": "torch._C.DisableTorchFunction (switches off the attention guard)",
    "DisableTorchFunctionSubclass": "torch._C.DisableTorchFunctionSubclass (switches off the attention guard)",
    "_pop_torch_function_stack": "torch._C._pop_torch_function_stack (switches off the attention guard)",
    "_pop_mode": "_pop_mode (switches off the attention guard)",
}
# `nn.Transformer` is only banned as an attribute of torch.nn (a student class may be called Transformer).
BANNED_ATTRS_OF_NN = {"Transformer": "nn.Transformer"}
BANNED_MODULES = ("timm", "einops.layers", "xformers", "flash_attn", "torch.nn.attention", "torchvision.models")

ALLOWED_MODULES = frozenset({
    "__future__", "abc", "argparse", "array", "bisect", "cmath", "collections", "concurrent", "contextlib",
    "copy", "csv", "dataclasses", "datetime", "decimal", "difflib", "enum", "errno", "fnmatch", "fractions",
    "functools", "glob", "gzip", "hashlib", "heapq", "io", "itertools", "json", "logging", "math", "numbers",
    "operator", "os", "pathlib", "platform", "pprint", "queue", "random", "re", "resource", "shutil", "signal", "stat",
    "statistics", "struct", "sys", "tempfile", "textwrap", "threading", "time", "tomllib", "types", "typing",
    "uuid", "warnings", "zlib", "string", "traceback", "base64", "calendar", "colorsys", "unicodedata",
    "secrets", "typing_extensions",
    "numpy", "torch", "torchvision", "safetensors", "matplotlib", "PIL", "tqdm", "einops", "pytest",
})
# torch is large: only these parts of it (and what is inside them) may be imported.
TORCH_MODULES = ("torch.nn", "torch.nn.functional", "torch.nn.init", "torch.nn.utils", "torch.nn.parameter",
                 "torch.nn.modules", "torch.optim", "torch.utils.data", "torch.linalg", "torch.fft", "torch.special",
                 "torch.autograd", "torch.func", "torch.distributions", "torch.amp", "torch.cuda", "torch.random",
                 "torch.types", "torch.testing", "torch.backends")
TORCH_EXACT = ("torch", "torch.utils")
DENIED_MODULES = ("numpy.ctypeslib", "numpy.f2py", "numpy.distutils", "numpy.testing.extbuild", "logging.config",
                  "PIL.ImageMath", "concurrent.futures.process", "matplotlib.testing", "torch.nn.modules.activation",
                  "torch.nn.modules.transformer")
# local modules a task file may not import: they run under pytest only and may hold course code
# that is fine there but not where grading runs (tests/test_notebook.py execs notebook cells)
NOT_FROM_TASK_FILES = ("tests", "conftest", "handin")

RUNS_CODE = "runs code the scan cannot read"
REACHES = "reaches objects the scan cannot follow"
# Refused on any object, and as a literal name given to getattr & co.
REFUSED_ATTRS = {
    **{n: f"the {n} module ({RUNS_CODE})" for n in (
        "pickle", "_pickle", "cPickle", "marshal", "ctypes", "_ctypes", "cffi", "importlib", "imp", "zipimport",
        "pkgutil", "runpy", "code", "codeop", "timeit", "doctest", "pdb", "bdb", "cProfile", "pydoc", "site",
        "subprocess", "multiprocessing", "shelve", "dill", "cloudpickle", "joblib", "copyreg", "xmlrpc")},
    **{n: f"the {n} module ({REACHES})" for n in (
        "sys", "builtins", "gc", "inspect", "weakref", "unittest", "string", "autograder", "ctypeslib", "f2py",
        "distutils", "tests", "conftest", "handin")},
    # torch's own ways to run code from strings, files or graphs, or to undo the attention guard
    **{n: f"torch.{n} ({RUNS_CODE} or undoes the attention guard)" for n in (
        "library", "ops", "classes", "jit", "hub", "package", "fx", "overrides", "cpp_extension", "ao", "export",
        "onnx", "compiler", "distributed", "serialization", "_C", "_VF", "_ops", "_dynamo", "_inductor", "_decomp",
        "_refs", "_prims", "_library", "_higher_order_ops", "_functorch", "_subclasses", "_jit_internal",
        "_python_dispatch", "_internal", "_utils_internal", "_custom_op", "_custom_ops", "_export", "_lazy",
        "_pop_mode_temporarily", "_push_mode", "_set_torch_function_mode", "ImageMath")},
    # processes and executables: a new program reads code from its command line
    **{n: f"os.{n} (starts a program: {RUNS_CODE})" for n in (
        "system", "popen", "execv", "execve", "execl", "execle", "execlp", "execlpe", "execvp", "execvpe",
        "fexecve", "posix_spawn", "posix_spawnp", "spawnv", "spawnve", "spawnl", "spawnle", "spawnlp",
        "spawnlpe", "spawnvp", "spawnvpe", "fork", "forkpty", "memfd_create", "startfile")},
    # evaluate strings (annotations) or reach frames and code objects
    **{n: f"{n} (evaluates strings: {RUNS_CODE})" for n in (
        "get_type_hints", "ForwardRef", "_eval_type", "evaluate_forward_ref", "singledispatch",
        "singledispatchmethod", "dictConfig", "fileConfig", "CodeType", "FunctionType", "LambdaType")},
    **{n: f"{n} (reflection: {REACHES})" for n in (
        "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "gi_frame", "gi_code",
        "cr_frame", "cr_code", "ag_frame", "co_consts", "co_names", "co_code", "settrace", "setprofile",
        "_getframe", "_current_frames", "walk_stack", "walk_tb")},
    # string.Formatter follows "0.nn.functional.name" fields to the object itself (str.format only
    # ever returns text): the string module is allowed, its field lookup is not
    **{n: f"string.Formatter.{n} (reads attributes by names in strings: {REACHES})" for n in (
        "Formatter", "get_field")},
}
# Dunders that only name or call what plain code does; every other one is reflection.
DUNDERS = frozenset({
    "__init__", "__name__", "__qualname__", "__doc__", "__class__", "__module__", "__version__", "__file__",
    "__all__", "__len__", "__call__", "__enter__", "__exit__", "__iter__", "__next__", "__getitem__",
    "__setitem__", "__contains__", "__repr__", "__str__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__",
    "__ge__", "__hash__", "__bool__", "__post_init__", "__add__", "__sub__", "__mul__", "__truediv__",
    "__matmul__", "__neg__", "__slots__", "__future__"})
SYS_NAMES = frozenset({"argv", "stdout", "stderr", "stdin", "exit", "version", "version_info", "platform",
                       "maxsize", "float_info", "byteorder", "getrecursionlimit", "setrecursionlimit", "getsizeof",
                       "hexversion", "executable", "flags"})
# builtins that run strings as code or read names by a computed name, wherever they appear
REFUSED_BUILTINS = {
    **{n: f"{n}() (dynamic code cannot be checked for library attention)" for n in ("eval", "exec", "compile", "__import__")},
    **{n: f"{n}() (reads names by a computed name)" for n in ("globals", "locals", "vars")},
    "breakpoint": "breakpoint() (the debugger runs commands from files: it runs code the scan cannot read)",
    "help": "help() (pydoc imports modules by a computed name)",
    "__builtins__": "__builtins__ (reflection: reads builtins by a computed name)",
    "__loader__": "__loader__ (reflection: loads code the scan cannot read)",
    "__spec__": "__spec__ (reflection: loads code the scan cannot read)",
}
# private names of a library that given code uses and that reach nothing else
PRIVATE_OK = frozenset({"_standard_gamma", "_orig_mod"})
NAMED_BY_VALUE = ("getattr", "setattr", "delattr", "hasattr")
BY_DOTTED_NAME = ("attrgetter", "methodcaller")
IMPORTERS = ("import_module", "importorskip")
UNSAFE_KWARGS = {"weights_only": False, "allow_pickle": True}


def stdlib_or_installed(top: str) -> bool:
    """A module name Python finds outside the submission (a local `pickle.py` does not win:
    the real one is already imported)."""
    return top in sys.stdlib_module_names or top in ALLOWED_MODULES or top in sys.builtin_module_names


def module_verdict(name: str, local: set[str], task_file: bool) -> str | None:
    """Why importing `name` is refused, or None."""
    top = name.split(".")[0]
    if any(name == m or name.startswith(m + ".") for m in BANNED_MODULES):
        return "attention"
    if top in local and not stdlib_or_installed(top):
        if task_file and (top in NOT_FROM_TASK_FILES or top.startswith("test_")):
            return f"import {name} (tests, conftest and handin.py run under pytest only, not in a task's code)"
        return None
    if any(p.startswith("_") for p in name.split(".")[1:]) or (top.startswith("_") and top != "__future__"):
        return f"import {name} (a private module: {REACHES})"
    if top not in ALLOWED_MODULES:
        return f"import {name} (not a module a3 files may import: see the allow-list in a3_ban_rules.py)"
    if not _installed(top):   # found only where student code could put it (a folder it adds to sys.path)
        return f"import {name} (not installed where grading runs)"
    if any(name == m or name.startswith(m + ".") for m in DENIED_MODULES):
        return f"import {name} ({RUNS_CODE})"
    if top == "torch" and name not in TORCH_EXACT and not any(name == m or name.startswith(m + ".")
                                                               for m in TORCH_MODULES):
        return f"import {name} (a part of torch a3 files may not use)"
    return None


@functools.lru_cache(maxsize=None)
def _installed(top: str) -> bool:
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def member_verdict(full: str, name: str) -> str | None:
    """Why `from X import name` (full = X.name) is refused beyond the name's own verdict, or None."""
    if any(full == m or full.startswith(m + ".") for m in BANNED_MODULES):
        return f"import {full}"
    if name.startswith("_") and not name.startswith("__"):
        return f"{full} (a library's private name: {REACHES})"
    if any(full == m or full.startswith(m + ".") for m in DENIED_MODULES):
        return f"import {full} ({RUNS_CODE})"
    return None


def attr_verdict(name: str) -> str | None:
    """Why reading the attribute `name` (on any object) is refused, or None."""
    if name.startswith("__") and name.endswith("__") and name not in DUNDERS:
        return f"{name} (reflection: reads objects by a computed name)"
    return REFUSED_ATTRS.get(name)


def annotation_strings(tree) -> list[ast.Constant]:
    """String annotations: typing.get_type_hints and functools.singledispatch evaluate them."""
    out = []
    for node in ast.walk(tree):
        anns = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            anns = [x.annotation for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if x] + [node.returns]
        elif isinstance(node, ast.AnnAssign):
            anns = [node.annotation]
        for ann in anns:
            out += [c for c in ast.walk(ann) if isinstance(c, ast.Constant) and isinstance(c.value, str)] if ann else []
    return out
