// Reader of Hugging Face checkpoints: config.json plus safetensors files.
#include "qnt/Import/HuggingFace.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::qnt;

namespace json = llvm::json;

namespace {
/// Largest JSON text read: config.json files are a few kB, and the
/// safetensors format caps its header at 100 MB.
constexpr uint64_t kConfigLimit = 16ull << 20;
constexpr uint64_t kHeaderLimit = 100000000;

std::string str(int64_t v) { return std::to_string(v); }

/// Bytes of one element of a safetensors dtype, or 0 for an unknown name.
int64_t dtypeBytes(llvm::StringRef dtype) {
  return llvm::StringSwitch<int64_t>(dtype)
      .Cases({"F64", "I64", "U64"}, 8)
      .Cases({"F32", "I32", "U32"}, 4)
      .Cases({"F16", "BF16", "I16", "U16"}, 2)
      .Cases({"I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2"}, 1)
      .Default(0);
}

std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + str(shape[i]);
  return s + "]";
}

/// An integer field of a JSON object: std::nullopt with `error` set when it
/// is not an integer; `fallback` when absent (if given).
std::optional<int64_t> intField(const json::Object &o, llvm::StringRef key,
                                std::optional<int64_t> fallback,
                                std::string &error) {
  const json::Value *v = o.get(key);
  if (!v || v->kind() == json::Value::Null) {
    if (!fallback)
      error = "'" + key.str() + "' is missing";
    return fallback;
  }
  // Doubles beyond 2^53 are not integers we can trust (and converting
  // 2^63 to int64 would overflow).
  std::optional<double> number = v->getAsNumber();
  std::optional<int64_t> i;
  if (number && std::fabs(*number) <= 9007199254740992.0)
    i = v->getAsInteger();
  else if (number && v->getAsInteger())
    i = v->getAsInteger(); // an int64 stored exactly
  if (!i)
    error = "'" + key.str() + "' must be an integer";
  return i;
}
} // namespace

std::string mlir::qnt::checkJsonDepth(llvm::StringRef json, int limit) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit)
        return "JSON nested deeper than " + str(limit) + " levels";
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return "";
}

/// Parses `text` as a JSON object into `value`; "" or what is wrong.
static std::string parseObject(llvm::StringRef text, json::Value &value) {
  if (std::string e = checkJsonDepth(text); !e.empty())
    return e;
  llvm::Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return "not valid JSON: " + llvm::toString(parsed.takeError());
  if (!parsed->getAsObject())
    return "the JSON text is not an object";
  value = std::move(*parsed);
  return "";
}

std::string
mlir::qnt::parseSafetensors(llvm::StringRef file,
                            llvm::StringMap<SafetensorsTensor> &tensors) {
  uint64_t size = file.size();
  if (size < 8)
    return "truncated: the file has " + str(size) +
           " bytes, a safetensors file starts with an 8-byte header length";
  uint64_t headerBytes;
  std::memcpy(&headerBytes, file.data(), 8); // little-endian hosts only
  if (headerBytes > kHeaderLimit)
    return "header length " + std::to_string(headerBytes) +
           " is larger than the format's limit of 100000000 bytes";
  if (headerBytes > size - 8)
    return "header length " + std::to_string(headerBytes) +
           " runs past the end of the file (" + str(size) + " bytes)";
  json::Value root(nullptr);
  if (std::string e = parseObject(file.substr(8, headerBytes), root);
      !e.empty())
    return "header: " + e;
  uint64_t dataStart = 8 + headerBytes, dataSize = size - dataStart;
  for (const auto &[key, value] : *root.getAsObject()) {
    llvm::StringRef name = key;
    if (name == "__metadata__")
      continue;
    std::string where = "tensor '" + name.str() + "'";
    const json::Object *entry = value.getAsObject();
    if (!entry)
      return where + " is not an object";
    std::optional<llvm::StringRef> dtype = entry->getString("dtype");
    if (!dtype)
      return where + ": 'dtype' is missing or not a string";
    int64_t elementBytes = dtypeBytes(*dtype);
    if (!elementBytes)
      return where + ": unknown dtype '" + dtype->str() + "'";
    const json::Array *shape = entry->getArray("shape");
    if (!shape)
      return where + ": 'shape' is missing or not an array";
    if (shape->size() > 8)
      return where + ": rank " + str(shape->size()) + " is larger than 8";
    SafetensorsTensor t;
    t.dtype = dtype->str();
    // Each dimension is at most 2^40 and the running product stays below
    // 2^62 bytes, so nothing overflows.
    uint64_t bytes = elementBytes;
    for (const json::Value &d : *shape) {
      std::optional<int64_t> n = d.getAsInteger();
      if (!n || *n < 0 || *n > (int64_t(1) << 40))
        return where + ": shape " + llvm::formatv("{0}", d).str() +
               " is not a dimension (an integer from 0 to 2^40)";
      t.shape.push_back(*n);
      if (*n && bytes > (uint64_t(1) << 62) / static_cast<uint64_t>(*n))
        return where + ": shape " + shapeString(t.shape) + "... is too large";
      bytes *= *n;
    }
    const json::Array *offsets = entry->getArray("data_offsets");
    if (!offsets || offsets->size() != 2)
      return where + ": 'data_offsets' is missing or not two integers";
    std::optional<int64_t> begin = (*offsets)[0].getAsInteger(),
                           end = (*offsets)[1].getAsInteger();
    if (!begin || !end || *begin < 0 || *end < *begin)
      return where + ": 'data_offsets' is not two ascending non-negative "
                     "integers";
    if (static_cast<uint64_t>(*end) > dataSize)
      return where + ": data_offsets [" + str(*begin) + ", " + str(*end) +
             "] run past the end of the data (" + std::to_string(dataSize) +
             " bytes)";
    if (static_cast<uint64_t>(*end - *begin) != bytes)
      return where + ": data_offsets [" + str(*begin) + ", " + str(*end) +
             "] hold " + str(*end - *begin) + " bytes, but shape " +
             shapeString(t.shape) + " of " + t.dtype + " needs " +
             std::to_string(bytes);
    if ((dataStart + *begin) % elementBytes != 0)
      return where + ": data at byte " + std::to_string(dataStart + *begin) +
             " of the file is not aligned to its " + str(elementBytes) +
             "-byte elements";
    t.bytes = file.substr(dataStart + *begin, bytes);
    tensors[name] = std::move(t);
  }
  return "";
}

std::string mlir::qnt::parseHfConfig(llvm::StringRef text,
                                     TransformerConfig &c,
                                     HfModelInfo &info) {
  if (text.size() > kConfigLimit)
    return str(text.size()) + " bytes is larger than 16 MiB";
  json::Value root(nullptr);
  if (std::string e = parseObject(text, root); !e.empty())
    return e;
  const json::Object &o = *root.getAsObject();

  // The architecture: "architectures": ["LlamaForCausalLM"], else
  // "model_type".
  static const char *const kArchitectures[] = {
      "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"};
  std::string arch;
  if (const json::Array *archs = o.getArray("architectures")) {
    if (archs->empty() || !(*archs)[0].getAsString())
      return "'architectures' is not a list of names";
    arch = (*archs)[0].getAsString()->str();
  } else if (std::optional<llvm::StringRef> type = o.getString("model_type")) {
    arch = llvm::StringSwitch<std::string>(*type)
               .Case("llama", "LlamaForCausalLM")
               .Case("mistral", "MistralForCausalLM")
               .Case("qwen2", "Qwen2ForCausalLM")
               .Default("");
    if (arch.empty())
      return "model_type '" + type->str() +
             "' is not supported; supported: llama, mistral, qwen2";
  } else {
    return "neither 'architectures' nor 'model_type' is given";
  }
  if (!llvm::is_contained(kArchitectures, arch))
    return "architecture '" + arch +
           "' is not supported; supported: LlamaForCausalLM, "
           "MistralForCausalLM, Qwen2ForCausalLM";
  info.architecture = arch;
  bool qwen = arch == "Qwen2ForCausalLM";

  // Integer fields with their limits (those of the llama2.c reader: every
  // size product stays far below 2^63).
  std::string error;
  auto field = [&](llvm::StringRef key, std::optional<int64_t> fallback,
                   int64_t limit, int64_t &out) {
    if (!error.empty())
      return;
    std::optional<int64_t> v = intField(o, key, fallback, error);
    if (!v)
      return;
    if (*v <= 0)
      error = "'" + key.str() + "' = " + str(*v) + " must be positive";
    else if (*v > limit)
      error = "'" + key.str() + "' = " + str(*v) + " is larger than " +
              str(limit);
    out = *v;
  };
  field("hidden_size", std::nullopt, 1 << 16, c.dim);
  field("intermediate_size", std::nullopt, 1 << 18, c.hiddenDim);
  field("num_hidden_layers", std::nullopt, 1 << 10, c.layers);
  field("num_attention_heads", std::nullopt, 1 << 10, c.heads);
  field("num_key_value_heads", c.heads ? c.heads : 1, 1 << 10, c.kvHeads);
  field("vocab_size", std::nullopt, 1 << 22, c.vocab);
  // HF's default context when the field is absent (LlamaConfig).
  field("max_position_embeddings", 2048, int64_t(1) << 30, c.seqLen);
  if (!error.empty())
    return error;
  if (c.heads % c.kvHeads != 0)
    return "'num_key_value_heads' = " + str(c.kvHeads) +
           " does not divide 'num_attention_heads' = " + str(c.heads);
  if (o.get("head_dim") && o.get("head_dim")->kind() != json::Value::Null) {
    field("head_dim", std::nullopt, 1 << 12, c.headDim);
    if (!error.empty())
      return error;
  } else if (c.dim % c.heads != 0) {
    return "'num_attention_heads' = " + str(c.heads) +
           " does not divide 'hidden_size' = " + str(c.dim) +
           " (and no 'head_dim' is given)";
  }
  if (c.headSize() % 2 != 0)
    return "head size " + str(c.headSize()) +
           " is odd; rotary embedding rotates pairs";
  if (c.qDim() > (1 << 18))
    return "num_attention_heads x head_dim = " + str(c.qDim()) +
           " is larger than 262144";
  // Mistral's sliding window: the cache holds the window, which makes every
  // position attend exactly to what the model was trained to see.
  bool slidingUsed = !qwen || o.getBoolean("use_sliding_window").value_or(false);
  if (const json::Value *w = o.get("sliding_window");
      w && w->kind() != json::Value::Null && slidingUsed) {
    int64_t window = 0;
    field("sliding_window", std::nullopt, int64_t(1) << 30, window);
    if (!error.empty())
      return error;
    c.seqLen = std::min(c.seqLen, window);
  }
  c.seqLen = std::min<int64_t>(c.seqLen, 1 << 20);

  auto number = [&](llvm::StringRef key, double fallback, double &out) {
    const json::Value *v = o.get(key);
    if (!v || v->kind() == json::Value::Null) {
      out = fallback;
      return true;
    }
    std::optional<double> d = v->getAsNumber();
    if (!d)
      return false;
    out = *d;
    return true;
  };
  double eps, theta;
  if (!number("rms_norm_eps", 1e-6, eps) || !(eps > 0 && eps < 1))
    return "'rms_norm_eps' must be a number in (0, 1)";
  if (!number("rope_theta", 10000.0, theta) || !(theta > 1 && theta < 1e12))
    return "'rope_theta' must be a number in (1, 1e12)";
  c.normEps = static_cast<float>(eps);
  c.ropeTheta = static_cast<float>(theta);
  c.rope = RopeStyle::rotateHalf;

  if (const json::Value *s = o.get("rope_scaling");
      s && s->kind() != json::Value::Null)
    return "'rope_scaling' is not supported (only plain RoPE)";
  if (std::optional<llvm::StringRef> act = o.getString("hidden_act");
      act && *act != "silu")
    return "'hidden_act' = '" + act->str() + "' is not supported (only silu)";
  if (o.getBoolean("mlp_bias").value_or(false))
    return "'mlp_bias' = true is not supported";
  if (o.getBoolean("attention_bias").value_or(false))
    return "'attention_bias' = true is not supported (output projection "
           "biases)";
  info.tiedEmbeddings = o.getBoolean("tie_word_embeddings").value_or(false);
  info.qkvBiases = qwen;
  return "";
}

std::string mlir::qnt::bindHfTensors(
    const llvm::StringMap<SafetensorsTensor> &tensors,
    const llvm::StringMap<std::string> &fileOf, const TransformerConfig &c,
    const HfModelInfo &info, TransformerWeights &w) {
  std::string error;
  auto get = [&](const std::string &name,
                 llvm::ArrayRef<int64_t> shape) -> WeightTensor {
    if (!error.empty())
      return {};
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      error = "tensor '" + name + "' is missing";
      return {};
    }
    const SafetensorsTensor &t = it->second;
    std::string file = fileOf.lookup(name);
    std::string where = (file.empty() ? "" : file + ": ") + "tensor '" +
                        name + "'";
    std::optional<ElementKind> kind =
        llvm::StringSwitch<std::optional<ElementKind>>(t.dtype)
            .Case("F32", ElementKind::f32)
            .Case("F16", ElementKind::f16)
            .Case("BF16", ElementKind::bf16)
            .Default(std::nullopt);
    if (!kind) {
      error = where + " has dtype " + t.dtype + "; supported: F32, F16, BF16";
      return {};
    }
    if (llvm::ArrayRef<int64_t>(t.shape) != shape) {
      error = where + " has shape " + shapeString(t.shape) + ", expected " +
              shapeString(shape);
      return {};
    }
    return WeightTensor(t.bytes.data(), *kind);
  };
  int64_t d = c.dim, h = c.hiddenDim, qd = c.qDim(), kvd = c.kvDim();
  w.tokenEmbedding = get("model.embed_tokens.weight", {c.vocab, d});
  w.classifier = info.tiedEmbeddings ? w.tokenEmbedding
                                     : get("lm_head.weight", {c.vocab, d});
  for (int64_t l = 0; l < c.layers; ++l) {
    std::string p = "model.layers." + str(l) + ".";
    w.rmsAttention.push_back(get(p + "input_layernorm.weight", {d}));
    w.wq.push_back(get(p + "self_attn.q_proj.weight", {qd, d}));
    w.wk.push_back(get(p + "self_attn.k_proj.weight", {kvd, d}));
    w.wv.push_back(get(p + "self_attn.v_proj.weight", {kvd, d}));
    if (info.qkvBiases) {
      w.bq.push_back(get(p + "self_attn.q_proj.bias", {qd}));
      w.bk.push_back(get(p + "self_attn.k_proj.bias", {kvd}));
      w.bv.push_back(get(p + "self_attn.v_proj.bias", {kvd}));
    }
    w.wo.push_back(get(p + "self_attn.o_proj.weight", {d, qd}));
    w.rmsFfn.push_back(get(p + "post_attention_layernorm.weight", {d}));
    w.w1.push_back(get(p + "mlp.gate_proj.weight", {h, d}));
    w.w2.push_back(get(p + "mlp.down_proj.weight", {d, h}));
    w.w3.push_back(get(p + "mlp.up_proj.weight", {h, d}));
  }
  w.rmsFinal = get("model.norm.weight", {d});
  return error;
}

/// A file name from the shard index: a plain name inside the directory.
static bool isPlainFileName(llvm::StringRef name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of("/\\") == llvm::StringRef::npos &&
         name.find('\0') == llvm::StringRef::npos;
}

std::string mlir::qnt::readHuggingFace(llvm::StringRef path,
                                       CheckpointData &data,
                                       TransformerConfig &config,
                                       TransformerWeights &weights) {
  if (!llvm::sys::fs::is_directory(path))
    return "not a directory (a Hugging Face checkpoint is a directory with "
           "config.json and safetensors files)";
  auto inDir = [&](llvm::StringRef name) {
    llvm::SmallString<256> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  };
  std::string error;
  llvm::MemoryBuffer *configFile = data.map(inDir("config.json"), error);
  if (!configFile)
    return "config.json: " + error;
  HfModelInfo info;
  if (std::string e = parseHfConfig(configFile->getBuffer(), config, info);
      !e.empty())
    return "config.json: " + e;

  // The shards: from the index, else the one model.safetensors.
  std::vector<std::string> shards;
  llvm::StringMap<std::string> expectedFile; // tensor -> shard (index)
  std::string index = inDir("model.safetensors.index.json");
  if (llvm::sys::fs::exists(index)) {
    llvm::MemoryBuffer *indexFile = data.map(index, error);
    if (!indexFile)
      return "model.safetensors.index.json: " + error;
    if (indexFile->getBufferSize() > kConfigLimit)
      return "model.safetensors.index.json: " +
             str(indexFile->getBufferSize()) + " bytes is larger than 16 MiB";
    json::Value root(nullptr);
    if (std::string e = parseObject(indexFile->getBuffer(), root); !e.empty())
      return "model.safetensors.index.json: " + e;
    const json::Object *map = root.getAsObject()->getObject("weight_map");
    if (!map)
      return "model.safetensors.index.json: 'weight_map' is missing or not "
             "an object";
    llvm::StringSet<> seen;
    for (const auto &[tensor, file] : *map) {
      std::optional<llvm::StringRef> name = file.getAsString();
      if (!name || !isPlainFileName(*name))
        return "model.safetensors.index.json: the file of tensor '" +
               tensor.str() +
               "' is not a file name in the checkpoint's directory";
      expectedFile[tensor.str()] = name->str();
      if (seen.insert(*name).second)
        shards.push_back(name->str());
    }
    if (shards.size() > 4096)
      return "model.safetensors.index.json: " + str(shards.size()) +
             " shards is more than 4096";
  } else {
    shards.push_back("model.safetensors");
  }

  llvm::StringMap<SafetensorsTensor> tensors;
  llvm::StringMap<std::string> fileOf;
  for (const std::string &shard : shards) {
    llvm::MemoryBuffer *file = data.map(inDir(shard), error);
    if (!file)
      return shard + ": " + error;
    llvm::StringMap<SafetensorsTensor> shardTensors;
    if (std::string e = parseSafetensors(file->getBuffer(), shardTensors);
        !e.empty())
      return shard + ": " + e;
    for (auto &[name, t] : shardTensors) {
      if (!expectedFile.empty() && expectedFile.lookup(name) != shard)
        continue; // the index says it lives elsewhere
      fileOf[name] = shard;
      tensors[name] = t;
    }
  }
  for (const auto &[name, shard] : expectedFile)
    if (!fileOf.count(name))
      return shard + ": tensor '" + name.str() +
             "' is not in the file, but model.safetensors.index.json puts it "
             "there";
  return bindHfTensors(tensors, fileOf, config, info, weights);
}
