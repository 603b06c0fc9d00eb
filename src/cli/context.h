// What every command gets: the global options, the output, and the event
// base those options ask for. Commands register themselves with add_*()
// functions and return an ExitCode from their run function.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "cli/output.h"
#include "engine/core/event_base.h"

namespace evtool {

struct GlobalOptions {
  std::string backend;
  std::vector<std::string> avoid;
  std::vector<std::string> require;
  bool json = false;
  bool quiet = false;
  bool verbose = false;
};

// Thrown by a command's run function for a usage problem found after
// parsing (e.g. two options that exclude each other): exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Context {
 public:
  GlobalOptions options;
  Output out;

  // The engine configuration the global options describe.
  ev::Config config() const;
  // A base as the options ask; on failure prints why and returns nullptr
  // with *exit_code set (1: backend unusable or no backend has the features).
  // `flags` adds ev::Config flags (e.g. kPreciseTimer) to the options'.
  std::unique_ptr<ev::EventBase> make_base(int* exit_code, int flags = 0) const;

  // A leaf command and what runs it when it was the one parsed.
  void add_command(CLI::App* app, std::function<int()> run) { commands_.push_back({app, std::move(run)}); }
  // Runs the parsed command; returns its exit code, or -1 if none was parsed.
  int run_parsed() const;

 private:
  struct Command {
    CLI::App* app;
    std::function<int()> run;
  };
  std::vector<Command> commands_;
};

}  // namespace evtool
