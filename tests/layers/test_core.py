"""Core: what the Keras fixtures do not show for EinsumDense and ReversibleEmbedding (422
paths, error messages and hints, macs, explanations)."""

from __future__ import annotations

import pytest
from layer_checks import error_of, only_row, run
from shapecheck.errors import RequestInvalid


def einsum(equation: str, output_shape, **args) -> dict:
    return {"type": "EinsumDense", "equation": equation, "output_shape": output_shape, **args}


@pytest.mark.parametrize(("spec", "path"), [
    (einsum("ab,bc", 6), "model.layers.0.equation"),
    (einsum("ab,bc->ac,d", 6), "model.layers.0.equation"),
    (einsum("a...b,bc->ac", 6), "model.layers.0.equation"),
    (einsum("ab,bd->ac", 6), "model.layers.0.equation"),
    (einsum("ab,bcx->ac", 6), "model.layers.0.equation"),
    (einsum("ab,bc->ac", 6, bias_axes="b"), "model.layers.0.bias_axes"),
    (einsum("ab,bc->ac", [6, 2]), "model.layers.0.output_shape"),
    (einsum("ab,bc->ac", -1), "model.layers.0.output_shape"),
    ({"type": "EinsumDense", "output_shape": 2}, "model.layers.0.equation"),
])
def test_einsum_dense_refuses_bad_arguments(spec: dict, path: str) -> None:
    with pytest.raises(RequestInvalid) as exc:
        run([4], spec)
    assert list(exc.value.errors) == [path]


def test_einsum_dense_input_of_the_wrong_rank_says_how_to_fix_it() -> None:
    problem = error_of(run([3, 4], einsum("ab,bc->ac", 6)))
    assert problem["code"] == "layer_input_incompatible"
    assert "names 2 input axes ('ab', batch first)" in problem["message"]
    assert "(None, 3, 4) has 3" in problem["message"]
    assert "'...'" in problem["hint"]


def test_einsum_dense_output_shape_against_the_input() -> None:
    problem = error_of(run([3, 4], einsum("abc,cd->abd", [5, 6])))
    assert "axis 'b' is 3 in its input (None, 3, 4) but 5 in its output_shape" in \
        problem["message"]
    assert "Set output_shape to 3 on axis 'b'" in problem["hint"]


def test_einsum_dense_macs_multiply_every_letter_but_the_batch() -> None:
    # b=3, c=4, d=2, e=5
    row = only_row(run([3, 4], einsum("abc,cde->abde", [3, 2, 5], bias_axes="de")))
    assert row["macs"] == 3 * 4 * 2 * 5
    assert row["params"] == 4 * 2 * 5 + 2 * 5
    # The elided axes are positions the kernel is applied at, like Dense's.
    row = only_row(run([7, 4], einsum("...b,bc->...c", 6)))
    assert row["macs"] == 7 * 4 * 6


def test_einsum_dense_explains_its_letters() -> None:
    row = only_row(run([3, 4], einsum("abc,cd->abd", [3, 6], bias_axes="d")))
    assert "a=None, b=3, c=4, d=6" in row["explain"]
    assert "kernel (4, 6)" in row["explain"]


def test_reversible_embedding_untied_has_a_reverse_kernel() -> None:
    row = only_row(run([5], {"type": "ReversibleEmbedding", "input_dim": 20, "output_dim": 4,
                             "tie_weights": False}))
    assert row["output_shapes"] == [[None, 5, 4]]
    assert row["params"] == 2 * 20 * 4
