#!/usr/bin/python3
"""Helpers of bench/preview.mjs, real numpy only.

  preview_numpy.py make PATH N          an N x N float32 NPY (open_memmap), filled block by block
                                        (64 MiB at a time: never the whole array in RAM twice), with a
                                        few NaN and +-Inf; prints the data offset
  preview_numpy.py ref PATH H W RUNS [--full]
                                        numpy's reference times as JSON: the block mean onto H x W
                                        (reshape + mean(axis=(1,3)) on the memmap), the strided slice
                                        a[::N//H, ::N//W] made contiguous, each on a fresh memmap (cold)
                                        and again (warm), with CPU times; --full adds a float64
                                        mean/min/max of the finite values of the whole array
"""
import json
import sys
import time

import numpy as np


def make(path, n):
    a = np.lib.format.open_memmap(path, mode='w+', dtype='<f4', shape=(n, n))
    rng = np.random.default_rng(1)
    rows = max(1, (64 << 20) // (4 * n))
    for r in range(0, n, rows):
        a[r:r + rows] = rng.standard_normal((min(rows, n - r), n), dtype=np.float32) * 10 + 3
    # a few non-finite values (counted, not smeared)
    for k in range(12):
        a[(k * 7919) % n, (k * 104729) % n] = [np.nan, np.inf, -np.inf][k % 3]
    a.flush()
    off = a.offset
    del a
    print(off)


def ref(path, h, w, runs, full):
    out = {'blockMeanCold': [], 'blockMeanWarm': [], 'stridedCold': [], 'stridedWarm': [], 'meanMinMaxWarm': [],
           'blockMeanColdCpu': [], 'blockMeanWarmCpu': []}
    cpu = time.process_time
    for r in range(runs):
        a = np.load(path, mmap_mode='r')
        n, m = a.shape
        t0, c0 = time.perf_counter(), cpu()
        b = a.reshape(h, n // h, w, m // w).mean(axis=(1, 3))
        t1, c1 = time.perf_counter(), cpu()
        b = a.reshape(h, n // h, w, m // w).mean(axis=(1, 3))
        t2, c2 = time.perf_counter(), cpu()
        out['blockMeanCold'].append((t1 - t0) * 1e3)
        out['blockMeanWarm'].append((t2 - t1) * 1e3)
        out['blockMeanColdCpu'].append((c1 - c0) * 1e3)
        out['blockMeanWarmCpu'].append((c2 - c1) * 1e3)
        del a, b
        a = np.load(path, mmap_mode='r')
        t0 = time.perf_counter()
        s = np.ascontiguousarray(a[::n // h, ::m // w])
        t1 = time.perf_counter()
        s = np.ascontiguousarray(a[::n // h, ::m // w])
        t2 = time.perf_counter()
        out['stridedCold'].append((t1 - t0) * 1e3)
        out['stridedWarm'].append((t2 - t1) * 1e3)
        if r == 0 and full:
            # whole-array float64 mean/min/max of the finite values, numpy's fastest honest way
            t0 = time.perf_counter()
            acc, lo, hi = 0.0, np.inf, -np.inf
            step = max(1, (64 << 20) // (4 * m))
            for i in range(0, n, step):
                blk = np.asarray(a[i:i + step], dtype=np.float64)
                fin = blk[np.isfinite(blk)]
                acc += fin.sum()
                lo = min(lo, fin.min())
                hi = max(hi, fin.max())
            t1 = time.perf_counter()
            out['meanMinMaxWarm'].append((t1 - t0) * 1e3)
        del a, s
    print(json.dumps(out))


if __name__ == '__main__':
    if sys.argv[1] == 'make':
        make(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == 'ref':
        ref(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), '--full' in sys.argv[6:])
    else:
        raise SystemExit(__doc__)
