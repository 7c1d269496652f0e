// method=pathfinder: one or several L-BFGS paths with their normal
// approximations, combined by PSIS resampling when there are several.
#include "driver.hpp"

#include <stan/callbacks/json_writer.hpp>
#include <stan/callbacks/structured_writer.hpp>
#include <stan/services/pathfinder/multi.hpp>
#include <stan/services/pathfinder/single.hpp>

namespace mmm_driver {

namespace {

using JsonWriter = stan::callbacks::json_writer<std::ofstream>;

struct Settings {
  double init_alpha, tol_obj, tol_rel_obj, tol_grad, tol_rel_grad, tol_param;
  int history_size, num_psis_draws, num_paths, max_lbfgs_iters, num_draws,
      num_elbo_draws;
  bool save_single_paths, psis_resample, calculate_lp;
};

Settings read_settings(const CommandLine& args) {
  auto path = [](const std::string& leaf) {
    return std::vector<std::string>{"method", "pathfinder", leaf};
  };
  Settings s;
  s.init_alpha = args.real(path("init_alpha"));
  s.tol_obj = args.real(path("tol_obj"));
  s.tol_rel_obj = args.real(path("tol_rel_obj"));
  s.tol_grad = args.real(path("tol_grad"));
  s.tol_rel_grad = args.real(path("tol_rel_grad"));
  s.tol_param = args.real(path("tol_param"));
  s.history_size = args.integer(path("history_size"));
  s.num_psis_draws = args.integer(path("num_psis_draws"));
  s.num_paths = args.integer(path("num_paths"));
  s.max_lbfgs_iters = args.integer(path("max_lbfgs_iters"));
  s.num_draws = args.integer(path("num_draws"));
  s.num_elbo_draws = args.integer(path("num_elbo_draws"));
  s.save_single_paths = args.boolean(path("save_single_paths"));
  s.psis_resample = args.boolean(path("psis_resample"));
  s.calculate_lp = args.boolean(path("calculate_lp"));
  return s;
}

// `base` without the extension of its last path component.
std::string stem(const std::string& base) {
  const auto dot = base.find_last_of('.');
  const auto slash = base.find_last_of('/');
  const bool has_ext
      = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return has_ext ? base.substr(0, dot) : base;
}

// `<stem>_path_<id><extension>`, the per-path file names.
std::string path_file(const std::string& base, unsigned int id,
                      const std::string& extension) {
  return stem(base) + "_path_" + std::to_string(id) + extension;
}

}  // namespace

int run_pathfinder(Run& run) {
  if (run.model.num_params_r() == 0)
    throw run_error("Model has 0 parameters, cannot run Pathfinder.");
  const Settings s = read_settings(run.args);
  const std::string output = run.args.text({"output", "file"});
  const std::string diagnostic = run.args.text({"output", "diagnostic_file"});
  const std::string json_base = diagnostic.empty() ? output : diagnostic;
  const bool save_paths = s.save_single_paths || !diagnostic.empty();
  const int refresh = run.args.integer({"output", "refresh"});
  const double radius = init_radius(run);
  Writer writer = open_csv(run, output);
  namespace pf = stan::services::pathfinder;
  using Model = stan::model::model_base;

  if (s.num_paths == 1) {
    ContextPtr init = init_contexts(run, 1)[0];
    stan::callbacks::writer init_writer;
    JsonWriter diagnostics = save_paths
                                 ? JsonWriter(std::make_unique<std::ofstream>(
                                     stem(json_base) + ".json"))
                                 : JsonWriter();
    return pf::pathfinder_lbfgs_single<false, Model>(
        run.model, *init, run.seed, run.id, radius, s.history_size,
        s.init_alpha, s.tol_obj, s.tol_rel_obj, s.tol_grad, s.tol_rel_grad,
        s.tol_param, s.max_lbfgs_iters, s.num_elbo_draws, s.num_draws, false,
        refresh, run.interrupt, run.logger, init_writer, writer, diagnostics,
        s.calculate_lp);
  }

  std::vector<ContextPtr> inits = init_contexts(run, s.num_paths);
  std::vector<stan::callbacks::writer> init_writers(s.num_paths);
  std::vector<Writer> path_writers;
  std::vector<JsonWriter> path_diagnostics;
  for (int i = 0; i < s.num_paths; ++i) {
    const unsigned int id = run.id + i;
    if (save_paths) {
      path_writers.push_back(open_csv(run, path_file(output, id, ".csv")));
      path_diagnostics.emplace_back(
          std::make_unique<std::ofstream>(path_file(json_base, id, ".json")));
    } else {
      path_writers.push_back(null_writer());
      path_diagnostics.emplace_back();
    }
  }
  JsonWriter diagnostic_writer;
  return pf::pathfinder_lbfgs_multi(
      run.model, inits, run.seed, run.id, radius, s.history_size, s.init_alpha,
      s.tol_obj, s.tol_rel_obj, s.tol_grad, s.tol_rel_grad, s.tol_param,
      s.max_lbfgs_iters, s.num_elbo_draws, s.num_draws, s.num_psis_draws,
      s.num_paths, false, refresh, run.interrupt, run.logger, init_writers,
      path_writers, path_diagnostics, writer, diagnostic_writer,
      s.calculate_lp, s.psis_resample);
}

}  // namespace mmm_driver
