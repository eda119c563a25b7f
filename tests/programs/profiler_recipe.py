"""The PyTorch profiler recipe: profile a model, label ranges with record_function, read
key_averages(), group by input shape, profile memory, export a trace, use a schedule.

Timings differ from run to run (and between libraries), so the program prints what is
deterministic: which labelled ranges were recorded and how often, the table's columns, the
input shapes a group saw, the schedule's steps and the trace file's structure.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
from torch.profiler import profile, record_function, ProfilerActivity

rng = np.random.default_rng(0)


class MyModule(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super(MyModule, self).__init__()
        self.linear = nn.Linear(in_features, out_features, bias)

    def forward(self, input, mask):
        with record_function("LINEAR PASS"):
            out = self.linear(input)

        with record_function("MASK INDICES"):
            threshold = out.sum(axis=1).mean().item()
            hi_idx = np.argwhere(mask.detach().numpy() > threshold)
            hi_idx = torch.from_numpy(hi_idx)

        return out, hi_idx


model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(8, 10))
inputs = torch.from_numpy(rng.standard_normal((5, 3, 16, 16)).astype(np.float32))

# Using profiler to analyze execution time
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    with record_function("model_inference"):
        model(inputs)

averages = prof.key_averages()
table = averages.table(sort_by="cpu_time_total", row_limit=10)
header = [line for line in table.splitlines() if "Name" in line][0]
print("table columns:", [c.strip() for c in header.split("  ") if c.strip()])
print("table ends with:", table.strip().splitlines()[-1].split(":")[0])
labels = {e.key: e.count for e in averages if e.key == "model_inference"}
print("model_inference recorded:", labels)
total = [e for e in averages if e.key == "model_inference"][0]
print("cpu_time_total >= self_cpu_time_total:",
      total.cpu_time_total >= total.self_cpu_time_total)

# Grouping by input shape: the shapes the labelled range saw
by_shape = prof.key_averages(group_by_input_shape=True)
print("group_by_input_shape table has 'Input Shapes' column:",
      "Input Shapes" in by_shape.table(sort_by="cpu_time_total", row_limit=10))

# Using profiler to analyze memory consumption
with profile(activities=[ProfilerActivity.CPU],
             profile_memory=True, record_shapes=True) as prof:
    model(inputs)
mem_table = prof.key_averages().table(sort_by="self_cpu_memory_usage", row_limit=10)
# (ember records host time only: its table has no "CPU Mem" / "Self CPU Mem" columns yet)
print("memory table sorted by self_cpu_memory_usage has a footer:",
      mem_table.strip().splitlines()[-1].startswith("Self CPU time total"))

# Labelled ranges inside a module's forward, profiled with the module
model2 = MyModule(500, 10)
with torch.no_grad():
    model2.linear.weight.copy_(torch.from_numpy(
        rng.uniform(-0.05, 0.05, (10, 500)).astype(np.float32)))
    model2.linear.bias.zero_()
input = torch.from_numpy(rng.random((128, 500)).astype(np.float32))
mask = torch.from_numpy(rng.random((500, 500)).astype(np.float64))

# warm-up
model2(input, mask)

with profile(activities=[ProfilerActivity.CPU], with_stack=False) as prof:
    out, idx = model2(input, mask)
print("hi_idx shape:", tuple(idx.shape), "dtype:", idx.dtype)
ranges = sorted((e.key, e.count) for e in prof.key_averages()
                if e.key in ("LINEAR PASS", "MASK INDICES"))
print("ranges:", ranges)

# Exporting a Chrome trace
with profile(activities=[ProfilerActivity.CPU]) as prof:
    model(inputs)
prof.export_chrome_trace("trace.json")
with open("trace.json") as f:
    trace = json.load(f)
events = trace["traceEvents"] if isinstance(trace, dict) else trace
print("trace has events:", len(events) > 0,
      "all have names:", all("name" in e for e in events))
os.remove("trace.json")

# Profiling long-running jobs with a schedule
my_schedule = torch.profiler.schedule(
    skip_first=1,
    wait=1,
    warmup=1,
    active=2,
    repeat=2)
print("schedule actions:", [my_schedule(step).name for step in range(12)])

ready = []


def trace_handler(p):
    ready.append(p.step_num)
    steps = sorted({e.key for e in p.key_averages() if e.key.startswith("ProfilerStep#")})
    print("trace ready at step {}: {}".format(p.step_num, steps))


with profile(
    activities=[ProfilerActivity.CPU],
    schedule=my_schedule,
    on_trace_ready=trace_handler
) as p:
    for idx in range(10):
        model(inputs)
        p.step()
print("handler called at steps:", ready)
