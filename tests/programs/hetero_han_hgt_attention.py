"""Heterogeneous graph attention in plain torch, in the style of the HAN and HGT reference
code: an academic graph (authors, papers, venues) stored as a dict of typed edge lists,
metapath graphs (author-paper-author, author-paper-venue-paper-author) built by products of
sparse COO adjacencies (``torch.sparse.mm``, ``coalesce``, ``indices``), node-level GAT
attention per metapath with a numerically stable softmax over the edges of each destination
(``scatter_reduce(..., "amax", include_self=False)``, ``exp``, ``index_add_`` for the
denominator), HAN semantic attention across metapaths, and one HGT layer with type-specific
``nn.ModuleDict`` projections, relation-specific key/message matrices and multi-head attention
(``torch.einsum``), residual gated by a learnable skip, trained for author classification with
AdamW and a cosine schedule. Also checks the grouped softmax against a dense masked softmax and
prints the error raised for an unknown reduction. Everything random comes from
``torch.manual_seed``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(11)

num = {"author": 16, "paper": 24, "venue": 3}
author_label = torch.arange(num["author"]) % 3
paper_venue = torch.randint(0, 3, (num["paper"],))
# authors write mostly in the venue matching their label
writes_a, writes_p = [], []
for a in range(num["author"]):
    same = (paper_venue == author_label[a]).nonzero().squeeze(1)
    pick = same[torch.randperm(same.numel())[:2]]
    other = torch.randint(0, num["paper"], (1,))
    for p in torch.cat([pick, other]).tolist():
        writes_a.append(a)
        writes_p.append(p)
edges = {
    ("author", "writes", "paper"): torch.tensor([writes_a, writes_p]),
    ("paper", "published_in", "venue"): torch.stack([torch.arange(num["paper"]), paper_venue]),
}
edges[("paper", "written_by", "author")] = edges[("author", "writes", "paper")].flip(0)
edges[("venue", "publishes", "paper")] = edges[("paper", "published_in", "venue")].flip(0)
for etype, ei in edges.items():
    print(etype, tuple(ei.shape))


def adjacency(etype):
    s, _, d = etype
    ei = edges[etype]
    return torch.sparse_coo_tensor(ei, torch.ones(ei.size(1)), (num[s], num[d]),
                                   check_invariants=True).coalesce()


ap = adjacency(("author", "writes", "paper"))
pv = adjacency(("paper", "published_in", "venue"))
apa = torch.sparse.mm(ap, ap.t().coalesce()).coalesce()
apv = torch.sparse.mm(ap, pv).coalesce()
apvpa = torch.sparse.mm(apv, apv.t().coalesce()).coalesce()
metapaths = {}
for name, adj in (("APA", apa), ("APVPA", apvpa)):
    ei = adj.indices()
    metapaths[name] = ei  # self loops kept: every author attends to itself
    print(name, "edges", ei.size(1), "max multiplicity", int(adj.values().max().item()))


def edge_softmax(scores, dst, num_nodes):
    """Softmax of edge scores (E, H) over the incoming edges of each destination node."""
    index = dst.unsqueeze(-1).expand_as(scores)
    smax = torch.zeros(num_nodes, scores.size(1)).scatter_reduce(
        0, index, scores, reduce="amax", include_self=False)
    exp = (scores - smax[dst]).exp()
    denom = torch.zeros(num_nodes, scores.size(1)).index_add_(0, dst, exp)
    return exp / denom[dst]


# check the grouped softmax against a dense masked softmax
src, dst = metapaths["APA"]
raw = torch.randn(src.numel(), 1)
alpha = edge_softmax(raw, dst, num["author"])
dense = torch.full((num["author"], num["author"]), float("-inf"))
dense[dst, src] = raw.squeeze(1)
ref = torch.softmax(dense, dim=1)[dst, src]
print("edge softmax matches dense", torch.allclose(alpha.squeeze(1), ref, atol=1e-6))
sums = torch.zeros(num["author"]).index_add_(0, dst, alpha.squeeze(1))
print("attention sums", sums[:4].round(decimals=4))
try:
    torch.zeros(3).scatter_reduce(0, torch.tensor([0, 1]), torch.ones(2), reduce="max")
except RuntimeError as err:
    print("RuntimeError:", str(err).splitlines()[0])


class GATConv(nn.Module):
    def __init__(self, in_dim, out_dim, heads):
        super().__init__()
        self.heads, self.out_dim = heads, out_dim
        self.lin = nn.Linear(in_dim, heads * out_dim, bias=False)
        self.att_src = nn.Parameter(torch.randn(1, heads, out_dim) * 0.1)
        self.att_dst = nn.Parameter(torch.randn(1, heads, out_dim) * 0.1)

    def forward(self, x, edge_index):
        src, dst = edge_index
        h = self.lin(x).view(-1, self.heads, self.out_dim)
        score = (h * self.att_src).sum(-1)[src] + (h * self.att_dst).sum(-1)[dst]
        alpha = edge_softmax(F.leaky_relu(score, 0.2), dst, x.size(0))
        out = torch.zeros_like(h).index_add_(0, dst, h[src] * alpha.unsqueeze(-1))
        return F.elu(out.flatten(1))


class HAN(nn.Module):
    def __init__(self, in_dim, hidden, heads, num_classes, names):
        super().__init__()
        self.convs = nn.ModuleDict({n: GATConv(in_dim, hidden, heads) for n in names})
        self.semantic = nn.Sequential(nn.Linear(hidden * heads, 16), nn.Tanh(),
                                      nn.Linear(16, 1, bias=False))
        self.cls = nn.Linear(hidden * heads, num_classes)

    def forward(self, x, paths):
        z = torch.stack([self.convs[n](x, ei) for n, ei in paths.items()], dim=1)  # (N, P, D)
        beta = torch.softmax(self.semantic(z).mean(0), dim=0)  # (P, 1)
        return self.cls((beta * z).sum(1)), beta.squeeze(1)


class HGTLayer(nn.Module):
    def __init__(self, dim, heads, node_types, rel_names):
        super().__init__()
        self.heads, self.d_k = heads, dim // heads
        self.k_lin = nn.ModuleDict({t: nn.Linear(dim, dim) for t in node_types})
        self.q_lin = nn.ModuleDict({t: nn.Linear(dim, dim) for t in node_types})
        self.v_lin = nn.ModuleDict({t: nn.Linear(dim, dim) for t in node_types})
        self.a_lin = nn.ModuleDict({t: nn.Linear(dim, dim) for t in node_types})
        self.rel_att = nn.Parameter(torch.eye(self.d_k).repeat(len(rel_names), heads, 1, 1))
        self.rel_msg = nn.Parameter(torch.eye(self.d_k).repeat(len(rel_names), heads, 1, 1))
        self.rel_pri = nn.Parameter(torch.ones(len(rel_names), heads))
        self.skip = nn.Parameter(torch.ones(len(node_types)))
        self.rel_index = {r: i for i, r in enumerate(rel_names)}
        self.type_index = {t: i for i, t in enumerate(node_types)}

    def forward(self, x_dict, edge_dict):
        H, D = self.heads, self.d_k
        k = {t: self.k_lin[t](x).view(-1, H, D) for t, x in x_dict.items()}
        q = {t: self.q_lin[t](x).view(-1, H, D) for t, x in x_dict.items()}
        v = {t: self.v_lin[t](x).view(-1, H, D) for t, x in x_dict.items()}
        out = {}
        for dst_type in x_dict:
            incoming = [(e, ei) for e, ei in edge_dict.items() if e[2] == dst_type]
            scores, msgs, dsts = [], [], []
            for (s, r, _), (src, dst) in incoming:
                i = self.rel_index[r]
                key = torch.einsum("ehd,hdf->ehf", k[s][src], self.rel_att[i])
                score = (q[dst_type][dst] * key).sum(-1) * self.rel_pri[i] / math.sqrt(D)
                scores.append(score)
                msgs.append(torch.einsum("ehd,hdf->ehf", v[s][src], self.rel_msg[i]))
                dsts.append(dst)
            dst_all = torch.cat(dsts)
            alpha = edge_softmax(torch.cat(scores), dst_all, x_dict[dst_type].size(0))
            agg = torch.zeros(x_dict[dst_type].size(0), H, D).index_add_(
                0, dst_all, torch.cat(msgs) * alpha.unsqueeze(-1))
            trans = self.a_lin[dst_type](F.gelu(agg.flatten(1)))
            gate = torch.sigmoid(self.skip[self.type_index[dst_type]])
            out[dst_type] = gate * trans + (1 - gate) * x_dict[dst_type]
        return out


dim = 8
features = {t: torch.randn(n, dim) for t, n in num.items()}
han = HAN(dim, 4, 2, 3, list(metapaths))
hgt = HGTLayer(dim, 2, list(num), [r for _, r, _ in edges])
head = nn.Linear(dim, 3)
params = list(han.parameters()) + list(hgt.parameters()) + list(head.parameters())
print("HAN params", sum(p.numel() for p in han.parameters()),
      "HGT params", sum(p.numel() for p in hgt.parameters()))
opt = torch.optim.AdamW(params, lr=0.02, weight_decay=0.01)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30)
train = torch.arange(num["author"]) < 11
for epoch in range(30):
    logits_han, beta = han(features["author"], metapaths)
    logits_hgt = head(hgt(features, edges)["author"])
    loss = (F.cross_entropy(logits_han[train], author_label[train])
            + F.cross_entropy(logits_hgt[train], author_label[train], label_smoothing=0.1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    if epoch % 10 == 0 or epoch == 29:
        print(f"epoch {epoch:2d} loss {loss.item():.4f} beta {beta.detach().numpy().round(4)}")

with torch.no_grad():
    logits_han, beta = han(features["author"], metapaths)
    logits_hgt = head(hgt(features, edges)["author"])
for name, logits in (("HAN", logits_han), ("HGT", logits_hgt)):
    pred = logits.argmax(1)
    acc = (pred[~train] == author_label[~train]).float().mean().item()
    print(f"{name} test acc {acc:.4f} preds {pred[~train].tolist()}")
print("semantic attention", beta.round(decimals=4))
print("HGT skip gates", torch.sigmoid(hgt.skip.detach()).round(decimals=4))
