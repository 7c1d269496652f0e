// method=generate_quantities: runs the generated quantities block on the
// draws of an earlier fit (fitted_params=<Stan CSV>).
#include "driver.hpp"

#include <stan/services/sample/standalone_gqs.hpp>


namespace mmm_driver {

namespace {

// The model's parameter columns of every draw in a Stan CSV file.
Eigen::MatrixXd read_parameter_draws(const Run& run, const std::string& path) {
  if (path.empty())
    throw run_error("generate_quantities needs fitted_params=<Stan CSV>.");
  const CsvTable table = read_stan_csv(path, "fitted_params");
  std::vector<std::string> names;
  run.model.constrained_param_names(names, false, false);
  Eigen::MatrixXd draws = select_columns(table, names, path);
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
