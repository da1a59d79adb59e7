"""Quantized layers: Dense, EinsumDense, Embedding and ReversibleEmbedding under each quantized
dtype policy Keras 3 has (``int8``, ``int4`` per channel and in blocks, ``float8``, ``gptq``,
``awq``), alone and with LoRA, and where Keras refuses them. The int8, int4 and float8 cases
record ``predict`` too, with random integer kernels (``build.random_weight``): the forward
pass computes those layers as Keras does, and refuses GPTQ and AWQ. Keras 3 only."""

from build import LEGACY, seq

MODES = ("int8", "int4", "int4/4", "float8", "gptq/4/128", "gptq/8/2", "awq/4/128", "awq/4/2")


def dense(units: int, mode: str, **args) -> dict:
    return {"type": "Dense", "units": units, "dtype": f"{mode}_from_float32", **args}


def einsum(equation: str, output_shape, mode: str, **args) -> dict:
    return {"type": "EinsumDense", "equation": equation, "output_shape": output_shape,
            "dtype": f"{mode}_from_float32", **args}


def embedding(kind: str, mode: str, **args) -> dict:
    return {"type": kind, "input_dim": 20, "output_dim": 7, "dtype": f"{mode}_from_float32",
            **args}


def named(mode: str) -> str:
    return mode.replace("/", "_")


def computed(mode: str) -> bool:
    """Whether the forward pass computes ``mode`` (and so the case records ``predict``)."""
    return mode.split("/")[0] in ("int8", "int4", "float8")


EINSUMS = [  # (name, input shape, equation, output_shape, bias_axes)
    ("matrix", [5], "ab,bc->ac", 6, "c"),
    ("heads", [3, 4], "abc,cde->abde", [3, 2, 5], "de"),
    ("projection_out", [3, 2, 4], "abcd,cde->abe", [3, 6], "e"),
    ("wide_first_axis", [3, 8], "abc,cde->abde", [3, 2, 3], None),
    ("kernel_axes_swapped", [3, 4], "abc,dc->abd", [3, 6], None),
    ("left_ellipsis", [2, 3, 4], "...b,bc->...c", 6, "c"),
    ("right_ellipsis", [3, 4, 5], "ab...,bc->ac...", 6, None),
]

CASES = [] if LEGACY else [
    *[seq(f"dense_{named(mode)}", [6], dense(5, mode, activation="tanh"),
          forward=computed(mode)) for mode in MODES],
    *[seq(f"dense_{named(mode)}_3d_no_bias", [3, 9], dense(4, mode, use_bias=False),
          forward=computed(mode)) for mode in ("int8", "int4/4", "gptq/4/2")],
    seq("dense_int8_mixed_bfloat16", [6], dense(5, "int8", dtype="int8_from_mixed_bfloat16"),
        forward=True),
    # The same arguments on the same input, one quantized: two layers of other weights.
    seq("dense_int8_then_float_dense", [5], dense(5, "int8"), {"type": "Dense", "units": 5}),
    # A batch norm after an int8 Dense is not folded into its integer kernel.
    seq("dense_int8_then_batch_norm", [6], dense(5, "int8"), {"type": "BatchNormalization"}),
    *[seq(f"einsum_{name}_{named(mode)}", shape, einsum(equation, out, mode, bias_axes=bias),
          forward=computed(mode) and "..." not in equation)
      for name, shape, equation, out, bias in EINSUMS for mode in MODES],
    *[seq(f"{kind.lower()}_{named(mode)}{'_untied' if not tied else ''}", [4],
          embedding(kind, mode, **({} if tied else {"tie_weights": False})),
          forward=computed(mode), int_inputs=20)
      for kind, tied in (("Embedding", True), ("ReversibleEmbedding", True),
                         ("ReversibleEmbedding", False))
      for mode in ("int8", "int4", "int4/4", "float8", "gptq/4/128")],
    # LoRA on a quantized layer: the factors follow the trainable weights.
    *[seq(f"dense_lora_{named(mode)}", [6], dense(5, mode, lora_rank=2),
          forward=computed(mode))
      for mode in ("int8", "int4", "int4/4", "float8", "gptq/4/128", "awq/4/128")],
    seq("einsum_lora_int4_4", [3, 4], einsum("abc,cde->abde", [3, 2, 5], "int4/4",
                                             lora_rank=2)),
    seq("einsum_lora_int8", [3, 4], einsum("abc,cde->abde", [3, 2, 5], "int8", lora_rank=2,
                                           lora_alpha=4.0, bias_axes="e")),
    seq("embedding_lora_int8", [4], embedding("Embedding", "int8", lora_rank=3),
        int_inputs=20),
    # Keras ignores the mode of a layer it does not quantize.
    seq("conv2d_int8", [6, 6, 3], {"type": "Conv2D", "filters": 4, "kernel_size": 3,
                                   "dtype": "int8_from_float32"}, forward=False),
]
