// Output files written in full or not at all (see OutputFile.h).
#include "qnt/Support/OutputFile.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"

using namespace mlir::qnt;
using llvm::SmallString;
using llvm::StringRef;
using llvm::Twine;
namespace fs = llvm::sys::fs;

std::string OutputFile::failure(const Twine &reason) const {
  if (usesStdout)
    return ("cannot write to stdout: " + reason).str();
  return ("cannot write '" + target + "': " + reason).str();
}

std::unique_ptr<OutputFile> OutputFile::create(StringRef path,
                                               std::string &error) {
  std::unique_ptr<OutputFile> out(new OutputFile());
  out->target = path.str();
  if (path == "-") {
    out->usesStdout = true;
    return out;
  }
  // A symbolic link (/dev/stdout, a link to a file elsewhere) is written
  // through, in place: renaming onto it would replace the link.
  fs::file_status status, link;
  bool isLink = !fs::status(path, link, /*Follow=*/false) &&
                link.type() == fs::file_type::symlink_file;
  if (!fs::status(path, status) && fs::exists(status) &&
      (isLink || status.type() != fs::file_type::regular_file)) {
    if (status.type() == fs::file_type::directory_file) {
      error = out->failure("it is a directory");
      return nullptr;
    }
    // A device, a pipe or a link: written in place.
    std::error_code ec;
    out->file = std::make_unique<llvm::raw_fd_ostream>(path, ec, fs::OF_None);
    if (ec) {
      error = out->failure(ec.message());
      out->file.reset();
      return nullptr;
    }
    return out;
  }
  int fd;
  SmallString<256> temporaryPath;
  if (std::error_code ec =
          fs::createUniqueFile(path + ".tmp-%%%%%%", fd, temporaryPath)) {
    error = out->failure(ec.message());
    return nullptr;
  }
  out->temporary = std::string(temporaryPath);
  llvm::sys::RemoveFileOnSignal(out->temporary);
  out->file = std::make_unique<llvm::raw_fd_ostream>(fd, /*shouldClose=*/true);
  return out;
}

OutputFile::~OutputFile() {
  if (!committed)
    discard();
}

llvm::raw_fd_ostream &OutputFile::os() {
  if (usesStdout)
    return llvm::outs();
  return *file;
}

std::string OutputFile::pathForTool(std::string &error) {
  toolWrites = true;
  if (!temporary.empty())
    return temporary;
  if (toolTemporary.empty()) {
    // Stdout or a device: the tool writes a temporary file, copied into the
    // output at commit().
    SmallString<256> created;
    StringRef ext = llvm::sys::path::extension(target);
    if (std::error_code ec = fs::createTemporaryFile(
            "qnt-output", ext.empty() ? "out" : ext.drop_front(), created)) {
      error = "cannot create a temporary file for '" + target +
              "': " + ec.message();
      return "";
    }
    toolTemporary = std::string(created);
    llvm::sys::RemoveFileOnSignal(toolTemporary);
  }
  return toolTemporary;
}

std::string OutputFile::commit() {
  if (committed)
    return "";
  std::string error;
  if (toolWrites && !toolTemporary.empty()) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> written =
        llvm::MemoryBuffer::getFile(toolTemporary, /*IsText=*/false,
                                    /*RequiresNullTerminator=*/false);
    if (!written)
      error = failure("cannot read back '" + toolTemporary +
                      "': " + written.getError().message());
    else
      os() << (*written)->getBuffer();
  }
  llvm::raw_fd_ostream &stream = usesStdout ? llvm::outs() : *file;
  if (usesStdout)
    stream.flush();
  else
    stream.close();
  if (error.empty() && stream.has_error())
    error = failure(stream.error().message());
  if (!error.empty()) {
    discard();
    return error;
  }
  if (!temporary.empty()) {
    if (std::error_code ec = fs::rename(temporary, target)) {
      error = failure(ec.message());
      discard();
      return error;
    }
    llvm::sys::DontRemoveFileOnSignal(temporary);
    temporary.clear();
  }
  if (!toolTemporary.empty()) {
    fs::remove(toolTemporary);
    llvm::sys::DontRemoveFileOnSignal(toolTemporary);
    toolTemporary.clear();
  }
  committed = true;
  return "";
}

void OutputFile::discard() {
  // The error was reported (or the run failed for another reason): a stream
  // left in error would abort the process when destroyed.
  if (usesStdout) {
    llvm::outs().clear_error();
  } else if (file) {
    file->close();
    file->clear_error();
  }
  for (std::string *path : {&temporary, &toolTemporary}) {
    if (path->empty())
      continue;
    fs::remove(*path);
    llvm::sys::DontRemoveFileOnSignal(*path);
    path->clear();
  }
  committed = true;
}

std::string mlir::qnt::writeOutputFile(
    StringRef path, llvm::function_ref<void(llvm::raw_ostream &)> write) {
  std::string error;
  std::unique_ptr<OutputFile> out = OutputFile::create(path, error);
  if (!out)
    return error;
  write(out->os());
  return out->commit();
}
