# The capstone's own targets, included by this folder's Makefile (run them here).
#   make train CONFIG=vit_mnist_gpu [SET="lr=1e-3 epochs=150"] [RESUME=1]
#   make export RUN=runs/vit_mnist_gpu NAME=vit_mnist
#   make submit-check            # what the graders will find (+ EVALUATE=1: test accuracy)
CONFIG ?=
SET ?=
RESUME ?=
RUN ?=
NAME ?=
EVALUATE ?=
RECIPE = $(if $(wildcard $(CONFIG)),$(CONFIG),configs/$(basename $(notdir $(CONFIG))).toml)

.PHONY: train export submit-check capstone-help
help: capstone-help
capstone-help:
	@echo "make train CONFIG=<recipe> [SET=\"k=v ...\"] [RESUME=1]   train a recipe of configs/"
	@echo "make export RUN=runs/<recipe> NAME=<checkpoint>          python submit.py export"
	@echo "make submit-check [EVALUATE=1]                          python submit.py check"

train: ## train a recipe: make train CONFIG=vit_mnist_gpu [SET="lr=1e-3"] [RESUME=1]
	@if [ -z "$(CONFIG)" ]; then echo "make train: name a recipe, e.g. make train CONFIG=vit_mnist_gpu. Recipes:"; \
	  ls configs/*.toml | xargs -n1 basename | sed 's/\.toml$$//' | grep -vxE 'base|mnist|cifar10' | sed 's/^/  /'; exit 2; fi
	@if [ ! -f "$(RECIPE)" ]; then echo "make train: no recipe $(CONFIG) (no $(RECIPE); make train lists them)"; exit 2; fi
	$(PYTHON) train.py --config $(RECIPE) $(foreach kv,$(SET),--set $(kv)) $(if $(RESUME),--resume)

export: ## copy a run into checkpoints/<NAME>/: make export RUN=runs/vit_mnist_gpu NAME=vit_mnist
	@if [ -z "$(RUN)" ] || [ -z "$(NAME)" ]; then echo "make export: give RUN=runs/<recipe> NAME=<checkpoint>"; exit 2; fi
	$(PYTHON) submit.py export $(RUN) $(NAME)

submit-check: ## what the graders will find in checkpoints/ (EVALUATE=1 also measures test accuracy)
	$(PYTHON) submit.py check $(if $(EVALUATE),--evaluate)
