// method=generate_quantities: runs the generated quantities block on the
// draws of an earlier fit (fitted_params=<Stan CSV>).
#include "driver.hpp"

#include <stan/io/stan_csv_reader.hpp>
#include <stan/services/sample/standalone_gqs.hpp>

#include <algorithm>
#include <sstream>

namespace mmm_driver {

namespace {

// The model's parameter columns of every draw in a Stan CSV file.
Eigen::MatrixXd read_parameter_draws(const Run& run, const std::string& path) {
  if (path.empty())
    throw run_error("generate_quantities needs fitted_params=<Stan CSV>.");
  std::ifstream stream(path);
  if (!stream.good())
    throw run_error("Cannot open fitted_params file \"" + path + "\".");
  std::stringstream messages;
  stan::io::stan_csv csv = stan::io::stan_csv_reader::parse(stream, &messages);
  std::vector<std::string> names;
  run.model.constrained_param_names(names, false, false);
  Eigen::MatrixXd draws(csv.samples.rows(), names.size());
  for (size_t j = 0; j < names.size(); ++j) {
    const auto it = std::find(csv.header.begin(), csv.header.end(), names[j]);
    if (it == csv.header.end())
      throw run_error("fitted_params file \"" + path
                          + "\" lacks a column for parameter " + names[j]
                          + "; was it written by this model?");
    draws.col(j) = csv.samples.col(std::distance(csv.header.begin(), it));
  }
  return draws;
}

}  // namespace

int run_generate_quantities(Run& run) {
  if (run.args.integer({"method", "generate_quantities", "num_chains"}) != 1)
    throw run_error("generate_quantities num_chains > 1 is not supported by "
                    "this driver; run one process per chain.");
  const Eigen::MatrixXd draws = read_parameter_draws(
      run, run.args.text({"method", "generate_quantities", "fitted_params"}));
  Writer writer = open_csv(run, run.args.text({"output", "file"}));
  return stan::services::standalone_generate(run.model, draws, run.seed,
                                             run.interrupt, run.logger,
                                             writer);
}

}  // namespace mmm_driver
