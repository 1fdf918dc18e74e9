// quant-opt: mlir-opt with the qnt dialect, passes and pipelines registered.
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "qnt/IR/QntDialect.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/Pipelines/Pipelines.h"
#include "qnt/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  // Every upstream dialect a model or a lowering stage can contain (func,
  // linalg, tosa, bufferization, vector, gpu, nvvm, llvm, quant, ...), with
  // their interface extensions, so any intermediate IR parses.
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllPasses();
  // gpu-module-to-binary translates device modules to LLVM IR (then PTX).
  mlir::registerAllGPUToLLVMIRTranslations(registry);
  registry.insert<mlir::qnt::QntDialect>();
  mlir::qnt::registerGpuPipelineTranslations(registry);
  mlir::qnt::registerQntPasses();
  mlir::qnt::registerQntConversionPasses();
  mlir::qnt::registerQntPipelines();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "qnt optimizer driver: quantization passes for MLIR\n",
      registry));
}
