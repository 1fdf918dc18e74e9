// read_bandwidth: this machine's streaming-read bandwidth on 1, 2, ... threads
// (bandwidth.h, the measurement of the kernel benchmark), for the
// whole-model benchmark's roofline (bench/e2e.sh).
//
//   read_bandwidth [--threads 1,2] [--mib 1024] [--reps 3]
//
// Prints one line per thread count: "threads=N read_GBps=X streams=S".
#include "bandwidth.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  std::vector<int> threads = {1, 2};
  size_t mib = 1024;
  int reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--threads") {
      threads.clear();
      for (char *t = std::strtok(argv[i + 1], ","); t; t = std::strtok(nullptr, ","))
        threads.push_back(std::atoi(t));
    } else if (flag == "--mib") {
      mib = std::strtoul(argv[i + 1], nullptr, 10);
    } else if (flag == "--reps") {
      reps = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "read_bandwidth: unknown option %s\n", argv[i]);
      return 1;
    }
  }
  size_t bytes = mib << 20;
  char *buf = static_cast<char *>(std::aligned_alloc(4096, bytes));
  if (!buf || threads.empty() || reps < 1) {
    std::fprintf(stderr, "read_bandwidth: bad options or no memory\n");
    return 1;
  }
  std::memset(buf, 1, bytes);
  for (int t : threads) {
    int streams = 1;
    double gbs = measureBandwidth(buf, bytes, t, reps, streams);
    std::printf("threads=%d read_GBps=%.1f streams=%d\n", t, gbs, streams);
  }
  std::free(buf);
  return 0;
}
