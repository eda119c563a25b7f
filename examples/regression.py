"""The notes' complete training loop: y = 2x + 1 with a custom Dataset, DataLoader, an MLP,
MSELoss and Adam; then save, load and a resumable checkpoint."""

import os
import tempfile

import ember as torch
import ember.nn as nn
from ember.utils.data import DataLoader, Dataset

torch.manual_seed(0)


class SimpleDataset(Dataset):
    """y = 2x + 1 + noise."""

    def __init__(self, num_samples=1000):
        self.x = torch.randn(num_samples, 1)
        self.y = 2 * self.x + 1 + torch.randn(num_samples, 1) * 0.1

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


class MyModel(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(input_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, output_dim),
        )

    def forward(self, x):
        return self.net(x)


device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
train_loader = DataLoader(SimpleDataset(1000), batch_size=32, shuffle=True)
model = MyModel(input_dim=1, hidden_dim=32, output_dim=1).to(device)
print(model)
total = sum(p.numel() for p in model.parameters())
print(f"parameters: {total:,}")
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
num_epochs = int(os.environ.get("EMBER_EXAMPLE_EPOCHS", "30"))
# the learning rate falls to zero over the run, so the loss settles instead of jittering
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
print("the noise in y alone gives a mean loss of about 0.0100")
for epoch in range(num_epochs):
    model.train()
    total_loss = 0.0
    for batch_x, batch_y in train_loader:
        prediction = model(batch_x.to(device))
        loss = criterion(prediction, batch_y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    scheduler.step()
    avg_loss = total_loss / len(train_loader)
    if epoch == 0 or (epoch + 1) % 10 == 0:
        print(f"Epoch [{epoch + 1}/{num_epochs}] mean loss: {avg_loss:.4f}")

model.eval()
with torch.no_grad():
    test_x = torch.tensor([[1.0], [2.0], [3.0]])
    for x, pred in zip(test_x, model(test_x)):
        print(f"  x={x.item():.1f} -> prediction={pred.item():.3f} (true ~{2 * x.item() + 1:.1f})")

with tempfile.TemporaryDirectory() as tmp:
    weights = os.path.join(tmp, "model_weights.pth")
    torch.save(model.state_dict(), weights)
    model = MyModel(input_dim=1, hidden_dim=32, output_dim=1)
    model.load_state_dict(torch.load(weights))
    model.eval()
    checkpoint = os.path.join(tmp, "checkpoint.pth")
    torch.save({"epoch": epoch + 1, "model_state": model.state_dict(),
                "optimizer_state": optimizer.state_dict(), "loss": avg_loss}, checkpoint)
    resumed = torch.load(checkpoint)
    print(f"checkpoint: {resumed['epoch']} epochs done, loss {resumed['loss']:.4f}")
