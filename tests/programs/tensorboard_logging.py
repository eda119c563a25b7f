"""Visualizing training with TensorBoard: SummaryWriter scalars, histograms, images, text and
hparams written to a temporary run directory, then read back with TensorBoard's reader."""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
from torch.utils.tensorboard import SummaryWriter
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

rng = np.random.default_rng(0)
x = torch.from_numpy(rng.standard_normal((64, 4)).astype(np.float32))
y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.25

model = nn.Linear(4, 1)
with torch.no_grad():
    model.weight.zero_()
    model.bias.zero_()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
criterion = nn.MSELoss()

logdir = tempfile.mkdtemp()
writer = SummaryWriter(log_dir=os.path.join(logdir, "run1"))
print(os.path.basename(writer.get_logdir()))
for epoch in range(10):
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    writer.add_scalar("Loss/train", loss.item(), epoch)
    writer.add_scalars("Params", {"bias": model.bias.item(),
                                  "w0": model.weight[0, 0].item()}, epoch)
    if epoch % 5 == 0:
        writer.add_histogram("weights", model.weight, epoch)
grid = torch.linspace(0, 1, 3 * 8 * 8).reshape(3, 8, 8)
writer.add_image("example", grid, 0)
writer.add_text("notes", "linear regression, lr=0.05", 0)
writer.add_hparams({"lr": 0.05, "optimizer": "SGD"}, {"hparam/loss": loss.item()})
writer.flush()
writer.close()
print(f"final loss {loss.item():.4f}")

acc = EventAccumulator(os.path.join(logdir, "run1"))
acc.Reload()
tags = acc.Tags()
print(sorted(tags["scalars"]), sorted(tags["histograms"]), tags["images"])
events = acc.Scalars("Loss/train")
print(len(events), [e.step for e in events][:4])
print([round(e.value, 3) for e in events])
hist = acc.Histograms("weights")
print([h.step for h in hist], [h.histogram_value.num for h in hist],
      [round(h.histogram_value.sum, 3) for h in hist])
img = acc.Images("example")[0]
print(img.width, img.height, img.encoded_image_string[:4])
subruns = sorted(d for d in os.listdir(os.path.join(logdir, "run1")) if not d.startswith("events"))
print(len(subruns), [d for d in subruns if not d[0].isdigit()])  # add_hparams: a timestamped run
sub = EventAccumulator(os.path.join(logdir, "run1", "Params_w0"))
sub.Reload()
print([round(e.value, 3) for e in sub.Scalars("Params")][-3:])
files = [f for f in os.listdir(os.path.join(logdir, "run1")) if f.startswith("events")]
print(len(files), files[0].split(".")[:3])
