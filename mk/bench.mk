.PHONY: bench
NAME ?=
ARGS ?=
bench: $(STAMP) ## run every benchmark (or NAME=<name>; ARGS=... passed on); results in bench/results/
	@PYTHONPATH=.:datasets $(PY) -m vitlab.bench $(NAME) $(ARGS)
