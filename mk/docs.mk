# The manual: docs/ built by mkdocs-material (mkdocs.yml) into build/site/, with the course part
# (course/: the course map, each released assignment's README and notebooks) generated from
# assignments/ into build/course-pages/ by vitlab/course_site/hooks.py.
#   make docs                  # strict: a broken link, anchor or nav entry fails the build, and so
#                              # does any solution or hidden-grader line in any file of build/site/
#   make docs SITE_ASSIGNMENTS="a1 a2"   # the course part shows only these (default: every released
#                              # assignment the release order lets out today)
#   make docs-serve            # http://127.0.0.1:8000, rebuilt as docs/ changes [DOCS_ADDR=host:port]
# NO_MKDOCS_2_WARNING keeps Material's end-of-life banner out of the build's output.
.PHONY: docs docs-serve
DOCS_ADDR ?= 127.0.0.1:8000
SITE_ASSIGNMENTS ?= $(VITLAB_SITE_ASSIGNMENTS)
MKDOCS = NO_MKDOCS_2_WARNING=1 VITLAB_SITE_ASSIGNMENTS="$(SITE_ASSIGNMENTS)" $(PY) -m mkdocs

docs: $(STAMP) ## build the manual and the course part into build/site/, strict, leak-checked: [SITE_ASSIGNMENTS="a1 a2"]
	@$(MKDOCS) build --strict --clean -f mkdocs.yml

docs-serve: $(STAMP) ## serve the manual at http://127.0.0.1:8000 while editing docs/: [DOCS_ADDR=host:port]
	@$(MKDOCS) serve --strict -f mkdocs.yml -a $(DOCS_ADDR)
