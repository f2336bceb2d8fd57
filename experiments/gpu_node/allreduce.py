"""NCCL all-reduce bandwidth between the GPUs torchrun gives it: what a DDP step of the 55M preset pays
(938M fp32 gradients, 3.75 GB, reduced once a step). Prints the median of 10 timed all-reduces.

    torchrun --nproc-per-node 2 experiments/gpu_node/allreduce.py
"""

import os
import statistics
import time

import torch
import torch.distributed as dist

dist.init_process_group("nccl")
rank = dist.get_rank()
torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
buffer = torch.ones(938_000_000, device="cuda")
times = []
for i in range(13):
    torch.cuda.synchronize()
    began = time.perf_counter()
    dist.all_reduce(buffer)
    torch.cuda.synchronize()
    if i >= 3:
        times.append(time.perf_counter() - began)
seconds = statistics.median(times)
if rank == 0:
    size = buffer.numel() * buffer.element_size()
    bus = 2 * (dist.get_world_size() - 1) / dist.get_world_size() * size / seconds
    print(f"all-reduce of {size / 1e9:.2f} GB over {dist.get_world_size()} GPUs: {seconds * 1e3:.1f} ms, "
          f"bus bandwidth {bus / 1e9:.0f} GB/s", flush=True)
dist.destroy_process_group()
