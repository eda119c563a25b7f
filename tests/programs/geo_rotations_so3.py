"""Rotation representations as 3-D vision repositories write them in plain torch (the
PyTorch3D-style ``rotation_conversions`` helpers, "On the Continuity of Rotation
Representations" 6-D code, SO(3) exp/log in SLAM tutorials): quaternion <-> matrix, the SO(3)
exponential (Rodrigues) with a Taylor branch near zero angle checked against
``torch.linalg.matrix_exp``, the logarithm with ``acos`` clamping, gradients at and near the zero
angle, the 6-D Gram-Schmidt representation, and fitting a rotation to noisy vectors with Adam on
each representation. Everything is drawn from ``torch.manual_seed``."""
import torch
import torch.nn.functional as F

torch.manual_seed(0)


def hat(w):
    """Skew-symmetric matrices of a batch of 3-vectors."""
    zero = torch.zeros_like(w[..., 0])
    wx, wy, wz = w.unbind(-1)
    return torch.stack([zero, -wz, wy, wz, zero, -wx, -wy, wx, zero], dim=-1).view(
        w.shape[:-1] + (3, 3))


def so3_exp(w, eps=1e-4):
    """Rodrigues' formula; a Taylor series where the angle is tiny keeps gradients finite."""
    theta2 = (w * w).sum(-1, keepdim=True)
    small = theta2 < eps * eps
    theta = torch.sqrt(torch.where(small, torch.ones_like(theta2), theta2))
    a = torch.where(small, 1 - theta2 / 6, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24, (1 - torch.cos(theta)) / theta2.clamp_min(eps * eps))
    K = hat(w)
    eye = torch.eye(3, dtype=w.dtype).expand_as(K)
    return eye + a[..., None] * K + b[..., None] * (K @ K)


def so3_log(R, eps=1e-6):
    """Axis-angle of rotation matrices (angles below pi)."""
    trace = R.diagonal(dim1=-2, dim2=-1).sum(-1)
    cos = ((trace - 1) / 2).clamp(-1 + eps, 1 - eps)
    theta = torch.acos(cos)
    vee = torch.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0],
                       R[..., 1, 0] - R[..., 0, 1]], dim=-1)
    return vee * (theta / (2 * torch.sin(theta))).unsqueeze(-1)


def quat_to_matrix(q):
    """Unit quaternions (w, x, y, z) to rotation matrices."""
    w, x, y, z = F.normalize(q, dim=-1).unbind(-1)
    rows = [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]
    return torch.stack(rows, -1).reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(R):
    """Rotation matrices to quaternions with a non-negative real part (Shepperd's method)."""
    m = R.reshape(R.shape[:-2] + (9,))
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m.unbind(-1)
    four_sq = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22,
                           1 - m00 + m11 - m22, 1 - m00 - m11 + m22], dim=-1)
    q_abs = torch.sqrt(F.relu(four_sq))
    cands = torch.stack([
        torch.stack([q_abs[..., 0] ** 2, m21 - m12, m02 - m20, m10 - m01], -1),
        torch.stack([m21 - m12, q_abs[..., 1] ** 2, m10 + m01, m02 + m20], -1),
        torch.stack([m02 - m20, m10 + m01, q_abs[..., 2] ** 2, m12 + m21], -1),
        torch.stack([m10 - m01, m20 + m02, m21 + m12, q_abs[..., 3] ** 2], -1),
    ], dim=-2) / (2 * q_abs[..., None].clamp_min(0.1))
    best = F.one_hot(q_abs.argmax(-1), 4) > 0.5
    q = cands[best].reshape(R.shape[:-2] + (4,))
    return torch.where(q[..., :1] < 0, -q, q)


def rot6d_to_matrix(d6):
    """Gram-Schmidt on two 3-vectors, the 6-D continuous representation."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-2)


def geodesic(R1, R2):
    """Angle of R1^T R2, in radians."""
    cos = ((R1.transpose(-1, -2) @ R2).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    return torch.acos(cos.clamp(-1.0, 1.0))


# 1. exp against the matrix exponential, and the round trip through log.
w = torch.randn(6, 3, dtype=torch.float64) * torch.tensor([[0.0], [1e-6], [0.3], [1.0], [2.0],
                                                            [3.0]], dtype=torch.float64)
R = so3_exp(w)
print("exp matches matrix_exp", (R - torch.linalg.matrix_exp(hat(w))).abs().max().item() < 1e-12)
print("orthonormal", (R.transpose(-1, -2) @ R - torch.eye(3)).abs().max().item() < 1e-12,
      "det", [round(v, 6) for v in torch.linalg.det(R).tolist()])
w_back = so3_log(R[2:4])  # angles below pi only: beyond it log returns the short way round
print("log round trip", (w_back - w[2:4]).abs().max().item() < 1e-6,
      "past pi", [round(v, 4) for v in so3_log(R[4:]).norm(dim=-1).tolist()])
print("angles", [round(v, 4) for v in w.norm(dim=-1).tolist()])

# 2. Gradients at and near the zero angle stay finite and match the first-order term.
w0 = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
(so3_exp(w0) * torch.arange(9.0, dtype=torch.float64).view(3, 3)).sum().backward()
print("grad at zero", w0.grad[0].tolist())
wt = torch.tensor([[1e-7, -2e-7, 3e-7]], dtype=torch.float64, requires_grad=True)
(so3_exp(wt) * torch.arange(9.0, dtype=torch.float64).view(3, 3)).sum().backward()
print("grad near zero", [round(v, 6) for v in wt.grad[0].tolist()])
print("gradcheck exp", torch.autograd.gradcheck(so3_exp, (torch.randn(
    3, 3, dtype=torch.float64, requires_grad=True),)))

# 3. Quaternions: matrix round trip and the double cover.
q = F.normalize(torch.randn(5, 4), dim=-1)
Rq = quat_to_matrix(q)
q_back = matrix_to_quat(Rq)
q_pos = torch.where(q[:, :1] < 0, -q, q)
print("quat round trip", (q_back - q_pos).abs().max().item() < 1e-5)
print("double cover", f"{(quat_to_matrix(-q) - Rq).abs().max().item():.1e}")
print("quat angles", [round(v, 4) for v in (2 * torch.acos(q_pos[:, 0])).tolist()])
print("log of quat matrices", [round(v, 3) for v in so3_log(Rq.double()).norm(dim=-1).tolist()])

# 4. The 6-D representation recovers a matrix from its first two rows.
d6 = Rq[:, :2, :].reshape(5, 6)
print("6d round trip", (rot6d_to_matrix(d6) - Rq).abs().max().item() < 1e-5)

# 5. Fit a rotation to noisy vector pairs with each representation.
R_true = so3_exp(torch.tensor([[0.4, -0.9, 1.3]]))[0]
src = torch.randn(64, 3)
dst = src @ R_true.T + 0.01 * torch.randn(64, 3)
params = {
    "axis-angle": torch.full((3,), 0.1, requires_grad=True),
    "quaternion": torch.tensor([1.0, 0.0, 0.0, 0.0], requires_grad=True),
    "6d": torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], requires_grad=True),
}
to_matrix = {"axis-angle": lambda p: so3_exp(p[None])[0],
             "quaternion": lambda p: quat_to_matrix(p),
             "6d": lambda p: rot6d_to_matrix(p)}
for name, p in params.items():
    opt = torch.optim.Adam([p], lr=0.05)
    for step in range(150):
        opt.zero_grad()
        loss = F.mse_loss(src @ to_matrix[name](p).T, dst)
        loss.backward()
        opt.step()
    err = torch.rad2deg(geodesic(to_matrix[name](p).detach(), R_true)).item()
    print(f"{name:>10}: loss {loss.item():.5f} error {err:.1f} deg")
