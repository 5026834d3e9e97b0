.PHONY: bench
NAME ?=
ARGS ?=
bench: $(STAMP) ## run every benchmark (or NAME=<name>; ARGS=... passed on); results in bench/results/
	@PYTHONPATH=.:datasets $(PY) -m vitlab.bench $(NAME) $(ARGS)

# Thresholds that fit this machine: train the reference recipes, write course.toml's
# [capstone.checkpoints.*] thresholds (measured - MARGIN, rounded down) and references.
.PHONY: calibrate
KIND ?=
MARGIN ?=
calibrate: $(STAMP) ## measure the capstone recipes here and write thresholds into course.toml: [KIND=gpu|cpu] [MARGIN=1.5] [ARGS=...]
	@PYTHONPATH=.:datasets $(PY) bench/calibrate.py $(if $(KIND),--kind $(KIND)) $(if $(MARGIN),--margin $(MARGIN)) $(ARGS)
