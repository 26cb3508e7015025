"""Bench and test helper: makes COUNT small files in DIR (sparse: ftruncate, never written, so
they take no RAM) and maps each one (MAP_SHARED, read-only, through libc's mmap so that no fd
stays open: the mapping outlives the close), prints `ready PID`, then holds them until stdin closes.

    /usr/bin/python3 bench/map_files.py DIR COUNT
"""
import ctypes
import os
import sys

PROT_READ = 1
MAP_SHARED = 1
PAGE = os.sysconf('SC_PAGE_SIZE')


def main():
    folder, count = sys.argv[1], int(sys.argv[2])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    for i in range(count):
        fd = os.open(os.path.join(folder, 'm%06d' % i), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, PAGE)
            addr = libc.mmap(None, PAGE, PROT_READ, MAP_SHARED, fd, 0)
            if addr in (None, ctypes.c_void_p(-1).value):
                raise OSError(ctypes.get_errno(), 'mmap failed after %d files' % i)
        finally:
            os.close(fd)
    print('ready', os.getpid(), flush=True)
    sys.stdin.read()


main()
