"""Rank 1 fails (``raise`` an exception or ``exit`` with status 3) while rank 0 waits for it
in an all_reduce: the job must end, naming rank 1, instead of hanging."""

import sys

import ember
import ember.distributed as dist

dist.init_process_group("mpi")
if dist.get_rank() == 1:
    if sys.argv[1] == "raise":
        raise ValueError("rank one gives up")
    sys.exit(3)
dist.all_reduce(ember.ones(2))
print("rank 0 was not stopped", flush=True)
