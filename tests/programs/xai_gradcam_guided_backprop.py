"""Class activation maps for a small CNN, as the pytorch-grad-cam and "visualizing CNNs" repos
write them: forward hooks keep the last conv block's activations, ``register_full_backward_hook``
and ``Tensor.register_hook`` capture their gradients, Grad-CAM and Grad-CAM++ weight the
channels, and ``F.interpolate`` upsamples the map to the image. Guided backpropagation twice
(a custom ``autograd.Function`` swapped in for ReLU, and backward hooks on ``nn.ReLU`` that
rewrite ``grad_input``), guided Grad-CAM, and occlusion sensitivity with ``F.unfold``/``F.fold``
sliding windows. Hook handles are removed (also as context managers) and the model checked
clean afterwards."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class SmallCNN(nn.Module):
    def __init__(self, n_classes=3):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 12, 3, padding=1), nn.BatchNorm2d(12), nn.ReLU(),
            nn.Conv2d(12, 16, 3, padding=1), nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(16, n_classes)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(torch.flatten(self.pool(x), 1))


# synthetic images: the class says which colour channel a bright blob lights up; the blob
# sits in a random quadrant, which is what the maps should find
def make_images(n):
    imgs = 0.3 * torch.randn(n, 3, 16, 16)
    labels = torch.randint(0, 3, (n,))
    quadrants = torch.randint(0, 4, (n,))
    for i, (c, q) in enumerate(zip(labels.tolist(), quadrants.tolist())):
        r, col = divmod(q, 2)
        imgs[i, c, 2 + 8 * r:6 + 8 * r, 2 + 8 * col:6 + 8 * col] += 2.0
    return imgs, labels, quadrants


model = SmallCNN()
images, labels, _ = make_images(64)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
for step in range(40):
    opt.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    opt.step()
model.eval()
with torch.no_grad():
    acc = (model(images).argmax(1) == labels).float().mean().item()
print(f"loss {loss.item():.3f} acc {acc:.2f}")

test_imgs, test_labels, test_quadrants = make_images(4)
print("test labels", test_labels.tolist(), "blob quadrants", test_quadrants.tolist())


class GradCAM:
    """Keeps the target layer's activations and gradients via hooks."""

    def __init__(self, model, layer, use_tensor_hook=False):
        self.model, self.activations, self.gradients = model, None, None
        self.use_tensor_hook = use_tensor_hook
        self.handles = [layer.register_forward_hook(self._save_activation)]
        if not use_tensor_hook:
            self.handles.append(layer.register_full_backward_hook(self._save_gradient))

    def _save_activation(self, module, inputs, output):
        self.activations = output.detach()
        if self.use_tensor_hook:
            def keep(grad):
                self.gradients = grad.detach()
            output.register_hook(keep)

    def _save_gradient(self, module, grad_input, grad_output):
        self.gradients = grad_output[0].detach()

    def __call__(self, x, target=None, plus_plus=False):
        self.model.zero_grad()
        logits = self.model(x)
        if target is None:
            target = logits.argmax(1)
        score = logits.gather(1, target[:, None]).sum()
        score.backward()
        A, G = self.activations, self.gradients
        if plus_plus:
            g2, g3 = G.pow(2), G.pow(3)
            denom = 2 * g2 + (A.sum(dim=(2, 3), keepdim=True) * g3)
            denom = torch.where(denom != 0, denom, torch.ones_like(denom))
            alpha = g2 / denom
            weights = (alpha * F.relu(G)).sum(dim=(2, 3), keepdim=True)
        else:
            weights = G.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * A).sum(1, keepdim=True))
        cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
        flat = cam.flatten(1)
        lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
        cam = ((flat - lo) / (hi - lo + 1e-8)).view_as(cam)
        return cam.squeeze(1), target

    def remove(self):
        for h in self.handles:
            h.remove()


target_layer = model.features[7]
cam_full = GradCAM(model, target_layer)
cam, target = cam_full(test_imgs)
print("predicted", target.tolist())
print("cam shape", tuple(cam.shape))


def quadrant_mass(m):
    """Fraction of the map's mass in each 8x8 quadrant."""
    q = m.reshape(-1, 2, 8, 2, 8).sum(dim=(2, 4)).flatten(1)
    return (q / q.sum(1, keepdim=True)).round(decimals=2)


print("grad-cam quadrants", quadrant_mass(cam).tolist())
print("grad-cam argmax quadrant", quadrant_mass(cam).argmax(1).tolist())
cam_pp, _ = cam_full(test_imgs, plus_plus=True)
print("grad-cam++ quadrants", quadrant_mass(cam_pp).tolist())
cam_full.remove()

cam_tensor = GradCAM(model, target_layer, use_tensor_hook=True)
cam2, _ = cam_tensor(test_imgs)
print("tensor hook == module hook", torch.allclose(cam, cam2, atol=1e-6))
cam_tensor.remove()
print("hooks left", len(target_layer._forward_hooks), len(target_layer._backward_hooks))
# a CAM for a class the model did not predict
other = (target + 1) % 3
cam_other, _ = GradCAM(model, target_layer)(test_imgs, target=other)
print("counterfactual cam quadrants", quadrant_mass(cam_other).argmax(1).tolist())
target_layer._forward_hooks.clear()
target_layer._backward_hooks.clear()


class GuidedReLUFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * (x > 0).to(grad_out.dtype) * (grad_out > 0).to(grad_out.dtype)


class GuidedReLU(nn.Module):
    def forward(self, x):
        return GuidedReLUFn.apply(x)


def swap_relus(module, factory):
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU):
            setattr(module, name, factory())
        else:
            swap_relus(child, factory)


def input_gradient(m, x, target):
    x = x.clone().requires_grad_(True)
    m(x).gather(1, target[:, None]).sum().backward()
    return x.grad


vanilla = input_gradient(model, test_imgs, target)
swap_relus(model, GuidedReLU)
print("relus swapped", sum(isinstance(m, GuidedReLU) for m in model.modules()))
guided_fn = input_gradient(model, test_imgs, target)
swap_relus_back = [n for n, m in model.named_modules() if isinstance(m, GuidedReLU)]
print("guided modules", swap_relus_back)
for name in swap_relus_back:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent), child, nn.ReLU())


def guided_hook(module, grad_input, grad_output):
    # grad_input already holds the ReLU mask; keep only positive gradients
    return (grad_input[0].clamp(min=0),)


relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
handles = [r.register_full_backward_hook(guided_hook) for r in relus]
guided_hooked = input_gradient(model, test_imgs, target)
for h in handles:
    h.remove()
print("function == hooks", torch.allclose(guided_fn, guided_hooked, atol=1e-6))
print("guided != vanilla", not torch.allclose(guided_fn, vanilla))
print("guided positive share", round((guided_fn > 0).float().mean().item(), 2))
after = input_gradient(model, test_imgs, target)
print("hooks removed, vanilla again", torch.allclose(after, vanilla, atol=1e-6))
guided_gradcam = guided_fn.abs().amax(1) * cam
print("guided grad-cam quadrants", quadrant_mass(guided_gradcam).tolist())

# global module hooks, with the handle used as a context manager
seen = []
with nn.modules.module.register_module_forward_hook(
        lambda m, i, o: seen.append(type(m).__name__)):
    with torch.no_grad():
        model(test_imgs[:1])
print("global hook saw", len(seen), seen[:4])
with torch.no_grad():
    model(test_imgs[:1])
print("after context", len(seen))


def occlusion(m, x, target, window=4, stride=2, fill=0.0):
    """Score drop when each window is filled; overlapping windows averaged with F.fold."""
    n, c, h, w = x.shape
    with torch.no_grad():
        base = F.softmax(m(x), 1).gather(1, target[:, None])
        ones = torch.ones(1, 1, h, w)
        cols = F.unfold(ones, kernel_size=window, stride=stride)  # (1, window*window, L)
        n_windows = cols.shape[-1]
        masks = cols.transpose(1, 2).reshape(n_windows, 1, window * window)
        drops = []
        for k in range(n_windows):
            mask_cols = torch.zeros(1, window * window, n_windows)
            mask_cols[0, :, k] = 1.0
            mask = F.fold(mask_cols, (h, w), kernel_size=window, stride=stride)
            occluded = x * (1 - mask) + fill * mask
            p = F.softmax(m(occluded), 1).gather(1, target[:, None])
            drops.append((base - p).squeeze(1))
        drops = torch.stack(drops, 1)  # (n, L)
        spread = drops[:, None, :].expand(n, window * window, n_windows)
        total = F.fold(spread, (h, w), kernel_size=window, stride=stride)
        count = F.fold(cols, (h, w), kernel_size=window, stride=stride)
    return (total / count).squeeze(1), drops, masks


occ, drops, masks = occlusion(model, test_imgs, target)
print("windows", drops.shape[1], "masks", tuple(masks.shape))
print("max drop window", drops.argmax(1).tolist())
print("occlusion quadrants", quadrant_mass(occ.clamp(min=0)).argmax(1).tolist())
print("max drop", drops.max(1).values.round(decimals=2).tolist())
