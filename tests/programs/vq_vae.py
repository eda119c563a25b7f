"""A VQ-VAE (van den Oord et al. 2017) on small synthetic images, after the popular PyTorch
VQ-VAE notebooks: a conv encoder, a vector-quantisation layer that finds each vector's nearest
codebook entry (``torch.cdist`` + ``argmin``), the straight-through estimator
``z + (z_q - z).detach()``, commitment loss, a transposed-conv decoder, and the EMA codebook
update variant built from ``one_hot``, ``index_add_`` and Laplace smoothing. Perplexity tracks
codebook usage. Data and initial weights come from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(5)
# 8x8 single-channel images: a horizontal or vertical bar at a random position, plus noise
n = 256
images = np.zeros((n, 1, 8, 8), dtype=np.float32)
kinds = rng.integers(0, 2, n)
positions = rng.integers(1, 7, n)
for i in range(n):
    if kinds[i] == 0:
        images[i, 0, positions[i], :] = 1.0
    else:
        images[i, 0, :, positions[i]] = 1.0
images += rng.normal(0.0, 0.1, images.shape).astype(np.float32)
loader = DataLoader(TensorDataset(torch.from_numpy(images)), batch_size=32, shuffle=False)


class VectorQuantizer(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, commitment_cost):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.num_embeddings = num_embeddings
        self.embedding = nn.Embedding(num_embeddings, embedding_dim)
        self.embedding.weight.data.uniform_(-1 / num_embeddings, 1 / num_embeddings)
        self.commitment_cost = commitment_cost

    def quantize(self, flat):
        distances = torch.cdist(flat, self.embedding.weight)
        indices = torch.argmin(distances, dim=1)
        return indices, self.embedding(indices)

    def forward(self, inputs):
        # BCHW -> BHWC so every spatial position is one vector
        inputs = inputs.permute(0, 2, 3, 1).contiguous()
        flat = inputs.view(-1, self.embedding_dim)
        indices, quantized = self.quantize(flat)
        quantized = quantized.view(inputs.shape)
        e_latent_loss = F.mse_loss(quantized.detach(), inputs)
        q_latent_loss = F.mse_loss(quantized, inputs.detach())
        loss = q_latent_loss + self.commitment_cost * e_latent_loss
        quantized = inputs + (quantized - inputs).detach()  # straight-through
        encodings = F.one_hot(indices, self.num_embeddings).float()
        avg_probs = encodings.mean(dim=0)
        perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))
        return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, indices


class VectorQuantizerEMA(VectorQuantizer):
    """Codebook learned by exponential moving averages instead of gradients."""

    def __init__(self, num_embeddings, embedding_dim, commitment_cost, decay, epsilon=1e-5):
        super().__init__(num_embeddings, embedding_dim, commitment_cost)
        self.embedding.weight.requires_grad_(False)
        self.register_buffer("ema_cluster_size", torch.zeros(num_embeddings))
        self.register_buffer("ema_w", self.embedding.weight.data.clone())
        self.decay, self.epsilon = decay, epsilon

    def forward(self, inputs):
        inputs = inputs.permute(0, 2, 3, 1).contiguous()
        flat = inputs.view(-1, self.embedding_dim)
        indices, quantized = self.quantize(flat)
        quantized = quantized.view(inputs.shape)
        if self.training:
            with torch.no_grad():
                counts = torch.zeros(self.num_embeddings).index_add_(
                    0, indices, torch.ones_like(indices, dtype=torch.float))
                self.ema_cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
                # Laplace smoothing keeps unused codes from dividing by zero
                total = self.ema_cluster_size.sum()
                self.ema_cluster_size.copy_((self.ema_cluster_size + self.epsilon)
                                            / (total + self.num_embeddings * self.epsilon) * total)
                dw = torch.zeros_like(self.ema_w).index_add_(0, indices, flat)
                self.ema_w.mul_(self.decay).add_(dw, alpha=1 - self.decay)
                self.embedding.weight.copy_(self.ema_w / self.ema_cluster_size.unsqueeze(1))
        loss = self.commitment_cost * F.mse_loss(quantized.detach(), inputs)
        quantized = inputs + (quantized - inputs).detach()
        avg_probs = torch.bincount(indices, minlength=self.num_embeddings).float() / len(indices)
        perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))
        return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, indices


class Model(nn.Module):
    def __init__(self, quantizer, hidden=16, embedding_dim=4):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, hidden, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, embedding_dim, 1),
        )
        self.vq = quantizer
        self.decoder = nn.Sequential(
            nn.Conv2d(embedding_dim, hidden, 3, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(hidden, 1, 4, stride=2, padding=1),
        )

    def forward(self, x):
        z = self.encoder(x)
        vq_loss, quantized, perplexity, indices = self.vq(z)
        return vq_loss, self.decoder(quantized), perplexity, indices


def build(quantizer, seed):
    model = Model(quantizer)
    init = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "vq.embedding.weight":
                p.copy_(torch.from_numpy(init.uniform(-1, 1, tuple(p.shape)).astype(np.float32)))
            else:
                p.copy_(torch.from_numpy((0.2 * init.standard_normal(tuple(p.shape)))
                                         .astype(np.float32)))
        if isinstance(quantizer, VectorQuantizerEMA):
            quantizer.ema_w.copy_(quantizer.embedding.weight)
    return model


data_variance = float(images.var())
for label, quantizer in (("vq", VectorQuantizer(16, 4, 0.25)),
                         ("vq-ema", VectorQuantizerEMA(16, 4, 0.25, decay=0.9))):
    model = build(quantizer, seed=1)
    trainable = [p for p in model.parameters() if p.requires_grad]
    print(f"{label}: trainable {sum(p.numel() for p in trainable)} "
          f"buffers {[name for name, _ in model.named_buffers()]}")
    optimizer = torch.optim.Adam(trainable, lr=3e-3)
    for epoch in range(6):
        model.train()
        recon_sum, perp_sum, batches = 0.0, 0.0, 0
        for (x,) in loader:
            vq_loss, x_recon, perplexity, _ = model(x)
            recon_error = F.mse_loss(x_recon, x) / data_variance
            loss = recon_error + vq_loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            recon_sum += recon_error.item()
            perp_sum += perplexity.item()
            batches += 1
        if epoch % 2 == 1:
            print(f"  epoch {epoch}: recon {recon_sum / batches:.4f} "
                  f"perplexity {perp_sum / batches:.3f}")
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(images[:64])
        _, x_recon, perplexity, indices = model(x)
        used = torch.unique(indices)
        print(f"  eval recon {F.mse_loss(x_recon, x).item():.4f} perplexity "
              f"{perplexity.item():.3f} codes used {used.numel()} "
              f"codes of image 0 {indices.view(64, 4, 4)[0].flatten().tolist()}")
        if isinstance(model.vq, VectorQuantizerEMA):
            print("  cluster sizes", [round(v, 2) for v in model.vq.ema_cluster_size.tolist()[:6]])

# the straight-through estimator passes the decoder's gradient unchanged to the encoder
z = torch.tensor([[0.3, -0.2]], requires_grad=True)
codebook = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
idx = torch.cdist(z, codebook).argmin(dim=1)
z_q = z + (codebook[idx] - z).detach()
(z_q * torch.tensor([[2.0, 3.0]])).sum().backward()
print("straight-through value", z_q.tolist(), "grad", z.grad.tolist())
