// Exact multiple-choice knapsack by dynamic programming over the budget.
#include "qnt/CostModel/BitAllocation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

using namespace mlir::qnt;

static std::string format(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string
mlir::qnt::allocate(const std::vector<std::vector<AllocationChoice>> &layers,
                    double budget, Allocation &out, int64_t maxSteps) {
  out = Allocation();
  double minCost = 0;
  bool integral = true;
  std::vector<double> cheapestOf(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].empty())
      return "layer " + std::to_string(i) + " has no candidate scheme";
    double cheapest = std::numeric_limits<double>::infinity();
    for (const AllocationChoice &c : layers[i]) {
      if (!(c.cost >= 0) || !std::isfinite(c.cost) || !(c.error >= 0) ||
          !std::isfinite(c.error))
        return "layer " + std::to_string(i) +
               " has a candidate with a negative or non-finite cost or error";
      cheapest = std::min(cheapest, c.cost);
      integral &= c.cost == std::floor(c.cost);
    }
    cheapestOf[i] = cheapest;
    minCost += cheapest;
  }
  if (!(budget >= minCost))
    return "budget " + format(budget) +
           " cannot be met: the smallest feasible budget is " +
           format(minCost);

  // The DP runs over the budget left after every layer's cheapest choice,
  // so the cheapest assignment is always representable. Cost unit: exact for
  // integer costs within maxSteps, else the spare budget / maxSteps. Extra
  // costs round up, so every DP-feasible assignment is truly feasible.
  double spare = budget - minCost;
  bool exact = integral && spare <= maxSteps;
  double step = exact ? 1.0 : std::max(spare / maxSteps, 1e-300);
  int64_t capacity =
      exact ? static_cast<int64_t>(std::floor(spare)) : maxSteps;
  // Steps a candidate costs above its layer's cheapest; more than the
  // capacity (possibly beyond int64) means it never fits.
  auto unitsOf = [&](size_t layer, double cost) -> int64_t {
    double u = std::ceil((cost - cheapestOf[layer]) / step - 1e-9);
    return u > static_cast<double>(capacity) ? capacity + 1
                                             : static_cast<int64_t>(u);
  };

  const double inf = std::numeric_limits<double>::infinity();
  size_t n = layers.size();
  // best[c]: least error of the layers so far with rounded cost exactly c.
  std::vector<double> best(capacity + 1, inf), next(capacity + 1);
  best[0] = 0;
  // pick[i][c]: the candidate of layer i on the optimal path to cost c.
  std::vector<std::vector<int16_t>> pick(
      n, std::vector<int16_t>(capacity + 1, -1));
  for (size_t i = 0; i < n; ++i) {
    std::fill(next.begin(), next.end(), inf);
    for (size_t j = 0; j < layers[i].size(); ++j) {
      int64_t u = unitsOf(i, layers[i][j].cost);
      double e = layers[i][j].error;
      for (int64_t c = 0; c + u <= capacity; ++c) {
        if (best[c] == inf)
          continue;
        double candidate = best[c] + e;
        if (candidate < next[c + u]) {
          next[c + u] = candidate;
          pick[i][c + u] = static_cast<int16_t>(j);
        }
      }
    }
    best.swap(next);
  }
  int64_t end = -1;
  for (int64_t c = 0; c <= capacity; ++c)
    if (best[c] < inf && (end < 0 || best[c] < best[end]))
      end = c;
  if (end < 0)
    return "budget " + format(budget) +
           " cannot be met after rounding costs to steps of " + format(step) +
           "; the smallest feasible budget is " + format(minCost);

  out.choice.assign(n, 0);
  for (size_t i = n; i-- > 0;) {
    int j = pick[i][end];
    out.choice[i] = j;
    end -= unitsOf(i, layers[i][j].cost);
  }
  for (size_t i = 0; i < n; ++i) {
    out.totalCost += layers[i][out.choice[i]].cost;
    out.totalError += layers[i][out.choice[i]].error;
  }
  out.costStep = exact ? 0 : step;
  return "";
}

std::vector<Allocation> mlir::qnt::paretoFrontier(
    const std::vector<std::vector<AllocationChoice>> &layers, int points,
    int64_t maxSteps) {
  double lo = 0, hi = 0;
  for (const auto &layer : layers) {
    double cheapest = std::numeric_limits<double>::infinity(), dearest = 0;
    for (const AllocationChoice &c : layer) {
      cheapest = std::min(cheapest, c.cost);
      dearest = std::max(dearest, c.cost);
    }
    lo += cheapest;
    hi += dearest;
  }
  std::vector<Allocation> frontier;
  for (int p = 0; p < points; ++p) {
    double budget = points == 1 ? hi : lo + (hi - lo) * p / (points - 1);
    Allocation a;
    if (!allocate(layers, budget, a, maxSteps).empty())
      continue;
    if (!frontier.empty() && frontier.back().choice == a.choice)
      continue;
    frontier.push_back(a);
  }
  return frontier;
}
