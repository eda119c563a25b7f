"""Attention transfer and low-rank compression, as the AT paper's reference code (Zagoruyko &
Komodakis), RKD-style relational losses and SVD/low-rank compression tutorials write them: a
small CNN teacher and a thinner student; attention maps ``F.normalize(f.pow(2).mean(1).view(B,
-1))`` of intermediate features captured by ``register_forward_hook`` on ``named_modules``;
relational KD (distance loss with RKD's own ``pdist``, angle loss with ``F.normalize`` and
``bmm``, both through ``F.smooth_l1_loss``); Kullback-Leibler with ``log_target=True``; a
nearest-neighbour check with ``torch.cdist`` (whose matmul route past 25 rows rounds a point's
distance to itself); then compression of the student's ``nn.Linear`` by a truncated
``torch.linalg.svd`` (two smaller linears in an ``nn.Sequential`` swapped in), a
``parametrize.register_parametrization`` low-rank variant, and fp16/bf16 ``state_dict`` sizes
via ``element_size``/``nelement``."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize

torch.manual_seed(0)
n, n_cls = 128, 4
proto = torch.randn(n_cls, 1, 8, 8)
y = torch.arange(n) % n_cls
x = proto[y] + 0.8 * torch.randn(n, 1, 8, 8)


class CNN(nn.Module):
    def __init__(self, c1, c2, hidden):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU())
        self.block2 = nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1, stride=2),
                                    nn.BatchNorm2d(c2), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(c2 * 4, hidden)
        self.out = nn.Linear(hidden, n_cls)

    def forward(self, x):
        h = self.pool(self.block2(self.block1(x))).flatten(1)
        self.embedding = F.relu(self.fc(h))
        return self.out(self.embedding)


def capture(model):
    store, handles = {}, []
    for name, mod in model.named_modules():
        if name in ("block1", "block2"):
            handles.append(mod.register_forward_hook(
                lambda m, i, o, name=name: store.__setitem__(name, o)))
    return store, handles


def at(f):
    return F.normalize(f.pow(2).mean(1).view(f.size(0), -1))


def at_loss(fs, ft):
    return (at(fs) - at(ft)).pow(2).mean()


def pdist(e, squared=False, eps=1e-12):
    """RKD's reference pairwise distance: the diagonal is set to 0 explicitly."""
    e_square = e.pow(2).sum(dim=1)
    prod = e @ e.t()
    res = (e_square.unsqueeze(1) + e_square.unsqueeze(0) - 2 * prod).clamp(min=eps)
    if not squared:
        res = res.sqrt()
    res = res.clone()
    res[range(len(e)), range(len(e))] = 0
    return res


def rkd_distance(es, et):
    with torch.no_grad():
        td = pdist(et)
        td = td / td[td > 0].mean()
    sd = pdist(es)
    sd = sd / sd[sd > 0].mean()
    return F.smooth_l1_loss(sd, td, reduction="mean")


def rkd_angle(es, et):
    def angles(e):
        d = e.unsqueeze(0) - e.unsqueeze(1)
        # the zero diagonal would be divided by eps=1e-12 in F.normalize's backward: huge
        # terms that cancel only up to rounding (in torch as well), so keep it out of the graph
        d = F.normalize(d.masked_fill(torch.eye(len(e), dtype=torch.bool)[..., None], 1.0),
                        p=2, dim=2)
        return torch.bmm(d, d.transpose(1, 2)).view(-1)
    with torch.no_grad():
        ta = angles(et)
    return F.smooth_l1_loss(angles(es), ta)


def fit(model, loss_fn, steps=16, lr=1e-2):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    gen = torch.Generator().manual_seed(5)
    for _ in range(steps):
        idx = torch.randint(0, n, (32,), generator=gen)
        opt.zero_grad()
        loss = loss_fn(model, x[idx], y[idx])
        loss.backward()
        opt.step()
    return round(loss.item(), 4)


def acc(model):
    model.eval()
    with torch.no_grad():
        r = (model(x).argmax(1) == y).float().mean().item()
    model.train()
    return round(r, 3)


teacher = CNN(8, 16, 32)
print("teacher loss", fit(teacher, lambda m, xb, yb: F.cross_entropy(m(xb), yb), steps=25),
      "acc", acc(teacher))
teacher.eval()
t_feats, t_handles = capture(teacher)
torch.manual_seed(1)
student = CNN(4, 8, 16)
s_feats, s_handles = capture(student)
teacher(x[:2])
print("hooks", len(t_handles), len(s_handles), "feature maps",
      {k: tuple(v.shape) for k, v in t_feats.items()})


P = torch.randn(16, 32, generator=torch.Generator().manual_seed(9)) / 4   # fixed projection


def student_loss(m, xb, yb, T=2.0):
    s_logits = m(xb)
    with torch.no_grad():
        t_logits = teacher(xb)
    kd = F.kl_div(F.log_softmax(s_logits / T, -1), F.log_softmax(t_logits / T, -1),
                  reduction="batchmean", log_target=True) * T ** 2
    attn = sum(at_loss(s_feats[k], t_feats[k]) for k in ("block1", "block2"))
    proj = m.embedding @ P
    rel = rkd_distance(proj, teacher.embedding) + 2 * rkd_angle(proj, teacher.embedding)
    return F.cross_entropy(s_logits, yb) + kd + 100 * attn + rel


print("student loss", fit(student, student_loss), "acc", acc(student))
with torch.no_grad():
    student.eval()
    student(x[:8])
    teacher(x[:8])
    print("AT maps", tuple(at(s_feats["block2"]).shape), "at loss",
          round(sum(at_loss(s_feats[k], t_feats[k]) for k in s_feats).item(), 5),
          "rkd", round(rkd_distance(student.embedding @ P,
                                     teacher.embedding).item(), 5))
    emb_s, emb_t = student.embedding, teacher.embedding
    student(x[:40])
    teacher(x[:40])
    d = torch.cdist(student.embedding @ P, teacher.embedding)
    print("cdist", tuple(d.shape), d.grad_fn is None, "nn agreement",
          round((d.argmin(1) == torch.arange(40)).float().mean().item(), 3))
for h in t_handles + s_handles:
    h.remove()

# ---------------------------------------------------------------- low-rank compression
fc = teacher.fc
U, S, Vh = torch.linalg.svd(fc.weight.detach(), full_matrices=False)
print("singular values", [round(v, 3) for v in S[:6].tolist()],
      "energy@8", round((S[:8] ** 2).sum().item() / (S ** 2).sum().item(), 4))
for rank in (4, 8, 16):
    first = nn.Linear(fc.in_features, rank, bias=False)
    second = nn.Linear(rank, fc.out_features)
    with torch.no_grad():
        first.weight.copy_(torch.diag(S[:rank]) @ Vh[:rank])
        second.weight.copy_(U[:, :rank])
        second.bias.copy_(fc.bias)
    compressed = CNN(8, 16, 32)
    compressed.load_state_dict(teacher.state_dict())
    compressed.fc = nn.Sequential(first, second)
    compressed.eval()
    with torch.no_grad():
        agree = (compressed(x).argmax(1) == teacher(x).argmax(1)).float().mean().item()
    params = sum(p.numel() for p in compressed.fc.parameters())
    print(f"rank {rank}: fc params {params} vs {sum(p.numel() for p in fc.parameters())} "
          f"agreement {agree:.3f} "
          f"err {torch.linalg.matrix_norm(second.weight @ first.weight - fc.weight).item():.4f}")


class LowRank(nn.Module):
    def __init__(self, rank):
        super().__init__()
        self.rank = rank

    def forward(self, w):
        U, S, Vh = torch.linalg.svd(w, full_matrices=False)
        return U[:, :self.rank] @ torch.diag(S[:self.rank]) @ Vh[:self.rank]


parametrize.register_parametrization(student.fc, "weight", LowRank(3))
print("parametrized", parametrize.is_parametrized(student.fc, "weight"),
      "rank", int(torch.linalg.matrix_rank(student.fc.weight)),
      "keys", [k for k in student.state_dict() if k.startswith("fc")])
print("finetune low-rank", fit(student, lambda m, xb, yb: F.cross_entropy(m(xb), yb), steps=10),
      "acc", acc(student))
parametrize.remove_parametrizations(student.fc, "weight", leave_parametrized=True)
print("after remove", [k for k in student.state_dict() if k.startswith("fc")],
      "rank", int(torch.linalg.matrix_rank(student.fc.weight.detach())))


def nbytes(sd):
    return sum(v.nelement() * v.element_size() for v in sd.values())


print("bytes fp32", nbytes(student.state_dict()), "fp16", nbytes(student.half().state_dict()),
      "bf16", nbytes(student.to(torch.bfloat16).state_dict()),
      "dtypes", sorted({str(v.dtype) for v in student.state_dict().values()}))
