"""The Module system: registration, traversal, modes, dtype moves, state dicts, errors."""

import copy
import pickle

import numpy as np
import pytest

import ember
import ember.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2)
        self.register_buffer("count", ember.zeros(1, dtype=ember.int64))

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_parameter_basics_and_repr(torch):
    p = nn.Parameter(ember.ones(2))
    assert p.requires_grad and isinstance(p, ember.Tensor)
    assert repr(p) == repr(torch.nn.Parameter(torch.ones(2)))
    assert not nn.Parameter(ember.ones(2), requires_grad=False).requires_grad
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad and q is not p
    r = pickle.loads(pickle.dumps(p)) if hasattr(ember, "serialization") else q
    assert isinstance(r, nn.Parameter)


def test_parameter_shares_memory_with_its_tensor():
    t = ember.zeros(3)
    p = nn.Parameter(t)
    with ember.no_grad():
        p.add_(1)
    assert t.tolist() == [1.0, 1.0, 1.0]


def test_registration_and_traversal():
    m = Net()
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight",
                                                    "fc2.bias"]
    assert [n for n, _ in m.named_buffers()] == ["count"]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert len(list(m.parameters(recurse=False))) == 0
    assert m.get_submodule("fc1") is m.fc1
    assert m.get_parameter("fc2.bias") is m.fc2.bias
    assert m.get_buffer("count") is m.count
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        m.get_submodule("nope")
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'missing'"):
        _ = m.missing
    del m.fc2
    assert "fc2" not in dict(m.named_children())


def test_shared_parameters_counted_once(torch):
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, lin)
    assert len(list(m.parameters())) == 2
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in m.named_modules()] == ["", "0"]


def test_assignment_errors_like_torch(torch):
    for lib in (ember, torch):
        m = lib.nn.Linear(2, 3)
        with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' as parameter "
                                            "'weight'"):
            m.weight = lib.ones(3, 2)
        with pytest.raises(KeyError, match="buffer name can"):
            m.register_buffer("a.b", lib.ones(1))
        with pytest.raises(TypeError, match="is not a Module subclass"):
            m.add_module("x", 3)
        with pytest.raises(TypeError, match="torch.nn.Parameter or None"):
            m.register_parameter("w2", lib.ones(1))


def test_assigning_none_and_plain_attributes():
    m = nn.Linear(2, 2)
    m.bias = None
    assert m.bias is None and "bias" in m._parameters
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    m.note = "hello"
    assert m.note == "hello" and "note" in dir(m)
    m.b = nn.Buffer(ember.ones(1), persistent=False)
    assert "b" in dict(m.named_buffers()) and "b" not in m.state_dict()


def test_train_eval_propagates():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout()))
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")


def test_zero_grad_and_requires_grad():
    m = Net()
    m(ember.ones(1, 4)).sum().backward()
    assert m.fc1.weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert m.fc1.weight.grad.abs().sum().item() == 0 if hasattr(ember, "abs") else True
    m.zero_grad()
    assert m.fc1.weight.grad is None
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_double_keeps_parameter_identity_and_int_buffers():
    m = Net()
    w = m.fc1.weight
    m.double()
    assert m.fc1.weight is w and w.dtype == ember.float64
    assert m.count.dtype == ember.int64
    m.to(ember.float32)
    assert w.dtype == ember.float32
    m.half()
    assert w.dtype == ember.float16
    m.float()
    with pytest.raises(TypeError, match="floating point or complex dtypes"):
        m.to(ember.int64)
    assert m.to("cpu") is m and m.cpu() is m


def test_apply_visits_children_first():
    seen = []
    m = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


def test_state_dict_round_trip_and_return_value(torch):
    a, b = Net(), Net()
    result = b.load_state_dict(a.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (_, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())
    sd = a.state_dict()
    assert not sd["fc1.weight"].requires_grad
    assert a.state_dict(keep_vars=True)["fc1.weight"] is a.fc1.weight
    assert list(a.state_dict(prefix="model.")) == ["model.count", "model.fc1.weight",
                                                   "model.fc1.bias", "model.fc2.weight",
                                                   "model.fc2.bias"]


def test_load_copies_into_existing_parameters():
    a, b = Net(), Net()
    w = b.fc1.weight
    b.load_state_dict(a.state_dict())
    assert b.fc1.weight is w
    np.testing.assert_array_equal(w.detach().numpy(), a.fc1.weight.detach().numpy())
    c = Net()
    c.load_state_dict(a.state_dict(), assign=True)
    assert isinstance(c.fc1.weight, nn.Parameter) and c.fc1.weight.requires_grad


def test_load_state_dict_errors_match_torch(torch):
    def attempt(lib):
        m = lib.nn.Linear(2, 3)
        sd = dict(m.state_dict())
        sd["extra"] = lib.ones(1)
        sd["weight"] = lib.ones(4, 4)
        del sd["bias"]
        with pytest.raises(RuntimeError) as info:
            m.load_state_dict(sd)
        return str(info.value)

    assert attempt(ember) == attempt(torch)
    m = nn.Linear(2, 3)
    out = m.load_state_dict({"weight": ember.ones(3, 2), "x": ember.ones(1)}, strict=False)
    assert out.missing_keys == ["bias"] and out.unexpected_keys == ["x"]
    t_out = torch.nn.Linear(2, 3).load_state_dict(
        {"weight": torch.ones(3, 2), "x": torch.ones(1)}, strict=False)
    assert repr(out) == repr(t_out)


def test_module_prefix_hint():
    m = Net()
    wrapped = {"module." + k: v for k, v in m.state_dict().items()}
    with pytest.raises(RuntimeError, match=r"start with 'module\.'.*removeprefix"):
        Net().load_state_dict(wrapped)


def test_load_state_dict_type_error():
    with pytest.raises(TypeError, match="dict-like"):
        Net().load_state_dict([1, 2])


def test_custom_save_and_load_hooks():
    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.value = 0

        def get_extra_state(self):
            return {"value": self.value}

        def set_extra_state(self, state):
            self.value = state["value"]

    a = WithExtra()
    a.value = 7
    sd = a.state_dict()
    assert sd["_extra_state"] == {"value": 7}
    b = WithExtra()
    b.load_state_dict(sd)
    assert b.value == 7


def test_sequential_api(torch):
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(s) == 3 and isinstance(s[0], nn.Linear) and isinstance(s[-1], nn.Linear)
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2
    s.append(nn.Sigmoid())
    s.insert(0, nn.Identity())
    assert [type(x).__name__ for x in s] == ["Identity", "Linear", "ReLU", "Linear", "Sigmoid"]
    s.extend([nn.Tanh()])
    del s[0]
    assert list(s._modules) == [str(i) for i in range(5)]
    from collections import OrderedDict

    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_children()] == ["fc", "act"]
    assert named.fc is named[0]
    with pytest.raises(IndexError):
        s[10]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml.insert(1, nn.Sigmoid())
    assert [type(x).__name__ for x in ml] == ["Linear", "Sigmoid", "ReLU", "Tanh"]
    assert len(ml[1:]) == 3
    md = nn.ModuleDict({"a": nn.ReLU()})
    md["b"] = nn.Tanh()
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    md.pop("a")
    assert list(md) == ["b"]


def test_parameter_list_and_dict():
    pl = nn.ParameterList([ember.ones(2), nn.Parameter(ember.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl)
    pl.append(ember.ones(1))
    assert len(pl) == 3 and len(list(pl.parameters())) == 3
    pd = nn.ParameterDict({"a": ember.ones(2)})
    pd["b"] = nn.Parameter(ember.ones(1))
    assert list(pd.keys()) == ["a", "b"]
    assert [n for n, _ in pd.named_parameters()] == ["a", "b"]


def test_missing_forward_message():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_dir_lists_children_and_parameters():
    d = dir(Net())
    assert "fc1" in d and "count" in d and "forward" in d


def test_deepcopy_of_module_is_independent():
    a = Net()
    b = copy.deepcopy(a)
    assert b.fc1.weight is not a.fc1.weight
    with ember.no_grad():
        b.fc1.weight.mul_(0)
    assert a.fc1.weight.detach().numpy().any()


def test_state_dict_metadata_versions_match_torch(torch):
    # BatchNorm and InstanceNorm carry version 2 in PyTorch's _metadata (num_batches_tracked).
    def build(nn):
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.InstanceNorm2d(2),
                             nn.LayerNorm(2), nn.GroupNorm(1, 2), nn.Linear(2, 2))

    assert dict(build(ember.nn).state_dict()._metadata) == dict(build(torch.nn).state_dict()._metadata)


def _set_submodule_outcomes(lib):
    nn = lib.nn
    net = nn.Sequential(nn.Sequential(nn.Linear(1, 1)), nn.ReLU())
    out = []
    for target, strict in (("", False), ("0.5.x", False), ("1.x", False), ("0.0", False),
                           ("0.new", True), ("0.new", False), ("training", False)):
        try:
            net.set_submodule(target, nn.Tanh(), strict=strict)
            out.append("ok")
        except (ValueError, AttributeError) as e:
            out.append(f"{type(e).__name__}: {e}")
    try:
        net.set_submodule("0.0", 5)
    except ValueError as e:
        out.append(str(e))
    return out, repr(net)


def test_set_submodule_as_torch(torch):
    assert _set_submodule_outcomes(ember) == _set_submodule_outcomes(torch)


def test_to_empty_gives_a_meta_model_real_uninitialised_storage(torch):
    for lib in (ember, torch):
        with lib.device("meta"):
            layer = lib.nn.Linear(2, 3)
        assert layer.to_empty(device="cpu") is layer
        assert layer.weight.device.type == "cpu" and tuple(layer.weight.shape) == (3, 2)
        assert isinstance(layer.weight, lib.nn.Parameter) and layer.weight.requires_grad
        layer.bias.data.fill_(1.0)  # real memory now
        assert layer.bias.tolist() == [1.0, 1.0, 1.0]
    nested = ember.nn.Sequential(ember.nn.Linear(2, 2, device="meta"))
    nested.to_empty(device="cpu", recurse=False)  # only the container's own tensors (none)
    assert nested[0].weight.device.type == "meta"


def test_module_compile_in_place_trains_as_torch(torch):
    def run(lib):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 2))
        assert net.compile() is None
        opt = lib.optim.SGD(net.parameters(), lr=0.1)
        x = lib.ones(3, 4)
        losses = []
        for _ in range(3):
            opt.zero_grad()
            loss = net(x).pow(2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return net, losses

    net, losses = run(ember)
    _, expected = run(torch)
    np.testing.assert_allclose(losses, expected, rtol=1e-6)
    assert type(net) is ember.nn.Sequential and list(net.state_dict()) == [
        "0.weight", "0.bias", "2.weight", "2.bias"]
    assert net._compiled_call_impl._ember_compiler.cache  # the calls went through a capture
