"""Differentiable dynamic programming and sorting, after the reference code of soft-DTW
(Cuturi & Blondel 2017), NeuralSort (Grover et al. 2019) and Sinkhorn ranking (Cuturi et al.
2019): a batched soft-DTW as a custom ``autograd.Function`` whose forward sweeps anti-diagonals
(wavefront indices, ``torch.where`` with broadcasting) and whose backward runs the expected
alignment recursion, checked against unrolled autograd and ``gradcheck``; hard DTW paths with
back-pointers and a Sakoe-Chiba band (``triu``/``tril``); a soft-DTW barycenter fitted with
L-BFGS; sliding windows from ``as_strided``/``unfold``; NeuralSort relaxed permutation matrices
trained to rank items (``torch.func.functional_call``), and Sinkhorn soft ranks."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Function, gradcheck

torch.manual_seed(0)
INF = float("inf")


def r(t, nd=4):
    return [round(v, nd) for v in t.flatten().tolist()]


def pairwise_sq(x, y):
    """(B, N, d), (B, M, d) -> (B, N, M) squared Euclidean costs."""
    return (x.unsqueeze(2) - y.unsqueeze(1)).pow(2).sum(-1)


def softmin3(a, b, c, gamma):
    stacked = torch.stack([a, b, c], 0)
    return -gamma * torch.logsumexp(-stacked / gamma, dim=0)


class SoftDTW(Function):
    @staticmethod
    def forward(ctx, D, gamma):
        Bn, N, M = D.shape
        R = torch.full((Bn, N + 2, M + 2), INF, dtype=D.dtype)
        R[:, 0, 0] = 0
        for diag in range(2, N + M + 1):                  # cells (i, j), i + j = diag, 1-based
            i = torch.arange(max(1, diag - M), min(N, diag - 1) + 1)
            j = diag - i
            R[:, i, j] = D[:, i - 1, j - 1] + softmin3(R[:, i - 1, j - 1], R[:, i - 1, j],
                                                        R[:, i, j - 1], gamma)
        ctx.save_for_backward(D, R)
        ctx.gamma = gamma
        return R[:, N, M]

    @staticmethod
    def backward(ctx, grad_output):
        D, R = ctx.saved_tensors
        gamma = ctx.gamma
        Bn, N, M = D.shape
        Dp = F.pad(D, (1, 1, 1, 1))
        E = torch.zeros(Bn, N + 2, M + 2, dtype=D.dtype)
        E[:, N + 1, M + 1] = 1
        R = R.clone()
        R[:, :, M + 1] = -INF
        R[:, N + 1, :] = -INF
        R[:, N + 1, M + 1] = R[:, N, M]
        for diag in range(N + M, 1, -1):
            i = torch.arange(max(1, diag - M), min(N, diag - 1) + 1)
            j = diag - i
            a = torch.exp((R[:, i + 1, j] - R[:, i, j] - Dp[:, i + 1, j]) / gamma)
            b = torch.exp((R[:, i, j + 1] - R[:, i, j] - Dp[:, i, j + 1]) / gamma)
            c = torch.exp((R[:, i + 1, j + 1] - R[:, i, j] - Dp[:, i + 1, j + 1]) / gamma)
            E[:, i, j] = E[:, i + 1, j] * a + E[:, i, j + 1] * b + E[:, i + 1, j + 1] * c
        return grad_output.view(-1, 1, 1) * E[:, 1:N + 1, 1:M + 1], None


def soft_dtw_autograd(D, gamma):
    """The same recursion written cell by cell: autograd does the backward."""
    Bn, N, M = D.shape
    R = [[torch.full((Bn,), INF, dtype=D.dtype) for _ in range(M + 1)] for _ in range(N + 1)]
    R[0][0] = torch.zeros(Bn, dtype=D.dtype)
    for i in range(1, N + 1):
        for j in range(1, M + 1):
            R[i][j] = D[:, i - 1, j - 1] + softmin3(R[i - 1][j - 1], R[i - 1][j], R[i][j - 1],
                                                    gamma)
    return R[N][M]


def dtw_path(D, band=None):
    """Hard DTW with back-pointers; ``band`` restricts |i - j| (Sakoe-Chiba)."""
    N, M = D.shape
    if band is not None:
        allowed = torch.ones(N, M, dtype=torch.bool).triu(-band).tril(band)
        D = D.masked_fill(~allowed, INF)
    R = torch.full((N + 1, M + 1), INF)
    R[0, 0] = 0
    ptr = torch.zeros(N + 1, M + 1, dtype=torch.long)
    for i in range(1, N + 1):
        for j in range(1, M + 1):
            prev = torch.stack([R[i - 1, j - 1], R[i - 1, j], R[i, j - 1]])
            k = int(torch.argmin(prev))
            R[i, j] = D[i - 1, j - 1] + prev[k]
            ptr[i, j] = k
    path, i, j = [], N, M
    while (i, j) != (0, 0):
        path.append((i - 1, j - 1))
        k = int(ptr[i, j])
        i, j = (i - 1, j - 1) if k == 0 else (i - 1, j) if k == 1 else (i, j - 1)
    return path[::-1], R[N, M].item()


# ----- soft-DTW between noisy, time-warped sines -----------------------------------------------
Bn, N, M = 4, 14, 11
t1 = torch.linspace(0, 1, N)
t2 = torch.linspace(0, 1, M)
phase = torch.rand(Bn, 1) * 0.5
x = torch.sin(6 * (t1[None] + phase) ** 1.3).unsqueeze(-1) + 0.05 * torch.randn(Bn, N, 1)
y = torch.sin(6 * (t2[None] + 0.1)).unsqueeze(-1).expand(Bn, M, 1)
x.requires_grad_(True)
D = pairwise_sq(x, y)
for gamma in [1.0, 0.1, 0.01]:
    v = SoftDTW.apply(D, gamma)
    print(f"soft-dtw gamma {gamma}", r(v))
v_custom = SoftDTW.apply(D, 0.1)
g_custom, = torch.autograd.grad(v_custom.sum(), x)
v_ref = soft_dtw_autograd(pairwise_sq(x, y), 0.1)
g_ref, = torch.autograd.grad(v_ref.sum(), x)
print("custom == unrolled", torch.allclose(v_custom, v_ref, atol=1e-5),
      torch.allclose(g_custom, g_ref, atol=1e-4))
print("grad x[0]", r(g_custom[0, :5].squeeze(-1)))
Dd = torch.rand(2, 4, 3, dtype=torch.float64, requires_grad=True)
print("gradcheck soft-dtw", gradcheck(lambda d: SoftDTW.apply(d, 0.5), (Dd,), eps=1e-6, atol=1e-5))

for band in [None, 4]:
    path, cost = dtw_path(D[0].detach(), band)
    print(f"dtw band {band}", f"{cost:.4f}", "len", len(path), path[:5])
E, = torch.autograd.grad(SoftDTW.apply(D[:1], 0.01).sum(), D)
print("expected alignment mass", round(E[0].sum().item(), 3),
      "argmax row 0", E[0, 0].argmax().item())

# sliding-window features: as_strided and unfold agree
seq = x.detach()[0, :, 0]
w = 4
win_strided = seq.as_strided((N - w + 1, w), (1, 1))
win_unfold = seq.unfold(0, w, 1)
print("windows", tuple(win_strided.shape), torch.equal(win_strided, win_unfold),
      r(win_unfold.mean(1)[:4]))

# soft-DTW barycenter of the four sequences with L-BFGS
bary = nn.Parameter(torch.zeros(1, 10, 1))
opt = torch.optim.LBFGS([bary], lr=0.5, max_iter=10, line_search_fn="strong_wolfe")
xs = x.detach()


def closure():
    opt.zero_grad()
    loss = SoftDTW.apply(pairwise_sq(bary.expand(Bn, -1, -1), xs), 0.1).mean()
    loss.backward()
    return loss


for it in range(3):
    loss = opt.step(closure)
    print(f"barycenter step {it} loss {loss.item():.4f}")
print("barycenter", r(bary.detach().squeeze(), 3))


# ----- NeuralSort and Sinkhorn ranks -----------------------------------------------------------
def neural_sort(s, tau):
    """Relaxed permutation matrix whose rows pick the largest, second largest, ... of s."""
    n = s.shape[1]
    one = torch.ones(n, 1)
    A = (s.unsqueeze(-1) - s.unsqueeze(-2)).abs()
    B = A @ one
    scaling = (n + 1 - 2 * (torch.arange(n) + 1)).float()
    C = s.unsqueeze(-1) * scaling.view(1, 1, n)
    P_max = (C - B.transpose(1, 2)).transpose(1, 2)
    return torch.softmax(P_max / tau, dim=-1)


def sinkhorn_rank(s, eps=0.1, iters=50):
    """Soft ranks from entropic OT between the scores and the targets 1..n."""
    n = s.shape[-1]
    target = torch.arange(n, dtype=s.dtype) / (n - 1)
    sn = (s - s.min(-1, keepdim=True).values) / (s.max(-1, keepdim=True).values
                                                 - s.min(-1, keepdim=True).values)
    log_K = -(sn.unsqueeze(-1) - target).pow(2) / eps
    log_u = torch.zeros_like(sn)
    log_v = torch.zeros_like(sn)
    for _ in range(iters):
        log_u = -torch.logsumexp(log_K + log_v.unsqueeze(-2), -1)
        log_v = -torch.logsumexp(log_K + log_u.unsqueeze(-1), -2)
    P = torch.exp(log_u.unsqueeze(-1) + log_K + log_v.unsqueeze(-2))
    return P @ (torch.arange(n, dtype=s.dtype) + 1)


s = torch.tensor([[0.3, 2.1, -0.5, 1.0, 0.9]])
for tau in [1.0, 0.1]:
    P = neural_sort(s, tau)
    print(f"neuralsort tau {tau}", "rows", r(P.sum(-1)), "soft sorted", r(P @ s.unsqueeze(-1)))
print("hard sort", r(torch.sort(s, descending=True).values),
      "argsort", torch.argsort(s, descending=True).tolist())
print("sinkhorn ranks", r(sinkhorn_rank(s), 3),
      "true", (torch.argsort(torch.argsort(s)) + 1).tolist())


class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        # no output bias: ranks ignore a shift
        self.net = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1, bias=False))

    def forward(self, items):
        return self.net(items).squeeze(-1)


gen = torch.Generator().manual_seed(4)
items = torch.randn(32, 6, 3, generator=gen)
true_w = torch.tensor([1.0, -2.0, 0.5])
true_scores = items @ true_w + 0.3 * items[..., 0] ** 2
perm_true = torch.argsort(true_scores, dim=-1, descending=True)
P_true = F.one_hot(perm_true, 6).float()
torch.manual_seed(6)
scorer = Scorer()
opt = torch.optim.Adam(scorer.parameters(), lr=0.02)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=15, gamma=0.5)
for epoch in range(30):
    opt.zero_grad()
    P_hat = neural_sort(scorer(items), tau=0.5)
    loss = -(P_true * torch.log(P_hat + 1e-9)).sum((1, 2)).mean() / 6
    loss.backward()
    opt.step()
    sched.step()
    if epoch % 6 == 0 or epoch == 29:
        with torch.no_grad():
            pred = torch.argsort(scorer(items), -1, descending=True)
            exact = (pred == perm_true).all(-1).float().mean().item()
            partial = (pred == perm_true).float().mean().item()
        print(f"rank epoch {epoch:2d} loss {loss.item():.4f} exact {exact:.4f} "
              f"partial {partial:.4f}")

params = {k: v.detach() for k, v in scorer.named_parameters()}
out_fc = torch.func.functional_call(scorer, params, (items[:2],))
print("functional_call", r(out_fc, 3))
grads = torch.func.grad(
    lambda p: torch.func.functional_call(scorer, p, (items,)).pow(2).mean())(params)
print("func.grad norms", {k: round(v.norm().item(), 4) for k, v in grads.items()})
soft_r = sinkhorn_rank(scorer(items[:3]).detach())
print("soft ranks", r(soft_r, 2))
print("hard ranks", (torch.argsort(torch.argsort(scorer(items[:3]).detach(), -1), -1) + 1).tolist())
