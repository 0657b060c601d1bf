"""lintheory: simulators, metrics and closed forms for the theory of training linear networks.

Networks are multilinear maps from parameters to an end-to-end linear predictor ``theta``
(predictions ``X @ theta``); losses see only ``theta``; simulators and metrics work for every network;
closed forms from the papers live in :mod:`lintheory.theory`.
"""

from . import data, metrics, plotting, theory, widgets
from .display import glue, power_of_ten_bound, round_down, round_up
from .dynamics import Trajectory, gradient_descent, gradient_flow
from .losses import ExponentialLoss, LogisticLoss, Loss, SquaredLoss
from . import sweeps
from .sweeps import SweepResult, sweep
from .networks import (Convolutional, DecomposableTensorNetwork, Diagonal, FullyConnected, Network,
                       Residual, TensorNetwork)

from .networks import Symmetric
from .sensing import SensingLoss

__version__ = "0.1.0"

__all__ = ["Network", "FullyConnected", "Residual", "Diagonal", "Convolutional",
           "TensorNetwork", "DecomposableTensorNetwork",
           "Loss", "SquaredLoss", "LogisticLoss", "ExponentialLoss",
           "Trajectory", "gradient_flow", "gradient_descent",
           "sweep", "SweepResult", "glue", "power_of_ten_bound", "round_up", "round_down",
           "data", "metrics", "plotting", "sweeps", "theory", "widgets"]
__all__ += ["Symmetric", "SensingLoss"]

from .dynamics import stochastic_gradient_descent
__all__ += ["stochastic_gradient_descent"]

from . import logflow
from .logflow import LogLossFlow, log_loss_flow
__all__ += ["logflow", "LogLossFlow", "log_loss_flow"]
