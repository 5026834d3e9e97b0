# Capstone training: one recipe from solutions/a4_capstone/configs/, run by a3's train.py
# (through the capstone folder's symlinks), and the reference benchmark on a GPU.
A4_DIR  := solutions/a4_capstone
CONFIG  ?=
SET     ?=
RESUME  ?=
# A recipe name without its _gpu/_cpu suffix (CONFIG=vit_mnist) takes the course's kind
# (course.toml `gpu`): vit_mnist_gpu, or vit_mnist_cpu in a CPU-only course.
A4_KIND = $(or $(shell $(PY) -m vitlab.course kind 2>/dev/null),gpu)
A4_NAME = $(A4_DIR)/configs/$(basename $(notdir $(CONFIG)))
A4_CONFIG = $(if $(wildcard $(CONFIG)),$(CONFIG),$(if $(wildcard $(A4_NAME).toml),$(A4_NAME).toml,$(A4_NAME)_$(A4_KIND).toml))

.PHONY: train bench-gpu
train: $(STAMP) ## train a capstone recipe: make train CONFIG=vit_mnist[_cpu|_gpu] [SET="epochs=3 lr=1e-3"] [RESUME=1]
	@if [ -z "$(CONFIG)" ]; then \
	  echo "make train: name a recipe, e.g. make train CONFIG=vit_mnist (runs vit_mnist_$(A4_KIND) in this $(A4_KIND) course). Recipes:"; \
	  ls $(A4_DIR)/configs/*.toml | xargs -n1 basename | sed 's/\.toml$$//' | grep -vxE 'base|mnist|cifar10' | sed 's/^/  /'; exit 2; fi
	@if [ ! -f "$(A4_CONFIG)" ]; then echo "make train: no recipe $(CONFIG) (no $(A4_CONFIG); make train lists them)"; exit 2; fi
	@$(PY) $(A4_DIR)/train.py --config $(A4_CONFIG) \
	  $(foreach kv,$(SET),--set $(kv)) $(if $(RESUME),--resume)

DRY ?=
OUT ?=
bench-gpu: $(STAMP) ## the device run: 4 GPU recipes at once, export, grade, one folder (bench/gpu_run.py); DRY=1: on the CPU in seconds [OUT=dir]
	@PYTHONPATH=.:datasets $(PY) bench/gpu_run.py $(if $(filter 1 yes true,$(DRY)),--dry) $(if $(OUT),--out '$(OUT)') $(ARGS)
