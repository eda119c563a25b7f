"""LambdaRank and ranking metrics with torch ops, in the style of the LambdaRank / LambdaMART
reference code, allRank's ``lambdaLoss`` and the TF-Ranking / PT-Ranking metric helpers:

* the |ΔNDCG| of swapping every pair of documents, computed by broadcasting gains against
  discounts (no Python loop over pairs), and the lambdas of LambdaRank injected as the gradient
  of the scores by a custom ``torch.autograd.Function`` (the "gradient trick");
* a gradient hook on the scores, an ``Adagrad`` optimizer and ``ReduceLROnPlateau``;
* NDCG@k with ties broken by a stable sort, ERR with ``cumprod``, MAP with ``cumsum``,
  Kendall's tau over ``torch.combinations``, ``nn.MarginRankingLoss`` as a baseline;
* ApproxNDCG (ranks from a sum of sigmoids) and stochastic rankings drawn from the
  Plackett-Luce model with Gumbel noise (``torch.distributions.Gumbel``).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Gumbel

torch.manual_seed(11)
N_Q, N_DOC, N_FEAT, K = 16, 10, 5, 5
w_true = torch.tensor([1.5, -1.0, 0.5, 0.0, 2.0])
feats = torch.randn(N_Q, N_DOC, N_FEAT)
raw = feats @ w_true + 0.5 * torch.randn(N_Q, N_DOC)
labels = torch.clamp((raw - raw.mean(1, keepdim=True)).round(), 0, 3)
n_valid = torch.randint(5, N_DOC + 1, (N_Q,))
mask = torch.arange(N_DOC)[None, :] < n_valid[:, None]
labels = labels.masked_fill(~mask, 0)
print("labels[0]", labels[0].long())
print("docs per query", n_valid.tolist(), "relevant per query", (labels > 0).sum(1).tolist())

discount = 1.0 / torch.log2(torch.arange(N_DOC, dtype=torch.float32) + 2)


def gains(y):
    return torch.pow(2.0, y) - 1.0


def ndcg(scores, y, mask, k=K):
    scores = scores.masked_fill(~mask, float("-inf"))
    order = torch.sort(scores, dim=-1, descending=True, stable=True).indices
    g = gains(y).gather(-1, order)
    disc_k = torch.where(torch.arange(N_DOC) < k, discount, torch.zeros(()))
    ideal = torch.sort(gains(y), dim=-1, descending=True).values
    idcg = (ideal * disc_k).sum(-1)
    return (g * disc_k).sum(-1) / idcg.clamp(min=1e-10)


def delta_ndcg(scores, y, mask):
    """|ΔNDCG| of swapping documents i and j in the current ranking, for every pair."""
    scores = scores.masked_fill(~mask, float("-inf"))
    rank = scores.argsort(dim=-1, descending=True, stable=True).argsort(dim=-1)
    d = discount[rank]
    g = gains(y)
    idcg = (torch.sort(g, dim=-1, descending=True).values * discount).sum(-1, keepdim=True)
    delta = (g[:, :, None] - g[:, None, :]) * (d[:, :, None] - d[:, None, :])
    return delta.abs() / idcg.clamp(min=1e-10)[:, :, None]


class LambdaGrad(torch.autograd.Function):
    """Returns a 0-d pseudo-loss; its backward hands the LambdaRank lambdas to the scores."""

    @staticmethod
    def forward(ctx, scores, y, mask, sigma):
        with torch.no_grad():
            s_diff = scores[:, :, None] - scores[:, None, :]
            pair = (y[:, :, None] > y[:, None, :]) & mask[:, :, None] & mask[:, None, :]
            weight = delta_ndcg(scores, y, mask) * pair
            rho = torch.sigmoid(-sigma * s_diff)  # P(j is wrongly above i)
            lam = sigma * rho * weight
            grad = -(lam.sum(2) - lam.sum(1))
            loss = (weight * F.softplus(-sigma * s_diff)).sum() / mask.shape[0]
        ctx.save_for_backward(grad)
        ctx.mark_non_differentiable(y, mask)
        return loss

    @staticmethod
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        return grad_output * grad / grad.shape[0], None, None, None


model = nn.Sequential(nn.Linear(N_FEAT, 12), nn.Tanh(), nn.Linear(12, 1))
opt = torch.optim.Adagrad(model.parameters(), lr=0.1, initial_accumulator_value=0.1)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=2)
seen_grad = {}
for epoch in range(25):
    scores = model(feats).squeeze(-1)
    scores.register_hook(lambda g: seen_grad.__setitem__("norm", g.norm().item()))
    loss = LambdaGrad.apply(scores, labels, mask, 1.0)
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        val = ndcg(model(feats).squeeze(-1), labels, mask).mean()
    plateau.step(val)
    if epoch % 6 == 0 or epoch == 24:
        print(f"epoch {epoch:2d} lambda-loss {loss.item():.4f} |lambda| {seen_grad['norm']:.4f} "
              f"NDCG@{K} {val.item():.4f} lr {opt.param_groups[0]['lr']:.4f}")

with torch.no_grad():
    final = model(feats).squeeze(-1)
print("requires_grad of the pseudo-loss:", LambdaGrad.apply(final, labels, mask, 1.0).requires_grad)

# a pairwise hinge baseline with nn.MarginRankingLoss over sampled pairs
torch.manual_seed(2)
baseline = nn.Sequential(nn.Linear(N_FEAT, 12), nn.Tanh(), nn.Linear(12, 1))
sgd = torch.optim.SGD(baseline.parameters(), lr=0.05, momentum=0.9, nesterov=True)
margin = nn.MarginRankingLoss(margin=0.5)
pairs = torch.combinations(torch.arange(N_DOC), r=2)
for step in range(30):
    s = baseline(feats).squeeze(-1)
    yi, yj = labels[:, pairs[:, 0]], labels[:, pairs[:, 1]]
    ok = (yi != yj) & mask[:, pairs[:, 0]] & mask[:, pairs[:, 1]]
    target = torch.sign(yi - yj)[ok]
    hinge = margin(s[:, pairs[:, 0]][ok], s[:, pairs[:, 1]][ok], target)
    sgd.zero_grad()
    hinge.backward()
    sgd.step()
print(f"hinge baseline loss {hinge.item():.4f} pairs {int(ok.sum())} of {pairs.shape[0] * N_Q}")
with torch.no_grad():
    base_scores = baseline(feats).squeeze(-1)


def err(scores, y, mask, max_grade=3.0):
    """Expected reciprocal rank (Chapelle et al.) of the cascade model."""
    order = scores.masked_fill(~mask, float("-inf")).argsort(dim=-1, descending=True)
    p_stop = (torch.pow(2.0, y.gather(-1, order)) - 1) / 2 ** max_grade
    p_reach = torch.cumprod(F.pad(1 - p_stop, (1, 0), value=1.0)[:, :-1], dim=-1)
    return (p_reach * p_stop / torch.arange(1, N_DOC + 1)).sum(-1)


def average_precision(scores, y, mask):
    order = scores.masked_fill(~mask, float("-inf")).argsort(dim=-1, descending=True)
    rel = (y.gather(-1, order) > 0).float()
    precision_at = rel.cumsum(-1) / torch.arange(1, N_DOC + 1)
    return (precision_at * rel).sum(-1) / rel.sum(-1).clamp(min=1)


def kendall_tau(scores, y, mask):
    i, j = pairs.unbind(1)
    both = mask[:, i] & mask[:, j]
    agree = torch.sign(scores[:, i] - scores[:, j]) * torch.sign(y[:, i] - y[:, j])
    return (agree * both).sum(-1) / both.sum(-1)


for name, s in [("lambdarank", final), ("hinge", base_scores)]:
    print(f"{name:10s} NDCG@{K} {ndcg(s, labels, mask).mean():.4f} "
          f"NDCG@{N_DOC} {ndcg(s, labels, mask, N_DOC).mean():.4f} "
          f"ERR {err(s, labels, mask).mean():.4f} "
          f"MAP {average_precision(s, labels, mask).mean():.4f} "
          f"tau {kendall_tau(s, labels, mask).mean():.4f}")

# ties: a constant scorer keeps the input order under a stable sort
flat = torch.zeros(N_Q, N_DOC)
print("stable order of ties", torch.sort(flat[0], descending=True, stable=True).indices.tolist())
print("NDCG@5 of input order", ndcg(flat, labels, mask)[:4])

# ApproxNDCG: rank_i = 1 + sum_j sigmoid((s_j - s_i) / T), differentiable in the scores
approx_scores = final.clone().requires_grad_(True)
T = 0.1
diff = (approx_scores[:, None, :] - approx_scores[:, :, None]) / T
pair_mask = (mask[:, None, :] & mask[:, :, None]) & ~torch.eye(N_DOC, dtype=torch.bool)
approx_rank = 1 + (torch.sigmoid(diff) * pair_mask).sum(-1)
ideal = torch.sort(gains(labels), dim=-1, descending=True).values
approx = (gains(labels) / torch.log2(1 + approx_rank) * mask).sum(-1) / (ideal * discount).sum(-1)
approx.mean().backward()
print(f"ApproxNDCG {approx.mean().item():.4f} vs NDCG {ndcg(final, labels, mask, N_DOC).mean():.4f}"
      f" grad norm {approx_scores.grad.norm():.4f}")

# Plackett-Luce sampling: argsort of scores plus Gumbel noise draws a ranking
gumbel = Gumbel(torch.tensor(0.0), torch.tensor(1.0))
torch.manual_seed(4)
draws = gumbel.sample((200, N_DOC))
sampled = (final[0] + draws).masked_fill(~mask[0], float("-inf")).argsort(-1, descending=True)
top1 = torch.bincount(sampled[:, 0], minlength=N_DOC).float() / 200
pl_top1 = torch.softmax(final[0].masked_fill(~mask[0], float("-inf")), -1)
print("empirical top-1", top1[:6])
print("softmax top-1  ", pl_top1[:6])
print("gumbel log_prob(0.5) {:.4f} entropy {:.4f}".format(gumbel.log_prob(torch.tensor(0.5)).item(),
                                                          gumbel.entropy().item()))
try:
    LambdaGrad.apply(final, labels[:, :4], mask, 1.0)
except RuntimeError as e:
    print("RuntimeError:", str(e).splitlines()[0])
