# Capstone training: one recipe from solutions/a4_capstone/configs/, run by a3's train.py
# (through the capstone folder's symlinks), and the reference benchmark on a GPU.
A4_DIR  := solutions/a4_capstone
CONFIG  ?=
SET     ?=
RESUME  ?=
A4_CONFIG = $(if $(wildcard $(CONFIG)),$(CONFIG),$(A4_DIR)/configs/$(basename $(notdir $(CONFIG))).toml)

.PHONY: train bench-gpu
train: $(STAMP) ## train a capstone recipe: make train CONFIG=vit_mnist_cpu [SET="epochs=3 lr=1e-3"] [RESUME=1]
	@if [ -z "$(CONFIG)" ]; then \
	  echo "make train: name a recipe, e.g. make train CONFIG=vit_mnist_cpu. Recipes:"; \
	  ls $(A4_DIR)/configs/*.toml | xargs -n1 basename | sed 's/\.toml$$//' | grep -vxE 'base|mnist|cifar10' | sed 's/^/  /'; exit 2; fi
	@if [ ! -f "$(A4_CONFIG)" ]; then echo "make train: no recipe $(A4_CONFIG)"; exit 2; fi
	@$(PY) $(A4_DIR)/train.py --config $(A4_CONFIG) \
	  $(foreach kv,$(SET),--set $(kv)) $(if $(RESUME),--resume)

bench-gpu: $(STAMP) ## on a CUDA machine: train the GPU reference recipes and record the table
	@PYTHONPATH=.:datasets $(PY) -m vitlab.bench capstone --gpu $(ARGS)
