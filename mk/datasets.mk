# Datasets: MNIST and CIFAR-10, verified and cached as uint8 arrays in datasets/data/.
# MIRROR=<dir or .tar.gz> imports a local mirror (else $VITLAB_MIRROR, else torchvision download).
# DATASET: mnist, cifar10 or all; default: the ones course.toml `datasets` lists.
.PHONY: datasets datasets-info
DATASET ?= $(or $(shell $(PY) -m vitlab.course datasets 2>/dev/null),all)
datasets: $(STAMP) ## fetch, verify and cache the course's datasets (DATASET=mnist|cifar10|all, MIRROR=<dir|.tar.gz> for a local mirror, FORCE=1 to redo)
	@PYTHONPATH=datasets $(PY) -m vitdata fetch $(DATASET) $(if $(MIRROR),--mirror $(MIRROR)) $(if $(FORCE),--force)

datasets-info: $(STAMP) ## show where the cached datasets came from (sources, checksums, counts)
	@PYTHONPATH=datasets $(PY) -m vitdata info $(DATASET)
