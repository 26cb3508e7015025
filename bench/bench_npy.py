#!/usr/bin/python3
"""Benchmark helpers (bench/list.mjs), real numpy only.

  bench_npy.py make DIR N   writes N small NPY files DIR/seg_00000.npy... with np.save (one process)
  bench_npy.py ref DIR      the reference: os.scandir + stat + numpy's own header reader on every
                            file; prints {"count", "ms"} (ms: the loop alone, after imports)
"""
import json
import os
import sys
import time

import numpy as np


def make(d, n):
    shapes = [(4, 4), (3, 5, 2), (16,), (2, 8)]
    dtypes = ['<f4', '<f8', '<i2', '|u1', '<c8', '>i4']
    for i in range(n):
        a = np.arange(int(np.prod(shapes[i % len(shapes)])), dtype=dtypes[i % len(dtypes)])
        a = a.reshape(shapes[i % len(shapes)])
        if i % 5 == 0:
            a = np.asfortranarray(a)
        with open(os.path.join(d, 'seg_%05d.npy' % i), 'wb') as f:
            np.save(f, a)
    print(n)


def ref(d):
    t0 = time.perf_counter()
    count = 0
    out = []
    with os.scandir(d) as it:
        for e in it:
            st = e.stat(follow_symlinks=False)
            rec = {'name': e.name, 'size': st.st_size, 'ino': st.st_ino, 'mtime': st.st_mtime}
            if e.is_file(follow_symlinks=False):
                try:
                    with open(e.path, 'rb') as f:
                        version = np.lib.format.read_magic(f)
                        shape, fortran, dtype = np.lib.format._read_array_header(f, version)
                        rec.update(shape=list(shape), fortran=fortran, dtype=dtype.str)
                except Exception as err:  # not an NPY
                    rec['error'] = str(err)
            out.append(rec)
            count += 1
    ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({'count': count, 'ms': ms}))


if __name__ == '__main__':
    if sys.argv[1] == 'make':
        make(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == 'ref':
        ref(sys.argv[2])
    else:
        raise SystemExit(__doc__)
