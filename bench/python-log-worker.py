"""N locked, durable appends to an NDJSON log with filelock + write + fsync, as a Python tool
appending events does.

Usage: python3 python-log-worker.py LOG N     Prints {"ops", "seconds", "waits_us": [...]}.
"""

import json
import os
import sys
import time

from filelock import FileLock


def main() -> None:
    path, count = os.path.realpath(sys.argv[1]), int(sys.argv[2])
    lock = FileLock(path + ".lock", timeout=600)
    waits = []
    started = time.perf_counter()
    for n in range(count):
        asked = time.perf_counter()
        with lock:
            waits.append((time.perf_counter() - asked) * 1e6)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"id": f"{os.getpid()}-{n}", "kind": "progress", "n": n}) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
    seconds = time.perf_counter() - started
    print(json.dumps({"ops": count, "seconds": seconds, "waits_us": waits}))


if __name__ == "__main__":
    main()
