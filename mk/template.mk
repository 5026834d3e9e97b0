# Templates (template/): bake a new course from this kit, or add a task to an assignment.
#   make new-course                                      # asks every question
#   make new-course NO_INPUT=1 DEST=~/courses OPTS="course_id=cs231x assignments=a1,a2"
#   make new-exercise                                    # asks every question
#   make new-exercise NO_INPUT=1 OPTS="assignment=a1 title='Leaky ReLU' points=5"
# OPTS holds name=value answers (quote values with spaces); with NO_INPUT=1 nothing is asked.
# DEST's default (..) is applied in the recipe only: a global default would also reach
# `make export`, whose DEST names the file to write.
.PHONY: new-course new-exercise
new-course: $(STAMP) ## bake your own course: [DEST=..] [NO_INPUT=1] [OPTS="course_id=cs231x assignments=a1,a2"] [SHARE_VENV=1]
	@$(PY) -m template course --dest $(or $(DEST),..) $(if $(NO_INPUT),--no-input) $(if $(SHARE_VENV),--venv .venv) $(OPTS)

new-exercise: $(STAMP) ## add a task (code, tests, grader, notebook) to an assignment: [NO_INPUT=1] [OPTS="assignment=a1 ..."] [COURSE=dir]
	@$(PY) -m template exercise $(if $(NO_INPUT),--no-input) $(if $(COURSE),--course $(COURSE)) $(OPTS)
