"""Makes Tests/Fixtures/sae-torch: sparse autoencoders saved as PyTorch checkpoints in the key
layouts `SAECheckpoint` reads, a few damaged ones, and reference latents and reconstructions.

Run with a Python that has torch and pyvene 0.1.8 (e.g. /work/venv):

    python make_sae_checkpoints.py          (from Tests/Fixtures)

Every SAE has d_in = 6 and d_sae = 10; weights come from fixed seeds. expected.json holds the
input x (4, 6) and, per good file, the latents z (4, 10) and reconstruction x̂ (4, 6) computed
here with each source's own semantics:

    saelens_relu.pt       SAELens standard:  z = ReLU((x − b_dec) W_enc + b_enc),  x̂ = z W_dec + b_dec
    saelens_jumprelu.pt   Gemma Scope / SAELens JumpReLU (b_dec not subtracted):
                          pre = x W_enc + b_enc,  z = pre · 1[pre > threshold]
    wrapped.pt            saelens_relu's tensors under {"step": 100, "state_dict": {...}}
    openai_topk.pt        OpenAI's Autoencoder state_dict (TopK k = 3, normalize on):
                          x̃ = (x − μ) / (std + 1e-5) (std with Bessel's correction),
                          z = ReLU(topk₃(encoder.weight (x̃ − pre_bias) + latent_bias)),
                          x̂ = (decoder.weight z + pre_bias) · std + μ
    openai_relu.pt        OpenAI's Autoencoder with activation "ReLU" (no normalization)
    pyvene_autoencoder.pt pyvene's AutoencoderIntervention state_dict (run through pyvene's encode/decode)
    pyvene_jumprelu.pt    pyvene's JumpReLUAutoencoderIntervention state_dict (pyvene's encode/decode)

Damaged: missing_b_dec.pt (no b_dec), misshaped.pt (W_dec (6, 10) instead of (10, 6)),
two.pt (two SAEs in one file: ambiguous),
malicious.pt (a state dict whose pickle calls os.system — must be refused, never run).
"""
import collections, json, os
import torch
import pyvene as pv

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sae-torch")
os.makedirs(here, exist_ok=True)
torch.manual_seed(1)
d, L = 6, 10
x = torch.randn(4, d)
expected = {"x": x.flatten().tolist(), "d_in": d, "d_sae": L}


def save(name, state):
    torch.save(state, os.path.join(here, name))


def rec(name, z, xhat):
    expected[name] = {"latents": z.flatten().tolist(), "reconstruction": xhat.flatten().tolist()}


def saelens_state(jumprelu=False):
    s = collections.OrderedDict()
    s["W_enc"] = torch.randn(d, L) * 0.5
    s["W_dec"] = torch.randn(L, d) * 0.5
    s["b_enc"] = torch.randn(L) * 0.1
    s["b_dec"] = torch.randn(d) * 0.1
    if jumprelu:
        s["threshold"] = torch.rand(L) * 0.3
    return s


relu = saelens_state()
save("saelens_relu.pt", relu)
z = torch.relu((x - relu["b_dec"]) @ relu["W_enc"] + relu["b_enc"])
rec("saelens_relu.pt", z, z @ relu["W_dec"] + relu["b_dec"])
save("wrapped.pt", {"step": 100, "state_dict": relu})
rec("wrapped.pt", z, z @ relu["W_dec"] + relu["b_dec"])

jump = saelens_state(jumprelu=True)
save("saelens_jumprelu.pt", jump)
pre = x @ jump["W_enc"] + jump["b_enc"]
z = pre * (pre > jump["threshold"])
rec("saelens_jumprelu.pt", z, z @ jump["W_dec"] + jump["b_dec"])


def openai_state(activation):
    s = collections.OrderedDict()
    s["pre_bias"] = torch.randn(d) * 0.1
    s["latent_bias"] = torch.randn(L) * 0.1
    s["encoder.weight"] = torch.randn(L, d) * 0.5
    s["decoder.weight"] = torch.randn(d, L) * 0.5
    s["stats_last_nonzero"] = torch.zeros(L, dtype=torch.long)
    s["latents_activation_frequency"] = torch.ones(L)
    s["latents_mean_square"] = torch.zeros(L)
    s["activation"] = activation
    s["activation_state_dict"] = collections.OrderedDict([("k", 3), ("postact_fn", "ReLU")]) if activation == "TopK" else collections.OrderedDict()
    return s


topk = openai_state("TopK")
save("openai_topk.pt", topk)
mu = x.mean(dim=-1, keepdim=True)
std = (x - mu).std(dim=-1, keepdim=True)
xn = (x - mu) / (std + 1e-5)
pre = torch.nn.functional.linear(xn - topk["pre_bias"], topk["encoder.weight"], topk["latent_bias"])
top = torch.topk(pre, k=3, dim=-1)
z = torch.zeros_like(pre).scatter_(-1, top.indices, torch.relu(top.values))
rec("openai_topk.pt", z, (torch.nn.functional.linear(z, topk["decoder.weight"]) + topk["pre_bias"]) * std + mu)

orelu = openai_state("ReLU")
save("openai_relu.pt", orelu)
z = torch.relu(torch.nn.functional.linear(x - orelu["pre_bias"], orelu["encoder.weight"], orelu["latent_bias"]))
rec("openai_relu.pt", z, torch.nn.functional.linear(z, orelu["decoder.weight"]) + orelu["pre_bias"])

auto = pv.AutoencoderIntervention(embed_dim=d, latent_dim=L)
with torch.no_grad():
    auto.autoencoder.decoder[0].bias.copy_(torch.randn(d) * 0.1)
    save("pyvene_autoencoder.pt", auto.state_dict())
    z = auto.autoencoder.encode(x)
    rec("pyvene_autoencoder.pt", z, auto.autoencoder.decode(z))

jr = pv.JumpReLUAutoencoderIntervention(embed_dim=d, low_rank_dimension=L)
with torch.no_grad():
    for name, value in saelens_state(jumprelu=True).items():
        getattr(jr, name).copy_(value)
    save("pyvene_jumprelu.pt", jr.state_dict())
    z = jr.encode(x)
    rec("pyvene_jumprelu.pt", z, jr.decode(z))

missing = saelens_state()
del missing["b_dec"]
save("missing_b_dec.pt", missing)
bad = saelens_state()
bad["W_dec"] = torch.randn(d, L)
save("misshaped.pt", bad)
save("two.pt", {"a": relu, "b": orelu})


class Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/intervene-sae-pickle-ran",))


evil = saelens_state()
evil["payload"] = Payload()
save("malicious.pt", evil)

with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump(expected, f)
