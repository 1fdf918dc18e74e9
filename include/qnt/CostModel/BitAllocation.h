// Exact choice of one scheme per layer under a budget (multiple-choice
// knapsack), by dynamic programming over a discretised budget. No MLIR.
#ifndef QNT_COSTMODEL_BITALLOCATION_H
#define QNT_COSTMODEL_BITALLOCATION_H

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::qnt {

/// One candidate scheme for one layer: what it costs (bytes, bits or
/// predicted seconds; any non-negative unit shared by all layers) and how much
/// the model suffers (sensitivity, >= 0).
struct AllocationChoice {
  double cost = 0;
  double error = 0;
};

struct Allocation {
  /// Index of the chosen candidate for every layer.
  std::vector<int> choice;
  double totalCost = 0;
  double totalError = 0;
  /// Each layer's cost above its cheapest candidate is rounded up to a
  /// multiple of this step (0 when the search was exact on integer costs).
  /// The result's true cost never exceeds the budget, and its error is at
  /// most the optimum for the budget `budget - layers * costStep` (the stated
  /// discretisation loss).
  double costStep = 0;
};

/// Minimises the total error subject to total cost <= budget, choosing one
/// candidate per layer. `maxSteps` bounds the size of the DP table (budget
/// steps above the cheapest assignment); integer costs whose spare budget is
/// at most maxSteps are solved exactly. Returns "" on success, or a message; an infeasible budget reports
/// the smallest feasible one.
std::string allocate(const std::vector<std::vector<AllocationChoice>> &layers,
                     double budget, Allocation &out,
                     int64_t maxSteps = 1 << 16);

/// The Pareto frontier of (total cost, total error): for `points` budgets
/// evenly spaced between the cheapest and the most expensive assignment, the
/// optimal allocation. Consecutive duplicates are dropped.
std::vector<Allocation>
paretoFrontier(const std::vector<std::vector<AllocationChoice>> &layers,
               int points, int64_t maxSteps = 1 << 14);

} // namespace mlir::qnt

#endif // QNT_COSTMODEL_BITALLOCATION_H
