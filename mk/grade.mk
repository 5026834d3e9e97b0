# Grading: `make grade` grades the bundled example submissions of a1 and prints the table.
#   make grade ASSIGNMENT=a2 SUBMISSIONS=path/to/subs OUT=grading/a2 [WORKERS=4] [FORCE=1]
.PHONY: grade gradescope grade-check
GRADE_ASSIGNMENT = $(if $(ASSIGNMENT),$(ASSIGNMENT),$(firstword $(shell $(PY) -m vitlab.course folders 2>/dev/null)))
# a yes/no variable: 1/yes/true or 0/no/false/empty; anything else stops make with one line
grade_flag = $(if $(filter-out 0 1 yes no true false,$($(1))),$(error $(1)=$($(1)) is not a yes/no value; use $(1)=1 or $(1)=0),$(filter 1 yes true,$($(1))))
grade: $(STAMP) ## grade submissions: [ASSIGNMENT=a1] [SUBMISSIONS=dir] [OUT=dir] [WORKERS=n] [FORCE=1]; no args: the examples
	@env -u PYTHONPATH -u PYTEST_ADDOPTS -u PYTEST_PLUGINS $(PY) -m autograder grade -a '$(GRADE_ASSIGNMENT)' \
	  $(if $(SUBMISSIONS),-s '$(SUBMISSIONS)') $(if $(OUT),-o '$(OUT)') $(if $(WORKERS),-j '$(WORKERS)') \
	  $(if $(call grade_flag,FORCE),--force) $(if $(call grade_flag,UNSAFE_NO_SANDBOX),--unsafe-no-sandbox)

gradescope: $(STAMP) ## build a Gradescope autograder.zip: make gradescope ASSIGNMENT=a1 [OUT=file.zip] [ALLOW_OPEN_GIVEN=1]
	@$(PY) -m autograder gradescope -a $(GRADE_ASSIGNMENT) $(if $(OUT),-o $(OUT)) \
	  $(if $(call grade_flag,ALLOW_OPEN_GIVEN),--allow-open-given)

grade-check: $(STAMP) ## hidden graders: reference gets full marks, release gets 0: make grade-check ASSIGNMENT=a1
	@$(PY) -m autograder check $(GRADE_ASSIGNMENT)
