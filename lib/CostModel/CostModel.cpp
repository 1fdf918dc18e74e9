// Bytes and roofline-style time of a quantized linear layer.
#include "qnt/CostModel/CostModel.h"
#include "DefaultTarget.h" // kDefaultTarget: targets/host-x86_64.target
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

using namespace mlir::qnt;

int64_t SchemeCost::bits(int64_t n, int64_t k) const {
  int64_t groups = groupSize > 0 ? n * (k / groupSize) : (scaleBits ? n : 0);
  return n * k * codeBits + groups * (scaleBits + (zeroPoints ? 8 : 0));
}

std::string TargetDescription::parse(const std::string &text,
                                     TargetDescription &out) {
  double rows = 0, cols = 0;
  // Every numeric key: where it goes and how many values it takes.
  struct Key {
    const char *name;
    double *field;
    int count;
  } keys[] = {
      {"memory_bandwidth_gbs", &out.memoryBandwidthGBs, 1},
      {"peak_gflops", &out.peakGflops, 1},
      {"dequant_ns_per_group", &out.dequantNsPerGroup, 1},
      {"overhead_us", &out.overheadUs, 1},
      {"rows_per_tile", &rows, 1},
      {"cols_per_tile", &cols, 1},
      {"tile_ps_per_code", out.tilePsPerCode.data(), 8},
      {"row_ps_per_code", out.rowPsPerCode.data(), 8},
      {"cache_bandwidth_gbs", &out.cacheBandwidthGBs, 1},
      {"cache_bytes", &out.cacheBytes, 1},
      {"overlap_p", &out.overlapP, 1},
  };
  constexpr int numKeys = sizeof(keys) / sizeof(keys[0]);
  bool seen[numKeys] = {};
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto trim = [](std::string s) {
    size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  auto at = [&](const std::string &what) {
    return "line " + std::to_string(number) + ": " + what;
  };
  while (std::getline(in, line)) {
    ++number;
    line = line.substr(0, line.find('#'));
    size_t eq = line.find('=');
    if (trim(line).empty())
      continue;
    if (eq == std::string::npos)
      return at("expected 'key = value'");
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "name") {
      out.name = value;
      continue;
    }
    int i = std::find_if(keys, keys + numKeys,
                         [&](const Key &k) { return key == k.name; }) -
            keys;
    if (i == numKeys)
      return at("unknown key '" + key +
                "' (expected name, memory_bandwidth_gbs, peak_gflops, "
                "dequant_ns_per_group, overhead_us, rows_per_tile, "
                "cols_per_tile, tile_ps_per_code, row_ps_per_code, "
                "cache_bandwidth_gbs, cache_bytes, overlap_p)");
    std::istringstream words(value);
    std::string word;
    int count = 0;
    bool good = true;
    while (words >> word) {
      char *end = nullptr;
      double v = std::strtod(word.c_str(), &end);
      good &= *end == '\0' && v >= 0 && std::isfinite(v);
      if (good && count < keys[i].count)
        keys[i].field[count] = v;
      ++count;
    }
    if (!good || count != keys[i].count)
      return at("'" + key + "' needs " +
                (keys[i].count == 1 ? std::string("a non-negative number")
                                    : std::to_string(keys[i].count) +
                                          " non-negative numbers") +
                ", got '" + value + "'");
    seen[i] = true;
  }
  if (!seen[0] || !seen[1] || out.memoryBandwidthGBs <= 0 ||
      out.peakGflops <= 0)
    return "memory_bandwidth_gbs and peak_gflops must be given and positive";
  // Checked before the conversion, which a huge double would overflow. The
  // kernels' tiles have at most 8 rows and 8 columns.
  if (rows > 64 || cols > 64)
    return "rows_per_tile and cols_per_tile must be at most 64";
  out.rowsPerTile = static_cast<int64_t>(rows);
  out.colsPerTile = static_cast<int64_t>(cols);
  // The kernel model needs all of its parts.
  bool any = false, all = true;
  for (int i = 4; i < 8; ++i) {
    any |= seen[i];
    all &= seen[i];
  }
  if (any && (!all || out.rowsPerTile < 1 || out.colsPerTile < 1 ||
              rows != out.rowsPerTile || cols != out.colsPerTile))
    return "the CPU kernel model needs rows_per_tile and cols_per_tile "
           "(positive integers), tile_ps_per_code and row_ps_per_code";
  return "";
}

std::string TargetDescription::read(llvm::StringRef path,
                                    TargetDescription &out) {
  std::string text = kDefaultTarget;
  if (!path.empty()) {
    auto file = llvm::MemoryBuffer::getFile(path);
    if (!file)
      return "cannot read target '" + path.str() +
             "': " + file.getError().message();
    text = (*file)->getBuffer().str();
  }
  if (std::string error = parse(text, out); !error.empty())
    return "target '" +
           (path.empty() ? std::string("host-x86_64") : path.str()) +
           "': " + error;
  return "";
}

double TargetDescription::predictSeconds(int64_t m, int64_t n, int64_t k,
                                         const SchemeCost &scheme) const {
  double bytes = scheme.bits(n, k) / 8.0;
  double memory = bytes / (memoryBandwidthGBs * 1e9);
  double groups = scheme.groupSize > 0 ? double(n) * (k / scheme.groupSize)
                                       : double(n);
  bool packed = scheme.codeBits <= 8;
  if (!packed || rowsPerTile == 0) {
    // Roofline. Float weights need no unpacking; packed codes are unpacked
    // once per register tile of rows of x (4 unless the target says).
    double compute = 2.0 * m * n * k / (peakGflops * 1e9);
    int64_t r = rowsPerTile > 0 ? rowsPerTile : 4;
    double tiles = std::max<int64_t>(1, (m + r - 1) / r);
    double dequant = packed ? groups * tiles * dequantNsPerGroup * 1e-9 : 0;
    return std::max(memory, compute) + dequant + overheadUs * 1e-6;
  }
  // The CPU kernel: full tiles, then one-row tiles for the rest of M.
  int64_t fullTiles = m / rowsPerTile, oneRowTiles = m % rowsPerTile;
  unsigned b = std::max(1u, scheme.codeBits) - 1;
  double codes = double(n) * k;
  double compute =
      codes * (fullTiles * tilePsPerCode[b] + oneRowTiles * rowPsPerCode[b]) *
          1e-12 +
      groups * (fullTiles + oneRowTiles) * dequantNsPerGroup * 1e-9;
  // Every tile of weight rows reads all of x; from the cache only if x fits.
  double xBytes = 4.0 * m * k;
  if (cacheBandwidthGBs > 0 && xBytes > cacheBytes) {
    double tilesOfN = double((n + colsPerTile - 1) / colsPerTile);
    compute = std::max(compute, tilesOfN * xBytes / (cacheBandwidthGBs * 1e9));
  }
  double time = overlapP > 0 ? std::pow(std::pow(memory, overlapP) +
                                            std::pow(compute, overlapP),
                                        1.0 / overlapP)
                             : std::max(memory, compute);
  return time + overheadUs * 1e-6;
}
