"""Check every answer before anything is written; exit 1 with a message naming the bad value."""
import json
import sys
from pathlib import Path

KIT = {{ cookiecutter.__kit | tojson }}
CONTEXT = json.loads({{ cookiecutter | jsonify | tojson }})
sys.path.insert(0, KIT)
from template.options import TemplateError  # noqa: E402
from template.plan import course_plan  # noqa: E402

try:
    course_plan(CONTEXT, Path(KIT))
except TemplateError as e:
    print(f"new-course: error: {e}", file=sys.stderr)
    print("new-course: nothing was generated", file=sys.stderr)
    sys.exit(1)
