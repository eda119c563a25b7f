"""Bundle-adjustment-style camera fitting as 3-D vision tutorials write it in plain torch: a
pinhole projection with an axis-angle pose, Levenberg-Marquardt whose Jacobian comes from
``torch.func.jacrev`` (checked against ``torch.autograd.functional.jacobian``) and whose damped
normal equations are solved with ``torch.linalg.solve`` (and ``torch.linalg.cholesky`` +
``torch.cholesky_solve``), a robust Huber loss, per-camera Jacobians with ``torch.func.vmap``,
and a joint points-and-poses refinement with ``torch.optim.LBFGS`` (strong Wolfe line search).
Everything is drawn from ``torch.manual_seed``."""
import torch
import torch.nn.functional as F
from torch.func import jacrev, vmap

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def so3_exp(w):
    """Rodrigues' formula for one 3-vector (angles kept away from zero here)."""
    theta = w.norm()
    k = w / theta
    K = torch.zeros(3, 3)
    K = K + torch.tensor([[0, 0, 0], [0, 0, 1], [0, -1, 0]]) * -k[0]
    K = K + torch.tensor([[0, 0, 1], [0, 0, 0], [-1, 0, 0]]) * k[1]
    K = K + torch.tensor([[0, -1, 0], [1, 0, 0], [0, 0, 0]]) * k[2]
    return torch.eye(3) + torch.sin(theta) * K + (1 - torch.cos(theta)) * (K @ K)


fx, fy, cx, cy = 500.0, 480.0, 320.0, 240.0


def project(pose, points):
    """Pixel coordinates of world points seen by a camera with pose (axis-angle, translation)."""
    R = so3_exp(pose[:3])
    cam = points @ R.T + pose[3:]
    u = fx * cam[:, 0] / cam[:, 2] + cx
    v = fy * cam[:, 1] / cam[:, 2] + cy
    return torch.stack([u, v], dim=-1)


# A scene in front of several cameras.
n_pts, n_cams = 40, 3
points = torch.randn(n_pts, 3) * torch.tensor([1.0, 1.0, 0.5]) + torch.tensor([0.0, 0.0, 6.0])
poses_gt = torch.cat([0.1 * torch.randn(n_cams, 3) + 0.05, 0.3 * torch.randn(n_cams, 3)], dim=1)
obs = torch.stack([project(p, points) for p in poses_gt]) + 0.5 * torch.randn(n_cams, n_pts, 2)
print("pixel range", [round(v, 1) for v in obs.amin((0, 1)).tolist()],
      [round(v, 1) for v in obs.amax((0, 1)).tolist()])


def residual(pose, target):
    return (project(pose, points) - target).reshape(-1)


# 1. Jacobians: jacrev, autograd.functional.jacobian and a vmapped batch over cameras.
J = jacrev(residual)(poses_gt[0], obs[0])
J_ref = torch.autograd.functional.jacobian(lambda p: residual(p, obs[0]), poses_gt[0])
print("jacobian", tuple(J.shape), "agrees", torch.allclose(J, J_ref, atol=1e-10))
J_all = vmap(jacrev(residual))(poses_gt, obs)
print("vmapped", tuple(J_all.shape), "agrees", torch.allclose(J_all[0], J, atol=1e-10))
print("J^T J condition", f"{torch.linalg.cond(J.T @ J).item():.3e}")


# 2. Levenberg-Marquardt on each camera's pose from a perturbed start.
def levenberg_marquardt(pose, target, iters=6, lam=1e-3, use_cholesky=False):
    costs = []
    for it in range(iters):
        r = residual(pose, target)
        Jp = jacrev(residual)(pose, target)
        cost = 0.5 * r.pow(2).sum()
        costs.append(cost.item())
        H = Jp.T @ Jp
        g = Jp.T @ r
        A = H + lam * torch.diag(torch.diagonal(H))
        if use_cholesky:
            L = torch.linalg.cholesky(A)
            step = -torch.cholesky_solve(g.unsqueeze(-1), L).squeeze(-1)
        else:
            step = -torch.linalg.solve(A, g)
        new_cost = 0.5 * residual(pose + step, target).pow(2).sum()
        if new_cost < cost:
            pose, lam = pose + step, lam * 0.3
        else:
            lam = lam * 10.0
    return pose, costs


start = poses_gt + torch.cat([0.05 * torch.randn(n_cams, 3), 0.2 * torch.randn(n_cams, 3)], 1)
for c in range(n_cams):
    pose, costs = levenberg_marquardt(start[c], obs[c], use_cholesky=(c == 1))
    print(f"camera {c}: cost {costs[0]:.1f} -> {costs[-1]:.3f}",
          "pose error", round((pose - poses_gt[c]).abs().max().item(), 3))

# 3. Joint refinement of points and poses with LBFGS under a Huber loss; the first camera's pose
#    is held fixed to remove the gauge freedom (scale stays ambiguous only up to it).
torch.manual_seed(1)
pts_var = (points + 0.05 * torch.randn_like(points)).requires_grad_(True)
pose_var = start[1:].clone().requires_grad_(True)
opt = torch.optim.LBFGS([pts_var, pose_var], lr=1.0, max_iter=40, history_size=20,
                        line_search_fn="strong_wolfe")
calls = []


def closure():
    opt.zero_grad()
    all_poses = torch.cat([poses_gt[:1], pose_var])
    pred = torch.stack([project(all_poses[i], pts_var) for i in range(n_cams)])
    loss = F.huber_loss(pred, obs, delta=2.0, reduction="sum")
    loss.backward()
    calls.append(loss.item())
    return loss


for outer in range(3):
    opt.step(closure)
    print(f"lbfgs round {outer}: loss {calls[-1]:.2f}")
print("first loss", round(calls[0], 1), "evaluations > 10", len(calls) > 10)
pred = torch.stack([project(p, pts_var.detach())
                    for p in torch.cat([poses_gt[:1], pose_var.detach()])])
rms = (pred - obs).pow(2).sum(-1).mean().sqrt().item()
print("reprojection rms px", round(rms, 2))
print("state keys", sorted(opt.state_dict()["state"][0].keys())[:4])
