"""Copy the kit's own files into the rendered course, drop the unchosen parts, rewrite
points and release. On failure cookiecutter removes the half-made course."""
import json
import sys
from pathlib import Path

KIT = {{ cookiecutter.__kit | tojson }}
CONTEXT = json.loads({{ cookiecutter | jsonify | tojson }})
sys.path.insert(0, KIT)
from template.bake import bake  # noqa: E402
from template.options import TemplateError  # noqa: E402
from template.plan import course_plan  # noqa: E402

try:
    for line in bake(course_plan(CONTEXT, Path(KIT)), Path.cwd(), CONTEXT.get("_venv", "")):
        print(line)
except TemplateError as e:
    print(f"new-course: error: {e}", file=sys.stderr)
    print("new-course: the half-made course was removed", file=sys.stderr)
    sys.exit(1)
