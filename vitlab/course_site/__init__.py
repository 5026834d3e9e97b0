"""The docs site's course part: pages generated from the release, and a leak guard over the site.

`pages` picks the assignments the site may show and lists their pages (course map, each
assignment's README, its notebooks), read from `assignments/` only; `hooks` adds them to the
mkdocs build and scans the built site; `leaks` is that scan; `python -m vitlab.course_site`
runs either from the command line.
"""
