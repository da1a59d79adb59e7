"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax; and the ``activation`` argument of
every layer (``ActivationField``).

Keras 3's ``keras/src/layers/activations/``; the numpy functions are those of
``shapecheck.activations``. Keras 3 has no ThresholdedReLU (``ReLU(threshold=...)`` replaces it).

An activation argument is read as the Keras that wrote the document reads it (``Vocabulary``):
Keras 3's names, or an activation layer's config, computed by the layer class here; tf.keras 2's
names (its own ``hard_sigmoid``), its configs, and an activation layer's class name alone. Every
layer class with an activation argument gets a tf.keras 2 variant that reads it so
(``register_tf_keras_activation_readers``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
from marshmallow import ValidationError, fields

from .. import activations
from ..errors import ArgumentError, LayerInputIncompatible, RequestInvalid
from ..fields import Float, IntTuple, TfKerasOnly
from ..shapes import Shape, format_shape
from .base import (
    REGISTRY,
    Array,
    Layer,
    LayerArgs,
    Mask,
    NegatesUnsignedIntegers,
    Shapes,
    Weight,
    register,
    wrapped_integers,
)
from .tf_keras import TF_KERAS_VARIANTS, tf_keras_variant

LARGE_NEGATIVE = np.float32(-1e9)
"""What Keras' Softmax puts at masked positions before normalising."""


def masked_softmax(x: Array, axes: tuple[int, ...], mask: Array | None = None) -> Array:
    """Keras' ``Softmax`` layer over ``axes``: masked positions (``mask`` False, or at most 0.5
    where it is not boolean; broadcast) excluded and zeroed."""
    if mask is not None:
        mask = kept_positions(mask)
        x = np.where(mask, x, LARGE_NEGATIVE)
    y = activations.softmax(x, axis=axes)
    return y if mask is None else np.where(mask, y, np.float32(0))


def shifted_softmax(x: Array, axes: tuple[int, ...], mask: Array | None = None) -> Array:
    """tf.keras 2's ``Softmax`` layer over ``axes``: (1 - mask) * -1e9 added to the scores (in
    float32, which rounds what it adds to) and nothing zeroed, so a row masked everywhere is
    normalised on its values so shifted (about uniform) where Keras 3's gives zeros. A mask of
    fractions shifts by its share: 0.3 is as good as masked, and 1.7 outweighs every position
    kept."""
    if mask is None:
        return activations.softmax(x, axis=axes)
    if mask.dtype == np.bool_:
        return activations.softmax(np.where(mask, x, x + LARGE_NEGATIVE), axis=axes)
    return activations.softmax(x + (1 - mask.astype(x.dtype)) * LARGE_NEGATIVE, axis=axes)


def robust_softmax(x: Array, axes: tuple[int, ...], mask: Array | None = None) -> Array:
    """tf.keras 2's ``Softmax`` layer with ``robust_masking``: the masked positions
    (``kept_positions``) set to -1e9, not shifted by it, and nothing zeroed, so a row masked
    everywhere is exactly uniform whatever its values."""
    if mask is not None:
        x = np.where(kept_positions(mask), x, LARGE_NEGATIVE)
    return activations.softmax(x, axis=axes)


def kept_positions(mask: Array) -> Array:
    """Where a Softmax mask keeps its positions: True, or over 0.5 where it is not boolean."""
    return mask if mask.dtype == np.bool_ else mask > 0.5


class ActivationLayer(Layer):
    """An activation with arguments, applied element by element."""

    family = "activations"
    elementwise = True
    supports_masking = True


@register
class ReLU(ActivationLayer):
    """Rectified linear unit: x above ``threshold`` (clipped at ``max_value``), and
    ``negative_slope · (x − threshold)`` below it."""

    keras_name = "ReLU"
    clips_to_float: ClassVar[bool] = True
    """Whether integers clipped at ``max_value`` come out as floats (Keras 3's)."""
    keeps_integers = True

    class Args(LayerArgs):
        max_value = Float(min_value=0.0, load_default=None, allow_none=True)
        negative_slope = Float(min_value=0.0, load_default=0.0)
        threshold = Float(min_value=0.0, load_default=0.0)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return activations.relu(x, self.args.negative_slope, self.args.max_value,
                                self.args.threshold)

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        """Integers stay integers but for a negative slope, which scales them, and a
        max_value, a float they are clipped at (probed on int32 and uint8)."""
        if self.args.negative_slope or (self.clips_to_float and self.args.max_value is not None):
            return None
        return super().output_dtype(dtypes)


@tf_keras_variant
class TfKerasReLU(ReLU):
    """ReLU as tf.keras 2 computes it on integers: clipped at max_value, they stay integers
    (recorded on int32 and uint8)."""

    clips_to_float = False


@register
class LeakyReLU(ActivationLayer):
    """x for x ≥ 0, ``negative_slope · x`` below (Keras 1/2 called the slope ``alpha``)."""

    keras_name = "LeakyReLU"

    class Args(LayerArgs):
        negative_slope = Float(min_value=0.0, load_default=0.3)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return activations.leaky_relu(x, self.args.negative_slope)


@register
class ELU(ActivationLayer):
    """Exponential linear unit: x for x > 0, ``alpha · (exp(x) − 1)`` below."""

    keras_name = "ELU"

    class Args(LayerArgs):
        alpha = Float(load_default=1.0)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return activations.elu(x, self.args.alpha)


@register
class PReLU(ActivationLayer):
    """Leaky ReLU with a learnt slope per element (``alpha``, initialised to zeros); the axes in
    ``shared_axes`` (counted from 1) share one slope, e.g. [1, 2] for one slope per channel of
    an image."""

    keras_name = "PReLU"

    class Args(LayerArgs):
        shared_axes = IntTuple(min_value=1, load_default=None, allow_none=True)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        shared = args["shared_axes"]
        self.shared_axes: tuple[int, ...] = (
            () if shared is None else shared if isinstance(shared, tuple) else (shared,))
        if not all(isinstance(a, int) for a in self.shared_axes):
            raise ArgumentError("shared_axes", "must be an axis or a list of axes, got "
                                               f"{list(shared)}")

    def weights_for(self, shape: Shape) -> list[Weight]:
        return [Weight("alpha", self.alpha_shape(shape), initializer="zeros")]

    def alpha_shape(self, shape: Shape) -> tuple[int, ...]:
        """The input's per-sample shape with the shared axes set to 1."""
        beyond = [a for a in self.shared_axes if a >= len(shape)]
        if beyond:
            raise LayerInputIncompatible(
                f"PReLU shares axis {beyond[0]} among its slopes, but the input "
                f"{format_shape(shape)} has axes 1 to {len(shape) - 1} only.",
                "List in shared_axes only axes the input has (the batch axis 0 excluded).")
        return tuple(1 if axis in self.shared_axes else
                     self.require_known(shape[axis], f"the size of axis {axis} (not shared)")
                     for axis in range(1, len(shape)))

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        alpha = weights[0]
        return np.maximum(x, 0) - alpha * np.maximum(-x, 0)

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        """Keras 3 negates the integers in their dtype, where -x of an unsigned x wraps
        around (probed: uint8 -211 is 45), before its slopes scale relu(-x)."""
        x, alpha = inputs[0], weights[0]
        return [np.maximum(x, 0) - alpha * np.maximum(wrapped_integers(-x, dtype), 0)]

    def integer_caveat(self, dtype: str) -> str | None:
        if not dtype.startswith("uint"):
            return None
        return (f"negates them in {dtype}, where -x wraps around (-1 is "
                f"{np.iinfo(dtype).max}), so that its slopes scale every value but 0")

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        alpha = self.alpha_shape(inputs[0])
        shared = (f", shared along axes {', '.join(map(str, self.shared_axes))}"
                  if self.shared_axes else "")
        return (f"applied element by element, the shape {format_shape(outputs[0])} is kept; "
                f"one learnt slope per element of {format_shape(alpha)}{shared}")


@register
class Softmax(NegatesUnsignedIntegers, ActivationLayer):
    """Softmax along ``axis`` (an int, or a list of axes normalised together). A ``mask`` of
    numbers keeps the positions over 0.5 (``kept_positions``; recorded:
    ``masking:softmax_mask_of_fractions``)."""

    keras_name = "Softmax"
    elementwise = False
    numeric_mask_arguments = frozenset({"mask"})

    class Args(LayerArgs):
        axis = fields.Raw(load_default=-1, metadata={"type": "integer or list of integers"})
        robust_masking = TfKerasOnly("Softmax")

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        axis = args["axis"]
        self.axes: tuple[int, ...] = tuple(axis) if isinstance(axis, list) else (axis,)
        if not self.axes or not all(is_int(a) for a in self.axes):
            raise ArgumentError("axis", f"must be an integer or a non-empty list of integers, "
                                        f"got {axis!r}")

    def output_shape(self, shape: Shape) -> Shape:
        missing = [a for a in self.axes if not -len(shape) <= a < len(shape)]
        if missing:
            raise LayerInputIncompatible(
                f"Softmax normalises along axis {missing[0]}, which the input "
                f"{format_shape(shape)} does not have (Keras builds the model, but predict "
                "fails).", "Use axis=-1 to normalise over the last axis.", declared=[shape])
        resolved = [a % len(shape) for a in self.axes]
        if len(set(resolved)) < len(resolved):
            repeated = next(a for a in resolved if resolved.count(a) > 1)
            raise LayerInputIncompatible(
                f"Softmax normalises along axes {list(self.axes)}, which name axis {repeated} "
                f"of the input {format_shape(shape)} more than once (Keras builds the model, "
                "but predict fails: duplicate value in 'axis').",
                "List each axis once.", declared=[shape])
        return shape

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return activations.softmax(x, axis=self.axes)

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        """The masked positions get no weight; the mask broadcasts against the input from
        the last axis, as Keras requires."""
        x, mask = inputs[0], masks[0]
        if not broadcasts_to(mask.shape, x.shape):
            raise NotImplementedError(
                f"Softmax applies its input's mask {format_shape(mask.shape)} to the input "
                f"{format_shape(x.shape)} aligned on the last axes, where it does not fit; Keras "
                "refuses it too. Put the mask away before Softmax (e.g. after a layer that does "
                "not support masking).")
        return [self.normalised(x, mask)]

    def normalised(self, x: Array, mask: Array) -> Array:
        """Keras 3's masked softmax, which zeroes the masked positions."""
        return masked_softmax(x, self.axes, mask)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        axes = ", ".join(str(a % len(inputs[0])) for a in self.axes)
        return (f"exponentials normalised to sum to 1 along axis {axes}; the shape "
                f"{format_shape(outputs[0])} is kept")


@tf_keras_variant
class TfKerasSoftmax(Softmax):
    """Softmax in a tf.keras 2 document: it zeroes no masked position, so where every
    position along its axes is masked it gives about 1/n each, where Keras 3 gives zeros
    (recorded: ``activations:softmax_every_position_masked``); exactly 1/n with
    ``robust_masking``, which sets the masked positions to -1e9 rather than adding it
    (recorded: ``activations:softmax_robust_masking``). A ``mask`` of numbers shifts the
    scores by (1 - mask) * -1e9 (``shifted_softmax``)."""

    class Args(Softmax.Args):
        robust_masking = fields.Boolean(load_default=False)

    def normalised(self, x: Array, mask: Array) -> Array:
        if self.args.robust_masking:
            return robust_softmax(x, self.axes, mask)
        return shifted_softmax(x, self.axes, mask)


def broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- the ``activation`` argument of every layer ------------------------------------------------
@dataclass(frozen=True)
class LayerAsActivation:
    """An activation layer that Keras takes as a layer's activation (it writes the layer's
    config, ``{"class_name": "ELU", "config": {...}}``), computed by one of our classes."""

    computed_by: str
    """The class of ours that computes it (a ThresholdedReLU is a ReLU with a threshold)."""
    name: str
    """The activation function it computes, by name."""
    renamed: Mapping[str, str] = field(default_factory=dict)
    """Its config keys that our class names otherwise -> our names."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Its defaults where our class's differ."""
    tf_keras: bool = False
    """Whether tf.keras 2 reads it: computed by our class's tf.keras 2 variant where there is
    one (it takes tf.keras 2's arguments, a Softmax's ``robust_masking``)."""

    def activation(self, class_name: str, config: Mapping[str, Any]) -> str:
        """The activation ``config`` computes; raises ValidationError."""
        if not isinstance(config, Mapping):
            raise ValidationError(f"the config of {class_name} must be an object")
        ours = {**self.defaults, **config}
        for old, new in self.renamed.items():
            if old in ours:
                ours[new] = ours.pop(old)
        try:
            layer = self.layer_class().from_config(class_name, ours)
        except RequestInvalid as exc:
            path, messages = next(iter(exc.errors.items()))
            raise ValidationError(f"{class_name}'s {path}: {'; '.join(messages)}") from None
        arguments = ", ".join(f"{key}={value}" for key, value in vars(layer.args).items()
                              if key != "trainable")
        return activations.ConfiguredActivation(self.name, checked_kernel(layer),
                                                f"{class_name}({arguments})")

    def layer_class(self) -> type[Layer]:
        """Our class that computes the layer, as the Keras reading it does."""
        if self.tf_keras:
            return TF_KERAS_VARIANTS.get(self.computed_by, REGISTRY[self.computed_by])
        return REGISTRY[self.computed_by]


def checked_kernel(layer: Layer) -> Callable[[Array], Array]:
    """``layer``'s kernel as an activation function: on a tensor its shape rule refuses (a
    Softmax axis the tensor does not have), it cannot run, and neither can Keras' call."""

    def kernel(x: Array) -> Array:
        try:
            layer.output_shapes([x.shape])
        except LayerInputIncompatible as exc:
            raise NotImplementedError(exc.message) from None
        return layer.apply(x, ())

    return kernel


KERAS_3_LAYERS = {
    "ReLU": LayerAsActivation("ReLU", "relu"),
    "LeakyReLU": LayerAsActivation("LeakyReLU", "leaky_relu", {"alpha": "negative_slope"}),
    "ELU": LayerAsActivation("ELU", "elu"),
    "Softmax": LayerAsActivation("Softmax", "softmax"),
}
TF_KERAS_LAYERS = {
    **{name: replace(layer, tf_keras=True) for name, layer in KERAS_3_LAYERS.items()},
    "ThresholdedReLU": LayerAsActivation("ReLU", "thresholded_relu", {"theta": "threshold"},
                                         {"theta": 1.0}, tf_keras=True),
}

LEARNT_ACTIVATION = (
    "a PReLU given as an activation adds its learnt slopes to this layer's weights, which "
    "shapecheck does not model: put a PReLU layer after this layer instead")

THRESHOLD_REFUSAL = (
    "Keras' 'threshold' activation needs its threshold and default_value arguments, which a "
    "name cannot give: Keras builds the model, but its predict fails (threshold() missing 2 "
    "required positional arguments). Use a ReLU layer with threshold=... instead.")


@dataclass(frozen=True)
class Vocabulary:
    """What one Keras takes as an ``activation`` argument: a function's name, an activation
    layer's config, or (tf.keras 2) an activation layer's class name for the layer with its
    defaults."""

    keras: str
    """``Keras 3`` or ``tf.keras 2``, for messages."""
    functions: Mapping[str, str]
    """The names of its activation functions -> the argument's value for each."""
    layers: Mapping[str, LayerAsActivation]
    """The activation layers it takes, by class name."""
    layer_names: bool
    """Whether a class name alone stands for the layer with its defaults (tf.keras 2
    deserialises ``"ELU"`` to ``ELU()``)."""
    modules: frozenset[str | None] = frozenset({"keras.layers"})
    """The ``module`` an activation layer's config may name (None: no module); Keras 3 looks
    the class up in the one it names."""
    needs_arguments: frozenset[str] = frozenset()
    """Functions it knows by name whose call fails without arguments a name cannot give."""

    def read(self, value: Any) -> str:
        """The argument's value for ``value`` (a name, or a ``ConfiguredActivation``); raises
        ValidationError with what Keras says."""
        if isinstance(value, str) and value in self.functions:
            return self.functions[value]
        if isinstance(value, Mapping):
            module = value.get("module")
            if not (module is None or isinstance(module, str)) or module not in self.modules:
                raise ValidationError(
                    f"{self.keras} finds the class of an activation layer's config in its "
                    f"module, which must be 'keras.layers', got {module!r:.80} "
                    f"(Keras: Could not locate class {value.get('class_name')!r:.80})")
            return self.layer_activation(value.get("class_name"), value.get("config") or {})
        if isinstance(value, str) and self.layer_names and value in self.layers:
            return self.layer_activation(value, {})
        raise ValidationError(self.unknown(value))

    def layer_activation(self, class_name: Any, config: Any) -> str:
        """The activation an activation layer's class and config compute."""
        if class_name == "PReLU":
            raise ValidationError(LEARNT_ACTIVATION)
        if not isinstance(class_name, str) or class_name not in self.layers:
            raise ValidationError(
                f"{self.keras} takes an activation name or the config of an activation layer "
                f"({', '.join(self.layers)}) here, got the class {class_name!r:.80}")
        return self.layers[class_name].activation(class_name, config)

    def unknown(self, value: Any) -> str:
        """Why ``value`` is refused, in Keras' words where it has some."""
        if not isinstance(value, str):
            return (f"must be an activation name or an activation layer's config, got "
                    f"{value!r:.80}")
        if value in self.needs_arguments:
            return THRESHOLD_REFUSAL
        if value in KERAS_3.functions:
            return (f"'{value}' is a Keras 3 activation that {self.keras} does not have (it "
                    f"refuses it: Unknown activation function '{value}')")
        if value in TF_KERAS_LAYERS:
            function = TF_KERAS_LAYERS[value].name
            alternative = (f"; the function '{function}' is {value} with its defaults"
                           if function in self.functions else "")
            return (f"{self.keras} takes the activation layer {value} as its config "
                    f'({{"class_name": "{value}", "config": {{...}}}}), not by its class name '
                    f"alone as tf.keras 2 did{alternative}")
        return (f"'{value}' is not an activation of {self.keras} (names are case-sensitive): "
                f"use one of {', '.join(sorted(self.functions))}")


KERAS_3 = Vocabulary("Keras 3", {name: name for name in activations.ACTIVATION_NAMES},
                     KERAS_3_LAYERS, layer_names=False, needs_arguments=frozenset({"threshold"}))
TF_KERAS_2 = Vocabulary(
    "tf.keras 2",
    {name: name for name in activations.TF_KERAS_NAMES}
    | {"hard_sigmoid": activations.ConfiguredActivation(
        "hard_sigmoid", activations.tf_keras_hard_sigmoid, "hard_sigmoid (tf.keras 2)")},
    TF_KERAS_LAYERS, layer_names=True, modules=frozenset({"keras.layers", None}))


class ActivationField(fields.Field):
    """A layer's ``activation`` argument, read as ``vocabulary``'s Keras reads it: null for
    linear, a name, or an activation layer's config."""

    def __init__(self, vocabulary: Vocabulary = KERAS_3, **kw: Any) -> None:
        super().__init__(**kw)
        self.vocabulary = vocabulary
        self.metadata.setdefault("type", " | ".join(activations.ACTIVATION_NAMES)
                                 + " | {class_name, config} of " + " | ".join(KERAS_3_LAYERS))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> str:
        return self.vocabulary.read(value)

    def tf_keras_2(self) -> ActivationField:
        """The same argument read as tf.keras 2 reads it."""
        return ActivationField(TF_KERAS_2, required=self.required, allow_none=self.allow_none,
                               load_default=self.load_default)


def activation_arguments(cls: type[Layer]) -> list[str]:
    """The arguments of ``cls`` that are activations."""
    return [name for name, declared in cls.schema().fields.items()
            if isinstance(declared, ActivationField)]


def register_tf_keras_activation_readers() -> None:
    """Give every layer class with an activation argument a tf.keras 2 variant (a subclass of
    its tf.keras 2 variant where it has one) that reads its activations as tf.keras 2 does:
    its names, its ``hard_sigmoid``, and class names of activation layers. Called once every
    layer family is registered."""
    for name, cls in list(REGISTRY.items()):
        arguments = activation_arguments(cls)
        if arguments:
            tf_keras_variant(tf_keras_reader(TF_KERAS_VARIANTS.get(name, cls), arguments))


def tf_keras_reader(cls: type[Layer], arguments: list[str]) -> type[Layer]:
    """A subclass of ``cls`` whose activation ``arguments`` tf.keras 2 reads."""
    declared = cls.schema().fields
    args = type("Args", (cls.Args,), {name: declared[name].tf_keras_2() for name in arguments})
    return type(cls.__name__, (cls,), {
        "Args": args, "__module__": cls.__module__, "__qualname__": cls.__qualname__,
        "__doc__": f"{cls.__doc__}\n\nIn a tf.keras 2 document: its activations as tf.keras 2 "
                   "reads them."})
