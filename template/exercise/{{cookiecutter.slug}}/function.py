def {{ cookiecutter.function_name }}_forward(x, alpha=0.01):
    """Task {{ cookiecutter.task_id }} ({{ cookiecutter.title }}), forward: out = x where x > 0, else alpha * x.

    x: (N, ...) floating array of any shape; alpha: the slope for x <= 0.
    Returns out (same shape and dtype as x) and a cache for the backward pass.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{{ cookiecutter.function_name }}_forward: x must be a floating array, got dtype {x.dtype}")
    ### BEGIN SOLUTION Task {{ cookiecutter.task_id }}: out = x where x > 0, else alpha * x
    out = np.where(x > 0, x, alpha * x)  # same shape as x
    ### END SOLUTION
    return out, (x, alpha)


def {{ cookiecutter.function_name }}_backward(dout, cache):
    """Task {{ cookiecutter.task_id }} ({{ cookiecutter.title }}), backward.

    dout: upstream gradient, the shape of x; cache: from the forward pass.
    Returns dx, the shape of x.
    """
    x, alpha = cache
    if np.shape(dout) != x.shape:
        raise ValueError(f"{{ cookiecutter.function_name }}_backward: dout has shape {np.shape(dout)}, expected {x.shape} (the input's)")
    ### BEGIN SOLUTION Task {{ cookiecutter.task_id }}: dx = dout where x > 0, else alpha * dout
    dx = np.where(x > 0, dout, alpha * dout)  # same shape as x
    ### END SOLUTION
    return dx
