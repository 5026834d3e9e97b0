"""The release pipeline: solutions/ (fenced reference) -> assignments/ (student stubs)."""
