// evtool's entry point: global options, the command groups, CLI11 errors
// turned into exit 2, and the engine's log routed through -q / -v.

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "cli/context.h"
#include "cli/dump_cli.h"
#include "cli/usage.h"
#include "cmds/commands.h"
#include "engine/core/log.h"
#include "engine/tls/context.h"

namespace {

evtool::Context* g_ctx = nullptr;

void log_to_output(ev::Severity severity, const char* message) {
  const evtool::Output& out = g_ctx->out;
  switch (severity) {
    case ev::Severity::Debug: out.debug("%s", message); break;
    case ev::Severity::Msg:
    case ev::Severity::Warn: out.info("%s", message); break;
    case ev::Severity::Err: out.error("%s", message); break;
  }
}

void add_global_options(CLI::App& app, evtool::GlobalOptions& o) {
  const std::vector<std::string> methods = [] {
    std::vector<std::string> names;
    for (const ev::MethodInfo& m : ev::compiled_methods()) names.emplace_back(m.name);
    return names;
  }();
  const char* group = "Global options";
  app.add_option("--backend", o.backend, "Use this backend")
      ->check(CLI::IsMember(methods))->group(group)->option_text("NAME");
  app.add_option("--avoid", o.avoid, "Never use this backend (repeatable)")
      ->check(CLI::IsMember(methods))->group(group)->option_text("NAME")
      ->allow_extra_args(false);  // one name per --avoid: what follows is the command's
  app.add_option("--require", o.require, "Require a backend feature: ET, O1 or FDS (repeatable)")
      ->check(CLI::IsMember({"ET", "O1", "FDS"}, CLI::ignore_case))
      ->transform([](std::string s) {
        for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s;
      })
      ->group(group)->option_text("FEATURE")
      ->allow_extra_args(false);
  app.add_flag("--json", o.json, "Machine-readable output on stdout")->group(group);
  app.add_flag("-q,--quiet", o.quiet, "No diagnostics or logs; data only")->group(group);
  app.add_flag("-v,--verbose", o.verbose, "Diagnostics on stderr")->group(group);
}

std::string version_text() {
  std::string why;
  std::string method = ev::choose_method(ev::Config{}, &why);
  return std::string("evtool ") + ev::version() + "\nbackend: " + (method.empty() ? "none (" + why + ")" : method) +
         "\n" + ev::tls::library_version() + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  evtool::Context ctx;
  g_ctx = &ctx;
  ev::set_log_callback(&log_to_output);

  CLI::App app{"evtool: an event engine and the network tools built on it", "evtool"};
  app.fallthrough();  // global options are valid after the command too
  app.require_subcommand(0, 1);
  app.set_help_flag("-h,--help", "Print this help and exit");
  bool dump = false;
  app.add_flag("--dump-cli", dump, "Describe the interface as JSON")->group("");
  app.set_version_flag("--version", version_text(), "Print version, default backend and OpenSSL version");
  add_global_options(app, ctx.options);
  evtool::configure_help(app);

  evtool::add_backends_command(app, ctx);
  evtool::add_timer_command(app, ctx);
  evtool::add_tcp_command(app, ctx);
  evtool::add_udp_command(app, ctx);
  evtool::add_http_command(app, ctx);
  evtool::add_dns_command(app, ctx);
  evtool::add_help_footer(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion&) {
    std::fputs(version_text().c_str(), stdout);
    return evtool::kExitOk;
  } catch (const CLI::ParseError& e) {
    return evtool::report_usage_error(app, e);
  }
  ctx.out.configure(ctx.options.json, ctx.options.quiet, ctx.options.verbose);
  if (dump) {
    ctx.out.line(evtool::describe_cli(app).dump(2));
    return evtool::kExitOk;
  }
  if (ctx.options.verbose) ev::enable_debug_logging(true);
  try {
    int rc = ctx.run_parsed();
    if (rc >= 0) return rc;
  } catch (const evtool::UsageError& e) {
    ctx.out.error("%s", e.what());
    return evtool::kExitUsage;
  }
  std::fprintf(stderr, "evtool: error: no command given\n%s", app.help().c_str());
  return evtool::kExitUsage;
}
