"""Neural-network ops behind ``ember.nn.functional``: the fused linear layer and softmax,
activations, convolution (with its raw-array kernels), unfold/fold, pooling (strided and
adaptive), normalization, the fused classification losses, whole RNN layers and dropout. The top
family: it may use every other one, and nothing in ``_ops`` imports it."""
