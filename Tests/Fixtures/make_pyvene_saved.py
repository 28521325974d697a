"""Makes Tests/Fixtures/pyvene-saved: folders written by pyvene's IntervenableModel.save, the tiny
GPT-2 they were made for, and pyvene's intervened logits after loading them back.

Run with a Python that has torch, transformers and pyvene 0.1.8 (e.g. /work/venv):

    python make_pyvene_saved.py            (from Tests/Fixtures)

Layout written:
    pyvene-saved/model/             GPT2LMHeadModel (vocabulary 64, 16 positions, width 16, 2 layers),
                                    config.json + model.safetensors, random weights
    pyvene-saved/das/               RotatedSpaceIntervention (layer 0 block_output, its orthogonal
                                    parametrization moved off the identity so matrix_exp matters),
                                    VanillaIntervention (layer 1 mlp_output, interchange_dim 8),
                                    LowRankRotatedSpaceIntervention (layer 1 block_output, rank 4,
                                    Householder parametrization moved off the identity)
    pyvene-saved/autoencoder/       AutoencoderIntervention (layer 1 block_output, latent_dim 24,
                                    latents 3 and 7 interchanged)
    pyvene-saved/expected.json      per folder: base and source token ids, pyvene's unit_locations
                                    JSON, and the logits of pyvene's IntervenableModel.load(folder)
                                    run on them (original and intervened), flattened row-major
Nothing is downloaded; every weight is drawn from fixed seeds.
"""
import json, os, shutil
import torch, transformers
import pyvene as pv

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyvene-saved")
shutil.rmtree(here, ignore_errors=True)
os.makedirs(here)
torch.manual_seed(0)

config = transformers.GPT2Config(vocab_size=64, n_positions=16, n_embd=16, n_layer=2, n_head=2,
                                 attn_implementation="eager")
model = transformers.GPT2LMHeadModel(config).eval()
model.save_pretrained(os.path.join(here, "model"), safe_serialization=True)
for extra in ["generation_config.json"]:
    path = os.path.join(here, "model", extra)
    if os.path.exists(path):
        os.remove(path)

base = torch.tensor([[5, 17, 33, 2, 9, 41], [60, 1, 8, 22, 13, 7]])
source = torch.tensor([[12, 3, 50, 44, 6, 30], [19, 27, 4, 11, 58, 36]])
expected = {}


def perturb(intervention):
    """Moves an orthogonal parametrization's free parameter off its initial value as training
    would: below the diagonal only (the Householder map reads the diagonal as fixed signs, and
    gradients never reach it; the matrix_exp map ignores it)."""
    with torch.no_grad():
        original = intervention.rotate_layer.parametrizations.weight.original
        original.add_(0.3 * torch.randn_like(original).tril(-1))


def rounded(t):
    """Values to 8 significant digits (float32 carries about 7), to keep the file small."""
    return [float("%.8g" % v) for v in t.flatten().tolist()]


def record(name, representations, locations, setup):
    folder = os.path.join(here, name)
    intervenable = pv.IntervenableModel(pv.IntervenableConfig(representations=representations), model)
    setup(intervenable)
    intervenable.save(folder)
    loaded = pv.IntervenableModel.load(folder, model)
    with torch.no_grad():
        original = model(input_ids=base)
        _, intervened = loaded(base={"input_ids": base}, sources=[{"input_ids": source}],
                               unit_locations={"sources->base": locations})
        _, direct = intervenable(base={"input_ids": base}, sources=[{"input_ids": source}],
                                 unit_locations={"sources->base": locations})
    assert torch.allclose(intervened.logits, direct.logits, atol=1e-5), "pyvene's load changed the outputs"
    expected[name] = {
        "base": base.tolist(), "source": source.tolist(),
        "unit_locations": {"sources->base": locations},
        "logits_shape": list(intervened.logits.shape),
        "original_logits": rounded(original.logits),
        "intervened_logits": rounded(intervened.logits),
    }


def das_setup(intervenable):
    keys = list(intervenable.interventions)
    perturb(intervenable.interventions[keys[0]])
    intervenable.interventions[keys[1]].set_interchange_dim(8)
    perturb(intervenable.interventions[keys[2]])


record("das", [
    pv.RepresentationConfig(0, "block_output", "pos", 1, intervention_type=pv.RotatedSpaceIntervention),
    pv.RepresentationConfig(1, "mlp_output", "pos", 1, intervention_type=pv.VanillaIntervention),
    pv.RepresentationConfig(1, "block_output", "pos", 1, low_rank_dimension=4, intervention_type=pv.LowRankRotatedSpaceIntervention),
], ([[[1], [2]], [[3], [3]], [[5], [4]]], [[[2], [1]], [[3], [4]], [[5], [5]]]), das_setup)


def autoencoder_setup(intervenable):
    key = list(intervenable.interventions)[0]
    intervention = intervenable.interventions[key]
    with torch.no_grad():
        intervention.autoencoder.decoder[0].bias.copy_(0.1 * torch.randn(16))
        intervention.autoencoder.encoder[0].bias.copy_(0.1 * torch.randn(24))
    intervention.set_interchange_dim([3, 7])


record("autoencoder", [
    pv.RepresentationConfig(1, "block_output", "pos", 1, latent_dim=24, intervention_type=pv.AutoencoderIntervention),
], ([[[2], [4]]], [[[3], [5]]]), autoencoder_setup)

with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump({"pyvene_version": pv.__version__ if hasattr(pv, "__version__") else "0.1.8",
               "torch_version": torch.__version__, "cases": expected}, f)
