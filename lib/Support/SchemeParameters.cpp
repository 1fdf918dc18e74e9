// Messages for invalid scheme options (see SchemeParameters.h).
#include "qnt/Support/SchemeParameters.h"
#include "llvm/ADT/Twine.h"

using namespace mlir::qnt;

std::string mlir::qnt::checkSchemeOptions(llvm::StringRef owner,
                                          const SchemeParameters &p,
                                          const SchemeOptionNames &names) {
  std::optional<SchemeParameter> bad = findInvalidSchemeParameter(p);
  if (!bad)
    return "";
  switch (*bad) {
  case SchemeParameter::Bits:
    return kCodeBitsRange.check(owner, names.bits, *p.bits);
  case SchemeParameter::GroupSize:
    return kGroupSizeRange.check(owner, names.groupSize, *p.groupSize);
  case SchemeParameter::ScaleType:
    break;
  }
  std::string prefix = owner.empty() ? "" : (owner + " option ").str();
  return (prefix + names.scaleType + "=" + *p.scaleType +
          " must be f32, f16 or bf16")
      .str();
}
