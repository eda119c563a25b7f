"""Image captioning in the style of the yunjey/pytorch-tutorial captioning model: a small CNN
encoder (conv, BatchNorm, adaptive pooling, a linear embedding), an LSTM decoder fed the image
feature as its first input, teacher forcing on padded captions sorted by length with
pack_padded_sequence, the loss on packed targets, and greedy sampling with a max length."""
import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

rng = np.random.default_rng(12)
vocab = ['<pad>', '<start>', '<end>', 'a', 'red', 'blue', 'green', 'square', 'circle', 'bar',
         'on', 'left', 'right']
word2idx = {w: i for i, w in enumerate(vocab)}
colors = {'red': 0, 'blue': 1, 'green': 2}


def make_image(color, shape, side):
    img = np.zeros((3, 16, 16), dtype=np.float32)
    c0 = 2 if side == 'left' else 9
    if shape == 'square':
        img[colors[color], 4:10, c0:c0 + 5] = 1.0
    elif shape == 'circle':
        yy, xx = np.mgrid[:16, :16]
        ring = np.abs(np.sqrt((yy - 7.0) ** 2 + (xx - c0 - 2.0) ** 2) - 3.0) < 0.8
        img[colors[color]][ring] = 1.0  # a hollow ring, so it differs from the square
    else:
        img[colors[color], 2:14, c0 + 2:c0 + 3] = 1.0
    return img + rng.normal(scale=0.05, size=img.shape).astype(np.float32)


samples = []
for color in colors:
    for shape in ('square', 'circle', 'bar'):
        for side in ('left', 'right'):
            words = ['a', color, shape] + (['on', side] if shape != 'bar' else [])
            samples.append((make_image(color, shape, side), words))
print("{} image-caption pairs, vocab {}".format(len(samples), len(vocab)))


class EncoderCNN(nn.Module):
    def __init__(self, embed_size):
        super(EncoderCNN, self).__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d((2, 2)))
        self.linear = nn.Linear(16 * 4, embed_size)
        self.bn = nn.BatchNorm1d(embed_size, momentum=0.01)

    def forward(self, images):
        features = self.features(images)
        features = features.reshape(features.size(0), -1)
        return self.bn(self.linear(features))


class DecoderRNN(nn.Module):
    def __init__(self, embed_size, hidden_size, vocab_size, num_layers, max_seq_length=8):
        super(DecoderRNN, self).__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
        self.linear = nn.Linear(hidden_size, vocab_size)
        self.max_seg_length = max_seq_length

    def forward(self, features, captions, lengths):
        embeddings = self.embed(captions)
        embeddings = torch.cat((features.unsqueeze(1), embeddings), 1)
        packed = pack_padded_sequence(embeddings, lengths, batch_first=True)
        hiddens, _ = self.lstm(packed)
        return self.linear(hiddens[0])

    def sample(self, features, states=None):
        sampled_ids = []
        inputs = features.unsqueeze(1)
        for i in range(self.max_seg_length):
            hiddens, states = self.lstm(inputs, states)
            outputs = self.linear(hiddens.squeeze(1))
            _, predicted = outputs.max(1)
            sampled_ids.append(predicted)
            inputs = self.embed(predicted).unsqueeze(1)
        return torch.stack(sampled_ids, 1)


def collate_fn(data):
    # sort by caption length (descending), as pack_padded_sequence wants by default
    data.sort(key=lambda x: len(x[1]), reverse=True)
    images, captions = zip(*data)
    images = torch.stack(images, 0)
    lengths = [len(cap) for cap in captions]
    targets = pad_sequence(list(captions), batch_first=True, padding_value=0)
    return images, targets, lengths


dataset = [(torch.from_numpy(img), torch.tensor([word2idx[w] for w in ['<start>'] + words
                                                  + ['<end>']])) for img, words in samples]
encoder = EncoderCNN(16)
decoder = DecoderRNN(16, 32, len(vocab), 1)
g = np.random.default_rng(1)
with torch.no_grad():
    for p in list(encoder.parameters()) + list(decoder.parameters()):
        if p.dim() > 1:
            p.copy_(torch.from_numpy(g.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
        elif p.abs().sum() != p.numel():  # biases (BatchNorm weights start at one)
            p.zero_()
params = list(decoder.parameters()) + list(encoder.parameters())
print("encoder params {} decoder params {}".format(
    sum(p.numel() for p in encoder.parameters()), sum(p.numel() for p in decoder.parameters())))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(params, lr=0.01)

images, captions, lengths = collate_fn(list(dataset))
print("batch", tuple(images.shape), tuple(captions.shape), "lengths", lengths[:3], lengths[-3:])
packed_targets = pack_padded_sequence(captions, lengths, batch_first=True)
print("packed batch_sizes:", packed_targets.batch_sizes.tolist())
order = [rng.permutation(len(dataset)) for _ in range(40)]
for epoch in range(40):
    encoder.train()
    decoder.train()
    for start in range(0, len(dataset), 6):
        batch = [dataset[j] for j in order[epoch][start:start + 6]]
        images, captions, lengths = collate_fn(batch)
        # the image feature is the first input, so the caption input drops its last token
        targets = pack_padded_sequence(captions, lengths, batch_first=True)[0]
        features = encoder(images)
        outputs = decoder(features, captions[:, :-1], lengths)
        loss = criterion(outputs, targets)
        decoder.zero_grad()
        encoder.zero_grad()
        loss.backward()
        optimizer.step()
    if epoch % 10 == 0 or epoch == 39:
        print('Epoch [{}/{}], Loss: {:.2f}, Perplexity: {:5.1f}'.format(
            epoch, 40, loss.item(), np.exp(loss.item())))

encoder.eval()
decoder.eval()
with torch.no_grad():
    images, captions, lengths = collate_fn(list(dataset))
    ids = decoder.sample(encoder(images))
    exact = 0
    for k in range(len(dataset)):
        words = []
        for i in ids[k].tolist()[1:]:  # the first prediction is <start>
            if vocab[i] == '<end>':
                break
            words.append(vocab[i])
        truth = [vocab[i] for i in captions[k, :lengths[k]].tolist()][1:-1]
        exact += words == truth
        if k < 4:
            print(' '.join(words), '|', ' '.join(truth))
    print("exact captions: {}/{}".format(exact, len(dataset)))
    # unpacking the LSTM output restores the padded layout
    emb = decoder.embed(captions)
    out, _ = decoder.lstm(pack_padded_sequence(emb, lengths, batch_first=True))
    padded, out_lengths = pad_packed_sequence(out, batch_first=True)
    print("unpacked", tuple(padded.shape), out_lengths.tolist()[:4],
          "padding is zero:", bool((padded[-1, lengths[-1]:] == 0).all()))
