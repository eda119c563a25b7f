"""Optical flow with RAFT, after torchvision's gallery example "Optical Flow: Predicting
movement with the RAFT model": two frames resized to a multiple of 8 and scaled to [-1, 1], the
model returning one flow estimate per refinement step (the last one is the best), and
``torchvision.utils.flow_to_image`` to colour the flow and ``make_grid`` to tile it. No
checkpoint can be downloaded here, so ``raft_small`` is built with ``weights=None`` from
``torch.manual_seed``; the frames are a textured pattern and a shifted copy, made with NumPy.
The gallery's training remark (the loss sums the errors of all the predictions, weighted
towards the later ones) is computed as the RAFT paper's sequence loss, without a step."""
import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.optical_flow import Raft_Small_Weights, raft_small
from torchvision.utils import flow_to_image, make_grid

torch.manual_seed(0)
rng = np.random.default_rng(0)

# a smooth random texture (uint8, as decoded video frames are) and the same scene moved by
# (dx, dy) = (4, -2) pixels
texture = rng.random((3, 34, 34))
texture = np.kron(texture, np.ones((4, 4)))[:, :132, :132]
frame1 = (255 * texture[:, 2:130, 2:130]).astype(np.uint8)
frame2 = (255 * np.roll(texture, shift=(-2, 4), axis=(1, 2))[:, 2:130, 2:130]).astype(np.uint8)
img1_batch = torch.from_numpy(frame1)[None]
img2_batch = torch.from_numpy(frame2)[None]
print("frames", tuple(img1_batch.shape), img1_batch.dtype)


def preprocess(batch):
    # the weights' transforms: float in [0, 1], then normalised to [-1, 1]
    batch = batch.float() / 255.0
    batch = F.interpolate(batch, size=(128, 128), mode="bilinear", align_corners=False)
    return (batch - 0.5) / 0.5


img1_batch, img2_batch = preprocess(img1_batch), preprocess(img2_batch)
print("preprocessed", tuple(img1_batch.shape), round(img1_batch.min().item(), 4),
      round(img1_batch.max().item(), 4))

weights = Raft_Small_Weights.DEFAULT
print("weights", weights, weights.meta["num_params"], weights.meta["min_size"])
print("available", torchvision.models.list_models(module=torchvision.models.optical_flow))
model = raft_small(weights=None, progress=False).eval()
print("parameters", sum(p.numel() for p in model.parameters()))

with torch.no_grad():
    list_of_flows = model(img1_batch, img2_batch, num_flow_updates=3)
print("type", type(list_of_flows), "length", len(list_of_flows))
predicted_flows = list_of_flows[-1]
print("dtype", predicted_flows.dtype, "shape", tuple(predicted_flows.shape))
print("min", round(predicted_flows.min().item(), 3), "max", round(predicted_flows.max().item(), 3))
for i, flow in enumerate(list_of_flows):
    print("update", i, "mean flow (u, v)", [round(v, 3) for v in flow.mean((0, 2, 3)).tolist()])

# the sequence loss of the RAFT paper against the true (4, -2) motion
true_flow = torch.tensor([4.0, -2.0]).view(1, 2, 1, 1).expand_as(predicted_flows)
gamma = 0.8
loss = sum(gamma ** (len(list_of_flows) - i - 1) * (flow - true_flow).abs().mean()
           for i, flow in enumerate(list_of_flows))
epe = (predicted_flows - true_flow).square().sum(1).sqrt().mean()
print("sequence loss", round(loss.item(), 3), "end-point error", round(epe.item(), 3))

flow_imgs = flow_to_image(predicted_flows)
print("flow image", tuple(flow_imgs.shape), flow_imgs.dtype,
      "mean colour", [round(v, 1) for v in flow_imgs.float().mean((0, 2, 3)).tolist()])
# the images back to [0, 1] for display, beside their flow
img1_display = ((img1_batch + 1) / 2 * 255).to(torch.uint8)
grid = make_grid(torch.cat([img1_display, flow_imgs]), nrow=2)
print("grid", tuple(grid.shape), grid.dtype)
