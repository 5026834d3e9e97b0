"""Parsing the template's text options: `a1,a2`, `a1=100,a2=60`, `1.1=5`, numbers.

Every function raises `TemplateError` with a message that names the option and the value,
because these messages are what a course designer sees when the pre-generation hook stops.
"""
from __future__ import annotations

import math
import re


class TemplateError(ValueError):
    """Bad input to a template; the message names the option and the value."""


def words(text: str) -> list[str]:
    """'a1, a2 a3' -> ['a1', 'a2', 'a3'] (commas and/or spaces separate)."""
    return [w for w in re.split(r"[,\s]+", str(text).strip()) if w]


def number(option: str, text, *, low: float | None = None, high: float | None = None,
           low_open: bool = False) -> float:
    """A finite number inside [low, high] (or (low, high] with low_open)."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise TemplateError(f"{option}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise TemplateError(f"{option}: {text!r} is not a finite number")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"<= {high:g}"
        raise TemplateError(f"{option}: {text!r} is out of range (must be {' and '.join(s for s in (lo, hi) if s)})")
    return value


def mapping(option: str, text: str) -> dict[str, str]:
    """'a1=100, 1.2=5' -> {'a1': '100', '1.2': '5'}; '' -> {}. Keys must be unique."""
    out: dict[str, str] = {}
    for item in words(text):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise TemplateError(f"{option}: {item!r} is not of the form key=value (in {text!r})")
        if key in out:
            raise TemplateError(f"{option}: {key!r} is given twice (in {text!r})")
        out[key] = value
    return out


def yes(option: str, value) -> bool:
    """cookiecutter booleans arrive as bool, or as text from --no-input extra context."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "on"):
        return True
    if text in ("0", "false", "no", "n", "off"):
        return False
    raise TemplateError(f"{option}: {value!r} is not yes or no")


def parse_extra(args: list[str]) -> dict[str, str]:
    """Command-line `key=value` words (as `make ... OPTS="..."` passes them)."""
    out: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise TemplateError(f"option {arg!r} is not of the form name=value")
        out[key] = value
    return out
