"""Makes the tokenizer fixtures in this folder (see README.md).

Run with a Python that has sentencepiece, tokenizers, transformers and protobuf, on a machine with
Debian's `fortunes` package installed:

    python make_tokenizer_fixtures.py [output folder, default: this file's folder]

Everything is trained here from the fortune cookie files; nothing is downloaded.
"""
import hashlib
import json
import os
import sys
import tempfile

import sentencepiece as spm
import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
from transformers import LlamaTokenizerFast

FORTUNES = ["/usr/share/games/fortunes/fortunes.u8", "/usr/share/games/fortunes/literature.u8",
            "/usr/share/games/fortunes/wisdom.u8"]

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3 = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2 = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

# Sentences every tokenizer is checked on: accents, emoji (byte fallback), leading, double and
# trailing spaces, newlines, tabs, digits, CJK, special tokens in the text, empty input.
SENTENCES = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    " leading space",
    "double  spaces  between   words",
    "trailing space ",
    "line one\nline two\n\nline four",
    "café crème brûlée, naïve Zoë",
    "emoji 😀 and 👍🏽 and 👨‍👩‍👧!",
    "digits 1234567890 and 3.14, 1,000,000",
    "中文字符 and 한국어",
    "tabs\tand\r\ncrlf",
    "don't, I'LL, we're, THEY'VE",
    "<s>special</s> tokens in text",
    "",
    "   ",
]

# Extra strings for the pre-tokenizer splits only.
SPLIT_EXTRAS = [
    "x  \n\n  y\t\tz  ", "a1b22c333d4444", "² ½ ٣ ① Ⅻ", "\u000bvt\u0085nel\u00a0nbsp\u3000ideo", "Hello世界 Привет μέρα",
    "rock'n'roll's", "((a+b)*c)^2 <= |x| ~ $5", "...!!!???", "  leading", "trailing  ",
]

# llama.cpp's pre-tokenizer names and the Hugging Face pre-tokenizers that split the same way.
SPLITTERS = {
    "gpt2": lambda: pre_tokenizers.Split(Regex(GPT2), behavior="isolated"),
    "smollm": lambda: pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                               pre_tokenizers.Split(Regex(GPT2), behavior="isolated")]),
    "llama-bpe": lambda: pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated"),
    "qwen2": lambda: pre_tokenizers.Split(Regex(QWEN2), behavior="isolated"),
    "default": lambda: pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"[\p{P}\$\+<=>\^~\|]+"), behavior="isolated"),
        pre_tokenizers.Split(Regex(GPT2), behavior="isolated"),
        pre_tokenizers.Split(Regex(r"\p{N}+"), behavior="isolated"),
        pre_tokenizers.Split(Regex(r"[0-9][0-9][0-9]"), behavior="isolated")]),
}


def corpus():
    texts = []
    for path in FORTUNES:
        with open(path, encoding="utf-8") as f:
            texts += [t.strip() for t in f.read().split("\n%\n") if t.strip()]
    return texts


def train_sentencepiece(texts, folder):
    """A Llama-2-style SentencePiece BPE: byte fallback, identity normalization, dummy prefix."""
    corpus_path = os.path.join(folder, "corpus.txt")
    with open(corpus_path, "w", encoding="utf-8") as f:
        f.write("\n".join(t.replace("\n", " ") for t in texts))
    prefix = os.path.join(folder, "spm")
    spm.SentencePieceTrainer.train(
        input=corpus_path, model_prefix=prefix, model_type="bpe", vocab_size=600, byte_fallback=True,
        character_coverage=1.0, normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=True, split_digits=True, allow_whitespace_only_pieces=True, unk_id=0, bos_id=1,
        eos_id=2, pad_id=-1, num_threads=1, minloglevel=2)
    return prefix + ".model"


def gguf_metadata(model_path):
    """What llama.cpp's converter writes for this model (tokenizer.ggml.*)."""
    sp = spm.SentencePieceProcessor(model_file=model_path)
    types = []
    for i in range(sp.get_piece_size()):
        types.append(2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 5 if sp.is_unused(i) else 6 if sp.is_byte(i) else 1)
    return sp, {"model": "llama", "tokens": [sp.id_to_piece(i) for i in range(sp.get_piece_size())],
                "scores": [sp.get_score(i) for i in range(sp.get_piece_size())], "tokenTypes": types,
                "bosId": 1, "eosId": 2, "unknownId": 0, "addBOS": True, "addEOS": False, "addSpacePrefix": True,
                "source": "spm-gguf-metadata.json"}


def llama_cpp_spm_ids(sp, text):
    """llama.cpp's SPM encoding: BOS, control tokens split out, each text fragment encoded with
    SentencePiece (whose dummy prefix is llama.cpp's space prefix)."""
    ids = [1]
    rest = text
    while rest:
        hits = [(rest.find(t), t) for t in ("<s>", "</s>", "<unk>") if rest.find(t) >= 0]
        if not hits:
            ids += sp.encode(rest)
            break
        at, token = min(hits)
        if at > 0:
            ids += sp.encode(rest[:at])
        ids.append(sp.piece_to_id(token))
        rest = rest[at + len(token):]
    return ids


def save(tokenizer, folder, name, config=None):
    os.makedirs(os.path.join(folder, name), exist_ok=True)
    tokenizer.save(os.path.join(folder, name, "tokenizer.json"), pretty=False)
    if config is not None:
        with open(os.path.join(folder, name, "tokenizer_config.json"), "w") as f:
            json.dump(config, f, indent=1)
            f.write("\n")


def sentencepiece_json(model_path, folder):
    """The same model as Hugging Face tokenizer.json files: legacy (Prepend + Replace normalizer),
    non-legacy (Metaspace, prepend_scheme first) and Gemma-style (Replace only, no Strip)."""
    legacy = LlamaTokenizerFast(vocab_file=model_path, legacy=True, add_prefix_space=True).backend_tokenizer
    save(legacy, folder, "spm-llama-legacy")
    metaspace = LlamaTokenizerFast(vocab_file=model_path, legacy=False, add_prefix_space=True).backend_tokenizer
    config = {"add_bos_token": True, "add_eos_token": True, "bos_token": "<s>", "eos_token": "</s>"}
    save(metaspace, folder, "spm-llama-metaspace", config)
    gemma = Tokenizer.from_str(legacy.to_str())
    gemma.normalizer = normalizers.Replace(" ", "▁")
    gemma.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    save(gemma, folder, "spm-gemma-style")
    with_eos = LlamaTokenizerFast(vocab_file=model_path, legacy=False, add_prefix_space=True, add_eos_token=True)
    return {"spm-llama-legacy": legacy, "spm-llama-metaspace": with_eos.backend_tokenizer, "spm-gemma-style": gemma}


def byte_level_json(texts, folder):
    """A byte-level BPE with Llama 3's pre-tokenizer, ignore_merges and a BOS template, and the
    same vocabulary with Qwen2's pre-tokenizer, an NFC normalizer and no template."""
    bos, eos = "<|begin_of_text|>", "<|end_of_text|>"
    tok = Tokenizer(tokenizers.models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=2, special_tokens=[bos, eos],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=False),
                                              processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, 0)])])
    save(tok, folder, "bpe-llama3")
    qwen = json.loads(tok.to_str())
    qwen["normalizer"] = {"type": "NFC"}
    qwen["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {"Regex": QWEN2}
    qwen["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    qwen["model"]["ignore_merges"] = False
    qwen_tok = Tokenizer.from_str(json.dumps(qwen))
    save(qwen_tok, folder, "bpe-qwen2")
    return {"bpe-llama3": tok, "bpe-qwen2": qwen_tok}


def encode_cases(name, tok, offsets):
    cases = []
    for text in SENTENCES + (["Ｆｕｌｌ ｗｉｄｔｈ e\u0301 Å"] if name == "bpe-qwen2" else []):
        with_special = tok.encode(text)
        plain = tok.encode(text, add_special_tokens=False)
        case = {"tokenizer": name, "text": text, "ids": with_special.ids, "ids_no_special": plain.ids,
                "tokens_no_special": plain.tokens,
                "decode": tok.decode(with_special.ids, skip_special_tokens=True),
                "decode_keep_special": tok.decode(with_special.ids, skip_special_tokens=False)}
        if offsets:
            case["offsets_no_special"] = [list(o) for o in plain.offsets]
        cases.append(case)
    return cases


def split_cases():
    cases = []
    for pre, make in SPLITTERS.items():
        splitter = make()
        for text in SENTENCES + SPLIT_EXTRAS:
            pieces = splitter.pre_tokenize_str(text)
            assert all(text[s:e] == p for p, (s, e) in pieces), (pre, text)
            cases.append({"pre": pre, "text": text, "pieces": [[s, e] for _, (s, e) in pieces]})
    return cases


def compact_json(value):
    """JSON with one line per list element at the top two levels."""
    if isinstance(value, dict):
        items = [json.dumps(k) + ": " + (compact_json(v) if isinstance(v, (dict, list)) else json.dumps(v, ensure_ascii=False))
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n}"
    return "[\n" + ",\n".join(json.dumps(v, ensure_ascii=False) for v in value) + "\n]"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    texts = corpus()
    with tempfile.TemporaryDirectory() as work:
        model_path = train_sentencepiece(texts, work)
        sp, metadata = gguf_metadata(model_path)
        spm_tokenizers = sentencepiece_json(model_path, folder)
    with open(os.path.join(folder, "spm-gguf-metadata.json"), "w") as f:
        json.dump(metadata, f, ensure_ascii=False)
    bpe_tokenizers = byte_level_json(texts, folder)
    cases = []
    for name, tok in spm_tokenizers.items():
        cases += encode_cases(name, tok, offsets=False)
    for name, tok in bpe_tokenizers.items():
        cases += encode_cases(name, tok, offsets=True)
    gguf_cases = []
    for text in SENTENCES:
        ids = llama_cpp_spm_ids(sp, text)
        # SentencePiece's decoding drops control tokens and the dummy prefix of the whole text.
        gguf_cases.append({"text": text, "ids": ids, "sentencepiece_ids": sp.encode(text), "decode": sp.decode(ids)})
    out = {
        "format": "intervene-tokenizer-fixtures/v1",
        "versions": {"sentencepiece": spm.__version__, "tokenizers": tokenizers.__version__,
                     "transformers": transformers.__version__, "python": sys.version.split()[0]},
        "corpus": {os.path.basename(p): sha256(p) for p in FORTUNES},
        "encode": cases, "gguf_spm": gguf_cases, "splits": split_cases(),
    }
    with open(os.path.join(folder, "cases.json"), "w") as f:
        f.write(compact_json(out) + "\n")


if __name__ == "__main__":
    main()
