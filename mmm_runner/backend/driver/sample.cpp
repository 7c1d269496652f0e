// method=sample: NUTS with unit, diagonal or dense metric (adapted or not),
// and the fixed_param sampler.  Several chains run in one process on TBB
// threads, each writing its own CSV file.
#include "driver.hpp"

#include <stan/io/array_var_context.hpp>
#include <stan/services/sample/fixed_param.hpp>
#include <stan/services/sample/hmc_nuts_dense_e.hpp>
#include <stan/services/sample/hmc_nuts_dense_e_adapt.hpp>
#include <stan/services/sample/hmc_nuts_diag_e.hpp>
#include <stan/services/sample/hmc_nuts_diag_e_adapt.hpp>
#include <stan/services/sample/hmc_nuts_unit_e.hpp>
#include <stan/services/sample/hmc_nuts_unit_e_adapt.hpp>
#include <stan/services/util/create_unit_e_dense_inv_metric.hpp>
#include <stan/services/util/create_unit_e_diag_inv_metric.hpp>

namespace mmm_driver {

namespace {

const std::vector<std::string> kSample{"method", "sample"};
const std::vector<std::string> kAdapt{"method", "sample", "adapt"};
const std::vector<std::string> kHmc{"method", "sample", "algorithm", "hmc"};

std::vector<std::string> path(std::vector<std::string> base,
                              const std::string& leaf) {
  base.push_back(leaf);
  return base;
}

// The settings every sampler variant shares.
struct Chains {
  int num_chains;
  int num_warmup;
  int num_samples;
  int thin;
  bool save_warmup;
  int refresh;
  double radius;
  std::vector<ContextPtr> inits;
  std::vector<stan::callbacks::writer> init_writers;
  std::vector<Writer> sample_writers;
  std::vector<Writer> diagnostic_writers;
};

Chains open_chains(Run& run) {
  Chains c;
  c.num_chains = run.args.integer(path(kSample, "num_chains"));
  c.num_warmup = run.args.integer(path(kSample, "num_warmup"));
  c.num_samples = run.args.integer(path(kSample, "num_samples"));
  c.thin = run.args.integer(path(kSample, "thin"));
  c.save_warmup = run.args.boolean(path(kSample, "save_warmup"));
  c.refresh = run.args.integer({"output", "refresh"});
  c.radius = init_radius(run);
  c.init_writers.resize(c.num_chains);
  c.inits = init_contexts(run, c.num_chains);
  const std::string output = run.args.text({"output", "file"});
  const std::string diagnostic = run.args.text({"output", "diagnostic_file"});
  // Every chain's file carries the same configuration block (id = first id).
  auto name = [&](const std::string& base, int i) {
    return c.num_chains > 1 ? with_chain_suffix(base, run.id + i) : base;
  };
  for (int i = 0; i < c.num_chains; ++i) {
    c.sample_writers.push_back(open_csv(run, name(output, i)));
    c.diagnostic_writers.push_back(
        diagnostic.empty() ? null_writer()
                           : open_csv(run, name(diagnostic, i), true));
  }
  return c;
}

// The starting inverse metric for each chain: the user's file or unit.
std::vector<ContextPtr> metric_contexts(Run& run, const std::string& metric,
                                        int num_chains) {
  const std::string file = run.args.text(path(kHmc, "metric_file"));
  const size_t n = run.model.num_params_r();
  std::vector<ContextPtr> metrics;
  for (int i = 0; i < num_chains; ++i) {
    if (!file.empty()) {
      metrics.push_back(
          read_var_context(chain_input(run, file, i, num_chains), "metric"));
    } else if (metric == "dense_e") {
      metrics.push_back(std::make_shared<stan::io::array_var_context>(
          stan::services::util::create_unit_e_dense_inv_metric(n)));
    } else {
      metrics.push_back(std::make_shared<stan::io::array_var_context>(
          stan::services::util::create_unit_e_diag_inv_metric(n)));
    }
  }
  return metrics;
}

int run_fixed_param(Run& run, Chains& c) {
  return stan::services::sample::fixed_param(
      run.model, c.num_chains, c.inits, run.seed, run.id, c.radius,
      c.num_samples, c.thin, c.refresh, run.interrupt, run.logger,
      c.init_writers, c.sample_writers, c.diagnostic_writers);
}

int run_nuts(Run& run, Chains& c) {
  if (run.args.text(path(kHmc, "engine")) != "nuts")
    throw run_error("engine=static is not supported by this driver; use "
                    "engine=nuts.");
  const std::string metric = run.args.text(path(kHmc, "metric"));
  const bool adapt = run.args.boolean(path(kAdapt, "engaged"));
  if (run.args.boolean(path(kAdapt, "save_metric")))
    throw run_error("adapt save_metric=1 is not supported by this driver.");
  const double stepsize = run.args.real(path(kHmc, "stepsize"));
  const double jitter = run.args.real(path(kHmc, "stepsize_jitter"));
  const int max_depth = run.args.integer(
      {"method", "sample", "algorithm", "hmc", "engine", "nuts", "max_depth"});
  const double delta = run.args.real(path(kAdapt, "delta"));
  const double gamma = run.args.real(path(kAdapt, "gamma"));
  const double kappa = run.args.real(path(kAdapt, "kappa"));
  const double t0 = run.args.real(path(kAdapt, "t0"));
  const unsigned int init_buffer = run.args.integer(path(kAdapt, "init_buffer"));
  const unsigned int term_buffer = run.args.integer(path(kAdapt, "term_buffer"));
  const unsigned int window = run.args.integer(path(kAdapt, "window"));
  namespace sample = stan::services::sample;
  if (metric == "unit_e") {
    if (adapt)
      return sample::hmc_nuts_unit_e_adapt(
          run.model, c.num_chains, c.inits, run.seed, run.id, c.radius,
          c.num_warmup, c.num_samples, c.thin, c.save_warmup, c.refresh,
          stepsize, jitter, max_depth, delta, gamma, kappa, t0, run.interrupt,
          run.logger, c.init_writers, c.sample_writers, c.diagnostic_writers);
    return sample::hmc_nuts_unit_e(
        run.model, c.num_chains, c.inits, run.seed, run.id, c.radius,
        c.num_warmup, c.num_samples, c.thin, c.save_warmup, c.refresh,
        stepsize, jitter, max_depth, run.interrupt, run.logger,
        c.init_writers, c.sample_writers, c.diagnostic_writers);
  }
  const auto metrics = metric_contexts(run, metric, c.num_chains);
  if (metric == "dense_e") {
    if (adapt)
      return sample::hmc_nuts_dense_e_adapt(
          run.model, c.num_chains, c.inits, metrics, run.seed, run.id,
          c.radius, c.num_warmup, c.num_samples, c.thin, c.save_warmup,
          c.refresh, stepsize, jitter, max_depth, delta, gamma, kappa, t0,
          init_buffer, term_buffer, window, run.interrupt, run.logger,
          c.init_writers, c.sample_writers, c.diagnostic_writers);
    return sample::hmc_nuts_dense_e(
        run.model, c.num_chains, c.inits, metrics, run.seed, run.id, c.radius,
        c.num_warmup, c.num_samples, c.thin, c.save_warmup, c.refresh,
        stepsize, jitter, max_depth, run.interrupt, run.logger,
        c.init_writers, c.sample_writers, c.diagnostic_writers);
  }
  if (adapt)
    return sample::hmc_nuts_diag_e_adapt(
        run.model, c.num_chains, c.inits, metrics, run.seed, run.id, c.radius,
        c.num_warmup, c.num_samples, c.thin, c.save_warmup, c.refresh,
        stepsize, jitter, max_depth, delta, gamma, kappa, t0, init_buffer,
        term_buffer, window, run.interrupt, run.logger, c.init_writers,
        c.sample_writers, c.diagnostic_writers);
  return sample::hmc_nuts_diag_e(
      run.model, c.num_chains, c.inits, metrics, run.seed, run.id, c.radius,
      c.num_warmup, c.num_samples, c.thin, c.save_warmup, c.refresh, stepsize,
      jitter, max_depth, run.interrupt, run.logger, c.init_writers,
      c.sample_writers, c.diagnostic_writers);
}

}  // namespace

int run_sample(Run& run) {
  bool fixed = run.args.text({"method", "sample", "algorithm"}) == "fixed_param";
  if (!fixed && run.args.boolean(path(kAdapt, "engaged"))
      && run.args.integer(path(kSample, "num_warmup")) == 0)
    throw run_error(
        "The number of warmup samples (num_warmup) must be greater than zero "
        "if adaptation is enabled.");
  if (!fixed && run.model.num_params_r() == 0) {
    run.logger.info(
        "Model contains no parameters, running fixed_param sampler, no "
        "updates to Markov chain");
    fixed = true;
  }
  Chains chains = open_chains(run);
  return fixed ? run_fixed_param(run, chains) : run_nuts(run, chains);
}

}  // namespace mmm_driver
