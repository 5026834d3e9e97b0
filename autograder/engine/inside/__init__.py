"""Everything that runs inside a sandbox, where the code or the data is the student's.

The zygote and its workers (zygote.py, worker.py, freshns.py, seccomp.py), the notebook
kernel (kernel.py), the test doubles a worker installs (doubles.py), the archive parsers
(staging.py, run by unpack.py) and the wire format (wire.py) that carries values across.

Trust boundary: the trusted side imports from this package only the wire format, the
test-double table (data and the functions that swap it in, shared by both sides) and the
staging limits and folder copy (which parse nothing); tests/grading/test_engine_layout.py
holds it to that. Nothing here imports a trusted module.
"""
