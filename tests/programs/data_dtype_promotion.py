"""Numerics of dtypes (the "Tensor Attributes" notes on type promotion, torch.finfo/iinfo, and
the numerical-accuracy notes): promotion tables built with promote_types/result_type/can_cast,
finfo/iinfo fields used to build safe masks and quantizers, integer wrap-around and the range
checks when a Python number is written into a tensor, rounding modes of division, and the
float bit-level helpers (frexp, ldexp, nextafter, copysign). Errors print as type: message."""
import torch

DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
          torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64]
SHORT = {d: str(d).replace("torch.", "") for d in DTYPES + [torch.complex128]}


def attempt(label, fn):
    try:
        print(label, fn())
    except Exception as e:  # noqa: BLE001 - the tour prints what users see
        print(label, f"{type(e).__name__}: {str(e)[:60]}")  # ember may add a fix


# promotion table: what a binary op between two tensors returns
print("promote".ljust(9), " ".join(SHORT[d][:5].rjust(5) for d in DTYPES))
for a in DTYPES:
    row = [SHORT[torch.promote_types(a, b)][:5].rjust(5) for b in DTYPES]
    print(SHORT[a][:8].ljust(9), " ".join(row))

# scalars and 0-d tensors only take part by category
u8 = torch.tensor([250, 3], dtype=torch.uint8)
i32 = torch.tensor([1, 2], dtype=torch.int32)
h = torch.tensor([1.5, 2.0], dtype=torch.float16)
cases = {
    "u8 + 10": (u8 + 10), "u8 + 10.0": (u8 + 10.0), "u8 + int64 0-d": u8 + torch.tensor(10),
    "u8 + int64 1-d": u8 + torch.tensor([10]), "i32 * 2.5": i32 * 2.5, "i32 / i32": i32 / i32,
    "h + 0-d double": h + torch.tensor(1.0, dtype=torch.float64), "h + 1.5": h + 1.5,
    "bool + bool": torch.tensor([True]) + torch.tensor([True]), "i32 // 2": i32 // 2,
    "u8 - 251": u8 - 251, "i32 ** 2": i32 ** 2, "i32 ** -1.0": i32 ** -1.0,
    "where int/float": torch.where(u8 > 100, u8, 0.5),
}
for name, value in cases.items():
    print(f"{name:16s}", value.dtype, value.tolist())
print(torch.result_type(u8, 5), torch.result_type(u8, torch.tensor(5)), torch.result_type(2, 2.0),
      torch.result_type(torch.tensor(1.0), torch.tensor([1], dtype=torch.int8)),
      torch.result_type(torch.tensor([True]), 5), torch.result_type(3.0, 1j))
print([torch.can_cast(a, b) for a, b in [(torch.float64, torch.float32), (torch.float32,
      torch.int32), (torch.int32, torch.float16), (torch.complex64, torch.float64),
      (torch.bool, torch.uint8), (torch.int8, torch.bool), (torch.int64, torch.uint8)]])
for d in DTYPES[:6]:
    attempt(f"sum({SHORT[d]})", lambda d=d: torch.ones(3, dtype=d).sum().dtype)
attempt("mean(int)", lambda: torch.arange(4).mean())
attempt("in-place int += float", lambda: i32.clone().add_(0.5))
attempt("in-place float += complex", lambda: h.float().add_(1j))
attempt("in-place u8 += int64", lambda: u8.clone().add_(torch.tensor([10, 10])))

# finfo / iinfo: the numbers behind eps-guards, clamps and quantizers
for d in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
    fi = torch.finfo(d)
    print(fi)
    print(" ", fi.bits, fi.eps, fi.max, fi.tiny, fi.resolution, fi.smallest_normal, fi.dtype)
for d in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
    ii = torch.iinfo(d)
    print(ii, ii.bits, ii.min, ii.max)
attempt("iinfo(bool)", lambda: torch.iinfo(torch.bool))
attempt("finfo(int)", lambda: torch.finfo(torch.int32))
print(torch.finfo() == torch.finfo(torch.float32), torch.finfo(torch.complex128).eps,
      torch.finfo(torch.complex64) == torch.finfo(torch.float32),
      torch.finfo(torch.float16) != torch.finfo(torch.bfloat16),
      torch.iinfo(torch.int8) == torch.iinfo(torch.int8))
x = torch.tensor([1e-30, 1e-8, 1.0, 7e4])
print("eps guard", torch.log(x.clamp(min=torch.finfo(x.dtype).eps)).round(decimals=3))
print("half saturates", x.clamp(max=torch.finfo(torch.float16).max).half(), x.half())
scores = torch.tensor([[0.5, 2.0], [1.0, -1.0]])
mask = torch.tensor([[True, False], [False, False]])
print(scores.masked_fill(mask, torch.finfo(scores.dtype).min).softmax(-1))
print(scores.half().masked_fill(mask, torch.finfo(torch.float16).min).float().softmax(-1))
qmin, qmax = torch.iinfo(torch.int8).min, torch.iinfo(torch.int8).max
w = torch.tensor([-1.7, -0.2, 0.0, 0.4, 2.54])
scale = w.abs().max() / qmax
q = torch.clamp(torch.round(w / scale), qmin, qmax).to(torch.int8)
print("int8 quant", q, (q.float() * scale).round(decimals=4), scale.round(decimals=5))

# integer wrap-around and range checks
print(torch.tensor([200], dtype=torch.uint8) + torch.tensor([100], dtype=torch.uint8),
      torch.tensor([127], dtype=torch.int8) + 1, torch.tensor([-128], dtype=torch.int8).abs(),
      torch.tensor([300, -1, 256]).to(torch.uint8), torch.tensor([3.9, -3.9, 255.5]).int(),
      torch.tensor([2 ** 31 - 1], dtype=torch.int32) * 2)
attempt("fill_ uint8 with -1", lambda: torch.zeros(3, dtype=torch.uint8).fill_(-1))
attempt("fill_ int8 with 300", lambda: torch.zeros(3, dtype=torch.int8).fill_(300))
attempt("fill_ int8 with tensor(300)", lambda: torch.zeros(3, dtype=torch.int8).fill_(
    torch.tensor(300)))
attempt("fill_ uint8 with -0.5", lambda: torch.zeros(2, dtype=torch.uint8).fill_(-0.5))
attempt("fill_ float32 with 1e39", lambda: torch.zeros(2).fill_(1e39))
attempt("fill_ half with 1e6", lambda: torch.zeros(2, dtype=torch.float16).fill_(1e6))
attempt("one half with 1e6", lambda: torch.zeros(1, dtype=torch.float16).fill_(1e6))
attempt("masked_fill int8 1000", lambda: torch.zeros(2, dtype=torch.int8).masked_fill(
    torch.tensor([True, False]), 1000))
attempt("masked_fill half -inf", lambda: torch.zeros(2, dtype=torch.float16).masked_fill(
    torch.tensor([True, False]), float("-inf")))


def set_first(t, value):
    t[0] = value
    return t


attempt("setitem uint8 -1", lambda: set_first(torch.zeros(2, dtype=torch.uint8), -1))
attempt("setitem int16 40000", lambda: set_first(torch.zeros(2, dtype=torch.int16), 40000))
attempt("full int8 200", lambda: torch.full((2,), 200, dtype=torch.int8))
attempt("tensor uint8 -1", lambda: torch.tensor([-1], dtype=torch.uint8))
attempt("tensor int8 128", lambda: torch.tensor([128], dtype=torch.int8))

# division and rounding
a, b = torch.tensor([7, -7, 7, -7]), torch.tensor([2, 2, -2, -2])
print(a / b, a // b, torch.div(a, b, rounding_mode="trunc"), torch.div(a, b, rounding_mode="floor"))
print(a % b, torch.fmod(a, b), torch.remainder(a.float(), b.float()), torch.fmod(a.float(), 2.5))
attempt("int // 0", lambda: torch.tensor([1]) // 0)
print(torch.tensor([1.0, -1.0, 0.0]) / 0, torch.tensor([0.5, 1.5, 2.5, -0.5]).round(),
      torch.tensor([1.2345, 123.45]).round(decimals=2), torch.tensor([1250.0]).round(decimals=-2))
print(torch.float_power(torch.tensor([2, 3]), 2), torch.tensor([2, 3]).pow(2).dtype,
      torch.tensor([4.0]).pow(0.5), torch.tensor([-8.0]).pow(1 / 3))

# bits and pieces of floats
mant, expo = torch.frexp(torch.tensor([8.0, 0.3, -5.0, 0.0]))
print(mant, expo, torch.ldexp(mant, expo), torch.ldexp(torch.tensor([1.0]), torch.tensor([-3])))
print(torch.nextafter(torch.tensor([1.0]), torch.tensor([2.0])) - 1,
      torch.nextafter(torch.tensor([0.0], dtype=torch.float64), torch.tensor([1.0],
                                                                         dtype=torch.float64)))
print(torch.copysign(torch.tensor([1.0, -2.0, 3.0]), torch.tensor([-1.0, 1.0, -0.0])),
      torch.signbit(torch.tensor([-0.0, 0.0, -1.0])), torch.tensor([-0.0]) == 0)
print(torch.gcd(torch.tensor([12, -18, 0]), torch.tensor([8, 12, 5])),
      torch.lcm(torch.tensor([4, 6, 0]), torch.tensor([6, -4, 3])),
      torch.bitwise_left_shift(torch.tensor([1, 3]), torch.tensor([2, 1])),
      torch.tensor([16, -16]) >> 2, torch.tensor([5], dtype=torch.uint8) << 7,
      torch.tensor([12]) & 10, torch.tensor([12]) | 3, torch.tensor([12]) ^ 5, ~torch.tensor([0]))
print(torch.tensor([1.0, 2.0]).view(torch.int32), torch.tensor([1.0], dtype=torch.float16).view(
    torch.int16), torch.tensor([0x3F800000], dtype=torch.int32).view(torch.float32))

# default dtype changes what Python floats become
torch.set_default_dtype(torch.float64)
print(torch.tensor([1.5]).dtype, torch.arange(3.0).dtype, (torch.tensor([1]) / 2).dtype,
      torch.tensor(1j).dtype, torch.zeros(1).dtype, torch.get_default_dtype())
torch.set_default_dtype(torch.float32)
print(torch.tensor(1j).dtype, (torch.tensor([3]) * 1.5).dtype, torch.get_default_dtype())
