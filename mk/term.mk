# The term around `make grade`: final gradebook (late policy, overrides), regrades, LMS
# export, similarity and the HTML report. Settings: course.toml [gradebook]; files: roster.csv,
# extensions.csv, overrides.csv, submission_times.csv in the course folder (all optional).
.PHONY: term regrade export similarity report
TERM_PY = env -u PYTHONPATH $(PY) -m autograder.term
TERM_OUT = $(if $(OUT),-o '$(OUT)')
term_need = $(if $($(1)),,$(error $(1)= is required: $(2)))

term: $(STAMP) ## final gradebook: late penalty + overrides on grading: make term ASSIGNMENT=a1 [OUT=dir]
	@$(call term_need,ASSIGNMENT,make term ASSIGNMENT=a1)$(TERM_PY) final -a '$(ASSIGNMENT)' $(TERM_OUT)

regrade: $(STAMP) ## grade one student again, with history: make regrade ASSIGNMENT=a1 SUBMISSIONS=dir STUDENT=id REASON=...
	@$(call term_need,STUDENT,the student to regrade)$(call term_need,SUBMISSIONS,the class's submissions folder)$(TERM_PY) regrade -a '$(ASSIGNMENT)' -s '$(SUBMISSIONS)' \
	  --student '$(STUDENT)' --reason '$(REASON)' $(if $(WHO),--who '$(WHO)') $(TERM_OUT) \
	  $(if $(call grade_flag,UNSAFE_NO_SANDBOX),--unsafe-no-sandbox)

export: $(STAMP) ## grades for the LMS, one row per student: make export ASSIGNMENT=a1 FORMAT=canvas|moodle|csv
	@$(call term_need,FORMAT,canvas moodle or csv)$(TERM_PY) export -a '$(ASSIGNMENT)' --format '$(FORMAT)' $(TERM_OUT) \
	  $(if $(DEST),--dest '$(DEST)')

similarity: $(STAMP) ## rank pairs of submissions by similarity (copydetect): make similarity ASSIGNMENT=a1 SUBMISSIONS=dir
	@$(call term_need,SUBMISSIONS,the class's submissions folder)$(TERM_PY) similarity -a '$(ASSIGNMENT)' \
	  -s '$(SUBMISSIONS)' $(TERM_OUT)

report: $(STAMP) ## one self-contained HTML page about the grading: make report ASSIGNMENT=a1 [OUT=dir]
	@$(call term_need,ASSIGNMENT,make report ASSIGNMENT=a1)$(TERM_PY) report -a '$(ASSIGNMENT)' $(TERM_OUT)
