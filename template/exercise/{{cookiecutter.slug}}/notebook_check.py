from {{ cookiecutter.module }} import {{ cookiecutter.function_name }}_backward, {{ cookiecutter.function_name }}_forward

assert slope_demo.shape == x_demo.shape
_, demo_cache = {{ cookiecutter.function_name }}_forward(x_demo, alpha=0.1)
np.testing.assert_allclose({{ cookiecutter.function_name }}_backward(np.ones_like(x_demo), demo_cache), slope_demo)
