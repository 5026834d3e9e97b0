# The manual: docs/ built by mkdocs-material (mkdocs.yml) into build/site/.
#   make docs                  # strict: a broken link, anchor or nav entry fails the build
#   make docs-serve            # http://127.0.0.1:8000, rebuilt as docs/ changes [DOCS_ADDR=host:port]
# NO_MKDOCS_2_WARNING keeps Material's end-of-life banner out of the build's output.
.PHONY: docs docs-serve
DOCS_ADDR ?= 127.0.0.1:8000
MKDOCS = NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs

docs: $(STAMP) ## build the manual (docs/) into build/site/, strict: a broken link fails
	@$(MKDOCS) build --strict --clean -f mkdocs.yml

docs-serve: $(STAMP) ## serve the manual at http://127.0.0.1:8000 while editing docs/: [DOCS_ADDR=host:port]
	@$(MKDOCS) serve --strict -f mkdocs.yml -a $(DOCS_ADDR)
