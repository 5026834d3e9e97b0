# Grading: `make grade` grades the bundled example submissions of a1 and prints the table.
#   make grade ASSIGNMENT=a2 SUBMISSIONS=path/to/subs OUT=grading/a2 [WORKERS=4] [FORCE=1]
.PHONY: grade gradescope grade-check
GRADE_ASSIGNMENT = $(if $(ASSIGNMENT),$(ASSIGNMENT),$(firstword $(shell $(PY) -m vitlab.course folders 2>/dev/null)))
grade: $(STAMP) ## grade submissions: [ASSIGNMENT=a1] [SUBMISSIONS=dir] [OUT=dir] [WORKERS=n] [FORCE=1] [UNSAFE_NO_SANDBOX=1]; no args: the examples
	@env -u PYTHONPATH -u PYTEST_ADDOPTS -u PYTEST_PLUGINS $(PY) -m autograder grade -a $(GRADE_ASSIGNMENT) $(if $(SUBMISSIONS),-s $(SUBMISSIONS)) \
	  $(if $(OUT),-o $(OUT)) $(if $(WORKERS),-j $(WORKERS)) $(if $(filter 1 yes true,$(FORCE)),--force) \
	  $(if $(filter 1 yes true,$(UNSAFE_NO_SANDBOX)),--unsafe-no-sandbox)

gradescope: $(STAMP) ## build a Gradescope autograder.zip: make gradescope ASSIGNMENT=a1 [OUT=file.zip]
	@$(PY) -m autograder gradescope -a $(GRADE_ASSIGNMENT) $(if $(OUT),-o $(OUT))

grade-check: $(STAMP) ## hidden graders: reference gets full marks, release gets 0: make grade-check ASSIGNMENT=a1
	@$(PY) -m autograder check $(GRADE_ASSIGNMENT)
