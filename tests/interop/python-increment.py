"""Increments the counter in FILE N times, each under Python filelock's lock on FILE.lock, writing
with a temp file, fsync and os.replace: what a Python tool that shares files with stet does.

Usage: python3 python-increment.py FILE N
"""

import os
import sys

from filelock import FileLock


def main() -> None:
    path, count = os.path.realpath(sys.argv[1]), int(sys.argv[2])
    lock = FileLock(path + ".lock", timeout=120)
    for _ in range(count):
        with lock:
            with open(path) as handle:
                current = int(handle.read().strip() or "0")
            temp = f"{path}.{os.getpid()}.tmp"
            with open(temp, "w") as handle:
                handle.write(f"{current + 1}\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)


if __name__ == "__main__":
    main()
