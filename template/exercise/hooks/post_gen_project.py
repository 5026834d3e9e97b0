"""Move the baked files into the course, register the task, release; then remove the
staging folder this hook runs in. Any failure puts the course back as it was."""
import json
import shutil
import sys
from pathlib import Path

ROOT = {{ cookiecutter.__root | tojson }}
CONTEXT = json.loads({{ cookiecutter | jsonify | tojson }})
sys.path.insert(0, ROOT)
from template.exercise import exercise_plan, install  # noqa: E402
from template.options import TemplateError  # noqa: E402

staged = Path.cwd()
try:
    for line in install(exercise_plan(CONTEXT, ROOT), staged):
        print(line)
except TemplateError as e:
    print(f"new-exercise: error: {e}", file=sys.stderr)
    print("new-exercise: the course was left unchanged", file=sys.stderr)
    sys.exit(1)
finally:
    shutil.rmtree(staged, ignore_errors=True)
