"""A character-level LSTM language model trained on a text file that ships with the examples,
then sampled from. Loss falls from ~log(vocab) as it learns the text.

    python examples/char_lstm.py --steps 300
    python examples/char_lstm.py --steps 60 --hidden 32 --seq 24 --sample 40   # a few seconds
"""

import argparse
from pathlib import Path

import ember as torch
import ember.nn as nn
import ember.nn.functional as F


class CharLSTM(nn.Module):
    def __init__(self, vocab: int, embed: int = 32, hidden: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--text", default=str(Path(__file__).with_name("tiny_text.txt")))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seq", type=int, default=48)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=128, help="LSTM hidden size")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--sample", type=int, default=200, help="characters to sample")
    args = parser.parse_args()
    torch.manual_seed(0)
    text = Path(args.text).read_text()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text])
    model = CharLSTM(len(chars), hidden=args.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    first = last = None
    for step in range(args.steps):
        starts = torch.randint(0, len(data) - args.seq - 1, (args.batch,))
        x = torch.stack([data[s:s + args.seq] for s in starts.tolist()])
        y = torch.stack([data[s + 1:s + args.seq + 1] for s in starts.tolist()])
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        first = loss.item() if first is None else first
        last = loss.item()
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step:4d}  loss {loss.item():.3f}")
    model.eval()
    with torch.no_grad():
        idx = torch.tensor([[stoi[text[0]]]])
        state, out = None, [text[0]]
        for _ in range(args.sample):
            logits, state = model(idx, state)
            probs = F.softmax(logits[:, -1], dim=-1)
            idx = torch.multinomial(probs, 1)
            out.append(chars[idx.item()])
    print("sample:", "".join(out))
    print(f"loss {first:.3f} -> {last:.3f}")


if __name__ == "__main__":
    main()
