// Entry point of every model executable built by mmm_runner's bundled
// toolchain.  It speaks the command line of a CmdStan model executable, so
// cmdstanpy drives it unchanged.
#include "driver.hpp"

#include <stan/callbacks/stream_logger.hpp>
#include <stan/math/prim/core/init_threadpool_tbb.hpp>
#include <stan/version.hpp>

#include <iostream>

stan::model::model_base& new_model(stan::io::var_context& data_context,
                                   unsigned int seed,
                                   std::ostream* msg_stream);

namespace {

using namespace mmm_driver;

void print_info() {
  std::cout << "stan_version_major = " << stan::MAJOR_VERSION << "\n"
            << "stan_version_minor = " << stan::MINOR_VERSION << "\n"
            << "stan_version_patch = " << stan::PATCH_VERSION << "\n"
            << "STAN_THREADS=true\n"
            << "STAN_MPI=false\n"
            << "STAN_OPENCL=false\n"
#ifdef STAN_NO_RANGE_CHECKS
            << "STAN_NO_RANGE_CHECKS=true\n"
#else
            << "STAN_NO_RANGE_CHECKS=false\n"
#endif
            << "STAN_CPP_OPTIMS=false\n"
            << "MMM_DRIVER_VERSION=" << driver_version << "\n";
}

void print_usage(const char* program) {
  std::cout
      << "Usage: " << program << " <arguments>\n"
      << "A Stan model built by mmm_runner; it takes CmdStan's arguments:\n"
      << "  info\n"
      << "  method=sample|optimize|laplace|pathfinder|generate_quantities "
         "<method arguments>\n"
      << "  id=<int> data file=<json> init=<radius|json>\n"
      << "  random seed=<int> output file=<csv> diagnostic_file=<csv> "
         "refresh=<int> sig_figs=<int>\n"
      << "  num_threads=<int>\n"
      << "See the CmdStan guide for the method arguments and defaults.\n";
}

// Writes a failure to stderr so that cmdstanpy surfaces it: it quotes the
// console lines that start with "Error" or "Exception".
void report(const std::string& message) {
  const bool tagged = message.rfind("Error", 0) == 0
                      || message.rfind("Exception", 0) == 0;
  std::cerr << (tagged ? "" : "Error: ") << message << std::endl;
}

int dispatch(Run& run) {
  const std::string method = run.args.method();
  if (method == "sample")
    return run_sample(run);
  if (method == "optimize")
    return run_optimize(run);
  if (method == "laplace")
    return run_laplace(run);
  if (method == "pathfinder")
    return run_pathfinder(run);
  return run_generate_quantities(run);
}

int run(const std::vector<std::string>& tokens) {
  CommandLine args;
  try {
    args.parse(tokens);
  } catch (const usage_error& e) {
    report(e.what());
    std::cerr << "Failed to parse command arguments, cannot run model.\n";
    return 1;
  }
  const long threads = args.integer({"num_threads"});
  if (threads == 0) {
    report("num_threads must be -1 (all cores) or positive.");
    return 1;
  }
  stan::math::init_threadpool_tbb(static_cast<int>(threads));

  for (const std::string& line : args.config_lines())
    std::cout << line << "\n";
  std::cout << std::endl;

  stan::callbacks::stream_logger logger(std::cout, std::cout, std::cout,
                                        std::cerr, std::cerr);
  stan::callbacks::interrupt interrupt;
  const auto seed
      = static_cast<unsigned int>(args.integer({"random", "seed"}));
  const auto id = static_cast<unsigned int>(args.integer({"id"}));
  try {
    ContextPtr data = read_var_context(args.text({"data", "file"}), "data");
    stan::model::model_base* model = nullptr;
    model = &new_model(*data, seed, &std::cout);
    Run context{args, *model, logger, interrupt, seed, id};
    const int code = dispatch(context);
    write_profiles(context);
    return code == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    report(e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, const char* argv[]) {
  std::vector<std::string> tokens(argv + 1, argv + argc);
  if (tokens.empty()) {
    print_usage(argv[0]);
    return 1;
  }
  if (tokens.size() == 1 && tokens[0] == "info") {
    print_info();
    return 0;
  }
  if (tokens.size() == 1 && (tokens[0] == "help" || tokens[0] == "help-all"
                             || tokens[0] == "--help")) {
    print_usage(argv[0]);
    return 0;
  }
  return run(tokens);
}
