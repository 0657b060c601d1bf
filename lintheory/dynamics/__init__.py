"""Simulators: gradient flow and gradient descent for any network and any loss.

Both return the same :class:`Trajectory` (time on the first axis), so plots and metrics take either.
The gradient in the parameters is always the chain rule ``net.vjp(params, loss.grad(theta))``.

The package is layered; every import points down, never up (``tests/test_import_graph.py``):

- :mod:`~lintheory.dynamics.trajectory` (bottom): the :class:`Trajectory`, its packaging for a descent
  run, the record steps and the input checks shared by every simulator;
- :mod:`~lintheory.dynamics.minibatch`: SGD's seeds and minibatch indices;
- :mod:`~lintheory.dynamics.flow`: gradient flow;
- :mod:`~lintheory.dynamics.compiled`: the numba backend of the descent loop (it imports only the two
  layers above, never the loops that call it);
- :mod:`~lintheory.dynamics.descent`: the descent loop of gradient descent and SGD, and
  :func:`gradient_descent`;
- :mod:`~lintheory.dynamics.sgd` (top): :func:`stochastic_gradient_descent`.
"""

from .trajectory import DivergenceStep, Trajectory, _check_pair, _descent_trajectory, _record_steps
from .minibatch import _member_generators, _minibatch_blocks, _minibatch_indices, _step_reader
from .flow import gradient_flow
from . import compiled
from .descent import _descend, gradient_descent
from .sgd import stochastic_gradient_descent

__all__ = ["Trajectory", "DivergenceStep", "gradient_flow", "gradient_descent", "stochastic_gradient_descent"]
