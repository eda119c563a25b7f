"""Monocular-depth geometry and losses as Monodepth2 and MiDaS/DPT reference code write them:
``BackprojectDepth``/``Project3D`` modules (pixel grid from ``np.meshgrid`` registered as
non-trainable ``nn.Parameter``s, ``torch.linalg.inv`` of intrinsics, homogeneous coordinates
with ``torch.cat``, ``torch.matmul`` with a 4x4 pose), ``transformation_from_parameters``
built from an axis-angle ``rot_from_axisangle`` (Rodrigues, ``torch.norm``, ``torch.cos``/
``sin`` and index assignment into a ``zeros`` 4x4), view synthesis with ``F.grid_sample``
(``padding_mode='border'``, ``align_corners=True``), surface normals from a depth map with
``torch.linalg.cross`` and ``F.normalize``, MiDaS's scale-and-shift-invariant loss with the
per-image 2x2 least-squares solve (``torch.linalg.solve`` and ``torch.linalg.lstsq``
cross-checked), its multi-scale gradient-matching loss with strided slicing, a DPT-like
decoder with ``F.interpolate(mode='bilinear', align_corners=True)`` and ``torch.masked_select``
evaluation."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(9)
B, H, W = 2, 10, 14


class BackprojectDepth(nn.Module):
    def __init__(self, batch_size, height, width):
        super().__init__()
        self.batch_size, self.height, self.width = batch_size, height, width
        meshgrid = np.meshgrid(range(self.width), range(self.height), indexing="xy")
        self.id_coords = np.stack(meshgrid, axis=0).astype(np.float32)
        self.id_coords = nn.Parameter(torch.from_numpy(self.id_coords), requires_grad=False)
        self.ones = nn.Parameter(torch.ones(self.batch_size, 1, self.height * self.width),
                                 requires_grad=False)
        self.pix_coords = torch.unsqueeze(torch.stack(
            [self.id_coords[0].view(-1), self.id_coords[1].view(-1)], 0), 0)
        self.pix_coords = self.pix_coords.repeat(batch_size, 1, 1)
        self.pix_coords = nn.Parameter(torch.cat([self.pix_coords, self.ones], 1),
                                       requires_grad=False)

    def forward(self, depth, inv_K):
        cam_points = torch.matmul(inv_K[:, :3, :3], self.pix_coords)
        cam_points = depth.view(self.batch_size, 1, -1) * cam_points
        return torch.cat([cam_points, self.ones], 1)


class Project3D(nn.Module):
    def __init__(self, batch_size, height, width, eps=1e-7):
        super().__init__()
        self.batch_size, self.height, self.width, self.eps = batch_size, height, width, eps

    def forward(self, points, K, T):
        P = torch.matmul(K, T)[:, :3, :]
        cam_points = torch.matmul(P, points)
        pix_coords = cam_points[:, :2, :] / (cam_points[:, 2, :].unsqueeze(1) + self.eps)
        pix_coords = pix_coords.view(self.batch_size, 2, self.height, self.width)
        pix_coords = pix_coords.permute(0, 2, 3, 1)
        pix_coords[..., 0] /= self.width - 1
        pix_coords[..., 1] /= self.height - 1
        return (pix_coords - 0.5) * 2


def rot_from_axisangle(vec):
    angle = torch.norm(vec, 2, 2, True)
    axis = vec / (angle + 1e-7)
    ca, sa = torch.cos(angle), torch.sin(angle)
    C = 1 - ca
    x, y, z = axis[..., 0].unsqueeze(1), axis[..., 1].unsqueeze(1), axis[..., 2].unsqueeze(1)
    xs, ys, zs = x * sa, y * sa, z * sa
    xC, yC, zC = x * C, y * C, z * C
    xyC, yzC, zxC = x * yC, y * zC, z * xC
    rot = torch.zeros((vec.shape[0], 4, 4), dtype=vec.dtype)
    rot[:, 0, 0] = torch.squeeze(x * xC + ca)
    rot[:, 0, 1] = torch.squeeze(xyC - zs)
    rot[:, 0, 2] = torch.squeeze(zxC + ys)
    rot[:, 1, 0] = torch.squeeze(xyC + zs)
    rot[:, 1, 1] = torch.squeeze(y * yC + ca)
    rot[:, 1, 2] = torch.squeeze(yzC - xs)
    rot[:, 2, 0] = torch.squeeze(zxC - ys)
    rot[:, 2, 1] = torch.squeeze(yzC + xs)
    rot[:, 2, 2] = torch.squeeze(z * zC + ca)
    rot[:, 3, 3] = 1
    return rot


def transformation_from_parameters(axisangle, translation):
    R = rot_from_axisangle(axisangle)
    T = torch.eye(4).repeat(translation.shape[0], 1, 1)
    T[:, :3, 3] = translation.contiguous().view(-1, 3)
    return torch.matmul(R, T)


K = torch.tensor([[0.58 * W, 0, 0.5 * W, 0], [0, 1.92 * H, 0.5 * H, 0],
                  [0, 0, 1, 0], [0, 0, 0, 1]], dtype=torch.float32).repeat(B, 1, 1)
inv_K = torch.linalg.inv(K)
depth = torch.from_numpy((2.0 + rng.uniform(0, 1, size=(B, 1, H, W))).astype(np.float32))
depth = F.avg_pool2d(F.pad(depth, (1, 1, 1, 1), mode="replicate"), 3, 1)
axisangle = torch.tensor([[[0.01, -0.02, 0.015]], [[0.0, 0.03, 0.0]]])
translation = torch.tensor([[[0.05, 0.0, -0.02]], [[-0.03, 0.01, 0.0]]])
T = transformation_from_parameters(axisangle, translation)
print("R orthonormal", torch.allclose(T[:, :3, :3] @ T[:, :3, :3].transpose(1, 2),
                                      torch.eye(3).expand(B, 3, 3), atol=1e-6),
      "det", [round(v, 5) for v in torch.det(T[:, :3, :3]).tolist()])

backproject, project = BackprojectDepth(B, H, W), Project3D(B, H, W)
print("backproject params", [n for n, _ in backproject.named_parameters()],
      "trainable", sum(p.requires_grad for p in backproject.parameters()))
cam = backproject(depth, inv_K)
pix = project(cam, K, T)
identity_pix = project(cam, K, torch.eye(4).repeat(B, 1, 1))
base = torch.linspace(-1, 1, W)
print("identity projection error", round((identity_pix[..., 0] - base).abs().max().item(), 5),
      "flow px", round(((pix - identity_pix) * (W - 1) / 2).abs().mean().item(), 4))

img = torch.from_numpy(rng.uniform(0, 1, size=(B, 3, H, W)).astype(np.float32))
warped = F.grid_sample(img, pix, padding_mode="border", align_corners=True)
same = F.grid_sample(img, identity_pix, padding_mode="border", align_corners=True)
print("identity warp exact", torch.allclose(same, img, atol=1e-5),
      "warped mean", round(warped.mean().item(), 4))

# surface normals from the point cloud
pts = cam[:, :3].view(B, 3, H, W)
dx = pts[:, :, 1:-1, 2:] - pts[:, :, 1:-1, :-2]
dy = pts[:, :, 2:, 1:-1] - pts[:, :, :-2, 1:-1]
normals = F.normalize(torch.linalg.cross(dx, dy, dim=1), dim=1)
print("normals", tuple(normals.shape), "mean z", round(normals[:, 2].mean().item(), 4),
      "unit", torch.allclose(normals.norm(dim=1), torch.ones(B, H - 2, W - 2), atol=1e-5))


def compute_scale_and_shift(prediction, target, mask):
    a_00 = torch.sum(mask * prediction * prediction, (1, 2))
    a_01 = torch.sum(mask * prediction, (1, 2))
    a_11 = torch.sum(mask, (1, 2))
    b_0 = torch.sum(mask * prediction * target, (1, 2))
    b_1 = torch.sum(mask * target, (1, 2))
    x_0, x_1 = torch.zeros_like(b_0), torch.zeros_like(b_1)
    det = a_00 * a_11 - a_01 * a_01
    valid = det.nonzero()
    x_0[valid] = (a_11[valid] * b_0[valid] - a_01[valid] * b_1[valid]) / det[valid]
    x_1[valid] = (-a_01[valid] * b_0[valid] + a_00[valid] * b_1[valid]) / det[valid]
    return x_0, x_1


def gradient_loss(prediction, target, mask):
    diff = mask * (prediction - target)
    grad_x = torch.abs(diff[:, :, 1:] - diff[:, :, :-1])
    grad_x = torch.mul(mask[:, :, 1:], mask[:, :, :-1]) * grad_x
    grad_y = torch.abs(diff[:, 1:, :] - diff[:, :-1, :])
    grad_y = torch.mul(mask[:, 1:, :], mask[:, :-1, :]) * grad_y
    image_loss = torch.sum(grad_x, (1, 2)) + torch.sum(grad_y, (1, 2))
    divisor = torch.sum(mask)
    return torch.sum(image_loss) / divisor if divisor > 0 else torch.tensor(0.0)


def ssi_loss(prediction, target, mask, scales=2, alpha=0.5):
    scale, shift = compute_scale_and_shift(prediction, target, mask)
    pred_ssi = scale.view(-1, 1, 1) * prediction + shift.view(-1, 1, 1)
    data = torch.sum(mask * (pred_ssi - target) ** 2) / (2 * torch.sum(mask))
    reg = 0
    for s in range(scales):
        step = pow(2, s)
        reg = reg + gradient_loss(pred_ssi[:, ::step, ::step], target[:, ::step, ::step],
                                  mask[:, ::step, ::step])
    return data + alpha * reg, scale, shift


# the closed-form scale/shift equals a least-squares solve
disp_gt = (1.0 / depth[:, 0]).double()
mask = (disp_gt > 0.36).double()
pred = 3.0 * disp_gt - 0.2 + 0.01 * torch.from_numpy(rng.standard_normal((B, H, W)))
s, t = compute_scale_and_shift(pred, disp_gt, mask)
A = torch.stack([pred.flatten(1), torch.ones_like(pred.flatten(1))], -1)
A = A * mask.flatten(1)[..., None]
sol = torch.linalg.lstsq(A, (disp_gt * mask).flatten(1).unsqueeze(-1)).solution.squeeze(-1)
normal_eq = torch.linalg.solve(A.mT @ A, A.mT @ (disp_gt * mask).flatten(1).unsqueeze(-1))
print("scale/shift", [round(v, 4) for v in torch.stack([s, t], -1).flatten().tolist()],
      "lstsq agrees", torch.allclose(sol, torch.stack([s, t], -1), atol=1e-8),
      "solve agrees", torch.allclose(normal_eq.squeeze(-1), sol, atol=1e-8))


class TinyDPT(nn.Module):
    def __init__(self, c=12):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(c, c, 3, stride=2, padding=1), nn.ReLU())
        self.fuse = nn.Conv2d(c, c, 3, padding=1)
        self.head = nn.Sequential(nn.Conv2d(c, c // 2, 3, padding=1), nn.ReLU(True),
                                  nn.Conv2d(c // 2, 1, 1), nn.ReLU(True))

    def forward(self, x):
        f1 = self.enc1(x)
        f2 = self.enc2(f1)
        up = F.interpolate(f2, size=f1.shape[-2:], mode="bilinear", align_corners=True)
        return self.head(self.fuse(up) + f1).squeeze(1)


net = TinyDPT().double()
opt = torch.optim.Adam(net.parameters(), lr=3e-3)
x = img.double()
for it in range(20):
    loss, sc, sh = ssi_loss(net(x), disp_gt, mask)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it % 6 == 0 or it == 19:
        print(f"it {it:2d} ssi loss {loss.item():.5f} scale {sc.mean().item():.4f}")
with torch.no_grad():
    p = net(x)
    sc, sh = compute_scale_and_shift(p, disp_gt, mask)
    aligned = sc.view(-1, 1, 1) * p + sh.view(-1, 1, 1)
    sel = torch.masked_select(aligned, mask.bool())
    ref = torch.masked_select(disp_gt, mask.bool())
    abs_rel = ((sel - ref).abs() / ref).mean()
    print("masked pixels", sel.numel(), "abs rel", round(abs_rel.item(), 4))
