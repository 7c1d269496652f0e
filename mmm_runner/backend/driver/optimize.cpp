// method=optimize (L-BFGS, BFGS, Newton; with or without the Jacobian) and
// method=laplace (draws from the normal approximation at a mode).
#include "driver.hpp"

#include <stan/services/optimize/bfgs.hpp>
#include <stan/services/optimize/laplace_sample.hpp>
#include <stan/services/optimize/lbfgs.hpp>
#include <stan/services/optimize/newton.hpp>

#include <sstream>

namespace mmm_driver {

namespace {

// Arguments shared by BFGS and L-BFGS.
struct Tolerances {
  double init_alpha, tol_obj, tol_rel_obj, tol_grad, tol_rel_grad, tol_param;
};

Tolerances read_tolerances(const CommandLine& args,
                           const std::vector<std::string>& base) {
  auto at = [&](const std::string& leaf) {
    std::vector<std::string> p = base;
    p.push_back(leaf);
    return args.real(p);
  };
  return {at("init_alpha"), at("tol_obj"),      at("tol_rel_obj"),
          at("tol_grad"),   at("tol_rel_grad"), at("tol_param")};
}

template <bool Jacobian>
int optimize_with(Run& run, const std::string& algorithm, Writer& writer) {
  const std::vector<std::string> base{"method", "optimize", "algorithm",
                                      algorithm};
  const int iter = run.args.integer({"method", "optimize", "iter"});
  const bool save = run.args.boolean({"method", "optimize", "save_iterations"});
  const int refresh = run.args.integer({"output", "refresh"});
  const double radius = init_radius(run);
  ContextPtr init = init_contexts(run, 1)[0];
  stan::callbacks::writer init_writer;
  namespace opt = stan::services::optimize;
  using Model = stan::model::model_base;
  if (algorithm == "newton")
    return opt::newton<Model, Jacobian>(run.model, *init, run.seed, run.id,
                                        radius, iter, save, run.interrupt,
                                        run.logger, init_writer, writer);
  const Tolerances t = read_tolerances(run.args, base);
  if (algorithm == "bfgs")
    return opt::bfgs<Model, Jacobian>(
        run.model, *init, run.seed, run.id, radius, t.init_alpha, t.tol_obj,
        t.tol_rel_obj, t.tol_grad, t.tol_rel_grad, t.tol_param, iter, save,
        refresh, run.interrupt, run.logger, init_writer, writer);
  const int history = run.args.integer(
      {"method", "optimize", "algorithm", "lbfgs", "history_size"});
  return opt::lbfgs<Model, Jacobian>(
      run.model, *init, run.seed, run.id, radius, history, t.init_alpha,
      t.tol_obj, t.tol_rel_obj, t.tol_grad, t.tol_rel_grad, t.tol_param, iter,
      save, refresh, run.interrupt, run.logger, init_writer, writer);
}

// The unconstrained mode for laplace, from an optimize CSV or a JSON file of
// parameter values.  CmdStan reads the first row of the CSV; we read the last,
// which is the optimum also when the optimizer saved its iterations.
Eigen::VectorXd read_mode(const Run& run, const std::string& path) {
  if (path.empty())
    throw run_error("laplace needs mode=<optimize CSV or JSON file>.");
  Eigen::VectorXd unconstrained;
  std::stringstream messages;
  if (path.size() > 5 && path.substr(path.size() - 5) == ".json") {
    ContextPtr context = read_var_context(path, "mode");
    run.model.transform_inits(*context, unconstrained, &messages);
    return unconstrained;
  }
  std::ifstream probe(path);
  if (!probe.good())
    throw run_error("Can't open specified file, \"" + path + "\" (the mode).");
  std::stringstream text;
  text << probe.rdbuf();
  if (text.str().find("method = optimize") == std::string::npos)
    throw run_error("CSV file is not output from Stan optimization: \"" + path
                    + "\"");
  const CsvTable table = read_stan_csv(path, "mode");
  if (table.rows.empty())
    throw run_error("Mode file \"" + path + "\" holds no estimate.");
  std::vector<std::string> names;
  run.model.constrained_param_names(names, false, false);
  const Eigen::MatrixXd values = select_columns(table, names, path);
  Eigen::VectorXd constrained = values.row(values.rows() - 1).transpose();
  run.model.unconstrain_array(constrained, unconstrained, &messages);
  return unconstrained;
}

}  // namespace

int run_optimize(Run& run) {
  const std::string algorithm
      = run.args.text({"method", "optimize", "algorithm"});
  Writer writer = open_csv(run, run.args.text({"output", "file"}));
  if (run.args.boolean({"method", "optimize", "jacobian"}))
    return optimize_with<true>(run, algorithm, writer);
  return optimize_with<false>(run, algorithm, writer);
}

int run_laplace(Run& run) {
  const Eigen::VectorXd mode
      = read_mode(run, run.args.text({"method", "laplace", "mode"}));
  const int draws = run.args.integer({"method", "laplace", "draws"});
  const bool lp = run.args.boolean({"method", "laplace", "calculate_lp"});
  const int refresh = run.args.integer({"output", "refresh"});
  Writer writer = open_csv(run, run.args.text({"output", "file"}));
  stan::callbacks::structured_writer hessian_writer;
  namespace services = stan::services;
  if (run.args.boolean({"method", "laplace", "jacobian"}))
    return services::laplace_sample<true>(run.model, mode, draws, lp, run.seed,
                                          refresh, run.interrupt, run.logger,
                                          writer, hessian_writer);
  return services::laplace_sample<false>(run.model, mode, draws, lp, run.seed,
                                         refresh, run.interrupt, run.logger,
                                         writer, hessian_writer);
}

}  // namespace mmm_driver
