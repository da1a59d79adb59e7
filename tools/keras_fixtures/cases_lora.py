"""LoRA (``lora_rank``, ``lora_alpha``): Dense, EinsumDense, Embedding, ReversibleEmbedding and
Conv1D/2D/3D with their kernels frozen and low-rank factors added. The forward cases draw
every weight at random, the factors included, so that ``predict`` reads the kernel with the
update merged in, at the scale each layer really uses. Keras 3 only."""

from build import LEGACY, seq


def dense(units: int, **args) -> dict:
    return {"type": "Dense", "units": units, **args}


def conv(kind: str, filters: int, kernel_size, **args) -> dict:
    return {"type": kind, "filters": filters, "kernel_size": kernel_size, **args}


def einsum(equation: str, output_shape, **args) -> dict:
    return {"type": "EinsumDense", "equation": equation, "output_shape": output_shape, **args}


CASES = [] if LEGACY else [
    seq("dense_lora", [6], dense(4, lora_rank=2, activation="relu")),
    seq("dense_lora_3d_no_bias", [3, 5], dense(7, lora_rank=3, use_bias=False)),
    # Dense builds its adapters with lora_alpha equal to the rank, whatever the config says.
    seq("dense_lora_alpha", [6], dense(4, lora_rank=2, lora_alpha=8.0)),
    seq("dense_lora_rank_above_sizes", [3], dense(2, lora_rank=5)),
    seq("dense_lora_rank_zero", [6], dense(4, lora_rank=0)),
    seq("dense_lora_frozen", [6], dense(4, lora_rank=2, trainable=False)),
    seq("dense_lora_then_dense", [6], dense(5, lora_rank=2), dense(3)),
    seq("dense_lora_with_a_constraint", [6], dense(4, lora_rank=2, kernel_constraint="non_neg")),
    seq("dense_constraint_without_lora", [6], dense(4, kernel_constraint="non_neg"),
        forward=False),
    seq("einsum_lora", [3, 4], einsum("abc,cde->abde", [3, 2, 5], bias_axes="de",
                                      lora_rank=2)),
    # EinsumDense and the convolutions scale the update by lora_alpha / lora_rank.
    seq("einsum_lora_alpha", [3, 4], einsum("abc,cd->abd", [3, 6], lora_rank=2,
                                            lora_alpha=6.0)),
    seq("einsum_lora_kernel_axes_swapped", [3, 4], einsum("abc,dc->abd", [3, 6], lora_rank=2)),
    seq("einsum_lora_left_ellipsis", [3, 4], einsum("...b,bc->...c", 6, lora_rank=3)),
    seq("embedding_lora", [5], {"type": "Embedding", "input_dim": 20, "output_dim": 6,
                                "lora_rank": 3}, int_inputs=20),
    seq("embedding_lora_alpha", [5], {"type": "Embedding", "input_dim": 20, "output_dim": 6,
                                      "lora_rank": 3, "lora_alpha": 12.0}, int_inputs=20),
    seq("embedding_lora_with_a_constraint", [5],
        {"type": "Embedding", "input_dim": 20, "output_dim": 6, "lora_rank": 3,
         "embeddings_constraint": "non_neg"}, int_inputs=20),
    seq("reversible_embedding_lora", [5],
        {"type": "ReversibleEmbedding", "input_dim": 12, "output_dim": 4, "lora_rank": 2},
        int_inputs=12),
    # Keras 3 cannot build it: its tracker is locked when build adds reverse_embeddings.
    seq("reversible_embedding_lora_untied", [5],
        {"type": "ReversibleEmbedding", "input_dim": 12, "output_dim": 4, "lora_rank": 2,
         "tie_weights": False}, int_inputs=12),
    seq("conv1d_lora", [9, 3], conv("Conv1D", 4, 3, lora_rank=2)),
    seq("conv2d_lora", [8, 8, 3], conv("Conv2D", 5, 3, lora_rank=2, padding="same")),
    seq("conv2d_lora_alpha", [8, 8, 3], conv("Conv2D", 4, 3, lora_rank=2, lora_alpha=1.0)),
    seq("conv2d_lora_groups", [7, 7, 4], conv("Conv2D", 6, 3, lora_rank=3, groups=2)),
    seq("conv2d_lora_channels_first", [3, 8, 8], conv("Conv2D", 4, 3, lora_rank=2,
                                                        data_format="channels_first")),
    seq("conv3d_lora", [5, 5, 5, 2], conv("Conv3D", 3, 2, lora_rank=2)),
    # The forward pass folds a BatchNormalization into the convolution before it: with the
    # adapted kernel.
    seq("conv2d_lora_then_batch_norm", [6, 6, 3], conv("Conv2D", 4, 3, lora_rank=2),
        {"type": "BatchNormalization"}),
    seq("time_distributed_dense_lora", [4, 5],
        {"type": "TimeDistributed", "layer": dense(3, lora_rank=2)}),
]
