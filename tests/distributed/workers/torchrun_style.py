"""A script written for torchrun (``import torch`` swapped for ember): it reads LOCAL_RANK
before touching torch.distributed and initializes from env://. Prints one line per rank."""

import os
import sys

import ember as torch
import ember.distributed as dist

local_rank = int(os.environ["LOCAL_RANK"])
world_size = int(os.environ["WORLD_SIZE"])
dist.init_process_group(backend="gloo", init_method="env://")
t = torch.ones(2) * dist.get_rank()
dist.all_reduce(t)
print(f"rank={dist.get_rank()} world={world_size} local={local_rank} "
      f"master={os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']} name={__name__} "
      f"argv={sys.argv[1:]} sum={t.tolist()}", flush=True)
dist.destroy_process_group()
