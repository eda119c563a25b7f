"""Linear algebra as models and scientific code use it: einsum forms, batched matmul,
torch.linalg (solve, inv, det, norms, qr, eigh, svd, cholesky) and their gradients."""
import numpy as np
import torch

rng = np.random.default_rng(2)
A = torch.from_numpy(rng.standard_normal((4, 4)))
B = torch.from_numpy(rng.standard_normal((4, 3)))
batch = torch.from_numpy(rng.standard_normal((2, 3, 4)).astype(np.float32))


def show(name, t, digits=4):
    print(name, tuple(t.shape), t.dtype, t.round(decimals=digits).tolist()
          if t.numel() <= 12 else f"sum={t.sum().item():.{digits}f}")


show("trace", torch.einsum("ii", A))
show("diag", torch.einsum("ii->i", A))
show("transpose", torch.einsum("ij->ji", B))
show("matmul", torch.einsum("ij,jk->ik", A, B))
show("outer", torch.einsum("i,j->ij", A[0], B[:, 0]))
show("batched", torch.einsum("bij,jk->bik", batch, batch[0].T))
show("bilinear", torch.einsum("bn,anm,bm->ba", B[:2], torch.ones(2, 3, 3, dtype=B.dtype),
                              B[1:3]))
show("ellipsis", torch.einsum("...ij->...ji", batch))
show("attention", torch.einsum("bhqd,bhkd->bhqk", batch.view(1, 2, 3, 4), batch.view(1, 2, 3, 4)))
show("bmm", torch.bmm(batch, batch.transpose(1, 2)))
show("matmul-broadcast", torch.matmul(batch, torch.ones(4, dtype=torch.float32)))
show("kron", torch.kron(torch.eye(2), torch.tensor([[1.0, 2.0], [3.0, 4.0]])))
show("tensordot", torch.tensordot(A, B, dims=([1], [0])))
show("outer2", torch.outer(torch.arange(3.0), torch.arange(2.0)))

spd = A @ A.T + 4 * torch.eye(4, dtype=A.dtype)
show("solve", torch.linalg.solve(A, B))
show("inv@A", torch.linalg.inv(A) @ A)
print("det", round(torch.linalg.det(A).item(), 6), round(torch.det(spd).item(), 4))
sign, logabs = torch.linalg.slogdet(A)
print("slogdet", sign.item(), round(logabs.item(), 6))
print("norms", [round(v, 5) for v in (torch.linalg.norm(A).item(),
                                      torch.linalg.norm(A, ord=2).item(),
                                      torch.linalg.norm(A, ord="nuc").item(),
                                      torch.linalg.vector_norm(B, ord=1).item(),
                                      torch.linalg.matrix_norm(A, ord=1).item(),
                                      A.norm(dim=1)[0].item())])
Q, R = torch.linalg.qr(A)
print("qr", torch.allclose(Q @ R, A), torch.allclose(Q.T @ Q, torch.eye(4, dtype=A.dtype)),
      torch.diagonal(R).abs().round(decimals=4).tolist())
L, V = torch.linalg.eigh(spd)
print("eigh", L.round(decimals=4).tolist(), torch.allclose(V @ torch.diag(L) @ V.T, spd))
S = torch.linalg.svdvals(A)
U, S2, Vh = torch.linalg.svd(A, full_matrices=False)
print("svd", S.round(decimals=4).tolist(), torch.allclose(U @ torch.diag(S2) @ Vh, A))
C = torch.linalg.cholesky(spd)
print("cholesky", torch.allclose(C @ C.T, spd), torch.allclose(C, C.tril()))
print("eigvals", torch.linalg.eigvalsh(spd).round(decimals=4).tolist())
print("matrix_power", torch.linalg.matrix_power(torch.tensor([[1.0, 1.0], [0.0, 1.0]]), 5))
print("cross", torch.linalg.cross(torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])))

# gradients through linear algebra
M = A.clone().requires_grad_()
torch.linalg.det(M).backward()
print("d det", torch.allclose(M.grad, torch.linalg.det(A) * torch.linalg.inv(A).T))
M.grad = None
torch.linalg.solve(M, B).sum().backward()
print("d solve", M.grad.shape, round(M.grad.sum().item(), 5))
Mf = batch.clone().requires_grad_()
torch.einsum("bij,bkj->", Mf, Mf).backward()
print("d einsum", Mf.grad.shape, round(Mf.grad.abs().sum().item(), 3))
