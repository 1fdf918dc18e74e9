// Tests of the bit-allocation solver against brute force.
#include "qnt/CostModel/BitAllocation.h"

#include <gtest/gtest.h>

#include <random>

using namespace mlir::qnt;

namespace {

/// Least error over all assignments with cost <= budget (or -1 if none).
double bruteForce(const std::vector<std::vector<AllocationChoice>> &layers,
                  double budget) {
  double best = -1;
  std::vector<size_t> idx(layers.size(), 0);
  while (true) {
    double cost = 0, error = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
      cost += layers[i][idx[i]].cost;
      error += layers[i][idx[i]].error;
    }
    if (cost <= budget && (best < 0 || error < best))
      best = error;
    size_t i = 0;
    while (i < layers.size() && ++idx[i] == layers[i].size())
      idx[i++] = 0;
    if (i == layers.size())
      return best;
  }
}

TEST(BitAllocation, MatchesBruteForceOnRandomIntegerInstances) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> nLayers(1, 6), nChoices(1, 4),
      cost(1, 40);
  std::uniform_real_distribution<double> error(0.0, 10.0);
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<std::vector<AllocationChoice>> layers(nLayers(rng));
    double minCost = 0, maxCost = 0;
    for (auto &layer : layers) {
      layer.resize(nChoices(rng));
      double lo = 1e9, hi = 0;
      for (AllocationChoice &c : layer) {
        c.cost = cost(rng);
        c.error = error(rng);
        lo = std::min(lo, c.cost);
        hi = std::max(hi, c.cost);
      }
      minCost += lo;
      maxCost += hi;
    }
    std::uniform_real_distribution<double> budgetDist(minCost, maxCost + 5);
    double budget = std::floor(budgetDist(rng));
    Allocation a;
    ASSERT_EQ(allocate(layers, budget, a), "") << "trial " << trial;
    EXPECT_EQ(a.costStep, 0);
    EXPECT_LE(a.totalCost, budget);
    EXPECT_DOUBLE_EQ(a.totalError, bruteForce(layers, budget))
        << "trial " << trial;
  }
}

TEST(BitAllocation, RealCostsAreFeasibleAndWithinTheStatedLoss) {
  std::mt19937 rng(99);
  std::uniform_real_distribution<double> cost(0.5, 30.0), error(0.0, 5.0);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::vector<AllocationChoice>> layers(5);
    double minCost = 0;
    for (auto &layer : layers) {
      layer.resize(4);
      double lo = 1e9;
      for (AllocationChoice &c : layer) {
        c.cost = cost(rng);
        c.error = error(rng);
        lo = std::min(lo, c.cost);
      }
      minCost += lo;
    }
    double budget = minCost + 20.0;
    Allocation a;
    ASSERT_EQ(allocate(layers, budget, a, /*maxSteps=*/1000), "");
    EXPECT_LE(a.totalCost, budget + 1e-9);
    EXPECT_GT(a.costStep, 0);
    // No worse than the optimum for the budget reduced by the stated loss.
    double reduced = budget - layers.size() * a.costStep;
    double lower = bruteForce(layers, reduced);
    if (lower >= 0)
      EXPECT_LE(a.totalError, lower + 1e-12);
    // And never better than the true optimum.
    EXPECT_GE(a.totalError, bruteForce(layers, budget) - 1e-12);
  }
}

TEST(BitAllocation, InfeasibleBudgetNamesTheSmallestFeasible) {
  std::vector<std::vector<AllocationChoice>> layers = {
      {{4, 1.0}, {8, 0.5}}, {{2, 3.0}, {16, 0.0}}, {{3.5, 2.0}}};
  Allocation a;
  EXPECT_EQ(allocate(layers, 9.0, a),
            "budget 9 cannot be met: the smallest feasible budget is 9.5");
  EXPECT_EQ(allocate(layers, 9.5, a), "");
  EXPECT_EQ(a.choice, (std::vector<int>{0, 0, 0}));
}

TEST(BitAllocation, RejectsBadInput) {
  Allocation a;
  EXPECT_EQ(allocate({{{1, 1}}, {}}, 10, a),
            "layer 1 has no candidate scheme");
  EXPECT_EQ(allocate({{{-1, 1}}}, 10, a),
            "layer 0 has a candidate with a negative or non-finite cost or "
            "error");
}

TEST(BitAllocation, ParetoFrontierIsMonotone) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> cost(1, 20), error(0, 4);
  std::vector<std::vector<AllocationChoice>> layers(8);
  for (auto &layer : layers) {
    layer.resize(4);
    for (AllocationChoice &c : layer)
      c = {std::round(cost(rng)), error(rng)};
  }
  std::vector<Allocation> frontier = paretoFrontier(layers, 30);
  ASSERT_GE(frontier.size(), 2u);
  for (size_t i = 1; i < frontier.size(); ++i)
    EXPECT_LE(frontier[i].totalError, frontier[i - 1].totalError + 1e-12);
}

} // namespace
