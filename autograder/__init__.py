"""ViT Lab autograder: hidden graders, the sandboxed grading engine and its CLI."""
