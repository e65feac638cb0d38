"""Pipelined load with kazoo, for side-by-side comparison with zkbench.

Usage: python3 kazoo_load.py server count value_size window phase...
Phases: create set get delete (each over /kzload/n<i>). Prints "phase ops/s errors" per phase.
"""
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError


def main():
    server, count, size, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    phases = sys.argv[5:]
    value = b"a" * size
    zk = KazooClient(hosts=server, timeout=30)
    zk.start()
    root = "/kzload"
    try:
        zk.create(root)
    except NodeExistsError:
        pass
    calls = {
        "create": lambda p: zk.create_async(p, value),
        "set": lambda p: zk.set_async(p, value),
        "get": lambda p: zk.get_async(p),
        "delete": lambda p: zk.delete_async(p),
    }
    for phase in phases:
        call = calls[phase]
        errors = 0
        pending = []
        start = time.perf_counter()
        for i in range(count):
            pending.append(call(f"{root}/n{i}"))
            # Keep at most `window` in flight: wait for the older half when full.
            if len(pending) >= window:
                half = window // 2
                for result in pending[:half]:
                    try:
                        result.get()
                    except Exception:
                        errors += 1
                pending = pending[half:]
        for result in pending:
            try:
                result.get()
            except Exception:
                errors += 1
        elapsed = time.perf_counter() - start
        print(f"{phase} {count / elapsed:.0f} ops/s errors={errors}", flush=True)
    zk.delete(root, recursive=True)
    zk.stop()


if __name__ == "__main__":
    main()
