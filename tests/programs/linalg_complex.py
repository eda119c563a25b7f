"""torch.linalg and complex numbers (the "Complex Numbers" tutorial and the linalg docs):
solve / lstsq / eigh / eigvalsh / svd / svdvals / qr / cholesky / norms / matrix_rank / pinv /
matrix_exp / cross, complex construction, abs / angle / conj / real / imag / view_as_real /
polar, complex autograd, and gradients through the decompositions."""
import math

import numpy as np
import torch

rng = np.random.default_rng(3)


def r(t, digits=4):
    t = t.detach()
    if t.is_complex():
        t = torch.view_as_real(t.resolve_conj())
    return [round(v, digits) + 0.0 for v in t.flatten().tolist()]  # + 0.0: no "-0.0"


A = torch.from_numpy(rng.standard_normal((3, 3)))
b = torch.from_numpy(rng.standard_normal((3, 2)))
spd = A @ A.mT + 3 * torch.eye(3, dtype=torch.float64)

# complex numbers
x = torch.randn(2, 2, dtype=torch.cfloat) * 0  # dtype only; values from NumPy below
z = torch.from_numpy(rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2)))
print(x.dtype, z.dtype, z.real.dtype, z.is_complex(), torch.is_complex(z), z.abs().dtype)
print(torch.complex(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])))
print(torch.tensor([1 + 1j, 2]), torch.tensor(3 + 4j).abs(), torch.tensor([1j]).angle())
print(torch.polar(torch.tensor([2.0]), torch.tensor([math.pi / 2])).real.abs() < 1e-6)
zr = torch.view_as_real(z)
print(zr.shape, zr.dtype, torch.view_as_complex(zr).dtype, r(zr))
print(r(z.conj()), r(z.conj().resolve_conj()), r(torch.conj_physical(z)))
print(r(z.real), r(z.imag), r(z.angle()), r(torch.abs(z)))
print(r(z @ z.mH), r(torch.matmul(z, z)), r(z.exp()), r(z.sqrt()), r(torch.sgn(z)))
print(r(z.sum()), r(z.mean()), r(z.prod()), r(torch.linalg.norm(z)), r(z.pow(2)))
z2 = z.clone()
z2.real.mul_(2)
z2.imag[0, 0] = 5
print(r(z2))
cf = z.to(torch.complex64)
print(cf.dtype, torch.view_as_real(cf).dtype, (cf * 2.0).dtype, (cf + torch.ones(2)).dtype)
print(torch.promote_types(torch.float64, torch.complex64), (torch.ones(1) * 1j).dtype)

# complex autograd: gradient of a real loss w.r.t. a complex leaf
w = z.clone().requires_grad_()
loss = (w * w.conj()).real.sum() + w.abs().sum()
loss.backward()
print(r(w.grad))
w.grad = None
(torch.view_as_real(w) ** 2).sum().backward()
print(r(w.grad), w.grad.dtype)
w.grad = None
w.angle().sum().backward()
print(r(w.grad))

# linalg
print(r(torch.linalg.solve(A, b)), r(torch.linalg.inv(A) @ A, 6))
sol = torch.linalg.lstsq(A, b)
print(type(sol).__name__, r(sol.solution))
L, V = torch.linalg.eigh(spd)
print(r(L), r(torch.linalg.eigvalsh(spd)), r((V @ torch.diag(L) @ V.mT - spd).abs().max(), 8))
U, S, Vh = torch.linalg.svd(A, full_matrices=False)
print(r(S), r(torch.linalg.svdvals(A)), r((U @ torch.diag(S) @ Vh - A).abs().max(), 8))
res = torch.linalg.svd(A)
print(type(res).__name__, res.U.shape, res.S.shape, res.Vh.shape)
Q, R = torch.linalg.qr(A)
print(r((Q @ R - A).abs().max(), 8), r(torch.diagonal(R).abs()),
      torch.linalg.qr(A, mode="r")[0].numel())
C = torch.linalg.cholesky(spd)
print(r(C), r(torch.cholesky_solve(b, C)))
print(r(torch.linalg.norm(A)), r(torch.linalg.norm(A, ord="nuc")), r(torch.linalg.norm(A, 2)))
print(r(torch.linalg.norm(A, dim=1)), r(torch.linalg.vector_norm(A, ord=1)),
      r(torch.linalg.matrix_norm(A, ord=-2)), r(torch.linalg.norm(A[0], ord=float("inf"))))
print(torch.linalg.matrix_rank(A).item(), torch.linalg.matrix_rank(torch.ones(3, 3)).item())
print(r(torch.linalg.pinv(b)), r(torch.linalg.det(spd)), r(torch.linalg.slogdet(A).logabsdet))
print(r(torch.linalg.matrix_exp(A / 4)), r(torch.linalg.matrix_power(A, 3)))
print(r(torch.linalg.cross(A[0], A[1])), r(torch.linalg.multi_dot([A, A, b])),
      r(torch.linalg.cond(spd)))
print(r(torch.linalg.solve_triangular(C, b, upper=False)), r(torch.linalg.vecdot(A, A)))
print(r(torch.linalg.householder_product(*torch.geqrf(A))), r(torch.linalg.diagonal(A)))
LU, piv = torch.linalg.lu_factor(A)
print(r(torch.linalg.lu_solve(LU, piv, b)), piv.dtype)
P, Lm, Um = torch.linalg.lu(A)
print(r((P @ Lm @ Um - A).abs().max(), 8))
batch = torch.stack([spd, 2 * spd])
print(torch.linalg.inv(batch).shape, r(torch.linalg.det(batch)),
      torch.linalg.eigh(batch).eigenvalues.shape)
Zm = z @ z.mH + torch.eye(2, dtype=z.dtype)
Lz, Vz = torch.linalg.eigh(Zm)
print(Lz.dtype, r(Lz), r(torch.linalg.svdvals(z)), r(torch.linalg.solve(Zm, z)))

# gradients through decompositions
Ag = A.clone().requires_grad_()
spd_g = Ag @ Ag.mT + 3 * torch.eye(3, dtype=torch.float64)
loss = (torch.linalg.eigvalsh(spd_g).sum() + torch.linalg.svdvals(Ag).sum()
        + torch.linalg.solve(spd_g, b).pow(2).sum() + torch.logdet(spd_g)
        + torch.linalg.norm(Ag, "fro") + torch.linalg.cholesky(spd_g).diagonal().sum())
loss.backward()
print(f"{loss.item():.6f}", r(Ag.grad))
print(torch.autograd.gradcheck(lambda m: torch.linalg.cond(m) + torch.linalg.inv(m).sum(),
                               (A.clone().requires_grad_(),)))
print(torch.autograd.gradcheck(lambda m: torch.linalg.eigh(m @ m.mT).eigenvalues,
                               (A.clone().requires_grad_(),)))

for bad in (lambda: torch.linalg.solve(A, torch.ones(4, 1, dtype=torch.float64)),
            lambda: torch.linalg.cholesky(-spd),
            lambda: torch.linalg.inv(torch.zeros(2, 2)),
            lambda: torch.linalg.eigh(torch.ones(2, 3)),
            lambda: torch.linalg.solve(A, b.float()),
            lambda: torch.view_as_complex(torch.ones(3)),
            lambda: torch.complex(torch.ones(2), torch.ones(2, dtype=torch.float64))):
    try:
        bad()
        print("no error")
    except Exception as e:  # noqa: BLE001
        print(type(e).__name__ + ":", str(e).splitlines()[0][:60])
