"""Non-secret helpers that run inside the sandbox (student.call("harness:<module>.<fn>", ...)).

One module per assignment (a1.py, a3.py ...). They import student modules by plain name
and must never contain expected values: student code can read them.
"""
