"""Winograd's minimal filtering for 3×3 convolutions with stride 1 (Lavin & Gray, "Fast
Algorithms for Convolutional Neural Networks", 2015).

F(m×m, 3×3) computes each m×m block of outputs from an n×n tile d of the input (n = m + 2,
tiles overlapping by 2) as ``Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A``: n² products per pair of channels
instead of 9·m². Over all tiles and channels the products are n² matrix products, of the
transformed tiles (tiles, C) by the transformed kernel (C, F), which is computed once.

- F(2×2, 3×3), on the points 0, ±1: 16 products for 4 outputs (2.25 times fewer than 36). Bᵀ
  and Aᵀ only add and subtract: the rounding stays that of a direct sum.
- F(4×4, 3×3), on the points 0, ±1, 1/2, −2: 36 products for 16 outputs (4 times fewer than
  144). Its transforms scale, so the float32 products round more: about 3e-6 of the largest
  output on random data, ten times a direct sum's. These points give half the error of the
  usual 0, ±1, ±2 (Barabasz et al., "Error Analysis and Improving the Accuracy of Winograd
  Convolution for Deep Neural Networks", 2020).

The matrices come from the points by Toom-Cook, in exact fractions. Both transforms are
matrix products with the small transform matrix (K = n): over rows of tiles on the padded
input, then over columns on a copy that gathers the tiles; on the way back over one axis of
the tile, then the other, and a last pass puts the blocks in place and adds the bias.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import numpy as np

from . import activations
from .layers.base import Layer
from .layers.conv import Conv2D
from .shapes import Shape

Array = np.ndarray


class WinogradConv2D(Conv2D):
    """A Conv2D with a 3×3 kernel, stride 1, no dilation and one group, run by
    ``winograd_convolve``: its kernel arrives transformed by ``winograd_kernel``.

    Not a Keras layer (not registered): the forward plan swaps it in, transforming the kernel
    once, where the saved products outweigh the transforms.
    """

    @staticmethod
    def can_run(layer: Layer, output: Shape) -> bool:
        """Whether it computes ``layer`` (a Conv2D, or tf.keras 2's) giving ``output``: a
        batch of images, not several batch axes of them."""
        return (isinstance(layer, Conv2D) and len(output) == 4 and layer.kernel_size == (3, 3)
                and layer.strides == (1, 1) and layer.dilation == (1, 1)
                and layer.args.groups == 1)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        bias = weights[-1] if self.args.use_bias else None
        y = winograd_convolve(self.to_channels_last(x), weights[0], self.padding, bias)
        return activations.apply_in_place(self.args.activation, self.from_channels_last(y))


@dataclass(frozen=True)
class Transform:
    """The matrices of F(m×m, 3×3): Aᵀ (m, n), G (n, 3) in float64 for the kernel, Bᵀ (n, n)."""

    m: int
    at: Array
    g: Array
    bt: Array

    @property
    def n(self) -> int:
        return self.m + 2


@cache
def transform(m: int) -> Transform:
    """F(m×m, 3×3) for m = 2 or 4."""
    points = {2: (0, 1, -1), 4: (0, 1, -1, Fraction(1, 2), -2)}[m]
    at, g, bt = toom_cook(points, m, 3)
    return Transform(m, at.astype(np.float32), g, bt.astype(np.float32))


def toom_cook(points: Sequence[Fraction | int], m: int, r: int) -> tuple[Array, Array, Array]:
    """Aᵀ, G, Bᵀ of the 1-D F(m, r) on ``points`` and infinity (m + r − 2 points):
    ``y = Aᵀ[(G g) ⊙ (Bᵀ d)]``, y_i = Σ_k g_k·d_(i+k).

    Aᵀ evaluates at the points (Vandermonde), G interpolates the kernel there, divided by the
    product of the differences to the other points; Bᵀ's rows are the coefficients of the
    product of (x − a) over the other points. The point at infinity takes the leading terms.
    """
    a = [Fraction(p) for p in points]
    at = [[p**i for p in a] + [int(i == m - 1)] for i in range(m)]
    scale = [math.prod(p - q for q in a if q != p) for p in a]
    g = [[p**k / s for k in range(r)] for p, s in zip(a, scale, strict=True)]
    g.append([int(k == r - 1) for k in range(r)])
    bt = [[*polynomial([q for q in a if q != p]), 0] for p in a]
    bt.append(polynomial(a))
    return tuple(np.array(rows, dtype=np.float64) for rows in (at, g, bt))


def polynomial(roots: Sequence[Fraction]) -> list[Fraction]:
    """The coefficients, lowest degree first, of the product of (x − root)."""
    coefficients = [Fraction(1)]
    for root in roots:
        shifted = [Fraction(0), *coefficients]
        coefficients = [c - root * d for c, d in zip(shifted, [*coefficients, 0], strict=True)]
    return coefficients


def winograd_kernel(kernel: Array, m: int) -> Array:
    """A Keras 3×3 kernel (3, 3, C, F) transformed for F(m×m, 3×3): (n², C, F), entry (b, a)
    the a-th row and b-th column of G g Gᵀ (the order ``winograd_convolve`` makes its tiles
    in). Computed in float64 a few input channels at a time, rounded once."""
    g = transform(m).g
    n, (channels, filters) = m + 2, kernel.shape[2:]
    u = np.empty((n * n, channels, filters), np.float32)
    step = max(1, (1 << 12) // filters)
    for start in range(0, channels, step):
        part = kernel[:, :, start:start + step].astype(np.float64)
        rows = (g @ part.reshape(3, -1)).reshape(n, 3, -1)  # G g: (n_a, 3, C·F)
        products = np.matmul(g, rows)  # (G g) Gᵀ: (n_a, n_b, C·F)
        u[:, start:start + step] = products.transpose(1, 0, 2).reshape(n * n, -1, filters)
    return u


def tile_size(u: Array) -> int:
    """The m of a kernel transformed for F(m×m, 3×3), from its n² products."""
    return math.isqrt(u.shape[0]) - 2


BLOCK_BYTES = 1 << 20
"""About how many bytes of transformed tiles and their products one block of tile rows makes:
few enough to stay in the core's cache between the passes over them..."""
BLOCK_TILES = 64
"""...but at least this many tiles, the rows of its products: each block reads the whole
transformed kernel, which fewer rows would not repay. At 56×56 with 64 channels, three blocks
of five rows of 14 tiles beat one block for the whole map (which a minimum of 256 gave): 1.35 ms
instead of 2.0 in a ResNet50 pass, the blocks' transforms and products staying in the cache;
with 32, the 14×14 and 28×28 maps were slower."""


def winograd_convolve(x: Array, u: Array, padding: str, bias: Array | None = None) -> Array:
    """A 3×3 convolution with stride 1 of a channels_last batch (N, H, W, C), plus ``bias``;
    ``u`` from ``winograd_kernel``, ``padding`` 'valid' or 'same'.

    Runs by blocks of tile rows, each transformed, multiplied and written out while in cache.
    """
    t = transform(tile_size(u))
    (n, height, width, c), f = x.shape, u.shape[-1]
    before = 1 if padding == "same" else 0
    out = [length + 2 * before - 2 for length in (height, width)]
    th, tw = (-(-length // t.m) for length in out)
    padded = pad_to_tiles(x, before, (t.m * th + 2, t.m * tw + 2))
    y = np.empty((n, t.m * th, t.m * tw, f), x.dtype)
    step = max(BLOCK_BYTES // (4 * t.n**2 * tw * (c + f)), -(-BLOCK_TILES // tw))
    for i in range(n):
        for row in range(0, th, step):
            rows = min(step, th - row)
            block = padded[i:i + 1, t.m * row:t.m * (row + rows) + 2]
            v = input_transform(block, (rows, tw), t)
            products = np.matmul(v.reshape(t.n**2, -1, c), u)
            output_transform(products, t, bias, y[i:i + 1, t.m * row:t.m * (row + rows)])
    return y[:, :out[0], :out[1]]


def pad_to_tiles(x: Array, before: int, lengths: Sequence[int]) -> Array:
    """``x`` with ``before`` zeros ahead of its rows and columns, and zeros after them up to
    ``lengths``."""
    n, h, w, c = x.shape
    padded = np.zeros((n, *lengths, c), x.dtype)
    padded[:, before:before + h, before:before + w] = x
    return padded


def input_transform(x: Array, tiles: Sequence[int], t: Transform) -> Array:
    """Bᵀ d B of every tile d of a padded batch: (n_b, n_a, N·th, tw·C), tile (i, j) at
    position i·tw + j; a before b, as ``winograd_kernel`` orders the kernel."""
    (th, tw), (n, _, width, c) = tiles, x.shape
    s = x.strides
    # Bᵀ over the rows of each row of tiles, all columns at once: (N, th, n_a, W·C).
    row_tiles = np.lib.stride_tricks.as_strided(x, (n, th, t.n, width * c),
                                                (s[0], t.m * s[1], s[1], s[3]))
    rows = np.matmul(t.bt, row_tiles)
    # Gather the tiles' columns, (n_j, n_a, N, th, tw, C), then Bᵀ over them.
    r = rows.reshape(n, th, t.n, width, c).strides
    columns = np.lib.stride_tricks.as_strided(rows, (t.n, t.n, n, th, tw, c),
                                              (r[3], r[2], r[0], r[1], t.m * r[3], r[4]))
    gathered = np.empty(columns.shape, x.dtype)
    np.copyto(gathered, columns)
    return small_product(t.bt, gathered.reshape(t.n, -1, tw * c))


def output_transform(m: Array, t: Transform, bias: Array | None, y: Array) -> None:
    """Aᵀ M A of every tile's products M (n_b·n_a, N·th·tw, F), plus ``bias``, written to the
    outputs ``y`` (N, th·m, tw·m, F)."""
    n, height, width, f = y.shape
    th, tw = height // t.m, width // t.m
    by_row = m.reshape(t.n, t.n, n * th, tw * f).transpose(0, 2, 1, 3)  # (n_b, N·th, n_a, X)
    rows = np.matmul(t.at, by_row)  # Aᵀ over a: (n_b, N·th, m_p, tw·F)
    blocks = small_product(t.at, rows.reshape(t.n, -1, tw * f))  # Aᵀ over b: (m_q, N·th·m_p, X)
    placed = blocks.reshape(t.m, n, th, t.m, tw, f).transpose(1, 2, 3, 4, 0, 5)
    target = y.reshape(n, th, t.m, tw, t.m, f)
    if bias is None:
        np.copyto(target, placed)
    else:
        np.add(placed, bias, out=target)


def small_product(matrix: Array, a: Array) -> Array:
    """``matrix`` (R, K) times ``a`` (K, B, X) over its first axis: (R, B, X). As B products of
    (K, X) blocks: one product with a small K and a long row runs at half the speed."""
    out = np.empty((matrix.shape[0], *a.shape[1:]), a.dtype)
    np.matmul(matrix, a.transpose(1, 0, 2), out=out.transpose(1, 0, 2))
    return out
