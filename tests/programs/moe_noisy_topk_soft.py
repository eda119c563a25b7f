"""Shazeer et al.'s sparsely-gated MoE as the popular davidmrau/mixture-of-experts reference
code writes it (noisy top-k gating with ``softplus`` noise, the smooth ``_prob_in_top_k`` load
estimate from ``Normal.cdf``, ``cv_squared`` importance/load losses, and the ``SparseDispatcher``
built from ``torch.nonzero(gates).sort(0)``, ``split`` and ``index_add`` in log space with
``np.finfo(float).eps``), next to Soft MoE (Puigcerver et al.: dispatch/combine weights are
``softmax`` over tokens and over slots of one logits tensor, applied with ``einsum``), trained
a few steps on a toy regression with ``torch.optim.Adam`` and ``MultiStepLR``."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions.normal import Normal

torch.manual_seed(0)


class SparseDispatcher:
    def __init__(self, num_experts, gates):
        self._gates = gates
        self._num_experts = num_experts
        sorted_experts, index_sorted_experts = torch.nonzero(gates).sort(0)
        _, self._expert_index = sorted_experts.split(1, dim=1)
        self._batch_index = torch.nonzero(gates)[index_sorted_experts[:, 1], 0]
        self._part_sizes = (gates > 0).sum(0).tolist()
        gates_exp = gates[self._batch_index.flatten()]
        self._nonzero_gates = torch.gather(gates_exp, 1, self._expert_index)

    def dispatch(self, inp):
        inp_exp = inp[self._batch_index].squeeze(1)
        return torch.split(inp_exp, self._part_sizes, dim=0)

    def combine(self, expert_out, multiply_by_gates=True):
        stitched = torch.cat(expert_out, 0).exp()
        if multiply_by_gates:
            stitched = stitched.mul(self._nonzero_gates)
        zeros = torch.zeros(self._gates.size(0), expert_out[-1].size(1),
                            requires_grad=True, device=stitched.device)
        combined = zeros.index_add(0, self._batch_index, stitched.float())
        combined[combined == 0] = np.finfo(float).eps
        return combined.log()


class MLP(nn.Module):
    def __init__(self, d_in, d_out, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d_in, hidden), nn.Linear(hidden, d_out)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


class NoisyMoE(nn.Module):
    def __init__(self, d_in, d_out, n_exp, hidden, k):
        super().__init__()
        self.n, self.k = n_exp, k
        self.experts = nn.ModuleList([MLP(d_in, d_out, hidden) for _ in range(n_exp)])
        self.w_gate = nn.Parameter(torch.zeros(d_in, n_exp))
        self.w_noise = nn.Parameter(torch.zeros(d_in, n_exp))
        self.register_buffer("mean", torch.tensor([0.0]))
        self.register_buffer("std", torch.tensor([1.0]))

    @staticmethod
    def cv_squared(x):
        eps = 1e-10
        if x.shape[0] == 1:
            return torch.tensor([0], device=x.device, dtype=x.dtype)
        return x.float().var() / (x.float().mean() ** 2 + eps)

    def _prob_in_top_k(self, clean, noisy, noise_std, noisy_top):
        batch, m = clean.size(0), noisy_top.size(1)
        top_flat = noisy_top.flatten()
        pos_in = torch.arange(batch, device=clean.device) * m + self.k
        thr_in = torch.unsqueeze(torch.gather(top_flat, 0, pos_in), 1)
        is_in = torch.gt(noisy, thr_in)
        thr_out = torch.unsqueeze(torch.gather(top_flat, 0, pos_in - 1), 1)
        normal = Normal(self.mean, self.std)
        prob_in = normal.cdf((clean - thr_in) / noise_std)
        prob_out = normal.cdf((clean - thr_out) / noise_std)
        return torch.where(is_in, prob_in, prob_out)

    def gating(self, x, train, noise_eps=1e-2):
        clean = x @ self.w_gate
        if train:
            raw_std = x @ self.w_noise
            noise_std = F.softplus(raw_std) + noise_eps
            logits = clean + torch.randn_like(clean) * noise_std
        else:
            logits = clean
        top_logits, top_idx = logits.topk(min(self.k + 1, self.n), dim=1)
        k_logits, k_idx = top_logits[:, :self.k], top_idx[:, :self.k]
        k_gates = F.softmax(k_logits, dim=1)
        gates = torch.zeros_like(logits, requires_grad=True).scatter(1, k_idx, k_gates)
        if train and self.k < self.n:
            load = self._prob_in_top_k(clean, logits, noise_std, top_logits).sum(0)
        else:
            load = (gates > 0).sum(0)
        return gates, load

    def forward(self, x, loss_coef=1e-2):
        gates, load = self.gating(x, self.training)
        importance = gates.sum(0)
        loss = (self.cv_squared(importance) + self.cv_squared(load)) * loss_coef
        disp = SparseDispatcher(self.n, gates)
        outs = [self.experts[i](inp) for i, inp in enumerate(disp.dispatch(x))]
        return disp.combine(outs), loss, gates


class SoftMoE(nn.Module):
    def __init__(self, d, n_exp, slots, hidden):
        super().__init__()
        self.phi = nn.Parameter(torch.randn(d, n_exp, slots) / d ** 0.5)
        self.experts = nn.ModuleList([nn.Sequential(nn.Linear(d, hidden), nn.GELU(),
                                                    nn.Linear(hidden, d)) for _ in range(n_exp)])

    def forward(self, x):                                  # x: batch, tokens, d
        logits = torch.einsum("btd,dns->btns", x, self.phi)
        dispatch = logits.softmax(dim=1)                   # over tokens
        combine = logits.flatten(2).softmax(dim=-1).view_as(logits)   # over all slots
        slots = torch.einsum("btd,btns->bnsd", x, dispatch)
        out = torch.stack([e(slots[:, i]) for i, e in enumerate(self.experts)], dim=1)
        return torch.einsum("bnsd,btns->btd", out, combine), dispatch, combine


d_in, n_cls = 10, 3
X = torch.randn(64, d_in)
Y = (X[:, :3].argmax(1) + (X[:, 3] > 1).long()) % n_cls
moe = NoisyMoE(d_in, n_cls, n_exp=6, hidden=16, k=2)
opt = torch.optim.Adam(moe.parameters(), lr=0.01)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[10, 15], gamma=0.3)
for step in range(20):
    moe.train()
    logp, aux, gates = moe(X)
    loss = F.nll_loss(logp, Y) + aux
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 5 == 4:
        print(f"step {step + 1}: nll {F.nll_loss(logp, Y).item():.4f} aux {aux.item():.5f} "
              f"experts used {(gates > 0).sum(0).tolist()} lr {sched.get_last_lr()[0]:.4g}")
moe.eval()
with torch.no_grad():
    logp, aux, gates = moe(X)
print("eval acc", round((logp.argmax(1) == Y).float().mean().item(), 3), "gates/row",
      (gates > 0).sum(1).unique().tolist(), "rows sum to 1",
      torch.allclose(gates.sum(1), torch.ones(64)))
disp = SparseDispatcher(6, gates)
print("part sizes", disp._part_sizes, "batch index", disp._batch_index[:6].tolist())
print("eps fill", np.finfo(float).eps, "combined min", round(logp.exp().min().item(), 6))

torch.manual_seed(1)
soft = SoftMoE(8, n_exp=4, slots=2, hidden=16)
tokens = torch.randn(3, 10, 8)
out, dispatch, combine = soft(tokens)
print("soft moe", tuple(out.shape), "dispatch sums over tokens",
      dispatch.sum(1).round(decimals=5).unique().tolist(), "combine sums over slots",
      combine.flatten(2).sum(-1).round(decimals=5).unique().tolist())
opt = torch.optim.Adam(soft.parameters(), lr=0.01)
target = tokens.flip(1)
for step in range(10):
    out, _, _ = soft(tokens)
    loss = F.mse_loss(out, target)
    opt.zero_grad()
    loss.backward()
    opt.step()
print("soft moe loss", round(loss.item(), 4), "phi grad norm",
      round(soft.phi.grad.norm().item(), 4))
