"""Locked frontmatter edits with filelock + python-frontmatter + a temp file, fsync and
os.replace, as a Python spec/story tool does them.

Usage: python3 python-doc-worker.py FILE N            N increments of `counter`; prints {"ops", "seconds", "waits_us"}
       python3 python-doc-worker.py FILE --set K V    one edit setting K to V (a process per operation)
"""

import json
import os
import sys
import time

import frontmatter
from filelock import FileLock


def edit(path: str, lock: FileLock, directory: int, change) -> None:
    with lock:
        with open(path, encoding="utf-8") as handle:
            post = frontmatter.loads(handle.read())
        change(post.metadata)
        temp = f"{path}.{os.getpid()}.tmp"
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(frontmatter.dumps(post) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        os.fsync(directory)


def main() -> None:
    path = os.path.realpath(sys.argv[1])
    lock = FileLock(path + ".lock", timeout=600)
    directory = os.open(os.path.dirname(path), os.O_RDONLY)
    if sys.argv[2] == "--set":
        key, value = sys.argv[3], sys.argv[4]
        edit(path, lock, directory, lambda data: data.__setitem__(key, value))
        return
    count = int(sys.argv[2])
    waits = []
    started = time.perf_counter()
    for _ in range(count):
        asked = time.perf_counter()

        def increment(data, asked=asked):
            waits.append((time.perf_counter() - asked) * 1e6)
            data["counter"] = data.get("counter", 0) + 1

        edit(path, lock, directory, increment)
    seconds = time.perf_counter() - started
    print(json.dumps({"ops": count, "seconds": seconds, "waits_us": waits}))


if __name__ == "__main__":
    main()
