"""Task {{ cookiecutter.task_id }}: {{ cookiecutter.title }}."""
import numpy as np
