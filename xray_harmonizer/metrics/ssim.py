"""Structural similarity (SSIM) equal to scikit-image's default, several times faster.

``ssim(a, b)`` returns what ``skimage.metrics.structural_similarity(a, b, data_range=1.0)``
returns (7x7 uniform window, sample covariance, K1=0.01, K2=0.03, mean over the map cropped
by 3 pixels) to within float32 rounding; ``ssim_map`` also returns the full map with
scikit-image's ``reflect`` borders.

Why it is faster (measured in ``benchmarks/bench_core.py``):

* Five filtered moments are reduced to four: with ``s = x + y`` and ``d = x - y`` the SSIM terms
  need only the local sums of ``s``, ``d``, ``s**2`` and ``d**2``
  (``ux**2 + uy**2 = (us**2 + ud**2) / 2``, ``2*ux*uy = (us**2 - ud**2) / 2``, and the same for
  the second moments), and constant factors (1/49, 1/2) cancel in the ratio.
* A 7-tap box sum is four vectorised additions of shifted slices (pairs, quads, +pair, +one),
  not scipy's per-line running sum, which is slow along axis 0.
* The image is processed in bands of rows that fit in L2 cache, with preallocated per-thread
  buffers, on a small thread pool (numpy releases the GIL in its loops).
* ``s`` is centred (``x + y - 1``) before squaring so the float32 variance terms
  ``49 * sum(s**2) - sum(s)**2`` cancel less; the mean is added back only where it is used.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from xray_harmonizer.imaging.validation import check_image

__all__ = ["WIN_SIZE", "ssim", "ssim_map"]

WIN_SIZE = 7
_N = WIN_SIZE * WIN_SIZE
_PAD = (WIN_SIZE - 1) // 2
_COV_NORM = _N / (_N - 1)  # sample covariance, as skimage's default
_K1, _K2, _DATA_RANGE = 0.01, 0.03, 1.0
# Everything below works on window *sums* scaled by 2 * N**2, so the constants are scaled too.
_C1 = np.float32(2 * _N * _N * (_K1 * _DATA_RANGE) ** 2)
_C2 = np.float32(2 * _N * _N * (_K2 * _DATA_RANGE) ** 2)
# Threads only pay off once a band's work dwarfs the hand-off.
_MIN_PIXELS_FOR_THREADS = 256 * 256

_local = threading.local()
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def ssim(a: np.ndarray, b: np.ndarray, *, threads: int | None = None) -> float:
    """Mean structural similarity of two images, as scikit-image computes it.

    Parameters
    ----------
    a, b : np.ndarray
        float32, shape (H, W) with H, W >= 7, values in [0, 1] (``data_range`` is 1.0).
    threads : int, optional
        Worker threads; default ``min(2, os.cpu_count())``.

    Returns
    -------
    float
        Mean SSIM over the map cropped by 3 pixels on each side, in [-1, 1].

    Raises
    ------
    TypeError
        If an input is not a float32 2-D array.
    ValueError
        If the shapes differ, a side is shorter than 7, or values leave [0, 1].
    """
    x, y = _check_pair(a, b)
    h, w = x.shape
    total = _run(x, y, None, threads)
    return total / ((h - 2 * _PAD) * (w - 2 * _PAD))


def ssim_map(
    a: np.ndarray, b: np.ndarray, *, threads: int | None = None
) -> tuple[float, np.ndarray]:
    """Mean SSIM and the full SSIM map (``full=True`` in scikit-image).

    Parameters
    ----------
    a, b : np.ndarray
        float32, shape (H, W) with H, W >= 7, values in [0, 1].
    threads : int, optional
        Worker threads; default ``min(2, os.cpu_count())``.

    Returns
    -------
    mean : float
        As :func:`ssim` (mean over the map cropped by 3 pixels).
    smap : np.ndarray
        float32, shape (H, W), local SSIM in [-1, 1]; the 3-pixel border uses mirrored
        (``reflect``) neighbours as scikit-image does.
    """
    x, y = _check_pair(a, b)
    h, w = x.shape
    smap = np.empty((h, w), dtype=np.float32)
    total = _run(x, y, smap, threads)
    return total / ((h - 2 * _PAD) * (w - 2 * _PAD)), smap


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    check_image(a, "a")
    check_image(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if min(a.shape) < WIN_SIZE:
        raise ValueError(f"images must be at least {WIN_SIZE}x{WIN_SIZE}, got {a.shape}")
    # Slices of C-contiguous rows keep every band operation on contiguous memory.
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


def _run(x: np.ndarray, y: np.ndarray, smap: np.ndarray | None, threads: int | None) -> float:
    """Sum of the cropped SSIM map over all bands; fills ``smap`` when given.

    Without a map only the cropped region is computed: output row ``r`` uses input rows
    ``r .. r + 6``. With a map the input is mirrored by 3 pixels (skimage filters with
    ``mode="reflect"``, d c b a | a b c d), band by band so no padded copy of the image is made;
    the cropped region is then rows/columns 3 .. n - 4 of the output.
    """
    h, w = x.shape
    mirror = smap is not None
    out_h, out_w = (h, w) if mirror else (h - 2 * _PAD, w - 2 * _PAD)
    in_w = out_w + 2 * _PAD
    if mirror:
        keep_rows, keep_cols = (_PAD, out_h - _PAD), slice(_PAD, out_w - _PAD)
    else:
        keep_rows, keep_cols = (0, out_h), slice(None)
    # ~256 KiB per band buffer keeps a band's dozen buffers near L2 (1 MiB here).
    rows = int(np.clip(65536 // in_w, 8, 256))
    bands = [(r, min(r + rows, out_h)) for r in range(0, out_h, rows)]

    def work(chunk: list[tuple[int, int]]) -> float:
        ws = _workspace(rows, in_w)
        total = 0.0
        for r0, r1 in chunk:
            if not mirror:
                xs, ys, out = x[r0 : r1 + 2 * _PAD], y[r0 : r1 + 2 * _PAD], ws.out[: r1 - r0]
            elif r0 >= _PAD and r1 + _PAD <= h:
                xs, ys, out = x[r0 - _PAD : r1 + _PAD], y[r0 - _PAD : r1 + _PAD], smap[r0:r1]
            else:
                idx = np.arange(r0 - _PAD, r1 + _PAD)
                idx = np.where(idx < 0, -idx - 1, idx)
                idx = np.where(idx >= h, 2 * h - idx - 1, idx)
                xs, ys, out = x[idx], y[idx], smap[r0:r1]
            _band(xs, ys, out, ws, mirror)
            lo, hi = max(r0, keep_rows[0]), min(r1, keep_rows[1])
            if hi > lo:
                total += float(out[lo - r0 : hi - r0, keep_cols].sum(dtype=np.float64))
        return total

    n = threads if threads is not None else min(2, os.cpu_count() or 1)
    n = max(1, min(n, len(bands)))
    if n == 1 or out_h * out_w < _MIN_PIXELS_FOR_THREADS:
        return work(bands)
    # Contiguous runs of bands per thread: neighbouring bands share halo rows in cache.
    chunks = [bands[i * len(bands) // n : (i + 1) * len(bands) // n] for i in range(n)]
    return float(sum(_executor(n).map(work, chunks)))


class _Workspace:
    """Per-thread float32 buffers for one band of ``rows`` output rows and input width ``w``."""

    def __init__(self, rows: int, w: int) -> None:
        ow = w - 2 * _PAD
        self.rows, self.w = rows, w
        self.src = [np.empty((rows + 2 * _PAD, w), np.float32) for _ in range(4)]
        self.pairs_v = np.empty((rows + 2 * _PAD - 1, w), np.float32)
        self.vert = [np.empty((rows, w), np.float32) for _ in range(4)]
        self.pairs_h = np.empty((rows, w - 1), np.float32)
        self.sums = [np.empty((rows, ow), np.float32) for _ in range(4)]
        self.tmp = np.empty((rows, ow), np.float32)
        self.out = np.empty((rows, ow), np.float32)


def _workspace(rows: int, w: int) -> _Workspace:
    ws = getattr(_local, "ws", None)
    if ws is None or ws.rows < rows or ws.w != w:
        ws = _local.ws = _Workspace(rows, w)
    return ws


def _executor(n: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < n:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_size = ThreadPoolExecutor(n, thread_name_prefix="ssim"), n
        return _pool


def _box_rows(a: np.ndarray, out: np.ndarray, pairs: np.ndarray) -> None:
    """out[i] = a[i] + ... + a[i + 6] for i < len(a) - 6 (four vectorised additions)."""
    n = a.shape[0] - 2 * _PAD
    p = pairs[: n + 5]
    np.add(a[:-1], a[1:], out=p)  # p[i] = a[i] + a[i+1]
    np.add(p[:n], p[2 : n + 2], out=out)  # rows i .. i+3
    np.add(out, p[4 : n + 4], out=out)  # + rows i+4, i+5
    np.add(out, a[6 : n + 6], out=out)  # + row i+6


def _box_cols(a: np.ndarray, out: np.ndarray, pairs: np.ndarray) -> None:
    """out[:, j] = a[:, j] + ... + a[:, j + 6], as :func:`_box_rows` along axis 1."""
    n = a.shape[1] - 2 * _PAD
    p = pairs[:, : n + 5]
    np.add(a[:, :-1], a[:, 1:], out=p)
    np.add(p[:, :n], p[:, 2 : n + 2], out=out)
    np.add(out, p[:, 4 : n + 4], out=out)
    np.add(out, a[:, 6 : n + 6], out=out)


def _band(x: np.ndarray, y: np.ndarray, out: np.ndarray, ws: _Workspace, mirror: bool) -> None:
    """SSIM of one band of n output rows into ``out`` (n, m).

    ``x``, ``y`` have n + 6 rows and m + 6 columns, or m columns when ``mirror`` (then 3 mirrored
    columns are added on each side).
    """
    n = out.shape[0]
    s, d, s2, d2 = (buf[: n + 2 * _PAD] for buf in ws.src)
    si, di = (s[:, _PAD:-_PAD], d[:, _PAD:-_PAD]) if mirror else (s, d)
    np.add(x, y, out=si)
    np.subtract(si, np.float32(1.0), out=si)  # centred: s in [-1, 1]
    np.subtract(x, y, out=di)
    if mirror:
        # Padded columns 0, 1, 2 repeat 5, 4, 3 and the last three repeat the three before them
        # in reverse: the d c b a | a b c d reflection.
        for buf in (s, d):
            buf[:, :_PAD] = buf[:, 2 * _PAD - 1 : _PAD - 1 : -1]
            buf[:, -_PAD:] = buf[:, -_PAD - 1 : -2 * _PAD - 1 : -1]
    np.multiply(s, s, out=s2)
    np.multiply(d, d, out=d2)
    sums = []
    for src, vert, dst in zip((s, d, s2, d2), ws.vert, ws.sums):
        _box_rows(src, vert[:n], ws.pairs_v)
        _box_cols(vert[:n], dst[:n], ws.pairs_h[:n])
        sums.append(dst[:n])
    ss, sd, ss2, sd2 = sums
    tmp = ws.tmp[:n]
    nn = np.float32(_N)
    # Variance-like terms, scaled by N**2: A = N*sum(s^2) - sum(s)^2 (shift-invariant), B for d.
    np.multiply(ss, ss, out=tmp)
    np.multiply(ss2, nn, out=ss2)
    np.subtract(ss2, tmp, out=ss2)  # A
    np.multiply(sd, sd, out=sd)  # Q = sum(d)^2
    np.multiply(sd2, nn, out=sd2)
    np.subtract(sd2, sd, out=sd2)  # B
    np.add(ss, nn, out=ss)  # undo the centring: sum(x + y)
    np.multiply(ss, ss, out=ss)  # P = sum(x + y)^2
    # A1 = P - Q + C1, B1 = P + Q + C1, A2 = cov*(A - B) + C2, B2 = cov*(A + B) + C2
    np.subtract(ss, sd, out=tmp)
    np.add(ss, sd, out=ss)
    np.add(tmp, _C1, out=tmp)
    np.add(ss, _C1, out=ss)
    np.subtract(ss2, sd2, out=sd)
    np.add(ss2, sd2, out=ss2)
    cov = np.float32(_COV_NORM)
    np.multiply(sd, cov, out=sd)
    np.add(sd, _C2, out=sd)
    np.multiply(ss2, cov, out=ss2)
    np.add(ss2, _C2, out=ss2)
    np.multiply(tmp, sd, out=tmp)  # A1 * A2
    np.multiply(ss, ss2, out=ss)  # B1 * B2
    np.divide(tmp, ss, out=out)
