// Bytes and roofline-style time of a quantized linear layer.
#include "qnt/Support/CostModel.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

using namespace mlir::qnt;

int64_t SchemeCost::bits(int64_t n, int64_t k) const {
  int64_t groups = groupSize > 0 ? n * (k / groupSize) : (scaleBits ? n : 0);
  return n * k * codeBits + groups * (scaleBits + (zeroPoints ? 8 : 0));
}

std::string TargetDescription::parse(const std::string &text,
                                     TargetDescription &out) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  bool seen[4] = {false, false, false, false};
  while (std::getline(in, line)) {
    ++number;
    line = line.substr(0, line.find('#'));
    size_t eq = line.find('=');
    auto trim = [](std::string s) {
      size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    if (trim(line).empty())
      continue;
    if (eq == std::string::npos)
      return "line " + std::to_string(number) + ": expected 'key = value'";
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "name") {
      out.name = value;
      continue;
    }
    char *end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || !(v >= 0))
      return "line " + std::to_string(number) + ": '" + key + "' needs a " +
             "non-negative number, got '" + value + "'";
    const char *keys[4] = {"memory_bandwidth_gbs", "peak_gflops",
                           "dequant_ns_per_group", "overhead_us"};
    double *fields[4] = {&out.memoryBandwidthGBs, &out.peakGflops,
                         &out.dequantNsPerGroup, &out.overheadUs};
    int i = std::find_if(keys, keys + 4, [&](const char *k) { return key == k; }) - keys;
    if (i == 4)
      return "line " + std::to_string(number) + ": unknown key '" + key +
             "' (expected name, memory_bandwidth_gbs, peak_gflops, "
             "dequant_ns_per_group, overhead_us)";
    *fields[i] = v;
    seen[i] = true;
  }
  if (!seen[0] || !seen[1] || out.memoryBandwidthGBs <= 0 ||
      out.peakGflops <= 0)
    return "memory_bandwidth_gbs and peak_gflops must be given and positive";
  return "";
}

double TargetDescription::predictSeconds(int64_t m, int64_t n, int64_t k,
                                         const SchemeCost &scheme) const {
  double bytes = scheme.bits(n, k) / 8.0;
  double memory = bytes / (memoryBandwidthGBs * 1e9);
  double compute = 2.0 * m * n * k / (peakGflops * 1e9);
  double groups = scheme.groupSize > 0 ? double(n) * (k / scheme.groupSize)
                                       : double(n);
  // Float weights need no unpacking; packed codes are unpacked once per
  // register tile of 4 rows of x (the CPU kernel's default).
  double tiles = std::max<int64_t>(1, (m + 3) / 4);
  double dequant =
      scheme.codeBits >= 32 ? 0 : groups * tiles * dequantNsPerGroup * 1e-9;
  return std::max(memory, compute) + dequant + overheadUs * 1e-6;
}
