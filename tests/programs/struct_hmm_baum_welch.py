"""Hidden Markov models in log space, as textbook/tutorial code writes them with PyTorch:
sampling sequences from ``torch.distributions.Categorical``, the batched forward algorithm
with ``torch.logsumexp`` over padded sequences (``masked_fill``/``torch.where``), posterior
state marginals obtained by autograd of the log-partition (the forward-backward identity),
checked against an explicit backward pass, Viterbi decoding with back-pointers
(``max``/``gather``), Baum-Welch EM whose expected counts are accumulated with
``index_put_(accumulate=True)`` and ``scatter_add_``, and finally direct gradient training of
the HMM parameters with Adam on the marginal likelihood. Everything is seeded."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

torch.manual_seed(0)
K, V = 3, 5          # hidden states, vocabulary size
B, T = 8, 12         # sequences, max length


def r(t, nd=4):
    return [round(v, nd) for v in t.flatten().tolist()]


# ----- a ground-truth HMM and samples from it ------------------------------------------------
true_pi = torch.tensor([0.6, 0.3, 0.1])
true_A = torch.tensor([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.2, 0.1, 0.7]])
true_B = torch.softmax(torch.randn(K, V) * 2.0, dim=-1)
lengths = torch.randint(6, T + 1, (B,))
lengths[0] = T
states = torch.zeros(B, T, dtype=torch.long)
obs = torch.zeros(B, T, dtype=torch.long)
states[:, 0] = Categorical(probs=true_pi).sample((B,))
for t in range(T):
    if t > 0:
        states[:, t] = Categorical(probs=true_A[states[:, t - 1]]).sample()
    obs[:, t] = Categorical(probs=true_B[states[:, t]]).sample()
mask = torch.arange(T)[None, :] < lengths[:, None]           # (B, T) bool
obs = obs.masked_fill(~mask, 0)
states = states.masked_fill(~mask, -1)
print("lengths", lengths.tolist())
print("obs[0]", obs[0].tolist())
print("states[0]", states[0].tolist())
print("emission rows", r(true_B[0], 3))


def forward_logZ(log_pi, log_A, log_B, obs, mask):
    """log p(x_1:T) per sequence; alpha is carried unchanged past each sequence's end."""
    emit = log_B[:, obs].permute(1, 2, 0)                     # (B, T, K)
    alpha = log_pi[None] + emit[:, 0]
    alphas = [alpha]
    for t in range(1, obs.shape[1]):
        new = torch.logsumexp(alpha.unsqueeze(-1) + log_A[None], dim=1) + emit[:, t]
        alpha = torch.where(mask[:, t, None], new, alpha)
        alphas.append(alpha)
    return torch.logsumexp(alpha, dim=-1), torch.stack(alphas, 1)


def backward_beta(log_A, log_B, obs, mask):
    emit = log_B[:, obs].permute(1, 2, 0)
    Bn, Tn, Kn = emit.shape
    beta = torch.zeros(Bn, Kn)
    betas = [beta]
    for t in range(Tn - 2, -1, -1):
        new = torch.logsumexp(log_A[None] + (emit[:, t + 1] + beta).unsqueeze(1), dim=2)
        beta = torch.where(mask[:, t + 1, None], new, beta)
        betas.append(beta)
    return torch.stack(betas[::-1], 1)


def viterbi(log_pi, log_A, log_B, obs, length):
    emit = log_B[:, obs[:length]].T                           # (L, K)
    score = log_pi + emit[0]
    back = []
    for t in range(1, length):
        cand = score.unsqueeze(1) + log_A                     # (K_prev, K)
        score, idx = cand.max(dim=0)
        score = score + emit[t]
        back.append(idx)
    best = [int(score.argmax())]
    for idx in reversed(back):
        best.append(int(idx[best[-1]]))
    return best[::-1], score.max().item()


# ----- inference with the true model -----------------------------------------------------------
log_pi, log_A, log_B = true_pi.log(), true_A.log(), true_B.log()
logZ, alphas = forward_logZ(log_pi, log_A, log_B, obs, mask)
print("logZ", r(logZ))
print("alphas", tuple(alphas.shape), "last", r(alphas[0, -1]))

# marginals from autograd: d logZ / d emission score = p(z_t = k | x)
emit_scores = log_B[:, obs].permute(1, 2, 0).detach().requires_grad_(True)
alpha = log_pi[None] + emit_scores[:, 0]
for t in range(1, T):
    new = torch.logsumexp(alpha.unsqueeze(-1) + log_A[None], dim=1) + emit_scores[:, t]
    alpha = torch.where(mask[:, t, None], new, alpha)
Z = torch.logsumexp(alpha, -1).sum()
(post_autograd,) = torch.autograd.grad(Z, emit_scores)
betas = backward_beta(log_A, log_B, obs, mask)
post_fb = torch.softmax(alphas + betas, dim=-1) * mask[..., None]
print("posterior sums", r(post_autograd.sum(-1)[1], 3))
print("autograd == forward-backward", torch.allclose(post_autograd, post_fb, atol=1e-5))
mpm = post_fb.argmax(-1).masked_fill(~mask, -1)
print("posterior decoding acc", round(((mpm == states) & mask).sum().item() / mask.sum().item(), 4))

correct = 0
for b in range(B):
    path, best = viterbi(log_pi, log_A, log_B, obs[b], int(lengths[b]))
    correct += sum(int(p == s) for p, s in zip(path, states[b].tolist()))
    if b < 2:
        print(f"viterbi[{b}]", path, f"{best:.4f}")
print("viterbi acc", round(correct / mask.sum().item(), 4))

# ----- Baum-Welch EM from a random start --------------------------------------------------------
g = torch.Generator().manual_seed(1)
pi = torch.softmax(torch.randn(K, generator=g), 0)
A = torch.softmax(torch.randn(K, K, generator=g), 1)
Bm = torch.softmax(torch.randn(K, V, generator=g), 1)
prev = None
for it in range(8):
    lp, lA, lB = pi.log(), A.log(), Bm.log()
    logZ, alphas = forward_logZ(lp, lA, lB, obs, mask)
    betas = backward_beta(lA, lB, obs, mask)
    gamma = torch.softmax(alphas + betas, -1) * mask[..., None]          # (B, T, K)
    emit = lB[:, obs].permute(1, 2, 0)
    # xi_t(i, j) for t -> t+1, only where t+1 is a real step
    log_xi = (alphas[:, :-1, :, None] + lA[None, None] + (emit[:, 1:] + betas[:, 1:])[:, :, None, :]
              - logZ[:, None, None, None])
    xi = log_xi.exp() * mask[:, 1:, None, None]
    # expected emission counts with index_put_ accumulate
    counts = torch.zeros(K, V)
    flat_obs = obs[mask]
    flat_gamma = gamma[mask]                                            # (N, K)
    for k in range(K):
        counts.index_put_((torch.full_like(flat_obs, k), flat_obs), flat_gamma[:, k],
                          accumulate=True)
    # the same via scatter_add_ as a check
    counts2 = torch.zeros(V, K).scatter_add_(0, flat_obs[:, None].expand(-1, K), flat_gamma).T
    pi = gamma[:, 0].sum(0) / B
    A = xi.sum((0, 1))
    A = A / A.sum(1, keepdim=True)
    Bm = counts / counts.sum(1, keepdim=True)
    ll = logZ.sum().item()
    print(f"em {it} loglik {ll:.4f} counts_match {torch.allclose(counts, counts2, atol=1e-5)}")
    if prev is not None:
        assert ll >= prev - 1e-3
    prev = ll
print("em pi", r(pi, 3))
print("em A diag", r(torch.diagonal(A), 3))


# ----- gradient training of an unconstrained parameterisation ------------------------------
class HMM(nn.Module):
    def __init__(self):
        super().__init__()
        self.pi_logits = nn.Parameter(torch.zeros(K))
        self.A_logits = nn.Parameter(torch.randn(K, K) * 0.1)
        self.B_logits = nn.Parameter(torch.randn(K, V) * 0.1)

    def forward(self, obs, mask):
        lp = F.log_softmax(self.pi_logits, -1)
        lA = F.log_softmax(self.A_logits, -1)
        lB = F.log_softmax(self.B_logits, -1)
        return forward_logZ(lp, lA, lB, obs, mask)[0]


torch.manual_seed(3)
model = HMM()
opt = torch.optim.Adam(model.parameters(), lr=0.1)
for step in range(30):
    opt.zero_grad()
    nll = -model(obs, mask).sum() / mask.sum()
    nll.backward()
    gnorm = nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    if step % 6 == 0 or step == 29:
        print(f"adam {step:2d} nll/token {nll.item():.4f} gnorm {gnorm.item():.4f}")
with torch.no_grad():
    ent = Categorical(logits=model.A_logits).entropy()
print("transition entropy", r(ent, 3))
sample = Categorical(logits=model.B_logits).sample((4,))
print("sampled emissions", tuple(sample.shape), sample.tolist())
