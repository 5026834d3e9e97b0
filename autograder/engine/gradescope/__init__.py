"""`make gradescope` and Gradescope's run (trusted side).

build.py         the autograder zip, and `run_autograder`'s grading of one submission
requirements.py  each assignment's image: only what its graders and the student's code import
data.py          the datasets an image fetches and verifies at build time
scripts.py       setup.sh and run_autograder as written into the zip
"""
