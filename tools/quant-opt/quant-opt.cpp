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
#include "qnt/Support/OutputFile.h"
#include "qnt/Target/HostCodegen.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

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
  mlir::qnt::registerSetTargetPass();
  auto [input, output] = mlir::registerAndParseCLIOptions(
      argc, argv, "qnt optimizer driver: quantization passes for MLIR\n",
      registry);
  // MLIR's driver writes a temporary file that becomes the output (-o, else
  // stdout) only when the run succeeded and every byte was written: write
  // errors are reported, never left to abort the process.
  std::string error;
  std::unique_ptr<mlir::qnt::OutputFile> out =
      mlir::qnt::OutputFile::create(output, error);
  std::string path = out ? out->pathForTool(error) : "";
  if (path.empty()) {
    llvm::errs() << "quant-opt: error: " << error << "\n";
    return 1;
  }
  if (mlir::failed(mlir::MlirOptMain(argc, argv, input, path, registry)))
    return 1;
  if (std::string e = out->commit(); !e.empty()) {
    llvm::errs() << "quant-opt: error: " << e << "\n";
    return 1;
  }
  return 0;
}
