"""Notebook tasks, on the trusted side (the kernel itself is inside/kernel.py).

cells.py      what a notebook task is made of: plan, cell metadata, bounded reading
prepare.py    the nbgrader course a run grades with (generate_assignment, cached)
run.py        one student's notebooks: run in the sandboxed kernel, then the hidden tests
kernel_host.py  the trusted end of the kernel: cells and calls with the trusted side's clock
plugin.py     the hidden notebook graders under pytest, on the values the kernel hands over
feedback.py   the executed notebook rebuilt from bounded outputs, nbgrader's feedback HTML
course.py     the kit's nbgrader course (make nbgrader-course) and formgrader's gradebook
hidden.py     nbgrader preprocessors that keep hidden tests out of a student's view
"""
