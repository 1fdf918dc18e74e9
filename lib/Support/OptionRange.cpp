// Range checks of integer options (see OptionRange.h).
#include "qnt/Support/OptionRange.h"
#include "llvm/ADT/Twine.h"

using namespace mlir::qnt;

std::string OptionRange::check(llvm::StringRef owner, llvm::StringRef name,
                               int64_t value) const {
  if (contains(value))
    return "";
  std::string text = owner.empty() ? std::string() : (owner + " option ").str();
  text += (name + "=" + llvm::Twine(value)).str();
  std::string range =
      "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (value >= min && value <= max)
    return text + " is not a multiple of " + std::to_string(multipleOf) +
           " in " + range;
  return text + " is out of range " + range;
}
