"""Student-controlled text made safe for every place a person reads it.

Exception messages and type names, printed output, file and folder names: all of it is
chosen by students. Each function here turns such text into data that cannot act as a
spreadsheet formula, a terminal escape sequence, reversed (bidi) text, Markdown or HTML
markup. The escapes are visible (`\\x1b`, `\\u202e`) so an instructor can see what was
sent; `clean`, `one_line` and `csv_cell` are idempotent (escaping twice changes nothing).
"""
from __future__ import annotations

import re

# Bidi embeddings, overrides and isolates, marks, zero-width characters and line
# separators: they reorder or hide text ("Trojan Source") and are never needed in a
# grading message.
_INVISIBLE = "\u00ad\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u2028\u2029" \
             "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064" \
             "\u2066\u2067\u2068\u2069\u206a\u206b\u206c\u206d\u206e\u206f\ufeff\ufff9\ufffa\ufffb"
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff" + _INVISIBLE + "]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff" + _INVISIBLE + "]")
# OWASP: a cell starting with one of these is read as a formula by spreadsheets
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# what can start inline markup or end a table cell mid-line (CommonMark + GFM)
_MD_PUNCT = re.compile(r"([\\`*_\[\]<>&|~])")


def _escape(match: re.Match) -> str:
    c = match.group()
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def clean(text: str) -> str:
    """Multi-line text (a log, a traceback): controls, bidi and invisible characters are
    escaped; newlines and tabs stay; \\r\\n becomes \\n."""
    text = str(text).replace("\r\n", "\n")
    return _UNSAFE.sub(_escape, text)


def one_line(text: str, limit: int | None = None) -> str:
    """Text for one line or cell: whitespace runs (newlines included) become one space,
    then every control, bidi and invisible character is escaped."""
    text = re.sub(r"[\n\t\x0b\x0c\r\x1c-\x1f\x85\u2028\u2029 ]+", " ", str(text)).strip()
    text = _UNSAFE_LINE.sub(_escape, text)
    if limit is not None and len(text) > limit:
        text = text[:limit - 3].rstrip() + "..."
    return text


def csv_cell(text: str) -> str:
    """A spreadsheet cell that is never a formula (OWASP CSV injection): one line, escaped,
    and prefixed with `'` when it starts (after any spaces) with = + - @, tab or CR."""
    text = one_line(text)
    if text.lstrip(" ").startswith(_FORMULA_START):
        text = "'" + text
    return text


def md_text(text: str) -> str:
    """Inline Markdown for text placed mid-line (a title, a table cell): one line, with
    every character that can open emphasis, a link, an HTML tag or a table cell escaped."""
    return _MD_PUNCT.sub(r"\\\1", one_line(text))


def md_code_span(text: str) -> str:
    """Untrusted one-line text as an inline code span: nothing inside is markup, not even
    a bare URL (GFM autolinks skip code). The backtick run is longer than any inside."""
    body = one_line(text)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    tick = "`" * (longest + 1)
    return f"{tick} {body} {tick}"


def md_code_block(text: str) -> list[str]:
    """Lines of a fenced code block holding `text` verbatim (escaped controls aside). The
    fence is one backtick longer than the longest run in the text, so nothing inside can
    close it (CommonMark and Python-Markdown alike); HTML inside a code block is literal."""
    body = clean(text).rstrip()
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", *body.split("\n"), fence]


def rich_text(text: str, limit: int | None = None):
    """A rich Text object (never parsed as console markup) for the terminal."""
    from rich.text import Text

    return Text(one_line(text, limit))
