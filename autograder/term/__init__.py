"""The instructor's term around `make grade`: roster, deadlines and late policy, overrides,
the final gradebook, LMS export, similarity and the HTML report.

Everything here reads what grading wrote (results.json, students.csv, and the per-student
submitted.json and timing.json the grading run records) plus the instructor's files in the
course folder; it never runs student code. Outputs go to <OUT>/_term/ (no student id can
start with `_`, so the folder never collides with a student's).
"""
