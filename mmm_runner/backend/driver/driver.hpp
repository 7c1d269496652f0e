// Shared pieces of the mmm_runner model driver: the run context handed to
// each method and the file helpers they use.  Every method writes Stan CSV
// through Stan's own writers, preceded by the configuration block that
// cmdstanpy parses.
#ifndef MMM_DRIVER_DRIVER_HPP
#define MMM_DRIVER_DRIVER_HPP

#include "arguments.hpp"

#include <stan/callbacks/interrupt.hpp>
#include <stan/callbacks/logger.hpp>
#include <stan/callbacks/unique_stream_writer.hpp>
#include <stan/io/var_context.hpp>
#include <stan/model/model_base.hpp>

#include <stan/math/prim/fun/Eigen.hpp>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace mmm_driver {

// Version of this driver; part of the toolchain identity and the compile
// cache key, so bump it whenever the driver's behaviour changes.
inline constexpr const char* driver_version = "1.0.0";

using Writer = stan::callbacks::unique_stream_writer<std::ofstream>;
using ContextPtr = std::shared_ptr<stan::io::var_context>;

// A failure the driver reports on stderr.  Like CmdStan, the process then
// exits with status 1, whatever went wrong.
struct run_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Run {
  CommandLine& args;
  stan::model::model_base& model;
  stan::callbacks::logger& logger;
  stan::callbacks::interrupt& interrupt;
  unsigned int seed;
  unsigned int id;
};

// Reads a JSON data or init file; an empty path gives an empty context.
ContextPtr read_var_context(const std::string& path, const std::string& what);

// `base` with `_<id>` inserted before its extension, as CmdStan names the
// per-chain files of a multi-chain run.
std::string with_chain_suffix(const std::string& base, unsigned int id);

// Opens a CSV writer (comment prefix "# ") honouring output sig_figs, and
// writes the configuration block.  Diagnostic files get the shorter block
// CmdStan gives them (no start time, no compiler information).
Writer open_csv(const Run& run, const std::string& path,
                bool diagnostic = false);

// A writer that discards everything (for files the user did not ask for).
Writer null_writer();

// Init values for each of `count` chains (or paths): file contexts, or
// empty contexts when the init argument is a radius.
std::vector<ContextPtr> init_contexts(const Run& run, int count);
double init_radius(const Run& run);

// The file for chain `index` of `count`, CmdStan's way: `<stem>_<id>.<ext>`
// for every chain when the first such file exists, else `path` for all.
std::string chain_input(const Run& run, const std::string& path, int index,
                        int count);

// A Stan CSV file's header and draws ('#' lines skipped; values may be
// separated by ", " as pathfinder writes them).
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<double>> rows;
};
CsvTable read_stan_csv(const std::string& path, const std::string& what);

// The given columns of every row, in the given order; names a missing column.
Eigen::MatrixXd select_columns(const CsvTable& table,
                               const std::vector<std::string>& names,
                               const std::string& path);

// Writes profile_file when the model has profile blocks.
void write_profiles(const Run& run);

int run_sample(Run& run);
int run_optimize(Run& run);
int run_laplace(Run& run);
int run_pathfinder(Run& run);
int run_generate_quantities(Run& run);

}  // namespace mmm_driver

#endif
