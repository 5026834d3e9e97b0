# Datasets: MNIST and CIFAR-10, verified and cached as uint8 arrays in datasets/data/.
# MIRROR=<dir or .tar.gz> imports a local mirror (else $VITLAB_MIRROR, else torchvision download).
.PHONY: datasets datasets-info
datasets: $(STAMP) ## fetch, verify and cache MNIST + CIFAR-10 (MIRROR=<dir|.tar.gz> for a local mirror, FORCE=1 to redo)
	@PYTHONPATH=datasets $(PY) -m vitdata fetch all $(if $(MIRROR),--mirror $(MIRROR)) $(if $(FORCE),--force)

datasets-info: $(STAMP) ## show where the cached datasets came from (sources, checksums, counts)
	@PYTHONPATH=datasets $(PY) -m vitdata info all
