// Calls the compiled @linear through the header quant-compile wrote and checks
// every output against a double-precision reference from the same formula.
// Usage: driver TOLERANCE (absolute, per output).
#include "linear.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  double tolerance = argc > 1 ? atof(argv[1]) : 1e-5;
  float x[2][40];
  for (int m = 0; m < 2; ++m)
    for (int k = 0; k < 40; ++k)
      x[m][k] = (float)((m + 1) * ((k % 9) - 4)) / 16.0f;
  qnt_memref_float_2d in = {&x[0][0], &x[0][0], 0, {2, 40}, {40, 1}};
  qnt_memref_float_2d out;
  _mlir_ciface_linear(&out, &in);
  if (out.sizes[0] != 2 || out.sizes[1] != 24) {
    printf("FAIL: result has shape %ldx%ld\n", (long)out.sizes[0], (long)out.sizes[1]);
    return 1;
  }
  double worst = 0;
  for (int m = 0; m < 2; ++m)
    for (int n = 0; n < 24; ++n) {
      double ref = n / 4.0;
      for (int k = 0; k < 40; ++k)
        ref += (double)x[m][k] * (((n * 7 + k * 3) % 11 - 5) / 8.0);
      double got = out.aligned[out.offset + m * out.strides[0] + n * out.strides[1]];
      double err = fabs(got - ref);
      if (err > worst)
        worst = err;
      if (err > tolerance) {
        printf("FAIL: y[%d][%d] = %g, expected %g\n", m, n, got, ref);
        return 1;
      }
    }
  free(out.allocated);
  printf("PASS max error %.3g\n", worst);
  return 0;
}
