"""The weights-only unpickler: a pickle interpreter that runs an allow-list of opcodes.

``pickle.Unpickler`` with a restricted ``find_class`` still lets a file call ``__setstate__`` or
set any attribute on any object it built (BUILD), write items into any object (SETITEM) and
call any allowed class with any arguments. This interpreter, modelled on PyTorch's
``torch._weights_only_unpickler``, reads one opcode at a time and allows only:

- data: ints, floats, strings, bytes, None/True/False, tuples, lists, dicts, sets; the memo;
- GLOBAL/STACK_GLOBAL: PyTorch's default globals (``unpickling.allowed_globals``) and what
  the user added with ``add_safe_globals``; modules ``sys``, ``os``, ``posix``, ``nt`` never;
- REDUCE/NEWOBJ: only on those globals, through validating constructors (no ``bytearray(n)``,
  no ``torch.Tensor(n)``: nothing allocates memory the file does not hold);
- BUILD: only on a Tensor or Parameter (their legacy state), an OrderedDict or Counter (new
  attributes such as a state dict's ``_metadata``), and classes the user allowed;
- APPEND(S) only on lists, SETITEM(S) only on dict/OrderedDict/Counter, ADDITEMS only on sets;
- BINPERSID only for ``('storage', ...)`` ids.

Beyond PyTorch's opcodes, the data-only opcodes of protocols 3-5 (bytes, short strings, FRAME,
MEMOIZE, EMPTY_SET/ADDITEMS, STACK_GLOBAL, NEWOBJ_EX) are read, so files written with a newer
``pickle_protocol`` load too. Dict keys and set elements are checked before they are hashed: a
tuple nested thousands deep (which makes Python's own unpickler, and PyTorch's, crash in
``hash``) or one whose hash would visit exponentially many elements is refused. Every length
read from the file is checked against what the file still holds before anything is allocated.
"""

from __future__ import annotations

import _compat_pickle
import collections
import io
import pickle
import struct
import sys
from pickle import UnpicklingError, decode_long

from .._tensor import Size, Tensor
from . import unpickling as U
from .brief import brief
from .safe_globals import BLOCKED_MODULES, denied_reason, user_table

_LINE_LIMIT = 4096            # bytes in one GLOBAL module or name line
_KEY_SIZE_LIMIT = 10_000      # elements hashed for one dict key or set element
_KEY_DEPTH_LIMIT = 100        # tuple nesting in one dict key or set element
_DICTS = (dict, collections.OrderedDict, collections.Counter)

UNSAFE_MESSAGE = (
    "Re-running `ember.load` with `weights_only` set to `False` will likely succeed, but it can "
    "result in arbitrary code execution. Do it only if you got the file from a trusted source.")

_OPCODE_NAMES: dict = {}


def _opcode_name(op: int) -> str:
    if not _OPCODE_NAMES:
        import pickletools

        _OPCODE_NAMES.update({o.code.encode("latin1")[0]: o.name for o in pickletools.opcodes})
    return _OPCODE_NAMES.get(op, "not a pickle opcode")


def _remaining(file) -> int | None:
    try:
        pos = file.tell()
        end = file.seek(0, io.SEEK_END)
        file.seek(pos)
        return max(end - pos, 0)
    except (OSError, AttributeError, ValueError):
        return None


def weights_only_message(filename: str, core: str) -> str:
    """PyTorch's wording around an interpreter error (``torch.load``'s ``_get_wo_message``)."""
    if "was not an allowed global by default" in core:
        return (f"Weights only load failed for {filename}. This file can still be loaded, to do "
                "so you have two options, do those steps only if you trust the source of the "
                f"checkpoint.\n\t(1) {UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with "
                "`weights_only=True` please check the recommended steps in the following error "
                f"message.\n\tWeightsUnpickler error: {core}")
    return f"Weights only load failed for {filename}. {UNSAFE_MESSAGE}\n\nWeightsUnpickler " \
           f"error: {core}"


def _resolve_global(module: str, name: str) -> tuple:
    """``(module, name)`` as the unpickler resolves it (Python 2 names mapped to Python 3's)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def globals_in_pickle(data: bytes) -> set:
    """Every global a pickle names, read statically: nothing in it is run or built.

    GLOBAL carries its name; STACK_GLOBAL (protocol 4+) takes the two strings pushed before
    it, which may come from the memo. Like PyTorch's ``get_globals_in_pkl``, a name the
    pickle computes some other way is not seen.
    """
    import pickletools

    found, memo, recent = set(), {}, []
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            module, _, name = arg.partition(" ")
            found.add(".".join(_resolve_global(module, name)))
        elif op.name == "STACK_GLOBAL" and len(recent) >= 2 and None not in recent[-2:]:
            found.add(".".join(_resolve_global(*recent[-2:])))
        if op.name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
            memo[len(memo) if op.name == "MEMOIZE" else arg] = recent[-1] if recent else None
            continue
        if op.name in ("GET", "BINGET", "LONG_BINGET"):
            recent.append(memo.get(arg))
        else:
            recent.append(arg if isinstance(arg, str) and "UNICODE" in op.name else None)
        del recent[:-2]
    return found


def unsafe_globals_in_pickle(data: bytes) -> list:
    """The globals of a pickle that a weights-only load would refuse, sorted."""
    allowed = set(U.allowed_globals()) | set(user_table()) | set(U.TORCH_ONLY)
    return sorted(globals_in_pickle(data) - allowed)


class WeightsOnlyUnpickler:
    """Unpickle ``file`` allowing only the opcodes, globals and operations listed above.

    ``persistent_load(pid)`` returns a storage for a ``('storage', ...)`` id (None: persistent
    ids are refused); ``allowed`` replaces the allow-list (``{}``: no globals at all);
    ``limit`` is how many bytes the file holds from here (found by seeking when None).
    """

    def __init__(self, file, persistent_load, filename: str, *, encoding: str = "utf-8",
                 limit: int | None = None, allowed: dict | None = None):
        self._file = file
        self._read = file.read
        self._persistent = persistent_load
        self._filename = filename
        self._encoding = encoding
        self._limit = _remaining(file) if limit is None else limit
        if allowed is None:
            self._table, self._user = U.allowed_globals(), user_table()
        else:
            self._table, self._user = allowed, {}
        self._key_info: dict = {}
        self._setup_rules()
        self._dispatch = self._make_dispatch()

    # -- rules ------------------------------------------------------------------------------
    def _setup_rules(self):
        from ..nn.parameter import Parameter

        od, counter = collections.OrderedDict, collections.Counter
        self._Parameter = Parameter
        calls = {  # id(global) -> what REDUCE calls with the pickle's arguments
            od: lambda *a: self._mapping(od, *a), counter: lambda *a: self._mapping(counter, *a),
            set: self._set, complex: U._complex, bytearray: U._bytearray,
            U._codecs_encode: U._codecs_encode, Tensor: self._tensor_new,
            Parameter: U._new_parameter, Size: U._size, U._device: U._device,
            U._get_layout: U._get_layout, U._rebuild_sparse_tensor: U._rebuild_sparse_tensor,
            U._rebuild_from_type_v2: U._rebuild_from_type_v2,
            U._rebuild_qtensor: U._rebuild_qtensor,
        }
        for fn in U._TENSOR_REBUILDS:
            calls[fn] = fn
        news = {  # id(class) -> what NEWOBJ makes (cls.__new__(cls, *args), as PyTorch)
            od: lambda *a: od(), counter: lambda *a: counter(), set: lambda *a: set(),
            bytearray: lambda *a: bytearray(), complex: U._complex, Tensor: self._tensor_new,
            Parameter: U._new_parameter, Size: U._size,
        }
        builtin = set(map(id, self._table.values()))
        self._calls = {id(k): v for k, v in calls.items() if id(k) in builtin}
        self._news = {id(k): v for k, v in news.items() if id(k) in builtin}
        self._user_types = set()
        for obj in self._user.values():
            if id(obj) in self._calls or denied_reason(obj) is not None:
                continue
            if callable(obj):
                self._calls[id(obj)] = obj
            if isinstance(obj, type):
                self._news[id(obj)] = lambda *a, _cls=obj: _cls.__new__(_cls, *a)
                self._user_types.add(id(obj))

    def _tensor_new(self, *args):
        # Nested data may hold no more items than the pickle has bytes (see _tensor_new).
        budget = self._limit if self._limit is not None else 1 << 24
        return U._tensor_new(*args, max_items=max(budget, 16))

    def _refuse(self, core: str):
        raise UnpicklingError(weights_only_message(self._filename, core))

    # -- reading ----------------------------------------------------------------------------
    def _take(self, n: int) -> bytes:
        if n < 0 or (self._limit is not None and n > self._limit):
            raise EOFError(f"the pickle declares a {n}-byte item but the file holds only "
                           f"{self._limit} bytes from there")
        data = self._read(n)
        if len(data) != n:
            raise EOFError("pickle data was truncated")
        return data

    def _line(self) -> str:
        line = self._file.readline(_LINE_LIMIT)
        if not line.endswith(b"\n"):
            raise EOFError("a GLOBAL name is truncated or longer than 4096 bytes")
        return line[:-1].decode("utf-8")

    def load(self):
        """Read one pickle and return the object it describes."""
        try:
            return self._run()
        except UnpicklingError as err:  # from a validating constructor: same wording
            if str(err).startswith("Weights only load failed"):
                raise
            raise UnpicklingError(weights_only_message(self._filename, str(err))) from None
        finally:
            # The handlers refer to self (a reference cycle): drop what the pickle built, so
            # its tensors are freed with the result, not at the next garbage collection.
            self.memo = self.stack = self.metastack = self._persistent = None
            self._key_info = {}

    def _run(self):
        # The most frequent opcodes of a state dict are handled inline (reads short of the
        # file's end raise IndexError/struct.error/EOFError: the caller reports a corrupt file);
        # the rest go through the dispatch table, whose handlers may switch ``self.stack``.
        read, dispatch, unpack = self._read, self._dispatch, struct.unpack
        limit = self._limit if self._limit is not None else sys.maxsize
        memo = self.memo = {}
        metastack = self.metastack = []
        stack = self.stack = []
        while True:
            key = read(1)
            if not key:
                raise EOFError("pickle data was truncated")
            op = key[0]
            if op == 0x72:    # LONG_BINPUT
                memo[unpack("<I", read(4))[0]] = stack[-1]
            elif op == 0x68:  # BINGET
                stack.append(memo[read(1)[0]])
            elif op == 0x4B:  # BININT1
                stack.append(read(1)[0])
            elif op == 0x58:  # BINUNICODE
                n = unpack("<I", read(4))[0]
                data = read(n) if n <= limit else b""
                if len(data) != n:
                    raise EOFError(f"a {n}-byte string runs past the end of the pickle")
                stack.append(str(data, "utf-8", "surrogatepass"))
            elif op == 0x28:  # MARK
                metastack.append(stack)
                stack = self.stack = []
            elif op == 0x74:  # TUPLE
                items = stack
                stack = self.stack = metastack.pop()
                stack.append(tuple(items))
            elif op == 0x71:  # BINPUT
                memo[read(1)[0]] = stack[-1]
            elif op == 0x29:  # EMPTY_TUPLE
                stack.append(())
            elif op == 0x85:  # TUPLE1
                stack[-1] = (stack[-1],)
            elif op == 0x4D:  # BININT2
                stack.append(unpack("<H", read(2))[0])
            elif op == 0x2E:  # STOP
                return stack.pop()
            else:
                handler = dispatch.get(op)
                if handler is None:
                    self._refuse(f"Unsupported operand {op} ({_opcode_name(op)}): this opcode "
                                 "is not allowed in a weights-only load")
                handler()
                stack = self.stack

    def _pop_mark(self) -> list:
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    # -- dict keys and set elements ---------------------------------------------------------
    def _check_key(self, key):
        if isinstance(key, tuple):
            self._tuple_info(key)

    def _tuple_info(self, t, level: int = 0) -> tuple:
        """(elements hashed, nesting depth) of a tuple, memoized per object, so each tuple of
        the file is measured once however often it is used."""
        info = self._key_info.get(id(t))
        if info is not None and info[0] is t:
            return info[1], info[2]
        size, depth = 1, 1
        for x in t:
            if isinstance(x, tuple):
                if level >= _KEY_DEPTH_LIMIT:
                    self._key_refused(f"more than {_KEY_DEPTH_LIMIT} deep")
                s, d = self._tuple_info(x, level + 1)
                size += s
                depth = max(depth, d + 1)
            else:
                size += 1
            if size > _KEY_SIZE_LIMIT or depth > _KEY_DEPTH_LIMIT:
                self._key_refused(f"{depth} deep with more than {size - 1} elements")
        self._key_info[id(t)] = (t, size, depth)
        return size, depth

    def _key_refused(self, what: str):
        self._refuse(f"a dict key or set element is a tuple nested {what}; hashing it could "
                     "exhaust the stack or run for hours (the limits are "
                     f"{_KEY_DEPTH_LIMIT} levels and {_KEY_SIZE_LIMIT} elements)")

    def _set(self, items=()):
        if type(items) not in (list, tuple, set, dict):
            self._refuse(f"builtins.set({type(items).__name__}): only a list, tuple, set or "
                         "dict of elements is allowed")
        for x in items:
            self._check_key(x)
        return set(items)

    def _mapping(self, cls, items=()):
        if isinstance(items, dict):
            return cls(items)
        if type(items) not in (list, tuple):
            self._refuse(f"{cls.__name__}({type(items).__name__}): only a dict or a list of "
                         "pairs is allowed")
        if cls is collections.Counter:
            for x in items:
                self._check_key(x)
            return cls(items)
        for pair in items:
            if type(pair) not in (list, tuple) or len(pair) != 2:
                self._refuse(f"{cls.__name__}() items must be (key, value) pairs")
            self._check_key(pair[0])
        return cls(items)

    # -- globals ----------------------------------------------------------------------------
    def _find_global(self, module: str, name: str):
        module, name = _resolve_global(module, name)
        full = f"{module}.{name}"
        if module in BLOCKED_MODULES or module.split(".")[0] in BLOCKED_MODULES:
            self._refuse(f"Trying to load unsupported GLOBAL {full} whose module {module} is "
                         "blocked: it can never be allowed with add_safe_globals.")
        obj = self._table.get(full, _MISSING)
        if obj is _MISSING:
            obj = self._user.get(full, _MISSING)
        if obj is not _MISSING:
            return obj
        if full in U.TORCH_ONLY:
            self._refuse(f"GLOBAL {full} is on PyTorch's default list, but ember cannot rebuild "
                         "it (nested, meta and wrapper-subclass tensors, and quantization schemes "
                         "other than per_tensor_affine and per_channel_affine, are not "
                         "supported)")
        shown = full[len("builtins."):] if full.startswith("builtins.") else full
        self._refuse(
            f"Unsupported global: GLOBAL {shown} was not an allowed global by default. Please "
            f"use `ember.serialization.add_safe_globals([{shown}])` or the "
            f"`ember.serialization.safe_globals([{shown}])` context manager to allowlist this "
            "global if you trust this class/function.")

    # -- opcodes ----------------------------------------------------------------------------
    def _make_dispatch(self) -> dict:
        P = pickle
        table = {
            P.PROTO: self._proto, P.FRAME: self._frame, P.GLOBAL: self._global,
            P.STACK_GLOBAL: self._stack_global, P.REDUCE: self._reduce, P.NEWOBJ: self._newobj,
            P.NEWOBJ_EX: self._newobj_ex, P.BUILD: self._build, P.APPEND: self._append,
            P.APPENDS: self._appends, P.SETITEM: self._setitem, P.SETITEMS: self._setitems,
            P.ADDITEMS: self._additems, P.MARK: self._mark, P.TUPLE: self._tuple,
            P.TUPLE1: self._tuple1, P.TUPLE2: self._tuple2, P.TUPLE3: self._tuple3,
            P.NONE: lambda: self.stack.append(None),
            P.NEWFALSE: lambda: self.stack.append(False),
            P.NEWTRUE: lambda: self.stack.append(True),
            P.EMPTY_TUPLE: lambda: self.stack.append(()),
            P.EMPTY_LIST: lambda: self.stack.append([]),
            P.EMPTY_DICT: lambda: self.stack.append({}),
            P.EMPTY_SET: lambda: self.stack.append(set()),
            P.BININT: lambda: self.stack.append(struct.unpack("<i", self._take(4))[0]),
            P.BININT1: lambda: self.stack.append(self._take(1)[0]),
            P.BININT2: lambda: self.stack.append(struct.unpack("<H", self._take(2))[0]),
            P.LONG1: lambda: self.stack.append(decode_long(self._take(self._take(1)[0]))),
            P.BINFLOAT: lambda: self.stack.append(struct.unpack(">d", self._take(8))[0]),
            P.BINUNICODE: lambda: self._unicode("<I", 4),
            P.SHORT_BINUNICODE: lambda: self._unicode("<B", 1),
            P.BINUNICODE8: lambda: self._unicode("<Q", 8),
            P.SHORT_BINSTRING: lambda: self._string("<B", 1),
            P.BINSTRING: lambda: self._string("<i", 4),
            P.SHORT_BINBYTES: lambda: self._bytes("<B", 1, bytes),
            P.BINBYTES: lambda: self._bytes("<I", 4, bytes),
            P.BINBYTES8: lambda: self._bytes("<Q", 8, bytes),
            P.BYTEARRAY8: lambda: self._bytes("<Q", 8, bytearray),
            P.BINPERSID: self._binpersid,
            P.BINGET: lambda: self._get(self._take(1)[0]),
            P.LONG_BINGET: lambda: self._get(struct.unpack("<I", self._take(4))[0]),
            P.BINPUT: lambda: self._put(self._take(1)[0]),
            P.LONG_BINPUT: lambda: self._put(struct.unpack("<I", self._take(4))[0]),
            P.MEMOIZE: lambda: self._put(len(self.memo)),
        }
        return {op[0]: fn for op, fn in table.items()}

    def _proto(self):
        proto = self._take(1)[0]
        if proto > pickle.HIGHEST_PROTOCOL:
            self._refuse(f"unsupported pickle protocol: {proto}")

    def _frame(self):
        self._take(8)  # the frame's length: frames only group opcodes for buffered reading

    def _length(self, fmt: str, n: int) -> int:
        return struct.unpack(fmt, self._take(n))[0]

    def _unicode(self, fmt, n):
        self.stack.append(str(self._take(self._length(fmt, n)), "utf-8", "surrogatepass"))

    def _string(self, fmt, n):
        data = self._take(self._length(fmt, n))
        self.stack.append(data if self._encoding == "bytes" else data.decode(self._encoding))

    def _bytes(self, fmt, n, kind):
        self.stack.append(kind(self._take(self._length(fmt, n))))

    def _get(self, idx):
        self.stack.append(self.memo[idx])  # KeyError: a corrupt file

    def _put(self, idx):
        self.memo[idx] = self.stack[-1]

    def _mark(self):
        self.metastack.append(self.stack)
        self.stack = []

    def _tuple(self):
        items = self._pop_mark()
        self.stack.append(tuple(items))

    def _tuple1(self):
        self.stack[-1] = (self.stack[-1],)

    def _tuple2(self):
        self.stack[-2:] = [(self.stack[-2], self.stack[-1])]

    def _tuple3(self):
        self.stack[-3:] = [(self.stack[-3], self.stack[-2], self.stack[-1])]

    def _global(self):
        module = self._line()
        name = self._line()
        self.stack.append(self._find_global(module, name))

    def _stack_global(self):
        name = self.stack.pop()
        module = self.stack.pop()
        if type(name) is not str or type(module) is not str:
            raise TypeError("STACK_GLOBAL requires str")
        self.stack.append(self._find_global(module, name))

    def _reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        call = self._calls.get(id(func))
        if call is None:
            msg = f"Trying to call reduce for unrecognized function {brief(func)}"
            if hasattr(func, "__self__"):
                msg += f" which belongs to {brief(func.__self__)}"
            self._refuse(msg)
        if type(args) is not tuple:
            raise TypeError(f"REDUCE arguments must be a tuple, got {type(args).__name__}")
        self.stack[-1] = call(*args)

    def _new(self, cls, args, kwargs=None):
        make = self._news.get(id(cls))
        if make is None:
            self._refuse("Can only create new object for nn.Parameter or classes allowlisted "
                         f"via `add_safe_globals` but got {brief(cls)}")
        if type(args) is not tuple or kwargs is not None and type(kwargs) is not dict:
            raise TypeError("NEWOBJ arguments must be a tuple (and keywords a dict)")
        if kwargs:
            if id(cls) not in self._user_types:
                self._refuse(f"NEWOBJ_EX with keyword arguments for {brief(cls)}")
            return cls.__new__(cls, *args, **kwargs)
        return make(*args)

    def _newobj(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        self.stack.append(self._new(cls, args))

    def _newobj_ex(self):
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self.stack.append(self._new(cls, args, kwargs))

    def _build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        kind = type(inst)
        if kind is Tensor or kind is self._Parameter:
            self._tensor_setstate(inst, state)
        elif kind in _DICTS:
            if state is None:
                return
            if type(state) is not dict or not all(
                    type(k) is str and not hasattr(kind, k) for k in state):
                self._refuse(f"BUILD on a {kind.__name__} may only add new attributes (such as "
                             f"a state dict's _metadata), got {brief(state)}")
            inst.__dict__.update(state)
        elif id(kind) in self._user_types:
            _build_allowed(inst, state)
        else:
            self._refuse("Can only build Tensor, Parameter, OrderedDict or types allowlisted "
                         f"via `add_safe_globals`, but got {kind}")

    def _tensor_setstate(self, t, state):
        """BUILD on a Tensor or Parameter: ``Tensor.__setstate__``'s legacy forms only, bounds
        checked like every other view (``(storage, offset, size, stride)``), or
        ``(requires_grad, _, hooks)``, or both (the 5-tuple of old Variables)."""
        if type(state) is not tuple or len(state) not in (3, 4, 5):
            self._refuse(f"BUILD on a tensor needs a legacy tensor state tuple, got "
                           f"{type(state).__name__}")
        if len(state) == 4:
            view = U._rebuild_tensor_v2(*state)
            t._data, t._dtype = view._data, view._dtype
            t._vbox[0] += 1
            return
        if len(state) == 5:
            data = state[0]
            if not isinstance(data, Tensor):
                self._refuse(f"BUILD: a tensor's data must be a tensor, got {type(data).__name__}")
            t._data, t._dtype = data._data, data._dtype
            state = (state[3], state[4], state[2])
        requires_grad, _, hooks = state
        if not isinstance(requires_grad, bool) or hooks:
            self._refuse("BUILD: a tensor's state must be (requires_grad: bool, _, no hooks)")
        t.requires_grad_(requires_grad)

    def _append(self):
        item = self.stack.pop()
        target = self.stack[-1]
        if type(target) is not list:
            self._refuse(f"Can only append to lists, but got {type(target)}")
        target.append(item)

    def _appends(self):
        items = self._pop_mark()
        target = self.stack[-1]
        if type(target) is not list:
            self._refuse(f"Can only extend lists, but got {type(target)}")
        target.extend(items)

    def _dict_target(self, opcode: str):
        target = self.stack[-1]
        if type(target) not in _DICTS:
            self._refuse(f"Can only {opcode} for dict, collections.OrderedDict, "
                         f"collections.Counter, but got {type(target)}")
        return target

    def _setitem(self):
        value = self.stack.pop()
        key = self.stack.pop()
        target = self._dict_target("SETITEM")
        if type(key) is not str:
            self._check_key(key)
        target[key] = value

    def _setitems(self):
        items = self._pop_mark()
        target = self._dict_target("SETITEMS")
        if len(items) % 2:
            raise ValueError("SETITEMS needs key/value pairs")
        for i in range(0, len(items), 2):
            key = items[i]
            if type(key) is not str:
                self._check_key(key)
            target[key] = items[i + 1]

    def _additems(self):
        items = self._pop_mark()
        target = self.stack[-1]
        if type(target) is not set:
            self._refuse(f"Can only ADDITEMS to sets, but got {type(target)}")
        for x in items:
            self._check_key(x)
        target.update(items)

    def _binpersid(self):
        pid = self.stack.pop()
        if type(pid) is not tuple and type(pid) is not int:
            self._refuse(f"persistent_load id must be tuple or int, but got {type(pid)}")
        head = pid[0] if type(pid) is tuple and pid else None
        if isinstance(head, bytes):
            head = head.decode("ascii", "replace")
        if self._persistent is None or type(pid) is tuple and pid and head != "storage":
            self._refuse(f"Only persistent_load of storage is allowed, but got {brief(pid)}")
        if type(pid) is tuple and pid and pid[0] != head:
            pid = (head, *pid[1:])
        self.stack.append(self._persistent(pid))


_MISSING = object()


def _build_allowed(inst, state):
    """BUILD on an instance of a class the user allowed: what ``pickle`` itself does."""
    setstate = getattr(inst, "__setstate__", None)
    if setstate is not None:
        setstate(state)
        return
    slotstate = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slotstate = state
    if state:
        inst.__dict__.update(state)
    if slotstate:
        for k, v in slotstate.items():
            setattr(inst, k, v)


def make_unpickler(file, persistent_load, weights_only: bool, filename: str,
                   encoding: str = "utf-8", limit: int | None = None):
    """The unpickler for a checkpoint's object pickle: restricted unless ``weights_only`` is
    False (then Python's full pickle, for trusted files)."""
    if weights_only:
        return WeightsOnlyUnpickler(file, persistent_load, filename, encoding=encoding,
                                    limit=limit)
    return U.ArchiveUnpickler(file, persistent_load, filename, encoding=encoding)


def load_plain(file, filename: str, limit: int | None = None):
    """One pickle of plain data (no globals, no persistent ids): a legacy file's headers."""
    return WeightsOnlyUnpickler(file, None, filename, limit=limit, allowed={}).load()
