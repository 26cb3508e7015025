#!/usr/bin/python3
"""Creates a few demo segments for `npm start` (and removes them with --remove).

Names start with shmi_demo_ so they are easy to spot and never collide with real work.
"""
import os
import sys

import numpy as np

DIR = '/dev/shm'
NAMES = ['shmi_demo_waves.npy', 'shmi_demo_fortran.npy', 'shmi_demo_cube.npy', 'shmi_demo_raw']


def main():
    if '--remove' in sys.argv:
        for n in NAMES:
            try:
                os.unlink(os.path.join(DIR, n))
            except FileNotFoundError:
                pass
        return
    y, x = np.mgrid[0:1024, 0:1536].astype(np.float32)
    waves = np.sin(x / 97.0) * np.cos(y / 61.0) + 0.3 * np.sin((x + y) / 23.0)
    m = np.lib.format.open_memmap(os.path.join(DIR, NAMES[0]), mode='w+', dtype='<f4', shape=waves.shape)
    m[...] = waves
    m.flush()
    del m
    f = np.lib.format.open_memmap(os.path.join(DIR, NAMES[1]), mode='w+', dtype='>f8', shape=(300, 200),
                                  fortran_order=True)
    f[...] = np.hypot(*np.mgrid[-150:150, -100:100]).astype('>f8')
    f.flush()
    del f
    np.save(os.path.join(DIR, NAMES[2]), np.arange(16 * 64 * 64, dtype=np.int16).reshape(16, 64, 64))
    with open(os.path.join(DIR, NAMES[3]), 'wb') as raw:
        raw.write(np.random.default_rng(0).integers(0, 255, 1 << 20, dtype=np.uint8).tobytes())
    for n in NAMES:
        print(os.path.join(DIR, n))


if __name__ == '__main__':
    main()
