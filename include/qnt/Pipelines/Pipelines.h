// The qnt pass pipelines (qnt-cpu-pipeline, ...).
#ifndef QNT_PIPELINES_PIPELINES_H
#define QNT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::qnt {

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<int64_t> chunk{*this, "chunk",
                                     llvm::cl::desc("Codes unpacked per vector step"),
                                     llvm::cl::init(16)};
  PassOptions::Option<int64_t> rowsPerTile{
      *this, "rows-per-tile", llvm::cl::desc("Rows of x sharing each unpacked chunk"),
      llvm::cl::init(6)};
  PassOptions::Option<int64_t> colsPerTile{
      *this, "cols-per-tile", llvm::cl::desc("Weight rows processed together"),
      llvm::cl::init(4)};
  PassOptions::Option<bool> prefetch{
      *this, "prefetch",
      llvm::cl::desc("Prefetch the next tile's weight rows while a tile runs"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Split the weight rows of each matmul across threads with "
                     "OpenMP (link the result with libomp)"),
      llvm::cl::init(false)};
};

/// Fuses dequantization into matmuls and lowers the module to the LLVM
/// dialect for the host CPU: the two halves below, in order.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);
/// First half: fuse, lower qnt ops to loops on buffers, bufferize the module.
void buildCpuBufferizePipeline(OpPassManager &pm,
                               const CpuPipelineOptions &options);
/// Second half: loops, vectors and memrefs on buffers to the LLVM dialect.
void buildCpuLowerToLLVMPipeline(OpPassManager &pm,
                                 const CpuPipelineOptions &options);

/// Registers qnt-cpu-pipeline with the pass registry.
void registerQntPipelines();

} // namespace mlir::qnt

#endif // QNT_PIPELINES_PIPELINES_H
