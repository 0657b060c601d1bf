"""Closed forms, predictions and bounds from the papers, kept apart from the simulators.

Every function uses the loss convention of :class:`lintheory.SquaredLoss`'s default,
:math:`\\|X\\theta - Y\\|_F^2/(2n)`, unless its docstring says otherwise.
"""

from . import (convergence, discrete_dynamics, flat_minima, implicit_bias, max_margin, regression, saxe,
               tensor_networks)
from .convergence import *  # noqa: F401,F403
from .discrete_dynamics import *  # noqa: F401,F403
from .flat_minima import *  # noqa: F401,F403
from .implicit_bias import *  # noqa: F401,F403
from .max_margin import *  # noqa: F401,F403
from .regression import *  # noqa: F401,F403
from .saxe import *  # noqa: F401,F403
from .tensor_networks import *  # noqa: F401,F403

__all__ = [name for module in (regression, saxe, max_margin, convergence, implicit_bias, tensor_networks,
                               discrete_dynamics, flat_minima) for name in module.__all__]

from . import low_rank  # noqa: E402
from .low_rank import *  # noqa: F401,F403,E402

__all__ += low_rank.__all__

from . import step_size_bias  # noqa: E402
from .step_size_bias import *  # noqa: F401,F403,E402

__all__ += step_size_bias.__all__

from . import large_steps  # noqa: E402
from .large_steps import *  # noqa: F401,F403,E402

__all__ += large_steps.__all__

from . import classification_scale  # noqa: E402
from .classification_scale import *  # noqa: F401,F403,E402

__all__ += classification_scale.__all__
