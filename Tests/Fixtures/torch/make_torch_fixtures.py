"""Makes the TorchCheckpoint test fixtures (run with a Python that has torch).

Writes small torch.save files plus expected.json holding every tensor's shape and values,
and hand-built malformed archives. Usage: python make_torch_fixtures.py (from this folder).
"""
import collections, io, json, os, pickle, zipfile
import torch

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
expected = {}


def record(name, tensors):
    expected[name] = {k: {"shape": list(t.shape), "values": t.double().flatten().tolist()} for k, t in tensors.items()}


# 1. A state_dict of several dtypes.
state = collections.OrderedDict()
state["weight"] = torch.randn(3, 4)
state["half"] = torch.randn(2, 3).half()
state["bf16"] = torch.randn(5).bfloat16()
state["double"] = torch.randn(2, 2).double()
state["long"] = torch.tensor([-3, 0, 1 << 40])
state["int"] = torch.tensor([[1, -2], [3, 4]], dtype=torch.int32)
state["mask"] = torch.tensor([True, False, True])
state["short"] = torch.tensor([-300, 7], dtype=torch.int16)
state["char"] = torch.tensor([-5, 5], dtype=torch.int8)
state["byte"] = torch.tensor([0, 255], dtype=torch.uint8)
state["scalar"] = torch.tensor(2.5)
torch.save(state, os.path.join(here, "state_dict.pt"))
record("state_dict", state)

# 2. A nested dict with lists, ints, floats, strings, None, bools and a parameter.
nested = {
    "model": {"linear.weight": torch.nn.Parameter(torch.arange(6.0).reshape(2, 3)), "linear.bias": torch.zeros(2)},
    "layers": [torch.ones(2), {"inner": torch.full((1,), 7.0)}],
    "step": 42, "big": -(1 << 40), "lr": 0.125, "name": "adam", "none": None, "flags": (True, False),
}
torch.save(nested, os.path.join(here, "nested.pt"))
record("nested", {"model.linear.weight": nested["model"]["linear.weight"].detach(), "model.linear.bias": nested["model"]["linear.bias"],
                  "layers.0": nested["layers"][0], "layers.1.inner": nested["layers"][1]["inner"]})

# 3. Strided views sharing one storage.
base = torch.arange(24.0).reshape(4, 6)
views = {"base": base, "slice": base[1:3, 2:5], "transposed": base.t(), "every_other": base[:, ::2]}
torch.save(views, os.path.join(here, "views.pt"))
record("views", views)

# 4. A module's state_dict, whose OrderedDict carries a _metadata attribute (set by BUILD).
module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2))
module_state = module.state_dict()
torch.save(module_state, os.path.join(here, "module_state.pt"))
record("module_state", module_state)

with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump(expected, f, indent=0)


def archive(name, pickle_bytes, entries=None, method=zipfile.ZIP_STORED):
    """A torch-style zip (fixed timestamps, so reruns give the same bytes)."""
    with zipfile.ZipFile(os.path.join(here, name), "w", method) as z:
        for entry, data in [("data.pkl", pickle_bytes)] + [("data/" + k, v) for k, v in (entries or {}).items()]:
            z.writestr(zipfile.ZipInfo("archive/" + entry, date_time=(2020, 1, 1, 0, 0, 0)), data, compress_type=method)


# 5. Malformed inputs.
archive("os_system.pt", pickle.dumps(os.system, protocol=2))
archive("eval.pt", pickle.dumps(eval, protocol=4))
archive("unknown_opcode.pt", b"\x80\x02}q\x00I42\n.")  # INT (text) opcode 'I' is not supported


def tensor_pickle(numel, offset, size, stride):
    """A hand-written protocol-2 pickle of one _rebuild_tensor_v2 call on storage '0'."""
    def tup(xs):
        return b"(" + b"".join(b"K" + bytes([x]) for x in xs) + b"t"
    return (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(" +
            b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK" + bytes([numel]) + b"tQ" +
            b"K" + bytes([offset]) + tup(size) + tup(stride) + b"\x89ccollections\nOrderedDict\n)Rt" + b"R.")


floats = b"".join(torch.arange(6.0).numpy().tobytes() for _ in range(1))
archive("good_handmade.pt", tensor_pickle(6, 0, [2, 3], [3, 1]), {"0": floats})
archive("wrong_storage_size.pt", tensor_pickle(8, 0, [2, 3], [3, 1]), {"0": floats})
archive("out_of_bounds.pt", tensor_pickle(6, 1, [2, 3], [3, 1]), {"0": floats})
archive("stride_mismatch.pt", tensor_pickle(6, 0, [2, 3], [3]), {"0": floats})
with open(os.path.join(here, "state_dict.pt"), "rb") as f:
    whole = f.read()
with open(os.path.join(here, "truncated.pt"), "wb") as f:
    f.write(whole[: len(whole) // 2])

# 6. More malformed inputs: a compressed entry, a self-containing list, a stack underflow,
# a negative stride and a storage entry that is missing.
archive("compressed.pt", pickle.dumps({"a": 1}, protocol=2), method=zipfile.ZIP_DEFLATED)
cycle = []
cycle.append(cycle)
archive("cyclic.pt", pickle.dumps(cycle, protocol=2))
archive("underflow.pt", b"\x80\x02a.")
negative = tensor_pickle(6, 0, [2, 3], [3, 1]).replace(b"(K\x03K\x01t\x89", b"(K\x03J\xff\xff\xff\xfft\x89")
archive("negative_stride.pt", negative, {"0": floats})
archive("missing_storage.pt", tensor_pickle(6, 0, [2, 3], [3, 1]))
