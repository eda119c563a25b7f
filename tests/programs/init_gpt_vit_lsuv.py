"""Initialisation recipes from popular repositories: GPT-2 (normal 0.02, scaled residual
projections), timm ViT (trunc_normal_, zero head), LSUV (data-dependent rescaling with forward
hooks), Fixup-style zero init, and init through parametrizations (weight_norm, orthogonal)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize


class GPTBlock(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.n_head = n_head

    def forward(self, x):
        q, k, v = self.attn(self.ln_1(x)).chunk(3, dim=-1)
        b, t, d = x.shape
        q, k, v = (z.view(b, t, self.n_head, d // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab=16, d=8, n_layer=2):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(6, d)
        self.h = nn.ModuleList(GPTBlock(d, 2) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():  # scaled init of the residual projections
            if pn.endswith("c_proj.weight") or pn.endswith("mlp.2.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx):
        pos = torch.arange(idx.size(1))
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


torch.manual_seed(0)
gpt = GPT()
print("parameters:", sum(p.numel() for p in gpt.parameters()))
for name, p in gpt.named_parameters():
    if p.dim() >= 2:
        print(f"  {name:18s} std={p.std().item():.4f}")
idx = torch.randint(0, 16, (2, 6))
logits = gpt(idx)
loss = F.cross_entropy(logits.view(-1, 16), idx.view(-1))
print(f"initial loss {loss.item():.4f} vs ln(16) {math.log(16):.4f}")


class PatchViT(nn.Module):
    """timm-style: trunc_normal_ on cls token / pos embed / Linear, LayerNorm ones/zeros."""

    def __init__(self, d=8, classes=3):
        super().__init__()
        self.patch = nn.Conv2d(1, d, 4, stride=4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, 5, d))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        self.apply(self._init)
        # patch embedding initialised like a Linear on the flattened kernel
        w = self.patch.weight.data
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        nn.init.zeros_(self.head.weight)  # zero head: start from uniform predictions
        nn.init.constant_(self.head.bias, 0.0)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(self.norm(x)[:, 0])


torch.manual_seed(1)
vit = PatchViT()
# timm's gotcha: a=-2, b=2 are absolute bounds, not multiples of std
print("pos_embed within 2 std:", bool(vit.pos_embed.abs().max() <= 0.04),
      "within [-2, 2]:", bool(vit.pos_embed.abs().max() <= 2))
print(f"patch weight absmax {vit.patch.weight.abs().max().item():.4f} bound "
      f"{math.sqrt(6 / (16 + 8)):.4f}")
print("ViT probs:", F.softmax(vit(torch.randn(2, 1, 8, 8)), -1))

# LSUV: orthogonal init, then rescale each layer until its output has unit variance
torch.manual_seed(2)
mlp = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                    nn.Linear(32, 4))
data = torch.randn(64, 10)
for layer in mlp:
    if isinstance(layer, nn.Linear):
        nn.init.orthogonal_(layer.weight)
        nn.init.zeros_(layer.bias)
        captured = {}

        def capture(module, inputs, output, store=captured):
            store["out"] = output.detach()

        handle = layer.register_forward_hook(capture)
        for it in range(5):
            mlp(data)
            std = captured["out"].std().item()
            if abs(std - 1.0) < 0.01:
                break
            with torch.no_grad():
                layer.weight.div_(std)
        handle.remove()
        print(f"LSUV layer out-features {layer.out_features}: std {std:.4f} after {it} rescales")
print("hooks left:", [len(m._forward_hooks) for m in mlp])

# Fixup-style: the last layer of each residual branch starts at zero, so blocks are identity
torch.manual_seed(3)
branch = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
nn.init.zeros_(branch[-1].weight)
nn.init.zeros_(branch[-1].bias)
x = torch.randn(3, 4)
print("identity at init:", torch.equal(x + branch(x), x))
(x + branch(x)).pow(2).sum().backward()
print("first layer grad is zero, last layer grad is not:",
      branch[0].weight.grad.abs().sum().item() == 0, branch[-1].weight.grad.abs().sum().item() > 0)

# init through parametrizations: write the original, or the parametrized value via right_inverse
torch.manual_seed(4)
lin = nn.utils.parametrizations.weight_norm(nn.Linear(5, 3))
print("weight_norm parts:", [n for n, _ in lin.parametrizations.weight.named_parameters()])
nn.init.ones_(lin.parametrizations.weight.original0)
print("g=1 so row norms are 1:", lin.weight.norm(dim=1))
with torch.no_grad():
    lin.weight = torch.full((3, 5), 2.0)  # right_inverse splits it into g and v
print("g after assignment:", lin.parametrizations.weight.original0.flatten())


class Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(-1, -2)


sym = nn.Linear(3, 3)
parametrize.register_parametrization(sym, "weight", Symmetric())
nn.init.eye_(sym.parametrizations.weight.original)
print("symmetric from eye:\n", sym.weight)
print("is_parametrized:", parametrize.is_parametrized(sym),
      parametrize.is_parametrized(sym, "bias"))
with parametrize.cached():
    print("cached twice same object:", sym.weight is sym.weight)
parametrize.remove_parametrizations(sym, "weight", leave_parametrized=True)
print("after removal:", type(sym.weight).__name__, sym.weight.requires_grad)
