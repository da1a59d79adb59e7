"""The Layer base class: everything one Keras layer type knows, in one class.

A layer class declares

- ``keras_name`` (the Keras class name), ``family``, Keras 1/2 ``aliases`` and ``legacy_args``;
- ``Args``, a marshmallow schema of its arguments under their Keras 3 names and defaults (it
  gives the 422 field errors and the ``/v1/layers`` catalogue);
- its shape rule (``output_shape`` / ``output_shapes``), its weights (``weights_for`` /
  ``build``), its multiply-accumulates (``macs``), its numpy kernel (``apply`` / ``forward``)
  and its explanation (``explain``);
- its Keras masks: ``supports_masking`` (pass the first input's mask on), ``compute_mask``
  (what masks its outputs carry) and, for the layers whose Keras ``call`` reads masks
  (recurrent layers, attention, GlobalAveragePooling1D), ``forward_masked``.

Most layers take one tensor and give one: they implement the singular hooks (``output_shape``,
``weights_for``, ``apply``). Layers that take several tensors (merges, attention) or give
several (``return_state``) override the plural ones. Shapes include the batch axis, as in Keras'
``compute_output_shape``.
"""

from __future__ import annotations

import marshal
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from ..activations import SHAPE_CHANGING
from ..errors import ArgumentError, LayerInputIncompatible, RequestInvalid
from ..fields import flatten_messages
from ..shapes import Shape, format_shape, num_elements, shapes_text

if TYPE_CHECKING:  # the graph holds layers: only the annotations name it
    from ..graph import ModelGraph, Propagation

Array = np.ndarray
Mask = np.ndarray | None
"""A Keras mask: booleans over the leading axes of a tensor (batch, steps), False where a step
is padding; None for a tensor without one."""
Shapes = Sequence[Shape]
INTEGER_DTYPES = frozenset({"int8", "int16", "int32", "int64",
                            "uint8", "uint16", "uint32", "uint64"})
"""The integer dtypes Keras tensors may have; with ``bool`` the dtypes it leaves as they are."""
EXACT_DTYPES = INTEGER_DTYPES | {"bool"}
"""What a Keras layer leaves as it is, where it casts floating inputs to its own dtype."""
LOW_PRECISION = frozenset({"float16", "bfloat16"})
"""The float dtypes a Keras layer may compute in below float32 (a mixed-precision policy)."""
FLOAT_DTYPES = LOW_PRECISION | {"float64"}
"""The float dtypes a Keras tensor may have besides float32 (float64 in tf.keras 2 only)."""


def low_precision_values(values: Array, dtype: str) -> Array:
    """Float32 values rounded to ``dtype`` (float16 or bfloat16, to nearest, ties to even, as a
    cast does), kept in float32."""
    if dtype == "float16":
        with np.errstate(over="ignore"):
            return values.astype(np.float16).astype(np.float32)
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = (bits + (0x7FFF + ((bits >> 16) & 1))) & 0xFFFF0000  # NaN stays NaN
    return np.where(np.isnan(values), values, rounded.view(np.float32))


def integer_values(values: Array, dtype: str,
                   rounding: Callable[[Array], Array] = np.trunc) -> Array:
    """Float values as Keras 3 on JAX makes them integers of ``dtype`` (XLA's conversion),
    kept in float32: by ``rounding`` (toward zero for a cast), NaN to 0, saturated at the
    dtype's range, and no negative zeros (an integer 0 has no sign)."""
    bounds = np.iinfo(dtype)
    finite = np.nan_to_num(values, nan=0.0, posinf=bounds.max, neginf=bounds.min)
    return (np.clip(rounding(finite), bounds.min, bounds.max) + 0.0).astype(np.float32)


def promoted_dtype(dtypes: Sequence[str]) -> str:
    """The dtype integer or boolean tensors of ``dtypes`` combine into (int32 and uint8 give
    int32), as numpy and JAX promote them."""
    first = dtypes[0]
    return first if all(d == first for d in dtypes) else np.result_type(*dtypes).name


def wraps_around(dtype: str) -> str | None:
    """For an integer dtype of 8 or 16 bits, where integer arithmetic in it wraps around
    ("past 0 to 255" for uint8); None for wider ones (and bool), whose sums of data rarely
    leave their range."""
    if dtype not in INTEGER_DTYPES or np.dtype(dtype).itemsize > 2:
        return None
    bounds = np.iinfo(dtype)
    return f"past {bounds.min} to {bounds.max}"


class NegatesUnsignedIntegers:
    """A mixin for a layer that Keras 3 computes with negatives of its inputs (``x - max``,
    ``-x``) in their dtype, where those of unsigned integers wrap around (-1 is 255 in uint8):
    its values are then not those of the floats. The check warns; the forward pass refuses
    (it does not follow each function's arithmetic in uint8). ``negates_unsigned`` says
    whether this layer's arguments do."""

    def negates_unsigned(self) -> bool:
        return True

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        outputs = super().on_integer_inputs(inputs, weights, outputs, dtype)  # type: ignore[misc]
        if dtype.startswith("uint") and self.negates_unsigned():
            raise NotImplementedError(
                f"Keras 3 computes it with negatives of the values in {dtype}, where they wrap "
                "around, which the forward pass does not follow")
        return outputs

    def integer_caveat(self, dtype: str) -> str | None:
        caveat = super().integer_caveat(dtype)  # type: ignore[misc]
        if caveat is None and dtype.startswith("uint") and self.negates_unsigned():
            return (f"computes with negatives of them in {dtype}, where -1 is "
                    f"{np.iinfo(dtype).max}: its values are not those of the floats")
        return caveat


def wrapped_integers(values: Array, dtype: str) -> Array:
    """Integer values (in float32) as integer arithmetic in ``dtype`` leaves them: modulo
    2^bits, in two's complement, as XLA and TensorFlow overflow. Wrapping the exact result of
    sums and products once is wrapping each step."""
    bounds = np.iinfo(dtype)
    if values.size == 0 or (values.min() >= bounds.min and values.max() <= bounds.max):
        return values
    span = float(bounds.max) - float(bounds.min) + 1.0
    return ((values - float(bounds.min)) % span + float(bounds.min)).astype(np.float32)


@dataclass(frozen=True)
class ShapeCaveat:
    """A shape Keras declares but does not compute: what differs, the hint, and the arguments
    that avoid it (None when no change of arguments does)."""

    message: str
    hint: str
    args: dict[str, Any] | None = None
    follow_with: tuple[str, dict[str, Any]] | None = None
    """A layer (Keras class, arguments) that, read after this one, computes the declared shape
    again; None when no such layer does."""


@dataclass(slots=True)
class Weight:
    """One weight variable, in the order and layout of Keras ``layer.get_weights()``. Not
    changed once made (not frozen: a frozen dataclass costs three times as much to make, and
    propagation makes one per weight of every layer)."""

    name: str
    shape: tuple[int, ...]
    trainable: bool = True
    initializer: str = "zeros"
    dtype: str | None = None
    """The variable's dtype where Keras gives it one of its own (an int8 kernel; LoRA's float32
    factors); None: the layer's (``Layer.variable_dtype``)."""
    size: int = field(init=False, repr=False, compare=False)
    """Elements of the weight: summed by the rows, the totals and the lint."""

    def __post_init__(self) -> None:
        self.size = num_elements(self.shape) or 0


ITEMSIZE = {"float16": 2, "bfloat16": 2, "float64": 8, "int8": 1, "uint8": 1}
"""Bytes a value of a weight's dtype (its own, or its layer's ``variable_dtype``) takes, where
it is not float32's 4: what Keras' summary counts."""


WRITTEN_WHEN_SET = "written_when_set"
"""Metadata of an argument Keras' ``get_config`` writes only when it is set (``lora_rank``):
``Layer.declared_values`` does not expect it in a config."""


class LayerArgs(Schema):
    """Arguments every layer accepts. Unknown arguments (initialisers, regularisers,
    constraints, Keras bookkeeping) do not change shapes and are ignored."""

    class Meta:
        unknown = EXCLUDE

    trainable = fields.Boolean(load_default=True)


REGISTRY: dict[str, type[Layer]] = {}
"""Keras class name -> layer class, for every supported layer type."""

ALIASES: dict[str, str] = {}
"""Other Keras 3 class name (``MaxPool2D``) -> canonical Keras class name (``MaxPooling2D``)."""

LEGACY_ALIASES: dict[str, str] = {}
"""Keras 1/2 class name (``Convolution2D``) -> Keras 3 class name (``Conv2D``)."""


def register(cls: type[Layer]) -> type[Layer]:
    """Class decorator: make a layer type known to the engine under its Keras name."""
    REGISTRY[cls.keras_name] = cls
    for alias in cls.aliases:
        ALIASES[alias] = cls.keras_name
    for alias in cls.legacy_aliases:
        LEGACY_ALIASES[alias] = cls.keras_name
    return cls


class Layer:
    """A Keras layer type. Subclasses are registered with ``@register``."""

    keras_name: ClassVar[str]
    family: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    """Other Keras 3 names of the same class (``MaxPool2D``); accepted silently."""
    legacy_aliases: ClassVar[tuple[str, ...]] = ()
    """Keras 1/2 class names (``Convolution2D``); accepted with a ``legacy_argument`` warning."""
    legacy_args: ClassVar[Mapping[str, str]] = {}
    """Keras 1/2 argument names peculiar to this class; the common ones are in ``legacy.py``."""
    nested_layers: ClassVar[tuple[str, ...]] = ()
    """The arguments that hold layers (a wrapper's ``layer``, a Pipeline's ``layers``), whose
    Keras 1/2 spellings are translated too."""
    elementwise: ClassVar[bool] = False
    """True when the output has the input's shape and each element depends on its own only."""
    arity: ClassVar[int | None] = 1
    """How many input tensors a call takes; None for a list of any length (merges)."""
    returns_its_input: ClassVar[bool] = False
    """Keras 3's symbolic call gives back the input tensor itself (Equalization), which a model
    reads past or refuses as a cycle (``graph.returned_inputs``); the layer then says why in
    ``skipped`` and ``cycle``."""
    supports_masking: ClassVar[bool] = False
    """Keras' ``supports_masking``: the layer keeps its input's mask (``compute_mask``); the
    others drop it."""
    numeric_mask_arguments: ClassVar[frozenset[str]] = frozenset()
    """The mask arguments of its call that the layer reads as numbers (a Softmax's ``mask``);
    the others reach it as booleans, True where the value is not 0, as Keras' kernels cast
    them."""
    returns_tuple: ClassVar[bool] = False
    """Several outputs come as a tuple, not a list (tf.keras 2's summary spells them so)."""
    keeps_integers: ClassVar[bool] = False
    """Keras gives integer (and boolean) inputs back in their dtype, of the values it computes
    on floats: layers that move, select or compare values (reshaping, dropout at inference,
    max pooling, ReLU). Keras casts floating inputs to the layer's dtype and leaves the others
    as they are; the forward pass computes in float32 and tracks the dtype of the tensors Keras
    holds as integers or booleans (``output_dtype``), for the layers that compute other values
    on integers (``on_integer_inputs``) and for the dtype of the model's outputs."""
    Args: ClassVar[type[Schema]] = LayerArgs
    _arg_names: ClassVar[tuple[str, ...]] = ()
    _arg_values: ClassVar[Callable[[Mapping[str, Any]], Any]]
    _written_when_set: ClassVar[tuple[str, ...]] = ()
    _always_written: ClassVar[int] = 0
    _missing: ClassVar[tuple[Any, ...]] = ()
    variable_dtype: str | None = None
    """The dtype of the layer's variables where its policy makes it other than float32
    (``float16``, ``bfloat16``, ``float64``; a mixed policy's are float32), set by the loader
    (``formats.common.declared_variable_dtype``): the bytes Keras' summary counts."""
    compute_dtype: str | None = None
    """The dtype of Keras' computation where the layer's dtype policy makes it other than
    float32 (float16 or bfloat16 under ``mixed_float16``, ..., float64 in tf.keras 2), set by
    the loader (``formats.common.compute_dtype``); None for float32. The dtype of its outputs
    (``computed.tensor_dtypes``); the forward pass computes in float32 and rounds only the
    model's outputs to their dtype."""
    outputs_variable_dtype: ClassVar[bool] = False
    """Whether Keras gives the outputs in the policy's variable dtype (float32 under a
    mixed-precision policy), not its compute dtype: the loader sets ``compute_dtype`` so."""
    config_key: tuple | None = None
    """``memo_key`` of the config ``from_config`` built the layer from (and the quantized
    policy of a quantized layer, ``formats.common.quantize``): two layers with equal keys
    compute the same shapes, weights, costs and explanations. None for layers built
    otherwise, or from configs that make no key."""

    def __init__(self, name: str, args: Mapping[str, Any]) -> None:
        self.name = name
        self.args = SimpleNamespace(**args)
        self.trainable: bool = args.get("trainable", True)

    @classmethod
    def dtype_policy(cls, config: Mapping[str, Any]) -> Any:
        """The dtype policy, in ``config``, that decides the dtype of the layer's outputs (the
        loader reads it into ``compute_dtype``): the layer's own ``dtype``."""
        return config.get("dtype")

    @classmethod
    def weights_dtype(cls, variable_dtype: str | None, flavour: str) -> str | None:
        """The dtype of the layer's weights (``variable_dtype``) under a policy whose variables
        are ``variable_dtype``, in a document of ``flavour``: the same but for a layer that
        keeps its own."""
        return variable_dtype

    @classmethod
    def from_config(cls, name: str, config: Mapping[str, Any],
                    built: dict[tuple, Layer] | None = None) -> Layer:
        """Validate ``config`` against ``Args`` and build the layer.

        ``built`` holds the layers a model document has built so far, by ``config_key``: a
        config met again (a model repeats its blocks) gives a ``renamed`` copy of its layer.
        Raises RequestInvalid with paths relative to the layer's config.
        """
        key = memo_key(cls, config)
        twin = built.get(key) if built is not None and key else None
        if twin is not None:
            return twin.renamed(name)
        try:
            layer = cls(name, cls.load_args(config, key))
        except ArgumentError as exc:
            raise RequestInvalid({exc.field: [exc.message]}) from None
        layer.config_key = key
        if built is not None and key:
            built[key] = layer
        return layer

    def renamed(self, name: str) -> Layer:
        """This layer under another name: a copy that shares what ``__init__`` derived from
        the arguments. A layer does not change once built, and takes nothing from its name
        but ``name``."""
        twin = object.__new__(type(self))
        fields = self.__dict__.copy()
        fields["name"] = name
        twin.__dict__ = fields
        return twin

    @classmethod
    def load_args(cls, config: Mapping[str, Any],
                  key: tuple[type[Layer], bytes] | None) -> dict[str, Any]:
        """``config`` validated by ``Args``; raises RequestInvalid.

        Large models repeat the same arguments (every BatchNormalization of a ResNet), so valid
        results are memoised by the declared arguments' values, typed (``1`` is not ``True``),
        when those are small (``key``, the config's ``memo_key``): nested layer configs and
        long lists are validated every time, so the memo never holds much of a request.
        """
        loaded = _LOADED_ARGS.get(key) if key else None
        if loaded is None:
            try:
                loaded = cls.schema().load(dict(config))
            except ValidationError as exc:
                raise RequestInvalid(flatten_messages(exc.messages, "")) from None
            if key:
                if len(_LOADED_ARGS) >= _LOADED_ARGS_MAX:
                    _LOADED_ARGS.clear()
                _LOADED_ARGS[key] = loaded
        return dict(loaded)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._arg_names = ()  # each class reads its own, on first use (``arg_names``)

    @classmethod
    def arg_names(cls) -> tuple[str, ...]:
        """The config keys ``Args`` reads, once per class: those Keras' ``get_config`` writes
        always, then those it writes only when set (``WRITTEN_WHEN_SET``: LoRA's)."""
        if not cls._arg_names:
            keys = {declared.data_key or name: declared.metadata.get(WRITTEN_WHEN_SET, False)
                    for name, declared in cls.schema().fields.items()}
            always = [key for key, sometimes in keys.items() if not sometimes]
            cls._written_when_set = tuple(key for key, sometimes in keys.items() if sometimes)
            cls._missing = (...,) * len(cls._written_when_set)
            cls._arg_names = (*always, *cls._written_when_set)
            cls._always_written = len(always)
            cls._arg_values = operator.itemgetter(*always)
        return cls._arg_names

    @classmethod
    def declared_values(cls, config: Mapping[str, Any]) -> Any:
        """The values ``config`` gives the arguments ``Args`` reads: a tuple when it gives
        all those Keras' ``get_config`` always writes (one C call then reads them), with
        those it writes when set after it, else a list with ``...`` for each one missing."""
        names = cls._arg_names or cls.arg_names()
        sometimes = cls._written_when_set
        if len(config) >= cls._always_written:
            try:
                values = cls._arg_values(config)
            except KeyError:
                pass
            else:
                return (values, *map(config.get, sometimes, cls._missing)) if sometimes \
                    else values
        return [config.get(name, ...) for name in names]

    @classmethod
    def schema(cls) -> Schema:
        """The ``Args`` schema, built once per class: building one deep-copies its fields, which
        costs more than loading a config with it."""
        if "_schema" not in cls.__dict__:
            cls._schema = cls.Args()
        return cls._schema

    @classmethod
    def describe(cls) -> str:
        """First paragraph of the class docstring, on one line with single spaces and code in
        single backquotes: the catalogue's description."""
        paragraph = (cls.__doc__ or cls.keras_name).strip().split("\n\n")[0]
        return " ".join(paragraph.split()).replace("``", "`")

    # -- shape rule ---------------------------------------------------------------------------
    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        """Output shapes of one call. Raises LayerInputIncompatible."""
        if len(inputs) != 1:
            raise self.not_one_input(inputs)
        return [self.output_shape(inputs[0])]

    def output_shapes_for_call(self, inputs: Shapes, options: Mapping[str, Any]) -> list[Shape]:
        """Output shapes of a call with non-tensor options (``return_attention_scores``)."""
        return self.output_shapes(inputs)

    def undeclared_shape(self, index: int, options: Mapping[str, Any],
                         inputs: Shapes) -> str | None:
        """Why Keras computes output ``index`` of a call with ``options`` on ``inputs`` in a
        shape other than the one it declares (and the shape rule gives); None where the two
        agree. By default: an ``activation`` that changes the shape (glu halves the last
        axis)."""
        activation = getattr(self.args, "activation", None)
        if activation in SHAPE_CHANGING:
            return (f"its activation '{activation}' halves the last axis, which Keras leaves out "
                    "of the shape it declares")
        return None

    def computed_output_shape(self, inputs: Shapes) -> Shape | None:
        """The shape of output 0 that the kernel computes on ``inputs`` where it differs from
        the declared one (``undeclared_shape``); None where it does not. The forward pass
        follows it (``computed``). By default: half the last axis under a glu activation."""
        if getattr(self.args, "activation", None) not in SHAPE_CHANGING:
            return None
        declared = self.output_shapes(inputs)[0]
        last = declared[-1]
        return None if last is None or last % 2 else (*declared[:-1], last // 2)

    def declared_shape_caveat(self, inputs: Shapes) -> ShapeCaveat | None:
        """The ``declared_shape_differs`` warning of a call on ``inputs`` whose output Keras
        computes in another shape than it declares (and the shape rule gives); None where the
        two agree."""
        return None

    def output_shape(self, shape: Shape) -> Shape:
        if self.elementwise:
            return shape
        raise NotImplementedError(f"{self.keras_name} has no shape rule")

    # -- weights ------------------------------------------------------------------------------
    def build(self, inputs: Shapes) -> list[Weight]:
        """The weights created by the first call, as Keras' ``build`` creates them."""
        if len(inputs) != 1:
            raise self.not_one_input(inputs)
        return self.weights_for(inputs[0])

    def weights_for(self, shape: Shape) -> list[Weight]:
        return []

    def built_as(self, declared: Shapes) -> Layer:
        """The layer as Keras built it for inputs of the ``declared`` shapes, to run on inputs
        of other shapes, which Keras computes but does not declare (``computed.py``): itself,
        where ``build`` made nothing from those shapes but weights (``computed.refusal``
        compares those). Raises NotImplementedError, saying why, where the forward pass does
        not follow other shapes through the layer."""
        return self

    # -- cost ---------------------------------------------------------------------------------
    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        """Multiply-accumulates against weights for one sample (fvcore's convention)."""
        return 0

    def scratch_bytes(self, inputs: Shapes, outputs: Shapes) -> int:
        """Bytes of the temporaries the forward kernel makes besides its outputs (a padded
        copy of the input, a patch matrix), for the batch in the shapes: an upper bound,
        which ``budget.estimate`` counts before the pass."""
        return 0

    def inner_graph(self, inputs: Shapes) -> tuple[ModelGraph, Propagation] | None:
        """For a model called as a layer, its graph and propagation for a call on ``inputs``,
        whose layers ``budget.estimate`` counts one by one; None for a layer."""
        return None

    def kernel_steps(self, inputs: Shapes, outputs: Shapes) -> int:
        """Iterations of the Python loops of the forward kernel, for the batch in the shapes:
        each costs time whatever its arithmetic (``budget.STEP_MACS``), so that a long loop
        over small arrays is refused before it starts, like a large product."""
        return 0

    # -- forward kernel -----------------------------------------------------------------------
    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        """The integer or boolean dtype of Keras' outputs, or None for floats; ``dtypes[i]``
        is that of input ``i`` (``keeps_integers``, or a layer that makes indices)."""
        return promoted_dtype(dtypes) if self.keeps_integers and dtypes and all(dtypes) else None

    def output_dtypes(self, dtypes: Sequence[str | None]) -> list[str | None] | None:
        """The dtype of each output (None for float32) where a call's outputs have each their
        own (a nested model's); None where every output has ``output_dtype`` (or, for floats,
        the compute dtype of the layer's policy)."""
        return None

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        """The outputs Keras computes when every input is an integer tensor (of ``dtype``, the
        first's), from those the kernel computed on their values (``inputs``) in float32: the
        same, but where Keras computes otherwise on integers (``integer_caveat`` says how, or
        the overflow of integer arithmetic), or NotImplementedError where predict fails on
        them (``integer_failure``)."""
        failure = self.integer_failure()
        if failure is not None:
            raise NotImplementedError(f"Keras 3 {failure}, which its predict cannot do")
        return outputs

    def integer_failure(self) -> str | None:
        """What Keras 3 does with integer inputs that its predict fails on, a clause after
        "Keras 3 ..." ("convolves them, as integers, with its float kernel"); None where
        predict runs. Keras builds the model: the check warns (``integer_caveat``), the
        forward pass refuses (``on_integer_inputs``)."""
        return None

    def integer_caveat(self, dtype: str) -> str | None:
        """How Keras computes otherwise on integer inputs of ``dtype`` (``on_integer_inputs``),
        completing "Keras leaves integer tensors as they are, and <keras_name> ..." (the
        ``integer_inputs`` warning); None where it computes the values it does on floats."""
        failure = self.integer_failure()
        if failure is None:
            return None
        return f"{failure}, which Keras 3 cannot do: predict and fit fail there"

    def integer_refusal(self) -> str | None:
        """Why Keras refuses to build the layer on integer inputs, a clause after "..., and"
        (a ``layer_input_incompatible`` error); None where it builds it."""
        return None

    def merged_adapters(self, arrays: Sequence[Array]) -> Sequence[Array]:
        """The arrays the forward kernel reads, from the weights Keras holds: the same, but a
        LoRA layer's (``adapters``) and a wrapper's of one."""
        return arrays

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        """numpy forward pass of one call with Keras inference semantics."""
        return [self.apply(inputs[0], weights)]

    def forward_for_call(self, inputs: Sequence[Array], weights: Sequence[Array],
                         options: Mapping[str, Any]) -> list[Array]:
        """The kernel of a call with non-tensor options (``return_attention_scores``)."""
        return self.forward(inputs, weights)

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        """The kernel of a call whose inputs carry Keras masks (``masks[i]`` is the mask of
        ``inputs[i]``, None where there is none). Only layers whose Keras ``call`` reads masks
        override it; a kernel that cannot follow a mask raises NotImplementedError."""
        return self.forward_for_call(inputs, weights, options)

    def mask_of_list(self, given: list[Any]) -> Mask:
        """The mask of this layer's one input given as a list in its call's ``mask`` argument
        (``mask=[m]``). Keras hands the list to the call as it is, where a tensor goes: the
        kernel fails on it (``'list' object has no attribute 'shape'``), so this refuses it
        (NotImplementedError) unless the layer reads lists."""
        raise NotImplementedError(
            f"its mask argument is a list of {len(given)} for its one input, where Keras' call "
            "takes one mask tensor (Keras builds the model, but its predict fails)")

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        """The Keras masks of a call's outputs, in order (missing ones are None): Keras'
        default gives the first output the first input's mask when the layer supports masking.
        """
        return [masks[0]] if self.supports_masking else []

    def compute_mask_for_call(self, inputs: Sequence[Array], masks: Sequence[Mask],
                              options: Mapping[str, Any]) -> list[Mask]:
        """The masks of a call with non-tensor options: ``compute_mask``'s, unless the
        options change them (ReversibleEmbedding's ``reverse=True`` logits carry none)."""
        return self.compute_mask(inputs, masks)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        if self.elementwise and not weights:
            return x
        raise NotImplementedError(f"{self.keras_name} has no forward kernel")

    # -- explanation --------------------------------------------------------------------------
    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        """How the output shape and the parameters came about, in plain words with numbers."""
        shape_text = self.explain_shape(inputs, outputs)
        return f"{shape_text}; {explain_params(weights)}"

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        outs = format_shape(outputs[0]) if len(outputs) == 1 else shapes_text(outputs)
        if self.elementwise:
            return f"applied element by element, the shape {outs} is kept"
        return f"{shapes_text(inputs)} → {outs}"

    # -- helpers for subclasses ---------------------------------------------------------------
    def one(self, inputs: Shapes) -> Shape:
        """The single input shape of a one-tensor layer."""
        if len(inputs) != 1:
            raise self.not_one_input(inputs)
        return inputs[0]

    def not_one_input(self, inputs: Shapes) -> LayerInputIncompatible:
        return LayerInputIncompatible(
            f"{self.keras_name} takes one input tensor, but received {len(inputs)}: "
            + shapes_text(inputs),
            "Connect a single layer to it, or merge the tensors first (Concatenate, Add).",
        )

    def require_rank(self, shape: Shape, *ranks: int, what: str = "") -> None:
        """Raise unless the batched ``shape`` has one of ``ranks`` axes (batch included)."""
        if len(shape) in ranks:
            return
        expected = " or ".join(str(r) for r in ranks)
        raise LayerInputIncompatible(
            f"{self.keras_name} expects inputs of rank {expected} "
            f"{what or '(batch axis included)'}, but received {format_shape(shape)} "
            f"of rank {len(shape)}.",
            rank_hint(len(shape), ranks),
        )

    def require_known(self, dim: int | None, what: str) -> int:
        """A dimension a weight needs; unknown (None) cannot build the layer."""
        if dim is None:
            raise LayerInputIncompatible(
                f"{self.keras_name} needs to know {what} to create its weights, but that axis "
                "is unknown (None).",
                "Give the model input a fixed size on that axis.",
            )
        return dim

    @staticmethod
    def expand_tuple(value: int | tuple, n: int, field: str) -> tuple[int, ...]:
        """Keras' ``standardize_tuple``: an int for every axis, or exactly ``n`` of them."""
        if isinstance(value, int):
            return (value,) * n
        if len(value) != n or not all(isinstance(v, int) for v in value):
            raise ArgumentError(field, f"must be an integer or a list of {n} integers, "
                                       f"got {list(value)}")
        return tuple(value)


_LOADED_ARGS: dict[tuple[type[Layer], bytes], dict[str, Any]] = {}
_LOADED_ARGS_MAX = 4096
_MEMO_KEY_BYTES = 256
"""The largest memo key: the declared arguments of one layer, marshalled."""


def memo_key(cls: type[Layer], config: Mapping[str, Any]) -> tuple[type[Layer], bytes] | None:
    """The memo key of a config's declared arguments: their values marshalled, which tells
    types apart (``1``, ``1.0``, ``True``, a list from a tuple) and a missing argument (``...``)
    from a null one. None when an argument is not a plain value, holds an object (a nested
    layer config), or when they are large: those configs are validated every time."""
    try:
        data = marshal.dumps(cls.declared_values(config), 2)
    except ValueError:  # not plain data
        return None
    if len(data) > _MEMO_KEY_BYTES or b"{" in data:  # a dict (or, rarely, a 123 or a "{")
        return None
    return cls, data


def explain_params(weights: Sequence[Weight]) -> str:
    """``params: kernel (3, 3, 3, 32) + bias (32,) = 896``, or ``no weights``."""
    if not weights:
        return "no weights"
    parts = []
    total = frozen = 0
    for w in weights:  # one pass: every layer's row is explained
        parts.append(f"{w.name} {format_shape(w.shape)}")
        total += w.size
        if not w.trainable:
            frozen += w.size
    tail = f" ({frozen:,} non-trainable)" if frozen else ""
    return f"params: {' + '.join(parts)} = {total:,}{tail}"


def expand_mask(mask: Array, shape: tuple[int, ...]) -> Array:
    """A mask applied to the elements of a tensor of ``shape``, as Keras layers apply one: an
    axis of 1 appended when it has fewer axes, then broadcast. Raises NotImplementedError when
    it does not broadcast: Keras cannot apply it either."""
    if mask.ndim < len(shape):
        mask = mask[..., None]
    try:
        return np.broadcast_to(mask, shape)
    except ValueError:
        raise NotImplementedError(
            f"its input's mask {format_shape(mask.shape)} does not fit the input "
            f"{format_shape(shape)}, so Keras cannot apply it either") from None


def rank_hint(received: int, expected: Sequence[int]) -> str:
    """A hint for a rank mismatch, in terms a newcomer knows."""
    want = min(expected, key=lambda r: abs(r - received))
    if received < want:
        return (f"The input has {want - received} axis(es) too few. Add the missing axis to "
                "your data (e.g. a channel axis of 1) or insert a Reshape before this layer.")
    return ("The input has too many axes. Insert Flatten, a global pooling layer or a Reshape "
            "before this layer.")


def activation_field(**kw: Any) -> fields.Field:
    """An activation argument: a Keras activation name, an activation layer's config, or null
    for linear (``layers.activations.ActivationField``)."""
    from .activations import ActivationField

    if not kw.get("required"):
        kw.setdefault("load_default", None)
    return ActivationField(allow_none=True, **kw)


def inner_layer(spec: Mapping[str, Any], field: str,
                variants: Mapping[str, type[Layer]] | None = None) -> Layer:
    """A layer nested in a wrapper's argument (Bidirectional's ``layer``).

    ``spec`` is native (``{"type": "LSTM", "units": 8}``) or Keras JSON (``{"class_name":
    "LSTM", "config": {...}}``). ``variants``: classes that replace the Keras 3 ones by Keras
    name (tf.keras 2's, for a wrapper in a tf.keras 2 document). Problems raise ArgumentError
    under ``field``.
    """
    if "class_name" in spec:
        class_name, config = spec["class_name"], spec.get("config") or {}
        if not isinstance(config, Mapping):
            raise ArgumentError(f"{field}.config", f"must be an object, got {config!r:.80}")
        config = dict(config)
    else:
        class_name, config = spec.get("type"), {k: v for k, v in spec.items() if k != "type"}
    if not isinstance(class_name, str):
        raise ArgumentError(field, f"the layer type must be a string, got {class_name!r}")
    canonical = ALIASES.get(class_name) or LEGACY_ALIASES.get(class_name) or class_name
    cls = REGISTRY.get(canonical) if isinstance(canonical, str) else None
    if cls is None:
        raise ArgumentError(field, f"unknown layer type {class_name!r}")
    if variants:
        cls = variants.get(cls.keras_name, cls)
    name = config.pop("name", None) or str(canonical).lower()
    try:
        layer = cls.from_config(name, config)
    except RequestInvalid as exc:
        path, messages = next(iter(exc.errors.items()))
        raise ArgumentError(f"{field}.{path}" if path else field, "; ".join(messages)) from None
    from .adapters import HeldWeights  # which imports this module
    from .quantized import quantization

    if isinstance(layer, HeldWeights):
        try:
            layer.quantize(quantization(config.get("dtype")))
        except ArgumentError as exc:
            raise ArgumentError(f"{field}.{exc.field}", exc.message) from None
    return layer
