"""``jax.scipy.optimize``: unconstrained minimization by BFGS and L-BFGS, each iteration
one strong-Wolfe line search, all in ``lax.while_loop`` so that it jits and vmaps."""
