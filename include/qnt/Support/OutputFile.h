// Output files written in full or not at all, with every write error
// reported as a message the tool prints as its own. Used by every qnt tool
// for what it writes (libraries, IR, headers, reports, statistics, logits).
// No MLIR.
#ifndef QNT_SUPPORT_OUTPUTFILE_H
#define QNT_SUPPORT_OUTPUTFILE_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/raw_ostream.h"
#include <memory>
#include <string>

namespace mlir::qnt {

/// One output of a tool. A regular file (or one that does not exist yet) is
/// written to a temporary file beside it, `PATH.tmp-XXXXXX`, and renamed onto
/// `PATH` by commit(): a run that fails, or is interrupted by a signal, leaves
/// no half-written output, and an older file at `PATH` stays as it was. `-` is
/// stdout; a path naming something other than a regular file (a device such
/// as /dev/null or /dev/full, a pipe, a symbolic link such as /dev/stdout) is
/// written in place, since renaming onto it would replace it.
///
/// Errors read "cannot write 'PATH': REASON" (the system's reason, e.g. "No
/// space left on device"); write failures are checked at commit(), never left
/// to the stream's destructor (which would abort with "IO failure on output
/// stream").
class OutputFile {
public:
  /// Creates the temporary file (or opens the device, or takes stdout).
  /// Returns null, with `error` set, when that fails: call it before the work
  /// whose result the file will hold, so that an unwritable output is found
  /// first.
  static std::unique_ptr<OutputFile> create(llvm::StringRef path,
                                            std::string &error);
  /// Discards the output unless commit() succeeded.
  ~OutputFile();
  OutputFile(const OutputFile &) = delete;
  OutputFile &operator=(const OutputFile &) = delete;

  /// The stream the output is written to.
  llvm::raw_fd_ostream &os();
  /// A file for a writer that wants a path rather than a stream (the linker,
  /// the machine-code emitter): what it writes there becomes the output at
  /// commit(), instead of what os() received. Empty, with `error` set, when
  /// no temporary file can be created.
  std::string pathForTool(std::string &error);
  /// Flushes and closes the output, checks that every write succeeded, and
  /// renames the temporary file onto the path. Returns "" or the error.
  std::string commit();
  /// The path the output is for, as given.
  llvm::StringRef path() const { return target; }

private:
  OutputFile() = default;
  std::string failure(const llvm::Twine &reason) const;
  void discard();

  std::string target;        // the path given
  std::string temporary;     // beside the target (regular files), or empty
  std::string toolTemporary; // pathForTool's, for devices and stdout
  std::unique_ptr<llvm::raw_fd_ostream> file;
  bool usesStdout = false;
  bool toolWrites = false;
  bool committed = false;
};

/// Writes `path` in full or not at all with `write` (an OutputFile created,
/// written, committed). Returns "" or "cannot write 'PATH': REASON".
std::string
writeOutputFile(llvm::StringRef path,
                llvm::function_ref<void(llvm::raw_ostream &)> write);

} // namespace mlir::qnt

#endif // QNT_SUPPORT_OUTPUTFILE_H
