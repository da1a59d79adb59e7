"""Winograd's F(2×2, 3×3) and F(4×4, 3×3) against the plain convolution, in float64: every
padding, odd sizes, batches, channel counts that differ, blocks of tile rows."""

from __future__ import annotations

import numpy as np
import pytest
from shapecheck import winograd
from shapecheck.layers.conv import convolve


@pytest.mark.parametrize("m", [2, 4])
def test_toom_cook_matrices_compute_a_1d_correlation(m: int) -> None:
    t = winograd.transform(m)
    rng = np.random.default_rng(0)
    g, d = rng.standard_normal(3), rng.standard_normal(m + 2)
    y = t.at.astype(np.float64) @ ((t.g @ g) * (t.bt.astype(np.float64) @ d))
    np.testing.assert_allclose(y, [g @ d[i:i + 3] for i in range(m)], rtol=1e-12, atol=1e-12)


def direct(x: np.ndarray, kernel: np.ndarray, padding: str, bias: np.ndarray) -> np.ndarray:
    return convolve(x.astype(np.float64), kernel.astype(np.float64), (1, 1), (1, 1),
                    padding) + bias


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize(("shape", "filters", "padding"), [
    ((1, 56, 56, 64), 64, "same"),
    ((2, 9, 13, 5), 7, "same"),
    ((2, 9, 13, 5), 7, "valid"),
    ((1, 3, 3, 2), 3, "valid"),  # one output
    ((1, 1, 2, 3), 4, "same"),
    ((3, 14, 14, 256), 32, "same"),
])
def test_winograd_equals_the_plain_convolution(m: int, shape: tuple, filters: int,
                                               padding: str) -> None:
    rng = np.random.default_rng(1)
    x = np.maximum(rng.standard_normal(shape, dtype=np.float32), 0)  # after a ReLU
    kernel = (rng.standard_normal((3, 3, shape[-1], filters)) / np.sqrt(9 * shape[-1]))
    kernel = kernel.astype(np.float32)
    bias = rng.standard_normal(filters).astype(np.float32)
    want = direct(x, kernel, padding, bias)
    got = winograd.winograd_convolve(x, winograd.winograd_kernel(kernel, m), padding, bias)
    assert got.shape == want.shape and got.dtype == np.float32
    assert float(np.max(np.abs(got - want))) <= 1e-5 * float(np.max(np.abs(want)))
    without_bias = winograd.winograd_convolve(x, winograd.winograd_kernel(kernel, m), padding)
    np.testing.assert_allclose(without_bias + bias, got, rtol=1e-6, atol=1e-6)


def test_blocks_of_tile_rows_give_the_whole_map(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 30, 23, 6), dtype=np.float32)
    u = winograd.winograd_kernel(rng.standard_normal((3, 3, 6, 5)).astype(np.float32), 4)
    whole = winograd.winograd_convolve(x, u, "same")
    monkeypatch.setattr(winograd, "BLOCK_BYTES", 1)
    monkeypatch.setattr(winograd, "BLOCK_TILES", 12)  # 2 rows of 6 tiles: 4 blocks per sample
    np.testing.assert_allclose(winograd.winograd_convolve(x, u, "same"), whole, rtol=1e-6,
                               atol=1e-6)


def test_the_kernel_transform_is_g_g_gt_in_tile_order() -> None:
    # 2¹² / 256 = 16 input channels at a time: two parts.
    kernel = np.random.default_rng(3).standard_normal((3, 3, 20, 256)).astype(np.float32)
    g = winograd.transform(4).g
    want = np.einsum("ai,ijcf,bj->bacf", g, kernel.astype(np.float64), g).reshape(36, 20, 256)
    got = winograd.winograd_kernel(kernel, 4)
    assert got.dtype == np.float32 and winograd.tile_size(got) == 4
    np.testing.assert_allclose(got, want, rtol=1e-6)
