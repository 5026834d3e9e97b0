.PHONY: release release-check check
release: $(STAMP) ## regenerate assignments/ (stubs, nbgrader notebooks) from solutions/ [ALLOW_OPEN_GIVEN=1]
	@$(PY) -m vitlab.release $(if $(call grade_flag,ALLOW_OPEN_GIVEN),--allow-open-given)

release-check: $(STAMP) ## fail if the committed assignments/ is out of sync with solutions/
	@$(PY) -m vitlab.release --check

# Which solutions/ folders `make check` tests: ASSIGNMENT's (or all), narrowed to the one that
# declares TASK. An unknown assignment or task is one line naming it and what exists.
define CHECK_WHICH
import sys
from vitlab.course import CourseError, load_course
key, task = sys.argv[1:3]
try:
    course = load_course()
    chosen = [course.assignment(key)] if key else list(course.assignments)
except CourseError as e:
    sys.exit(f"check: {e}")
if task:
    owners = [a for a in chosen if task in {t.id for t in a.tasks}]
    if not owners:
        known = ", ".join(t.id for a in chosen for t in a.tasks)
        sys.exit(f"check: no task {task!r} in {key or 'the course'} (its tasks: {known})")
    chosen = owners
print(" ".join(a.folder for a in chosen))
endef
export CHECK_WHICH

ASSIGNMENT ?=
check: $(STAMP) ## run public tests on the reference: make check [ASSIGNMENT=a1] [TASK=1.3]
	@folders=$$($(PY) -c "$$CHECK_WHICH" '$(ASSIGNMENT)' '$(TASK)') || exit 2; \
	for d in $$folders; do echo "== solutions/$$d"; \
	  (cd solutions/$$d && ../../$(PY) -m pytest $(if $(TASK),-m task$(subst .,_,$(TASK)))); rc=$$?; \
	  if [ $$rc = 5 ]; then echo "check: solutions/$$d has no public tests$(if $(TASK), for task $(TASK)) (the hidden graders still grade it)"; \
	  elif [ $$rc != 0 ]; then exit 1; fi; done

.PHONY: nbgrader-course
nbgrader-course: $(STAMP) ## build/nbgrader/ (or VITLAB_NBGRADER_COURSE): every student folder as an nbgrader course, released (docs/instructors/nbgrader.md) [ALLOW_OPEN_GIVEN=1]
	@$(PY) -m autograder.engine.notebooks.course $(if $(call grade_flag,ALLOW_OPEN_GIVEN),--allow-open-given)
