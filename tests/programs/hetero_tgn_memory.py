"""Temporal graph network (TGN, Rossi et al.) in plain torch, following the structure of the
TGN / PyG ``TGNMemory`` examples: a stream of timestamped interaction events with edge
features, split chronologically with ``torch.quantile`` and ``torch.searchsorted``, iterated in
time order with a ``DataLoader`` over a ``TensorDataset`` (``shuffle=False``), a per-node memory
updated by ``nn.GRUCell`` from messages that concatenate both memories, a learnable time encoding
``cos(w * dt + b)`` and the edge feature, "last message" aggregation per node
(``scatter_reduce`` with ``"amax"`` over event times and a match on the winning time), memory
detached between batches (truncated backprop through time), an embedding module with
``nn.MultiheadAttention`` over each node's most recent neighbours (``key_padding_mask``), and a
link predictor trained with one random negative destination per event. Evaluation reports
ROC-AUC, average precision (from ``argsort`` and ``cumsum``) and MRR against 9 negatives.
Everything random comes from ``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)

num_nodes, num_events, feat_dim = 20, 240, 4
mem_dim, time_dim, emb_dim, num_neighbors = 8, 6, 8, 4
# two groups of nodes that interact mostly within their group, with growing time gaps
group = torch.arange(num_nodes) % 2
src = torch.randint(0, num_nodes, (num_events,))
same_group = torch.randint(0, num_nodes // 2, (num_events,)) * 2 + group[src]
random_dst = torch.randint(0, num_nodes, (num_events,))
dst = torch.where(torch.rand(num_events) < 0.85, same_group, random_dst)
t = torch.cumsum(torch.rand(num_events) * 2.0, 0)
feat = torch.randn(num_events, feat_dim) * 0.5 + group[src, None].float()
print("time span", f"{t[0].item():.3f}", f"{t[-1].item():.3f}")

val_time, test_time = torch.quantile(t, torch.tensor([0.70, 0.85])).tolist()
val_start = int(torch.searchsorted(t, torch.tensor(val_time)))
test_start = int(torch.searchsorted(t, torch.tensor(test_time)))
print("split", val_start, test_start - val_start, num_events - test_start)


class TimeEncoder(nn.Module):
    """Φ(Δt) = cos(w Δt + b) with w initialised on a log-spaced grid, as in TGAT."""

    def __init__(self, dim):
        super().__init__()
        self.lin = nn.Linear(1, dim)
        with torch.no_grad():
            self.lin.weight.copy_((1.0 / 10 ** torch.linspace(0, 3, dim)).unsqueeze(1))
            self.lin.bias.zero_()

    def forward(self, dt):
        return torch.cos(self.lin(dt.unsqueeze(-1)))


class Memory(nn.Module):
    def __init__(self, num_nodes, mem_dim, time_dim, feat_dim):
        super().__init__()
        self.time_enc = TimeEncoder(time_dim)
        self.gru = nn.GRUCell(2 * mem_dim + time_dim + feat_dim, mem_dim)
        self.register_buffer("memory", torch.zeros(num_nodes, mem_dim))
        self.register_buffer("last_update", torch.zeros(num_nodes))

    def reset(self):
        self.memory.zero_()
        self.last_update.zero_()

    def detach(self):
        self.memory = self.memory.detach()

    def update(self, src, dst, t, feat):
        # messages to both endpoints; keep only each node's latest message ("last" aggregator)
        nodes = torch.cat([src, dst])
        other = torch.cat([dst, src])
        times = torch.cat([t, t])
        dt = times - self.last_update[nodes]
        msg = torch.cat([self.memory[nodes], self.memory[other], self.time_enc(dt),
                         torch.cat([feat, feat])], dim=1)
        latest = torch.full((self.memory.size(0),), -1.0).scatter_reduce(
            0, nodes, times, reduce="amax", include_self=True)
        is_last = times == latest[nodes]
        # ties (same node twice at one time) keep the later position in the batch
        pos = torch.arange(nodes.numel()).masked_fill(~is_last, -1)
        winner = torch.full((self.memory.size(0),), -1).scatter_reduce(0, nodes, pos, "amax")
        upd_nodes = (winner >= 0).nonzero().squeeze(1)
        new_mem = self.gru(msg[winner[upd_nodes]], self.memory[upd_nodes])
        memory = self.memory.clone()
        memory[upd_nodes] = new_mem
        self.memory = memory
        self.last_update = self.last_update.index_put((upd_nodes,), latest[upd_nodes])


class NeighborLoader:
    """Keeps the most recent ``k`` neighbours of every node (a ring buffer per node)."""

    def __init__(self, num_nodes, k):
        self.nbr = torch.full((num_nodes, k), -1, dtype=torch.long)
        self.nbr_t = torch.zeros(num_nodes, k)
        self.ptr = torch.zeros(num_nodes, dtype=torch.long)
        self.k = k

    def insert(self, src, dst, t):
        for a, b, tt in zip(src.tolist(), dst.tolist(), t.tolist()):
            for u, v in ((a, b), (b, a)):
                slot = self.ptr[u] % self.k
                self.nbr[u, slot] = v
                self.nbr_t[u, slot] = tt
                self.ptr[u] += 1

    def __call__(self, nodes):
        return self.nbr[nodes], self.nbr_t[nodes]


class GraphAttentionEmbedding(nn.Module):
    def __init__(self, mem_dim, time_dim, emb_dim):
        super().__init__()
        self.time_enc = TimeEncoder(time_dim)
        self.q = nn.Linear(mem_dim + time_dim, emb_dim)
        self.kv = nn.Linear(mem_dim + time_dim, emb_dim)
        self.attn = nn.MultiheadAttention(emb_dim, num_heads=2, batch_first=True)
        self.out = nn.Linear(emb_dim + mem_dim, emb_dim)

    def forward(self, memory, nodes, t_now, neighbors):
        nbr, nbr_t = neighbors(nodes)
        missing = nbr < 0
        nbr_mem = memory[nbr.clamp(min=0)]
        key = self.kv(torch.cat([nbr_mem, self.time_enc(t_now[:, None] - nbr_t)], -1))
        zero_t = self.time_enc(torch.zeros_like(t_now))
        query = self.q(torch.cat([memory[nodes], zero_t], -1)).unsqueeze(1)
        # a node without history attends to nothing: unmask one slot and zero the result
        all_missing = missing.all(1)
        mask = missing.clone()
        mask[all_missing, 0] = False
        h, _ = self.attn(query, key, key, key_padding_mask=mask)
        h = h.squeeze(1).masked_fill(all_missing[:, None], 0.0)
        return self.out(torch.cat([h, memory[nodes]], -1))


class LinkPredictor(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.src = nn.Linear(dim, dim)
        self.dst = nn.Linear(dim, dim)
        self.final = nn.Linear(dim, 1)

    def forward(self, z_src, z_dst):
        return self.final(F.relu(self.src(z_src) + self.dst(z_dst))).squeeze(-1)


memory = Memory(num_nodes, mem_dim, time_dim, feat_dim)
gnn = GraphAttentionEmbedding(mem_dim, time_dim, emb_dim)
link = LinkPredictor(emb_dim)
params = set(memory.parameters()) | set(gnn.parameters()) | set(link.parameters())
print("parameters", sum(p.numel() for p in params))
opt = torch.optim.Adam(sorted(params, key=lambda p: p.numel()), lr=0.01)
print("buffers", [name for name, _ in memory.named_buffers()])


def embed(nodes, t_now, neighbors):
    return gnn(memory.memory, nodes, t_now, neighbors)


def run_epoch(train):
    memory.reset()
    neighbors = NeighborLoader(num_nodes, num_neighbors)
    loader = DataLoader(TensorDataset(src, dst, t, feat), batch_size=20, shuffle=False)
    losses, scores, labels, ranks = [], [], [], []
    for i, (b_src, b_dst, b_t, b_feat) in enumerate(loader):
        in_train = i * 20 < val_start
        neg = torch.randint(0, num_nodes, b_src.shape)
        with torch.set_grad_enabled(train and in_train):
            z_src = embed(b_src, b_t, neighbors)
            pos_out = link(z_src, embed(b_dst, b_t, neighbors))
            neg_out = link(z_src, embed(neg, b_t, neighbors))
            if train and in_train:
                loss = (F.binary_cross_entropy_with_logits(pos_out, torch.ones_like(pos_out))
                        + F.binary_cross_entropy_with_logits(neg_out, torch.zeros_like(neg_out)))
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
            elif not in_train:
                scores += [pos_out.sigmoid(), neg_out.sigmoid()]
                labels += [torch.ones_like(pos_out), torch.zeros_like(neg_out)]
                negatives = torch.randint(0, num_nodes, (b_src.numel(), 9))
                cand = torch.cat([b_dst[:, None], negatives], 1)
                z_cand = embed(cand.flatten(), b_t.repeat_interleave(10), neighbors)
                cand_score = link(z_src.repeat_interleave(10, 0), z_cand).view(-1, 10)
                ranks.append((cand_score > cand_score[:, :1]).sum(1) + 1)
        with torch.no_grad():
            memory.update(b_src, b_dst, b_t, b_feat)
        memory.detach()
        neighbors.insert(b_src, b_dst, b_t)
    return losses, scores, labels, ranks


def auc_ap(scores, labels):
    order = torch.argsort(scores, descending=True, stable=True)
    y = labels[order]
    tp = torch.cumsum(y, 0)
    fp = torch.cumsum(1 - y, 0)
    precision = tp / torch.arange(1, y.numel() + 1)
    ap = (precision * y).sum() / y.sum()
    # AUC = P(score_pos > score_neg) from ranks (ties get average rank)
    ranks = torch.empty_like(scores)
    ranks[torch.argsort(scores, stable=True)] = torch.arange(1, scores.numel() + 1).float()
    n_pos, n_neg = y.sum(), (1 - y).sum()
    auc = (ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return auc.item(), ap.item(), fp[-1].item()


for epoch in range(4):
    memory.train()
    losses, _, _, _ = run_epoch(train=True)
    memory.eval()
    _, scores, labels, ranks = run_epoch(train=False)
    auc, ap, n_neg = auc_ap(torch.cat(scores), torch.cat(labels))
    mrr = (1.0 / torch.cat(ranks).float()).mean().item()
    print(f"epoch {epoch} loss {sum(losses) / len(losses):.4f} auc {auc:.4f} ap {ap:.4f}"
          f" mrr {mrr:.4f} negatives {int(n_neg)}")

print("memory norms", memory.memory.norm(dim=1)[:5])
print("last update", memory.last_update[:5])
print("time encoding", memory.time_enc(torch.tensor([0.0, 1.0, 10.0]))[:, :3].detach())
