"""Transforms, constraints and unconstrained parametrisations, as in normalizing-flow and
"fit a constrained parameter with gradient descent" tutorials: chains of transforms inside a
``TransformedDistribution``, ``inv``/``log_abs_det_jacobian`` round trips, ``biject_to`` and
``transform_to`` for each common constraint, a logistic-normal on the simplex through
``StickBreakingTransform``, and an LKJ-style correlation Cholesky factor via
``CorrCholeskyTransform``.
"""
import math

import torch
from torch.distributions import (Normal, Uniform, Independent, TransformedDistribution,
                                 Dirichlet, LogNormal, constraints, biject_to, transform_to)
from torch.distributions.transforms import (AffineTransform, SigmoidTransform, ExpTransform,
                                            StickBreakingTransform, CorrCholeskyTransform,
                                            ComposeTransform, PowerTransform, SoftmaxTransform,
                                            TanhTransform, LowerCholeskyTransform,
                                            identity_transform)

torch.manual_seed(0)


def r(x, d=4):
    return [round(v, d) for v in torch.as_tensor(x).detach().reshape(-1).tolist()]


# --- a logit-normal on (2, 5): Normal -> sigmoid -> affine ----------------------------------
base = Normal(torch.tensor(0.0), torch.tensor(1.0))
chain = [SigmoidTransform(), AffineTransform(loc=2.0, scale=3.0)]
bounded = TransformedDistribution(base, chain)
x = torch.tensor([2.1, 3.0, 3.5, 4.9])
print("bounded log_prob", r(bounded.log_prob(x)))
print("support check", bounded.support.check(torch.tensor([1.0, 2.5, 5.5])).tolist())
print("cdf", r(bounded.cdf(x)), "icdf", r(bounded.icdf(torch.tensor([0.1, 0.5, 0.9]))))
s = bounded.sample((1000,))
print("sample shape", tuple(s.shape), "in range", bool(((s > 2) & (s < 5)).all()))
print("rsample mean", round(bounded.rsample((2000,)).mean().item(), 1))

comp = ComposeTransform(chain)
y = comp(torch.tensor([-1.0, 0.0, 2.0]))
print("compose fwd", r(y), "inv", r(comp.inv(y)))
print("compose ladj", r(comp.log_abs_det_jacobian(torch.tensor([-1.0, 0.0, 2.0]), y)))
print("inv.inv is comp", comp.inv.inv is comp, "sign", AffineTransform(0.0, -2.0).sign)
print("domain", comp.domain, "codomain", comp.codomain)
print("bijective", comp.bijective, "event_dim", comp.event_dim)

# a chain with ExpTransform and PowerTransform equals a LogNormal power law
t = TransformedDistribution(Normal(0.5, 0.4), [ExpTransform(), PowerTransform(2.0)])
v = torch.tensor([0.5, 1.0, 3.0])
print("exp^2 vs lognormal", r(t.log_prob(v)), r(LogNormal(1.0, 0.8).log_prob(v)))

# --- biject_to / transform_to for common constraints ----------------------------------------
u = torch.tensor([-1.5, 0.0, 0.7, 2.0])
cons = {
    "real": constraints.real,
    "positive": constraints.positive,
    "greater_than(1)": constraints.greater_than(1.0),
    "less_than(0)": constraints.less_than(0.0),
    "interval(-2,3)": constraints.interval(-2.0, 3.0),
    "unit_interval": constraints.unit_interval,
    "simplex": constraints.simplex,
}
for name, c in cons.items():
    b = biject_to(c)
    z = b(u)
    back = b.inv(z)
    print(f"{name:16s}", r(z), "ok", bool(c.check(z).all()),
          "roundtrip", round((back - u).abs().max().item(), 4) if back.shape == u.shape else None)
print("simplex ladj", r(biject_to(constraints.simplex).log_abs_det_jacobian(u[:3], biject_to(
    constraints.simplex)(u[:3]))))
print("transform_to simplex", type(transform_to(constraints.simplex)).__name__,
      r(transform_to(constraints.simplex)(u)))
sm = SoftmaxTransform()
print("softmax", r(sm(u)), "bijective", sm.bijective)
try:
    biject_to(constraints.integer_interval(0, 3))
except NotImplementedError as e:
    print("no bijection:", type(e).__name__)

# --- logistic-normal on the simplex fitted to Dirichlet samples ----------------------------------
target = Dirichlet(torch.tensor([4.0, 2.0, 1.0]))
data = target.sample((200,))
loc = torch.zeros(2, requires_grad=True)
raw_scale = torch.zeros(2, requires_grad=True)
opt = torch.optim.Adam([loc, raw_scale], lr=0.05)
for step in range(200):
    q = TransformedDistribution(Independent(Normal(loc, raw_scale.exp()), 1),
                                StickBreakingTransform())
    nll = -q.log_prob(data).mean()
    opt.zero_grad()
    nll.backward()
    opt.step()
    if step % 50 == 0:
        print("logistic-normal", step, round(nll.item(), 3))
print("fitted loc", r(loc, 3), "scale", r(raw_scale.exp(), 3))
print("event shape", tuple(q.event_shape), "batch shape", tuple(q.batch_shape))
print("fitted sample mean", r(q.sample((4000,)).mean(0), 1), "target mean", r(target.mean, 2))

# --- correlation Cholesky factors -----------------------------------------------------------
cc = CorrCholeskyTransform()
raw = torch.tensor([0.3, -0.8, 1.2])
L = cc(raw)
print("corr chol", r(L))
print("corr diag", r((L @ L.T).diagonal()), "ok", bool(constraints.corr_cholesky.check(L)))
print("corr inv", r(cc.inv(L)), "ladj", r(cc.log_abs_det_jacobian(raw, L)))
print("biject_to corr_cholesky", type(biject_to(constraints.corr_cholesky)).__name__)
lct = LowerCholeskyTransform()
M = torch.tensor([[0.5, 9.0], [0.2, -0.3]])
print("lower cholesky", r(lct(M)), bool(constraints.lower_cholesky.check(lct(M))))

# --- tanh-squashed Uniform and an identity transform -------------------------------------------
sq = TransformedDistribution(Uniform(-1.0, 1.0), [TanhTransform(cache_size=1)])
z = sq.rsample((5,))
print("tanh squashed finite", bool(torch.isfinite(sq.log_prob(z)).all()))
print("identity", identity_transform(torch.tensor(1.5)).item(), identity_transform.inv is
      identity_transform, identity_transform)
print("repr", AffineTransform(1.0, 2.0), ExpTransform().inv, chain[0])
print("log2pi", round(math.log(2 * math.pi), 4))
