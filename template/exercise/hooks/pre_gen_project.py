"""Check every answer before anything is written; exit 1 with a message naming the bad value."""
import json
import sys

ROOT = {{ cookiecutter.__root | tojson }}
CONTEXT = json.loads({{ cookiecutter | jsonify | tojson }})
sys.path.insert(0, ROOT)
from template.exercise import exercise_plan  # noqa: E402
from template.options import TemplateError  # noqa: E402

try:
    exercise_plan(CONTEXT, ROOT)
except TemplateError as e:
    print(f"new-exercise: error: {e}", file=sys.stderr)
    print("new-exercise: nothing was generated", file=sys.stderr)
    sys.exit(1)
