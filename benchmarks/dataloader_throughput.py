"""DataLoader throughput: samples/s with 0 and 2 workers, ember vs torch, slow __getitem__.

Each sample costs ~2 ms (a sleep standing in for decoding/augmentation) and is a 3x64x64
float32 image, so workers should give close to a 2x speed-up and transport should not matter.

    python benchmarks/dataloader_throughput.py [--n 512] [--batch-size 32] [--delay-ms 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_dataset(lib, n: int, delay: float):
    base = lib.utils.data.Dataset

    class Slow(base):
        def __len__(self):
            return n

        def __getitem__(self, i):
            time.sleep(delay)
            return np.full((3, 64, 64), i, np.float32), i

    return Slow()


def measure(lib, workers: int, n: int, batch_size: int, delay: float) -> float:
    loader = lib.utils.data.DataLoader(make_dataset(lib, n, delay), batch_size=batch_size,
                                       num_workers=workers)
    start = time.perf_counter()
    seen = 0
    for x, _ in loader:
        seen += x.shape[0]
    assert seen == n
    return n / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--delay-ms", type=float, default=2.0)
    args = p.parse_args()
    libs = {}
    import ember

    libs["ember"] = ember
    try:
        import torch

        libs["torch"] = torch
    except ImportError:
        print("(torch not installed: ember only)")
    delay = args.delay_ms / 1000
    print(f"{args.n} samples, batch {args.batch_size}, {args.delay_ms} ms per sample "
          f"(ideal: {1000 / args.delay_ms:.0f} samples/s per worker)")
    print(f"{'library':<8} {'workers':>7} {'samples/s':>10}")
    for name, lib in libs.items():
        for workers in (0, 2):
            measure(lib, workers, args.batch_size * 2, args.batch_size, delay)  # warm up
            rate = measure(lib, workers, args.n, args.batch_size, delay)
            print(f"{name:<8} {workers:>7} {rate:>10.0f}")


if __name__ == "__main__":
    main()
