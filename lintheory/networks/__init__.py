"""Linear networks as multilinear maps from parameters to an end-to-end linear predictor."""

from .base import Network, Params
from .diagonal import Convolutional, Diagonal
from .fully_connected import FullyConnected, Residual
from .tensor import DecomposableTensorNetwork, TensorNetwork
from .symmetric import Symmetric

__all__ = ["Network", "Params", "FullyConnected", "Residual", "Diagonal", "Convolutional",
           "TensorNetwork", "DecomposableTensorNetwork", "Symmetric"]
