"""`python -m template course|exercise [--no-input] [name=value ...]`: run a template.

    python -m template course --dest ~/courses                       # asks every question
    python -m template course --no-input --dest /tmp course_id=cs231x assignments=a1,a2
    python -m template exercise                                      # asks every question
    python -m template exercise --no-input assignment=a1 title="Leaky ReLU" points=5

`make new-course` and `make new-exercise` call this. Answers given as name=value are
the defaults when asking, and the answers with --no-input.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

from template.options import TemplateError, parse_extra

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def answers(kind: str) -> dict:
    """The questions a template asks: its public cookiecutter.json keys and defaults."""
    path = HERE / kind / "cookiecutter.json"
    if not path.is_file():
        raise TemplateError(f"this course has no {kind} template ({path.parent} is missing): "
                            "bake new courses from the ViT Lab kit itself")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def run(kind: str, no_input: bool, extra: dict[str, str], output_dir: Path) -> Path:
    from cookiecutter.exceptions import CookiecutterException, FailedHookException, OutputDirExistsException
    from cookiecutter.main import cookiecutter

    # a failing hook has printed its own message; cookiecutter's traceback would bury it
    logging.getLogger("cookiecutter").setLevel(logging.CRITICAL)

    known = answers(kind)
    unknown = [k for k in extra if k not in known and not k.startswith("_")]
    if unknown:
        raise TemplateError(f"unknown option {unknown[0]!r} (the {kind} template asks for: {', '.join(known)})")
    for key, value in extra.items():
        if isinstance(known.get(key), list) and value not in known[key]:
            raise TemplateError(f"{key}: {value!r} is not one of {', '.join(known[key])}")
    try:
        return Path(cookiecutter(str(HERE / kind), no_input=no_input, extra_context=extra,
                                 output_dir=str(output_dir), default_config=True))
    except FailedHookException:
        raise SystemExit(1) from None          # the hook has printed why
    except OutputDirExistsException as e:
        raise TemplateError(f"{e}; choose another course_slug or --dest") from None
    except (CookiecutterException, ValueError) as e:
        raise TemplateError(str(e)) from None


def new_course(args, extra: dict[str, str]) -> int:
    dest = Path(args.dest).expanduser().resolve()
    if not dest.is_dir():
        raise TemplateError(f"--dest {args.dest}: no such folder")
    extra.setdefault("_kit_root", str(ROOT))
    if args.venv:
        extra["_venv"] = str(Path(args.venv).expanduser().resolve())
    course = run("course", args.no_input, extra, dest)
    setup = "" if args.venv else "make setup && "
    print(f"new-course: done: {course}\n  next: cd {course} && {setup}make test")
    return 0


def new_exercise(args, extra: dict[str, str]) -> int:
    root = Path(args.course).expanduser().resolve() if args.course else ROOT
    if not (root / "course.toml").is_file():
        raise TemplateError(f"--course {root}: not a course (it has no course.toml)")
    extra.setdefault("_course_root", str(root))
    with tempfile.TemporaryDirectory(prefix="vitlab-exercise-") as tmp:
        run("exercise", args.no_input, extra, Path(tmp))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m template", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="kind", required=True)
    c = sub.add_parser("course", help="bake a new course from this kit (make new-course)")
    c.add_argument("--dest", default="..", help="folder to create the course in (default: beside the kit)")
    c.add_argument("--venv", help="make the course's .venv a link to this one (no `make setup` needed)")
    e = sub.add_parser("exercise", help="add a task to an assignment of a course (make new-exercise)")
    e.add_argument("--course", help="the course's root folder (default: the one holding this template)")
    for s in (c, e):
        s.add_argument("--no-input", action="store_true", help="ask nothing; use defaults and name=value answers")
        s.add_argument("answers", nargs="*", metavar="name=value",
                       help="answers to the template's questions (see `make new-course` / `make new-exercise`)")
    args = p.parse_args(argv)
    tool = "new-course" if args.kind == "course" else "new-exercise"
    try:
        extra = parse_extra(args.answers)
        return new_course(args, extra) if args.kind == "course" else new_exercise(args, extra)
    except TemplateError as e:
        print(f"{tool}: error: {e}", file=sys.stderr)
        print(f"{tool}: nothing was generated", file=sys.stderr)
        return 1
    except SystemExit as e:
        return int(e.code or 0)


if __name__ == "__main__":
    sys.exit(main())
