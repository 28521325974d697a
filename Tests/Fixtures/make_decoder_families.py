# Builds tiny random Hugging Face decoders of families/options that have no public golden set and
# writes them in the pyvene-golden/v1 layout (forward cases only) for Intervene's golden runner.
import json, os, sys, torch
from safetensors.torch import save_file
import transformers as T

OUT = sys.argv[1]
torch.manual_seed(0)

def make(name, cls, cfg, family, n_ids=64, seq=8):
    cfg._attn_implementation = "eager"
    torch.manual_seed(abs(hash(name)) % 1000)
    model = cls(cfg).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    g = torch.Generator().manual_seed(7)
    base = torch.randint(0, cfg.vocab_size, (2, seq), generator=g)
    source = torch.randint(0, cfg.vocab_size, (2, seq), generator=g)
    tensors = {"inputs.base_input_ids": base, "inputs.source_input_ids": source}
    with torch.no_grad():
        out = model(base, output_hidden_states=True)
        out_s = model(source)
    tensors["forward_plain.logits"] = out.logits.contiguous()
    tensors["forward_plain.source_logits"] = out_s.logits.contiguous()
    expected = {"logits": {"tensor": "forward_plain.logits", "atol": 1e-4, "rtol": 1e-4},
                "source_logits": {"tensor": "forward_plain.source_logits", "atol": 1e-4, "rtol": 1e-4}}
    for i, h in enumerate(out.hidden_states):
        tensors[f"forward_plain.hidden_states.{i}"] = h.contiguous()
        expected[f"hidden_states.{i}"] = {"tensor": f"forward_plain.hidden_states.{i}", "atol": 1e-4, "rtol": 1e-4}
    save_file(tensors, os.path.join(folder, "golden.safetensors"))
    index = {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape)} for k, v in tensors.items()}
    manifest = {"format": "pyvene-golden/v1", "name": name, "golden_file": "golden.safetensors", "tensor_index": index,
                "model": {"family": family, "hf_class": cls.__name__, "config_file": "config.json", "weights_file": "model.safetensors",
                          "made_by": f"transformers {T.__version__}, torch {torch.__version__}, eager attention, float32"},
                "cases": [{"name": "forward_plain", "kind": "forward", "base": {"input_ids": "inputs.base_input_ids"},
                           "expected": expected}]}
    json.dump(manifest, open(os.path.join(folder, "manifest.json"), "w"), indent=1)
    print(name, "ok")

small = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4)
make("gemma", T.GemmaForCausalLM, T.GemmaConfig(**small, num_key_value_heads=2, head_dim=12, max_position_embeddings=32), "gemma")
make("gemma2-window3", T.Gemma2ForCausalLM, T.Gemma2Config(**small, num_key_value_heads=1, head_dim=8, max_position_embeddings=32,
     query_pre_attn_scalar=16, sliding_window=3, attn_logit_softcapping=5.0, final_logit_softcapping=4.0), "gemma2")
make("olmo-clip", T.OlmoForCausalLM, T.OlmoConfig(**small, num_key_value_heads=4, max_position_embeddings=32, clip_qkv=0.8), "olmo")
make("llama3-rope", T.LlamaForCausalLM, T.LlamaConfig(**small, num_key_value_heads=2, max_position_embeddings=64,
     rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8}), "llama")
make("llama-linear-rope", T.LlamaForCausalLM, T.LlamaConfig(**small, max_position_embeddings=64, rope_scaling={"type": "linear", "factor": 2.0}), "llama")
make("llama-dynamic-rope", T.LlamaForCausalLM, T.LlamaConfig(**small, max_position_embeddings=4, rope_scaling={"rope_type": "dynamic", "factor": 2.0}), "llama")
# Deliberate difference (README): transformers 4.51 eager windows every layer whenever sliding_window is set.
# make("qwen2-window", T.Qwen2ForCausalLM, T.Qwen2Config(**small, num_key_value_heads=2, max_position_embeddings=32,
#      use_sliding_window=True, sliding_window=3, max_window_layers=1), "qwen2")
make("mistral-nowindow", T.MistralForCausalLM, T.MistralConfig(**small, num_key_value_heads=2, max_position_embeddings=32, sliding_window=None), "mistral")
make("neox-sequential", T.GPTNeoXForCausalLM, T.GPTNeoXConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
     num_attention_heads=4, rotary_pct=0.5, use_parallel_residual=False, max_position_embeddings=32,
     rope_scaling={"rope_type": "linear", "factor": 2.0}), "gpt_neox")
make("gpt2-inverse-layer", T.GPT2LMHeadModel, T.GPT2Config(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4,
     scale_attn_by_inverse_layer_idx=True), "gpt2")
make("gpt-neo-local", T.GPTNeoForCausalLM, T.GPTNeoConfig(vocab_size=64, hidden_size=32, num_layers=3, num_heads=4, max_position_embeddings=16,
     attention_types=[[["local", "global", "local"], 1]], window_size=3), "gpt_neo")
