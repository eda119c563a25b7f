"""Advanced sequence tagging: a bidirectional LSTM with a CRF layer on top, after PyTorch's
"Making dynamic decisions and the Bi-LSTM CRF" tutorial. The partition function comes from the
forward algorithm (log-sum-exp over tags), decoding from Viterbi (max/argmax with
back-pointers), and training minimizes the negative log likelihood of the gold tag path."""
import torch
import torch.autograd as autograd
import torch.nn as nn
import torch.optim as optim


def argmax(vec):
    # return the argmax as a python int
    _, idx = torch.max(vec, 1)
    return idx.item()


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


# Compute log sum exp in a numerically stable way for the forward algorithm
def log_sum_exp(vec):
    max_score = vec[0, argmax(vec)]
    max_score_broadcast = max_score.view(1, -1).expand(1, vec.size()[1])
    return max_score + \
        torch.log(torch.sum(torch.exp(vec - max_score_broadcast)))


class BiLSTM_CRF(nn.Module):

    def __init__(self, vocab_size, tag_to_ix, embedding_dim, hidden_dim):
        super(BiLSTM_CRF, self).__init__()
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.vocab_size = vocab_size
        self.tag_to_ix = tag_to_ix
        self.tagset_size = len(tag_to_ix)

        self.word_embeds = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2,
                            num_layers=1, bidirectional=True)

        # Maps the output of the LSTM into tag space.
        self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)

        # Matrix of transition parameters. Entry i,j is the score of
        # transitioning *to* i *from* j.
        self.transitions = nn.Parameter(
            torch.zeros(self.tagset_size, self.tagset_size))

        # These two statements enforce the constraint that we never transfer
        # to the start tag and we never transfer from the stop tag
        self.transitions.data[tag_to_ix[START_TAG], :] = -10000
        self.transitions.data[:, tag_to_ix[STOP_TAG]] = -10000

        self.hidden = self.init_hidden()

    def init_hidden(self):
        # torch.randn in the tutorial; a fixed start keeps both libraries on the same numbers
        return (torch.zeros(2, 1, self.hidden_dim // 2),
                torch.zeros(2, 1, self.hidden_dim // 2))

    def _forward_alg(self, feats):
        # Do the forward algorithm to compute the partition function
        init_alphas = torch.full((1, self.tagset_size), -10000.)
        # START_TAG has all of the score.
        init_alphas[0][self.tag_to_ix[START_TAG]] = 0.

        # Wrap in a variable so that we will get automatic backprop
        forward_var = init_alphas

        # Iterate through the sentence
        for feat in feats:
            alphas_t = []  # The forward tensors at this timestep
            for next_tag in range(self.tagset_size):
                # broadcast the emission score: it is the same regardless of
                # the previous tag
                emit_score = feat[next_tag].view(
                    1, -1).expand(1, self.tagset_size)
                # the ith entry of trans_score is the score of transitioning to
                # next_tag from i
                trans_score = self.transitions[next_tag].view(1, -1)
                # The ith entry of next_tag_var is the value for the
                # edge (i -> next_tag) before we do log-sum-exp
                next_tag_var = forward_var + trans_score + emit_score
                # The forward variable for this tag is log-sum-exp of all the
                # scores.
                alphas_t.append(log_sum_exp(next_tag_var).view(1))
            forward_var = torch.cat(alphas_t).view(1, -1)
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        alpha = log_sum_exp(terminal_var)
        return alpha

    def _get_lstm_features(self, sentence):
        self.hidden = self.init_hidden()
        embeds = self.word_embeds(sentence).view(len(sentence), 1, -1)
        lstm_out, self.hidden = self.lstm(embeds, self.hidden)
        lstm_out = lstm_out.view(len(sentence), self.hidden_dim)
        lstm_feats = self.hidden2tag(lstm_out)
        return lstm_feats

    def _score_sentence(self, feats, tags):
        # Gives the score of a provided tag sequence
        score = torch.zeros(1)
        tags = torch.cat([torch.tensor([self.tag_to_ix[START_TAG]], dtype=torch.long), tags])
        for i, feat in enumerate(feats):
            score = score + \
                self.transitions[tags[i + 1], tags[i]] + feat[tags[i + 1]]
        score = score + self.transitions[self.tag_to_ix[STOP_TAG], tags[-1]]
        return score

    def _viterbi_decode(self, feats):
        backpointers = []

        # Initialize the viterbi variables in log space
        init_vvars = torch.full((1, self.tagset_size), -10000.)
        init_vvars[0][self.tag_to_ix[START_TAG]] = 0

        # forward_var at step i holds the viterbi variables for step i-1
        forward_var = init_vvars
        for feat in feats:
            bptrs_t = []  # holds the backpointers for this step
            viterbivars_t = []  # holds the viterbi variables for this step

            for next_tag in range(self.tagset_size):
                # next_tag_var[i] holds the viterbi variable for tag i at the
                # previous step, plus the score of transitioning
                # from tag i to next_tag.
                # We don't include the emission scores here because the max
                # does not depend on them (we add them in below)
                next_tag_var = forward_var + self.transitions[next_tag]
                best_tag_id = argmax(next_tag_var)
                bptrs_t.append(best_tag_id)
                viterbivars_t.append(next_tag_var[0][best_tag_id].view(1))
            # Now add in the emission scores, and assign forward_var to the set
            # of viterbi variables we just computed
            forward_var = (torch.cat(viterbivars_t) + feat).view(1, -1)
            backpointers.append(bptrs_t)

        # Transition to STOP_TAG
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        best_tag_id = argmax(terminal_var)
        path_score = terminal_var[0][best_tag_id]

        # Follow the back pointers to decode the best path.
        best_path = [best_tag_id]
        for bptrs_t in reversed(backpointers):
            best_tag_id = bptrs_t[best_tag_id]
            best_path.append(best_tag_id)
        # Pop off the start tag (we dont want to return that to the caller)
        start = best_path.pop()
        assert start == self.tag_to_ix[START_TAG]  # Sanity check
        best_path.reverse()
        return path_score, best_path

    def neg_log_likelihood(self, sentence, tags):
        feats = self._get_lstm_features(sentence)
        forward_score = self._forward_alg(feats)
        gold_score = self._score_sentence(feats, tags)
        return forward_score - gold_score

    def forward(self, sentence):  # dont confuse this with _forward_alg above.
        # Get the emission scores from the BiLSTM
        lstm_feats = self._get_lstm_features(sentence)

        # Find the best path, given the features.
        score, tag_seq = self._viterbi_decode(lstm_feats)
        return score, tag_seq


START_TAG = "<START>"
STOP_TAG = "<STOP>"
EMBEDDING_DIM = 5
HIDDEN_DIM = 4

# Make up some training data
training_data = [(
    "the wall street journal reported today that apple corporation made money".split(),
    "B I I I O O O B I O O".split()
), (
    "georgia tech is a university in georgia".split(),
    "B I O O O O B".split()
)]

word_to_ix = {}
for sentence, tags in training_data:
    for word in sentence:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)

tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}

model = BiLSTM_CRF(len(word_to_ix), tag_to_ix, EMBEDDING_DIM, HIDDEN_DIM)
# deterministic weights instead of torch's random init (the transitions keep their constraints)
with torch.no_grad():
    for i, (name, p) in enumerate(model.named_parameters()):
        if name == "transitions":
            continue
        idx = torch.arange(p.numel(), dtype=torch.float32)
        p.copy_((torch.sin(idx * (0.7 + 0.11 * i) + i) * 0.4).reshape(p.shape))
print(model)
optimizer = optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4)

# the brute-force check of the forward algorithm on a tiny feature matrix: the log partition
# function equals log-sum-exp over every one of the 3**2 tag paths
feats = torch.tensor([[0.5, -0.2, 0.1, 0.0, 0.0], [0.3, 0.8, -0.4, 0.0, 0.0]])
with torch.no_grad():
    alpha = model._forward_alg(feats)
    paths = torch.cartesian_prod(torch.arange(3), torch.arange(3))
    scores = torch.stack([model._score_sentence(feats, path) for path in paths]).view(-1)
    print("forward algorithm {:.4f}  brute force {:.4f}".format(
        alpha.item(), torch.logsumexp(scores, dim=0).item()))
    best = scores.argmax().item()
    print("best path by enumeration:", paths[best].tolist(),
          "viterbi:", model._viterbi_decode(feats)[1])



# The tutorial's exercise: the forward algorithm and Viterbi without the inner loop over tags,
# broadcasting forward_var (1, prev) against transitions (next, prev) and reducing over prev.
def forward_alg_vectorized(feats, transitions):
    forward_var = torch.full((self_tags,), -10000.)
    forward_var[tag_to_ix[START_TAG]] = 0.
    for feat in feats:
        forward_var = torch.logsumexp(forward_var.unsqueeze(0) + transitions, dim=1) + feat
    return torch.logsumexp(forward_var + transitions[tag_to_ix[STOP_TAG]], dim=0)


def viterbi_vectorized(feats, transitions):
    forward_var = torch.full((self_tags,), -10000.)
    forward_var[tag_to_ix[START_TAG]] = 0.
    backpointers = []
    for feat in feats:
        best, idx = (forward_var.unsqueeze(0) + transitions).max(dim=1)
        backpointers.append(idx)
        forward_var = best + feat
    terminal = forward_var + transitions[tag_to_ix[STOP_TAG]]
    score, best_tag = terminal.max(0)
    path = [best_tag]
    for idx in reversed(backpointers[1:]):
        path.append(idx.gather(0, path[-1].view(1)).squeeze(0))
    return score, torch.stack(path[::-1]).tolist()


self_tags = len(tag_to_ix)
with torch.no_grad():
    sent = prepare_sequence(training_data[1][0], word_to_ix)
    lstm_feats = model._get_lstm_features(sent)
    print("vectorized forward: {:.4f} loop: {:.4f}".format(
        forward_alg_vectorized(lstm_feats, model.transitions).item(),
        model._forward_alg(lstm_feats).item()))
    v_score, v_path = viterbi_vectorized(lstm_feats, model.transitions)
    l_score, l_path = model._viterbi_decode(lstm_feats)
    print("vectorized viterbi: {:.4f} {} loop: {:.4f} {}".format(
        v_score.item(), v_path, l_score.item(), l_path))

# Check predictions before training
with torch.no_grad():
    precheck_sent = prepare_sequence(training_data[0][0], word_to_ix)
    precheck_tags = torch.tensor([tag_to_ix[t] for t in training_data[0][1]], dtype=torch.long)
    score, tag_seq = model(precheck_sent)
    print("before: score {:.4f} tags {}".format(score.item(), tag_seq))

# Make sure prepare_sequence from earlier in the LSTM section is loaded
for epoch in range(30):
    total = 0.0
    for sentence, tags in training_data:
        # Step 1. Remember that Pytorch accumulates gradients.
        # We need to clear them out before each instance
        model.zero_grad()

        # Step 2. Get our inputs ready for the network, that is,
        # turn them into Tensors of word indices.
        sentence_in = prepare_sequence(sentence, word_to_ix)
        targets = torch.tensor([tag_to_ix[t] for t in tags], dtype=torch.long)

        # Step 3. Run our forward pass.
        loss = model.neg_log_likelihood(sentence_in, targets)
        total += loss.item()

        # Step 4. Compute the loss, gradients, and update the parameters by
        # calling optimizer.step()
        loss.backward()
        optimizer.step()
    if epoch % 5 == 4:
        print("epoch {:2d}  nll {:.4f}".format(epoch + 1, total))

# Check predictions after training
with torch.no_grad():
    for sentence, tags in training_data:
        score, tag_seq = model(prepare_sequence(sentence, word_to_ix))
        ix_to_tag = {v: k for k, v in tag_to_ix.items()}
        print("after: score {:.4f} {} (gold {})".format(
            score.item(), " ".join(ix_to_tag[t] for t in tag_seq), " ".join(tags)))
print("transitions (to B/I/O from B/I/O):")
print(model.transitions.data[:3, :3].round(decimals=3))
print("gradient of the last loss wrt transitions is finite:",
      bool(torch.isfinite(model.transitions.grad).all()))
print(autograd.grad(model.neg_log_likelihood(precheck_sent, precheck_tags),
                    model.transitions)[0][:3, :3].abs().sum().round(decimals=3))
