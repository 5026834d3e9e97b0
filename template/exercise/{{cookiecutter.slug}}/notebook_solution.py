import numpy as np

x_demo = np.array([-2.0, -0.5, 0.5, 2.0])  # (4,)
# slope_demo: d out / d x of the forward pass (alpha = 0.1) at each entry of x_demo, shape (4,)
### BEGIN SOLUTION
slope_demo = np.where(x_demo > 0, 1.0, 0.1)
### END SOLUTION
