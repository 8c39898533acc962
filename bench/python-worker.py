"""N locked counter increments with filelock + temp file, fsync, os.replace, as a Python tool
sharing files with stet does (used by the benchmark and by the interop tests).

Usage: python3 python-worker.py FILE N     Prints {"ops", "seconds", "waits_us": [...]}.
"""

import json
import os
import sys
import time

from filelock import FileLock


def main() -> None:
    path, count = os.path.realpath(sys.argv[1]), int(sys.argv[2])
    lock = FileLock(path + ".lock", timeout=600)
    directory = os.open(os.path.dirname(path), os.O_RDONLY)
    waits = []
    started = time.perf_counter()
    for _ in range(count):
        asked = time.perf_counter()
        with lock:
            waits.append((time.perf_counter() - asked) * 1e6)
            with open(path) as handle:
                current = int(handle.read().strip() or "0")
            temp = f"{path}.{os.getpid()}.tmp"
            with open(temp, "w") as handle:
                handle.write(f"{current + 1}\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
            os.fsync(directory)
    seconds = time.perf_counter() - started
    print(json.dumps({"ops": count, "seconds": seconds, "waits_us": waits}))


if __name__ == "__main__":
    main()
