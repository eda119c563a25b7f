"""Graph and session-based recommenders, in the style of the LightGCN reference code
(gusye1234/LightGCN-PyTorch), GRU4Rec's PyTorch ports and the streaming frequency estimator of
"Sampling-Bias-Corrected Neural Modeling" (YouTube two-tower retrieval):

* LightGCN: the user-item bipartite graph as a ``torch.sparse_coo_tensor`` (``coalesce``,
  ``torch.sparse.sum(dim=)`` degrees, symmetric normalisation on the ``values()``),
  propagation with ``torch.sparse.mm`` (checked against a CSR copy and the dense product),
  layer outputs averaged with ``torch.stack(...).mean(0)``, BPR loss with an L2 penalty on the
  ego embeddings of the batch, Recall@20 / NDCG@20 after masking training items with
  ``index_put_`` (``-inf``);
* GRU4Rec: session-parallel mini-batches (sessions of different lengths running side by side,
  the hidden state reset with a mask when a new session takes a lane), one ``nn.GRU`` step at a
  time, in-batch negatives with the BPR-max and TOP1-max losses, item embeddings
  ``nn.Embedding(sparse=True)`` trained by ``SparseAdam`` while ``Adagrad`` trains the GRU;
* the hashed streaming estimate of item sampling probability (last-seen step and moving
  average gap, updated with ``index_put_``) used for the logQ correction of an in-batch
  softmax over ``F.normalize``-d towers, accidental hits masked to ``-inf``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
U, I, D = 30, 45, 12

# ---------------- LightGCN ----------------
group_u = torch.arange(U) % 3
group_i = torch.arange(I) % 3
inter = []
for u in range(U):
    liked = torch.nonzero(group_i == group_u[u]).squeeze(1)
    picks = liked[torch.randperm(len(liked))[:int(torch.randint(4, 9, ()))]]
    noise = torch.randint(0, I, (2,))
    inter.append(torch.stack([torch.full((len(picks) + 2,), u), torch.cat([picks, noise])]))
pairs = torch.cat(inter, 1)
test_mask = torch.rand(pairs.shape[1]) < 0.2
train_pairs, test_pairs = pairs[:, ~test_mask], pairs[:, test_mask]
R = torch.sparse_coo_tensor(train_pairs, torch.ones(train_pairs.shape[1]), (U, I)).coalesce()
print("interactions", pairs.shape[1], "train nnz", R._nnz(), "dupes merged",
      int((R.values() > 1).sum()))
R = torch.sparse_coo_tensor(R.indices(), torch.ones(R._nnz()), (U, I)).coalesce()
ui = R.indices()
rows = torch.cat([ui[0], ui[1] + U])
cols = torch.cat([ui[1] + U, ui[0]])
A = torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(len(rows)), (U + I, U + I))
A = A.coalesce()
deg = torch.sparse.sum(A, dim=1).to_dense()
dinv = deg.pow(-0.5)
dinv[torch.isinf(dinv)] = 0.0
idx = A.indices()
A_hat = torch.sparse_coo_tensor(idx, A.values() * dinv[idx[0]] * dinv[idx[1]], A.shape)
A_hat = A_hat.coalesce()
print("degrees", deg[:6].tolist(), "zero-degree items", int((deg[U:] == 0).sum()),
      "A_hat sum", round(A_hat.values().sum().item(), 4))
probe = torch.randn(U + I, 3)
dense_out = A_hat.to_dense() @ probe
print("sparse.mm == dense", torch.allclose(torch.sparse.mm(A_hat, probe), dense_out, atol=1e-6),
      "csr", torch.allclose(A_hat.to_sparse_csr() @ probe, dense_out, atol=1e-6),
      A_hat.to_sparse_csr().crow_indices()[:6].tolist())


class LightGCN(nn.Module):
    def __init__(self, layers=3):
        super().__init__()
        self.user = nn.Embedding(U, D)
        self.item = nn.Embedding(I, D)
        nn.init.normal_(self.user.weight, std=0.1)
        nn.init.normal_(self.item.weight, std=0.1)
        self.layers = layers

    def propagate(self):
        x = torch.cat([self.user.weight, self.item.weight])
        outs = [x]
        for _ in range(self.layers):
            x = torch.sparse.mm(A_hat, x)
            outs.append(x)
        final = torch.stack(outs, 1).mean(1)
        return torch.split(final, [U, I])


model = LightGCN()
opt = torch.optim.Adam(model.parameters(), lr=0.02)
for epoch in range(30):
    perm = torch.randperm(R._nnz())
    users, pos = ui[0][perm], ui[1][perm]
    neg = torch.randint(0, I, users.shape)
    users_f, items_f = model.propagate()
    x_u, x_p, x_n = users_f[users], items_f[pos], items_f[neg]
    bpr = F.softplus(-((x_u * x_p).sum(1) - (x_u * x_n).sum(1))).mean()
    reg = 0.5 * (model.user(users).pow(2).sum() + model.item(pos).pow(2).sum()
                 + model.item(neg).pow(2).sum()) / len(users)
    loss = bpr + 1e-4 * reg
    opt.zero_grad()
    loss.backward()
    opt.step()
    if epoch % 10 == 9:
        print(f"lightgcn epoch {epoch + 1} bpr {bpr.item():.4f} reg {reg.item():.4f}")

with torch.no_grad():
    users_f, items_f = model.propagate()
    scores = users_f @ items_f.T
    scores.index_put_((ui[0], ui[1]), torch.tensor(float("-inf")))
    top = scores.topk(20, dim=1).indices
truth = torch.zeros(U, I, dtype=torch.bool)
truth[test_pairs[0], test_pairs[1]] = True
truth[ui[0], ui[1]] = False
hits = truth.gather(1, top).float()
n_true = truth.sum(1)
has = n_true > 0
recall = (hits.sum(1)[has] / n_true[has]).mean()
disc = 1.0 / torch.log2(torch.arange(2, 22).float())
idcg = torch.stack([disc[:min(int(n), 20)].sum() for n in n_true[has]])
ndcg = ((hits[has] * disc).sum(1) / idcg).mean()
same_group = (group_i[top[:, :5]] == group_u[:, None]).float().mean()
print(f"Recall@20 {recall.item():.4f} NDCG@20 {ndcg.item():.4f} "
      f"top-5 in taste group {same_group.item():.4f} users evaluated {int(has.sum())}")

# ---------------- GRU4Rec with session-parallel mini-batches ----------------
N_ITEMS = 25
sessions = []
for s in range(40):
    start = int(torch.randint(0, N_ITEMS, ()))
    n = int(torch.randint(2, 8, ()))
    steps = torch.where(torch.rand(n) < 0.85, torch.ones(n, dtype=torch.long),
                        torch.randint(2, 6, (n,)))
    sessions.append((start + torch.cumsum(steps, 0) - steps[0]) % N_ITEMS)
print("sessions", [s.tolist() for s in sessions[:3]], "lengths",
      torch.bincount(torch.tensor([len(s) for s in sessions])).tolist())


def session_parallel(sess, lanes):
    """Yield (inputs, targets, reset) per step: each lane walks one session at a time."""
    nxt = lanes
    cur = list(range(lanes))
    pos = [0] * lanes
    while True:
        inp = torch.tensor([int(sess[c][p]) for c, p in zip(cur, pos)])
        tgt = torch.tensor([int(sess[c][p + 1]) for c, p in zip(cur, pos)])
        yield inp, tgt
        reset = torch.zeros(lanes, dtype=torch.bool)
        for lane in range(lanes):
            pos[lane] += 1
            if pos[lane] + 1 >= len(sess[cur[lane]]):
                if nxt >= len(sess):
                    return
                cur[lane], pos[lane], nxt = nxt, 0, nxt + 1
                reset[lane] = True
        yield reset


class GRU4Rec(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.emb = nn.Embedding(N_ITEMS, hidden, sparse=True)
        self.gru = nn.GRU(hidden, hidden)
        self.out = nn.Embedding(N_ITEMS, hidden, sparse=True)

    def forward(self, items, h):
        x, h = self.gru(self.emb(items).unsqueeze(0), h)
        return x.squeeze(0), h


def bpr_max(logits, reg=1.0):
    pos = logits.diag().unsqueeze(1)
    off = ~torch.eye(len(logits), dtype=torch.bool)
    w = torch.softmax(logits.masked_fill(~off, float("-inf")), dim=1)
    term = (w * torch.sigmoid(pos - logits)).masked_fill(~off, 0.0).sum(1)
    return (-torch.log(term + 1e-24) + reg * (w * logits ** 2).masked_fill(~off, 0).sum(1)).mean()


def top1_max(logits):
    pos = logits.diag().unsqueeze(1)
    off = ~torch.eye(len(logits), dtype=torch.bool)
    w = torch.softmax(logits.masked_fill(~off, float("-inf")), dim=1)
    return (w * (torch.sigmoid(logits - pos) + torch.sigmoid(logits ** 2))).masked_fill(
        ~off, 0).sum(1).mean()


for name, lossf in (("bpr-max", bpr_max), ("top1-max", top1_max)):
    torch.manual_seed(5)
    net = GRU4Rec()
    sparse_opt = torch.optim.SparseAdam(list(net.emb.parameters()) + list(net.out.parameters()),
                                        lr=0.02)
    dense_opt = torch.optim.Adagrad(net.gru.parameters(), lr=0.1)
    total, steps, resets = 0.0, 0, 0
    for epoch in range(3):
        h = torch.zeros(1, 6, 16)
        stream = session_parallel(sessions, 6)
        for inp, tgt in stream:
            h = h.detach()
            out, h = net(inp, h)
            logits = out @ net.out(tgt).T
            loss = lossf(logits)
            sparse_opt.zero_grad()
            dense_opt.zero_grad()
            loss.backward()
            sparse_opt.step()
            dense_opt.step()
            total, steps = total + loss.item(), steps + 1
            reset = next(stream, None)
            if reset is None:
                break
            resets += int(reset.sum())
            h = h * (~reset).float().view(1, -1, 1)
    g = net.emb.weight.grad
    print(f"{name} mean loss {total / steps:.4f} steps {steps} resets {resets} grad "
          f"{g.layout} nnz {g._nnz()} dense-grad {net.gru.weight_hh_l0.grad.layout}")
    with torch.no_grad():
        ranks = []
        for s in sessions[:20]:
            h = torch.zeros(1, 1, 16)
            for t in range(len(s) - 1):
                out, h = net(s[t:t + 1], h)
                sc = out @ net.out.weight.T
                ranks.append(int((sc[0] > sc[0, s[t + 1]]).sum()) + 1)
        ranks = torch.tensor(ranks)
        mrr = torch.where(ranks <= 20, 1.0 / ranks.float(), torch.zeros(())).mean()
    print(f"   Recall@5 {(ranks <= 5).float().mean().item():.4f} MRR@20 {mrr.item():.4f} "
          f"ranks {ranks[:10].tolist()}")

# ---------------- streaming frequency estimate + logQ-corrected in-batch softmax ----------------
H = 64
last_step = torch.zeros(H, dtype=torch.long)
gap = torch.full((H,), 2.0)
alpha = 0.1
stream_items = torch.multinomial(torch.linspace(2.0, 0.1, I), 32 * 40, replacement=True)
for step, batch in enumerate(stream_items.view(40, 32), start=1):
    slot = torch.remainder(batch * 2654435761, H)
    uniq = torch.unique(slot)
    est = (1 - alpha) * gap[uniq] + alpha * (step - last_step[uniq]).float()
    gap.index_put_((uniq,), est)
    last_step.index_put_((uniq,), torch.tensor(step))
p_est = 1.0 / gap[torch.remainder(torch.arange(I) * 2654435761, H)]
freq = torch.bincount(stream_items, minlength=I).float() / 40
print("est vs freq (head)", [round(v, 3) for v in p_est[:5].tolist()],
      [round(v, 3) for v in freq[:5].tolist()])

torch.manual_seed(6)
q_tower = nn.Sequential(nn.Embedding(U, 16), nn.Linear(16, 16))
i_tower = nn.Embedding(I, 16)
opt = torch.optim.Adam(list(q_tower.parameters()) + list(i_tower.parameters()), lr=0.02)
for step in range(25):
    sel = torch.randint(0, pairs.shape[1], (32,))
    u, it = pairs[0, sel], pairs[1, sel]
    qv = F.normalize(q_tower(u), dim=-1)
    iv = F.normalize(i_tower(it), dim=-1)
    logits = qv @ iv.T / 0.1 - torch.log(p_est[it]).unsqueeze(0)
    same = it.unsqueeze(0) == it.unsqueeze(1)
    logits = logits.masked_fill(same & ~torch.eye(32, dtype=torch.bool), float("-inf"))
    loss = F.cross_entropy(logits, torch.arange(32))
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 8 == 0:
        print(f"two-tower step {step} loss {loss.item():.4f} accidental hits "
              f"{int(same.sum()) - 32}")
