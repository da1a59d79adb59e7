"""Every supported Keras layer type, one module per family, one class per type.

Importing this package registers them all; ``REGISTRY`` maps Keras class names to classes.
"""

from . import (  # noqa: F401 - imported for their @register side effect
    activations,
    attention,
    conv,
    core,
    merge,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    reshaping,
)
from .activations import register_tf_keras_activation_readers
from .base import ALIASES, LEGACY_ALIASES, REGISTRY, Layer, Weight

register_tf_keras_activation_readers()  # once every family has registered its classes

__all__ = ["ALIASES", "LEGACY_ALIASES", "REGISTRY", "Layer", "Weight"]
