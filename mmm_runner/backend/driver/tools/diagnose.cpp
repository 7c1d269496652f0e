// bin/diagnose of the mmm_runner toolchain: checks the Stan CSV files of a
// sampler run for the problems CmdStan 2.35's diagnose reports, with its
// wording, so that cmdstanpy's CmdStanMCMC.diagnose() (which returns the
// program's output) reads the same:
//   - transitions that hit the maximum tree depth,
//   - divergent transitions,
//   - a low E-BFMI (below 0.3),
//   - fewer than 0.001 effective draws per transition (Stan's unsplit ESS),
//   - split R-hat above 1.05 (classic split R-hat of the raw draws).
// CmdStan 2.36 changed the last two to rank-normalised statistics and a
// 1.01 threshold; this follows 2.35.
#include "chain_files.hpp"

#include <cmath>
#include <cstddef>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace {

using mmm_driver::tools::read_draws;
using mmm_driver::tools::RunDraws;
using mmm_driver::tools::tool_error;

constexpr const char* kUsage
    = "USAGE:  diagnose <filename 1> [<filename 2> ... <filename N>]\n"
      "Checks the Stan CSV files of a sampler run (one per chain) for "
      "divergences,\n"
      "saturated tree depth, low E-BFMI, low effective sample size and high "
      "split R-hat.\n";

constexpr double kEbfmiThreshold = 0.3;
constexpr double kMinEssPerDraw = 0.001;
constexpr double kRhatMax = 1.05;

// Everything numeric is printed with two decimals ("0.40%", "0.30", "1.05").
std::string two_decimals(double value) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << value;
  return out.str();
}

std::string percent_of(long count, long total) {
  return two_decimals(100 * static_cast<double>(count) / total);
}

std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (i ? ", " : "") + names[i];
  return out;
}

// The findings are collected as text; `problem` records whether any check
// failed, for the closing line.
struct Report {
  std::ostringstream text;
  bool problem = false;
};

void check_treedepth(Report& report, const RunDraws& draws, int column) {
  const int limit = draws.metadata[0].max_depth;
  const Eigen::VectorXd depths = draws.chains.samples(column);
  long saturated = 0;
  for (Eigen::Index n = 0; n < depths.size(); ++n)
    if (depths(n) >= limit)
      ++saturated;
  report.text << "Checking sampler transitions treedepth.\n";
  if (saturated == 0) {
    report.text << "Treedepth satisfactory for all transitions.\n\n";
    return;
  }
  report.problem = true;
  report.text << saturated << " of " << depths.size() << " ("
              << percent_of(saturated, depths.size())
              << "%) transitions hit the maximum treedepth limit of " << limit
              << ", or 2^" << limit << " leapfrog steps.\n"
              << "Trajectories that are prematurely terminated due to this "
                 "limit will result in slow exploration.\n"
              << "For optimal performance, increase this limit.\n\n";
}

void check_divergences(Report& report, const RunDraws& draws, int column) {
  const Eigen::VectorXd divergent = draws.chains.samples(column);
  const long count = static_cast<long>(divergent.sum());
  report.text << "Checking sampler transitions for divergences.\n";
  if (count == 0) {
    report.text << "No divergent transitions found.\n\n";
    return;
  }
  report.problem = true;
  report.text << count << " of " << divergent.size() << " ("
              << percent_of(count, divergent.size())
              << "%) transitions ended with a divergence.\n"
              << "These divergent transitions indicate that HMC is not fully "
                 "able to explore the posterior distribution.\n"
              << "Try increasing adapt delta closer to 1.\n"
              << "If this doesn't remove all divergences, try to "
                 "reparameterize the model.\n\n";
}

// E-BFMI: mean squared change in energy between successive draws over the
// energy's variance.  As in CmdStan 2.35 the chains are taken end to end as
// one series, so the jumps between chains count as changes too.
double e_bfmi(const RunDraws& draws, int column) {
  const Eigen::VectorXd energy = draws.chains.samples(column);
  const Eigen::Index n = energy.size();
  if (n < 2)
    return std::numeric_limits<double>::quiet_NaN();
  double squared_changes = 0;
  for (Eigen::Index i = 1; i < n; ++i)
    squared_changes += (energy(i) - energy(i - 1)) * (energy(i) - energy(i - 1));
  return squared_changes / (n - 1) / draws.chains.variance(column);
}

void check_energy(Report& report, const RunDraws& draws, int column) {
  const double value = e_bfmi(draws, column);
  report.text << "Checking E-BFMI - sampler transitions HMC potential "
                 "energy.\n";
  if (!(value < kEbfmiThreshold)) {
    report.text << "E-BFMI satisfactory.\n\n";
    return;
  }
  report.problem = true;
  report.text << "The E-BFMI, " << two_decimals(value)
              << ", is below the nominal threshold of "
              << two_decimals(kEbfmiThreshold)
              << " which suggests that HMC may have trouble exploring the "
                 "target distribution.\n"
              << "If possible, try to reparameterize the model.\n\n";
}

void report_low_ess(Report& report, const std::vector<std::string>& names) {
  if (names.empty()) {
    report.text << "Effective sample size satisfactory.\n\n";
    return;
  }
  report.problem = true;
  report.text << "The following parameters had fewer than 0.001 effective "
                 "draws per transition:\n"
              << "  " << name_list(names) << "\n"
              << "Such low values indicate that the effective sample size "
                 "estimators may be biased high and actual performance may "
                 "be substantially lower than quoted.\n\n";
}

void report_high_rhat(Report& report, const std::vector<std::string>& names) {
  if (names.empty()) {
    report.text << "Split R-hat values satisfactory all parameters.\n\n";
    return;
  }
  report.problem = true;
  report.text << "The following parameters had split R-hat greater than "
              << two_decimals(kRhatMax) << ":\n"
              << "  " << name_list(names) << "\n"
              << "Such high values indicate incomplete mixing and biased "
                 "estimation.\n"
              << "You should consider regularizating your model with "
                 "additional prior information or a more effective "
                 "parameterization.\n\n";
}

// Sampler columns are checked in file order as they are met; every column
// whose name has no "__" is a model quantity for the ESS and R-hat checks.
// NaN statistics (constant or non-finite draws) never count as problems.
std::string diagnose(const RunDraws& draws) {
  const stan::mcmc::chains<>& chains = draws.chains;
  const double draws_per_chain_set = chains.num_kept_samples();
  Report report;
  std::vector<std::string> low_ess, high_rhat;
  for (int i = 0; i < chains.num_params(); ++i) {
    const std::string& name = chains.param_name(i);
    if (name == "treedepth__") {
      check_treedepth(report, draws, i);
    } else if (name == "divergent__") {
      check_divergences(report, draws, i);
    } else if (name == "energy__") {
      check_energy(report, draws, i);
    } else if (name.find("__") == std::string::npos) {
      if (chains.effective_sample_size(i) / draws_per_chain_set
          < kMinEssPerDraw)
        low_ess.push_back(name);
      if (chains.split_potential_scale_reduction(i) > kRhatMax)
        high_rhat.push_back(name);
    }
  }
  report_low_ess(report, low_ess);
  report_high_rhat(report, high_rhat);
  report.text << (report.problem ? "Processing complete.\n"
                                 : "Processing complete, no problems "
                                   "detected.\n");
  return report.text.str();
}

int run(int argc, char* argv[]) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    }
    if (arg.size() > 1 && arg[0] == '-')
      throw tool_error("Unrecognized option: " + arg
                       + " (diagnose takes only file names).");
    files.push_back(arg);
  }
  if (files.empty())
    throw tool_error(std::string("No Stan CSV files given.\n") + kUsage);
  // Reader notes go to stderr, which cmdstanpy folds into the text it
  // returns; the usual missing-adaptation-block note is dropped.
  const RunDraws draws = read_draws(files, std::cerr);
  std::string listing;
  for (std::size_t i = 0; i < files.size(); ++i)
    listing += (i ? ", " : "") + files[i];
  std::cout << "Processing csv files: " << listing << "\n\n"
            << diagnose(draws) << std::flush;
  return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
}
