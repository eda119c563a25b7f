"""Bernoulli-Bernoulli restricted Boltzmann machine on 4x4 "bars and stripes", in the style of
the classic PyTorch RBM repositories (odie2630463/Restricted-Boltzmann-Machines-using-pytorch,
GabrielBianconi/pytorch-rbm): Gibbs sampling with ``torch.bernoulli``, the free energy written
with ``F.softplus``, contrastive divergence (CD-k) as the gradient of a free-energy difference,
persistent chains (PCD) kept with ``bernoulli_``, and — because the model is tiny — the exact
log partition function by enumerating every visible configuration with bit tricks and
``torch.logsumexp``, so the exact average log-likelihood is printed after each epoch."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.distributions as D

torch.manual_seed(0)
torch.set_printoptions(precision=3, sci_mode=False)


def bars_and_stripes(side=4):
    """Every image whose rows (or columns) are all-on or all-off: 2 * 2**side - 2 patterns."""
    codes = torch.arange(2 ** side)
    bits = ((codes.unsqueeze(1) >> torch.arange(side)) & 1).bool()          # (2**side, side)
    rows = bits.unsqueeze(2).expand(-1, side, side)
    cols = rows.transpose(1, 2)
    patterns = torch.cat([rows, cols]).flatten(1).float()
    return torch.unique(patterns, dim=0)


data = bars_and_stripes()
print("patterns", data.shape, data.dtype, "pixels on", int(data.sum()))
print(data[5].view(4, 4).int())


class RBM(nn.Module):
    def __init__(self, n_visible, n_hidden, k=1):
        super().__init__()
        rng = np.random.default_rng(1)
        self.W = nn.Parameter(torch.from_numpy(0.1 * rng.standard_normal((n_hidden, n_visible)))
                              .float())
        self.v_bias = nn.Parameter(torch.zeros(n_visible))
        self.h_bias = nn.Parameter(torch.zeros(n_hidden))
        self.k = k

    def p_h(self, v):
        return torch.sigmoid(F.linear(v, self.W, self.h_bias))

    def p_v(self, h):
        return torch.sigmoid(F.linear(h, self.W.t(), self.v_bias))

    def free_energy(self, v):
        vbias_term = v.mv(self.v_bias)
        hidden_term = F.softplus(F.linear(v, self.W, self.h_bias)).sum(dim=1)
        return -vbias_term - hidden_term

    def gibbs(self, v, steps):
        for _ in range(steps):
            h = torch.bernoulli(self.p_h(v))
            v = torch.bernoulli(self.p_v(h))
        return v

    def forward(self, v):
        return v, self.gibbs(v, self.k)


def all_states(n):
    return ((torch.arange(2 ** n).unsqueeze(1) >> torch.arange(n)) & 1).float()


@torch.no_grad()
def exact_log_likelihood(rbm, v):
    log_z = torch.logsumexp(-rbm.free_energy(all_states(v.size(1))), dim=0)
    return (-rbm.free_energy(v) - log_z).mean().item(), log_z.item()


@torch.no_grad()
def pseudo_log_likelihood(rbm, v, gen):
    idx = torch.randint(0, v.size(1), (v.size(0),), generator=gen)
    flipped = v.clone()
    flipped[torch.arange(v.size(0)), idx] = 1 - flipped[torch.arange(v.size(0)), idx]
    return (v.size(1) * F.logsigmoid(rbm.free_energy(flipped) - rbm.free_energy(v))).mean().item()


def train(rbm, persistent, epochs=60, batch=5, lr=0.5):
    opt = torch.optim.SGD(rbm.parameters(), lr=lr, momentum=0.5, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.5)
    chains = torch.empty(batch, data.size(1)).bernoulli_(0.5) if persistent else None
    gen = torch.Generator().manual_seed(7)
    for epoch in range(epochs):
        perm = torch.randperm(data.size(0))
        recon = 0.0
        for start in range(0, data.size(0), batch):
            v0 = data[perm[start:start + batch]]
            if persistent:
                chains = rbm.gibbs(chains[:v0.size(0)], rbm.k).detach()
                vk = chains
            else:
                _, vk = rbm(v0)
            loss = rbm.free_energy(v0).mean() - rbm.free_energy(vk.detach()).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                recon += F.binary_cross_entropy(rbm.p_v(rbm.p_h(v0)), v0, reduction="sum").item()
        sched.step()
        if epoch % 20 == 19:
            ll, log_z = exact_log_likelihood(rbm, data)
            fmt = "  epoch {:2d} lr {:.3f} recon {:8.3f} logZ {:7.3f} ll {:7.3f} pll {:7.3f}"
            print(fmt.format(
                epoch + 1, sched.get_last_lr()[0], recon / data.size(0), log_z, ll,
                pseudo_log_likelihood(rbm, data, gen)))
    return rbm


print("CD-1")
cd1 = train(RBM(16, 12, k=1), persistent=False)
print("CD-3")
cd3 = train(RBM(16, 12, k=3), persistent=False)
print("PCD-1")
pcd = train(RBM(16, 12, k=1), persistent=True)

# ---- what the model learned ----
with torch.no_grad():
    probs = pcd.p_h(data[:4])
    print("hidden probs\n", probs[:, :6])
    print("W row norms", pcd.W.norm(dim=1).topk(3))
    uniform_ll = -data.size(1) * torch.log(torch.tensor(2.0))
    ideal_ll = -torch.log(torch.tensor(float(data.size(0))))
    print("uniform ll {:.3f} ideal ll {:.3f}".format(uniform_ll.item(), ideal_ll.item()))

    # sample from the model and check how many samples are valid bars-and-stripes patterns
    samples = pcd.gibbs(torch.bernoulli(torch.full((200, 16), 0.5)), steps=50)
    valid = (samples.unsqueeze(1) == data.unsqueeze(0)).all(-1).any(-1)
    print("valid samples", valid.sum().item(), "/", samples.size(0),
          "distinct", torch.unique(samples, dim=0).size(0))

    # the conditional of every visible unit is a Bernoulli distribution
    cond = D.Bernoulli(logits=F.linear(torch.bernoulli(pcd.p_h(data[:2])), pcd.W.t(),
                                       pcd.v_bias))
    print("conditional entropy", cond.entropy().sum(-1), "log_prob",
          cond.log_prob(data[:2]).sum(-1))
    print("batch_shape", cond.batch_shape, "event_shape", cond.event_shape)



class FreeEnergy(torch.autograd.Function):
    """F(v) with its hand-written gradient dF/dW = -sigmoid(Wv + c) v^T (the CD statistic)."""
    generate_vmap_rule = True

    @staticmethod
    def forward(v, W, b, c):
        return -(v @ b) - F.softplus(W @ v + c).sum()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, grad):
        v, W, b, c = ctx.saved_tensors
        ph = torch.sigmoid(W @ v + c)
        return -grad * (b + W.t() @ ph), -grad * torch.outer(ph, v), -grad * v, -grad * ph


W = pcd.W.detach().double().requires_grad_()
b, c = pcd.v_bias.detach().double(), pcd.h_bias.detach().double()
per_sample = torch.func.vmap(FreeEnergy.apply, in_dims=(0, None, None, None))
energies = per_sample(data[:3].double(), W, b, c)
print(energies.detach().round(decimals=3))
print(energies)
energies.sum().backward()
with torch.no_grad():
    manual = -(pcd.p_h(data[:3]).t() @ data[:3]).double()
print("custom grad matches", torch.allclose(W.grad, manual, atol=1e-5))
print("gradcheck", torch.autograd.gradcheck(
    FreeEnergy.apply, (data[0].double().requires_grad_(), W, b.requires_grad_(),
                       c.requires_grad_())))

for bad in (torch.tensor([0.2, 1.5]), torch.tensor([-0.1, 0.3])):
    try:
        torch.bernoulli(bad)
    except RuntimeError as err:
        print("bernoulli error:", str(err).splitlines()[0])
try:
    D.Bernoulli(probs=torch.tensor([0.5, 1.2]))
except ValueError as err:
    print("Bernoulli ValueError:", str(err).split(" but")[0])
