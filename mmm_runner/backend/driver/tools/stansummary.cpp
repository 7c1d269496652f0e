// bin/stansummary of the mmm_runner toolchain: summary statistics of the
// Stan CSV files of a sampler run (one file per chain).
//
// It speaks the command line and writes the console table and CSV file of
// CmdStan 2.35's stansummary, the last version with the columns
//   Mean, MCSE, StdDev, <percentiles>, N_Eff, N_Eff/s, R_hat
// (CmdStan 2.36 moved to MAD, ESS_bulk, ESS_tail and a rank-normalised
// R_hat).  cmdstanpy's CmdStanMCMC.summary() runs
//   stansummary --percentiles= 5,50,95 --sig_figs=6 --csv_filename=<tmp> ...
// and reads <tmp> with pandas (header=0, index_col=0, comment='#').
#include "chain_files.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using mmm_driver::tools::is_sampler_column;
using mmm_driver::tools::read_draws;
using mmm_driver::tools::RunDraws;
using mmm_driver::tools::tool_error;

constexpr const char* kUsage =
    R"(Usage: stansummary [OPTIONS] stan_csv_file(s)
Summary statistics for one or more Stan CSV files from a sampler run, one
file per chain, as CmdStan 2.35's stansummary reports them.
Example:  stansummary model_1.csv model_2.csv
Options:
  -a, --autocorr [n]          Also print the autocorrelations of the chain
                              in the n-th input file.
  -c, --csv_filename [file]   Also write the statistics to this CSV file.
  -h, --help                  Print this message and exit.
  -p, --percentiles [values]  Percentiles to report: integers from 1 to 99,
                              increasing, separated by commas.
                              Default 5,50,95.
  -s, --sig_figs [n]          Significant figures reported, 1 to 18.
                              Default 2 on the console and 6 in the CSV file.
      --model_param [name]    Report only this model variable element,
                              written theta[1,2] or theta.1.2; repeatable.
)";

// ---------------------------------------------------------------- options

struct Options {
  int sig_figs = 2;
  bool sig_figs_given = false;
  std::vector<int> percentiles{5, 50, 95};
  std::string csv_filename;
  int autocorr = 0;  // 1-based input file; 0 for none
  std::vector<std::string> model_params;
  std::vector<std::string> files;
  bool help = false;
};

// Every option takes a value; the letter is its short form (0: none).
const std::vector<std::pair<std::string, char>> kOptionNames{
    {"autocorr", 'a'},
    {"csv_filename", 'c'},
    {"percentiles", 'p'},
    {"sig_figs", 's'},
    {"model_param", 0}};

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos)
    return "";
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

// Parses all of `text` as an int; false if anything is left over.
bool to_int(const std::string& text, int& value) {
  std::size_t used = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

int option_integer(const std::string& option, const std::string& text) {
  int value = 0;
  if (!to_int(trim(text), value))
    throw tool_error("Option --" + option + ": \"" + text
                     + "\" is not an integer.");
  return value;
}

// cmdstanpy passes "--percentiles= 5,50,95", so blanks are allowed around
// and between the values as well as commas.
std::vector<int> parse_percentiles(const std::string& spec) {
  std::string spaced = spec;
  std::replace(spaced.begin(), spaced.end(), ',', ' ');
  std::istringstream tokens(spaced);
  std::vector<int> values;
  std::string token;
  while (tokens >> token) {
    int value = 0;
    const bool ok = to_int(token, value) && value >= 1 && value <= 99
                    && (values.empty() || value > values.back());
    if (!ok)
      throw tool_error("Option --percentiles " + trim(spec)
                       + ": values must be integers from 1 to 99, inclusive, "
                         "in strictly increasing order.");
    values.push_back(value);
  }
  if (values.empty())
    throw tool_error("Option --percentiles: no values given.");
  return values;
}

// "theta.1.2" becomes "theta[1,2]", the form of the CSV column names.
std::string bracketed_name(const std::string& name) {
  const auto dot = name.find('.');
  if (dot == std::string::npos || dot == 0)
    return name;
  std::string out = name;
  out[dot] = '[';
  std::replace(out.begin() + dot, out.end(), '.', ',');
  return out + "]";
}

void apply_option(Options& options, const std::string& name,
                  const std::string& value) {
  if (name == "sig_figs") {
    const int n = option_integer(name, value);
    if (n < 1 || n > 18)
      throw tool_error("Option --sig_figs: " + trim(value)
                       + " is not in the range 1 to 18.");
    options.sig_figs = n;
    options.sig_figs_given = true;
  } else if (name == "autocorr") {
    const int n = option_integer(name, value);
    if (n < 1)
      throw tool_error("Option --autocorr: " + trim(value)
                       + " is not a valid chain id (must be 1 or more).");
    options.autocorr = n;
  } else if (name == "csv_filename") {
    if (trim(value).empty())
      throw tool_error("Option --csv_filename: no file name given.");
    options.csv_filename = value;
  } else if (name == "percentiles") {
    options.percentiles = parse_percentiles(value);
  } else if (name == "model_param") {
    options.model_params.push_back(bracketed_name(trim(value)));
  }
}

// Accepts --name=value, --name value, -x value and -xvalue, like CLI11 in
// CmdStan; everything else is an input file ("--" ends the options).
Options parse_command_line(int argc, char* argv[]) {
  Options options;
  bool only_files = false;
  for (int i = 1; i < argc; ++i) {
    const std::string token = argv[i];
    if (only_files || token.size() < 2 || token[0] != '-') {
      options.files.push_back(token);
      continue;
    }
    if (token == "--") {
      only_files = true;
      continue;
    }
    if (token == "-h" || token == "--help") {
      options.help = true;
      continue;
    }
    std::string name;
    std::string value;
    bool has_value = false;
    if (token[1] == '-') {
      name = token.substr(2);
      const auto equals = name.find('=');
      if (equals != std::string::npos) {
        value = name.substr(equals + 1);
        name = name.substr(0, equals);
        has_value = true;
      }
      const bool known = std::any_of(
          kOptionNames.begin(), kOptionNames.end(),
          [&](const auto& option) { return option.first == name; });
      if (!known)
        throw tool_error("Unrecognized option: " + token
                         + " (see stansummary --help).");
    } else {
      const auto option = std::find_if(
          kOptionNames.begin(), kOptionNames.end(),
          [&](const auto& entry) { return entry.second == token[1]; });
      if (option == kOptionNames.end())
        throw tool_error("Unrecognized option: " + token
                         + " (see stansummary --help).");
      name = option->first;
      if (token.size() > 2) {
        value = token.substr(2);
        has_value = true;
      }
    }
    if (!has_value) {
      if (i + 1 >= argc)
        throw tool_error("Option --" + name + " needs a value.");
      value = argv[++i];
    }
    apply_option(options, name, value);
  }
  return options;
}

// ------------------------------------------------------------- statistics

struct Row {
  int column;  // in the chains object
  std::vector<double> stats;
  // Elements of containers listed in full are written to the CSV file in
  // fixed notation, as CmdStan writes them.
  bool fixed_in_csv = false;
};

struct Summary {
  std::vector<std::string> labels;
  Row lp;
  std::vector<Row> sampler;
  std::vector<Row> model;
};

std::vector<std::string> column_labels(const std::vector<int>& percentiles) {
  std::vector<std::string> labels{"Mean", "MCSE", "StdDev"};
  for (int p : percentiles)
    labels.push_back(std::to_string(p) + "%");
  labels.insert(labels.end(), {"N_Eff", "N_Eff/s", "R_hat"});
  return labels;
}

// CmdStan 2.35's statistics, all from stan::mcmc::chains over the
// post-warmup draws of every chain: N_Eff is Stan's (unsplit) effective
// sample size, MCSE = StdDev / sqrt(N_Eff), N_Eff/s divides by the summed
// sampling time, and R_hat is the split R-hat of the raw draws.
std::vector<double> statistics(const RunDraws& draws, int column,
                               const Eigen::VectorXd& probs) {
  const stan::mcmc::chains<>& chains = draws.chains;
  const double sd = chains.sd(column);
  const double n_eff = chains.effective_sample_size(column);
  std::vector<double> stats{chains.mean(column), sd / std::sqrt(n_eff), sd};
  // Boost's quantile accumulators cannot order NaN; give NaN instead.
  const bool has_nan = chains.samples(column).hasNaN();
  const Eigen::VectorXd quantiles = chains.quantiles(column, probs);
  for (Eigen::Index k = 0; k < quantiles.size(); ++k)
    stats.push_back(has_nan ? std::numeric_limits<double>::quiet_NaN()
                            : quantiles(k));
  stats.push_back(n_eff);
  stats.push_back(n_eff / draws.total_sampling_seconds());
  stats.push_back(chains.split_potential_scale_reduction(column));
  return stats;
}

// The index of `name` as an element of `base`, e.g. "m[2,3]" -> {2, 3};
// empty unless the name is base[i,j,...] with positive integers.
std::vector<int> element_index(const std::string& name,
                               const std::string& base) {
  if (name.size() < base.size() + 3 || name.back() != ']'
      || name.compare(0, base.size() + 1, base + "[") != 0)
    return {};
  std::istringstream parts(
      name.substr(base.size() + 1, name.size() - base.size() - 2));
  std::vector<int> index;
  std::string part;
  while (std::getline(parts, part, ',')) {
    int value = 0;
    if (!to_int(part, value) || value < 1)
      return {};
    index.push_back(value);
  }
  return index;
}

// Column-major position of a 1-based index in an array of shape `dims`.
std::size_t column_major_offset(const std::vector<int>& index,
                                const std::vector<int>& dims) {
  std::size_t offset = 0;
  std::size_t stride = 1;
  for (std::size_t d = 0; d < dims.size(); ++d) {
    offset += (index[d] - 1) * stride;
    stride *= dims[d];
  }
  return offset;
}

// The elements of one container, `count` columns from `first`, in
// row-major order when their names form its full column-major grid (as
// Stan writes arrays, vectors and matrices); otherwise (tuples, say) the
// file order is kept.
std::vector<int> container_order(const stan::mcmc::chains<>& chains,
                                 const std::vector<int>& columns,
                                 std::size_t first, std::size_t count,
                                 const std::string& base) {
  std::vector<int> file_order(columns.begin() + first,
                              columns.begin() + first + count);
  const std::vector<int> dims
      = element_index(chains.param_name(columns[first + count - 1]), base);
  std::size_t cells = dims.empty() ? 0 : 1;
  for (int d : dims)
    cells *= d;
  if (cells != count)
    return file_order;
  for (std::size_t k = 0; k < count; ++k) {
    const std::vector<int> index
        = element_index(chains.param_name(columns[first + k]), base);
    if (index.size() != dims.size() || column_major_offset(index, dims) != k)
      return file_order;
  }
  std::vector<int> order;
  std::vector<int> index(dims.size(), 1);
  for (std::size_t k = 0; k < count; ++k) {
    order.push_back(columns[first + column_major_offset(index, dims)]);
    // Advance the last index fastest: row-major.
    for (std::size_t d = dims.size(); d-- > 0;) {
      if (++index[d] <= dims[d])
        break;
      index[d] = 1;
    }
  }
  return order;
}

std::string base_name(const std::string& name) {
  return name.substr(0, name.find('['));
}

// All model columns in stansummary's order: scalars as they come and the
// elements of each container in row-major order.
std::vector<Row> all_model_rows(const stan::mcmc::chains<>& chains,
                                const std::vector<int>& columns) {
  std::vector<Row> rows;
  for (std::size_t i = 0; i < columns.size();) {
    const std::string name = chains.param_name(columns[i]);
    if (name.find('[') == std::string::npos) {
      rows.push_back(Row{columns[i], {}, false});
      ++i;
      continue;
    }
    const std::string base = base_name(name);
    std::size_t end = i + 1;
    while (end < columns.size()
           && base_name(chains.param_name(columns[end])) == base)
      ++end;
    for (int column : container_order(chains, columns, i, end - i, base))
      rows.push_back(Row{column, {}, true});
    i = end;
  }
  return rows;
}

// The requested model columns, in file order, as CmdStan lists a subset.
std::vector<Row> requested_model_rows(const stan::mcmc::chains<>& chains,
                                      const std::vector<int>& columns,
                                      const std::vector<std::string>& names) {
  std::set<std::string> wanted(names.begin(), names.end());
  std::vector<Row> rows;
  for (int column : columns)
    if (wanted.erase(chains.param_name(column)) > 0)
      rows.push_back(Row{column, {}, false});
  if (!wanted.empty()) {
    std::string unknown;
    for (const std::string& name : wanted)
      unknown += " '" + name + "'";
    throw tool_error("--model_param: Unrecognized parameter(s):" + unknown);
  }
  return rows;
}

// Column 0 (lp__) first, then the sampler columns, then the model's.
Summary summarise(const RunDraws& draws, const Options& options) {
  const stan::mcmc::chains<>& chains = draws.chains;
  Summary summary;
  summary.labels = column_labels(options.percentiles);
  Eigen::VectorXd probs(options.percentiles.size());
  for (std::size_t k = 0; k < options.percentiles.size(); ++k)
    probs(k) = options.percentiles[k] / 100.0;

  std::vector<int> model_columns;
  summary.lp = Row{0, {}, false};
  for (int i = 1; i < chains.num_params(); ++i) {
    if (is_sampler_column(chains.param_name(i)))
      summary.sampler.push_back(Row{i, {}, false});
    else
      model_columns.push_back(i);
  }
  summary.model
      = options.model_params.empty()
            ? all_model_rows(chains, model_columns)
            : requested_model_rows(chains, model_columns,
                                   options.model_params);

  summary.lp.stats = statistics(draws, 0, probs);
  for (Row& row : summary.sampler)
    row.stats = statistics(draws, row.column, probs);
  for (Row& row : summary.model)
    row.stats = statistics(draws, row.column, probs);
  return summary;
}

// ------------------------------------------------------------- formatting

enum class Notation { fixed, scientific };

struct FixedLayout {
  int width;
  int decimals;
};

// Width and decimals that show `value` to `sig_figs` significant figures
// in fixed notation.  Numbers with at least `sig_figs` integer digits get
// no decimals, so large values are rounded to whole numbers.
FixedLayout fixed_layout(double value, int sig_figs) {
  FixedLayout layout{sig_figs, sig_figs};
  const double magnitude = std::fabs(value);
  if (value == 0) {
    layout = {sig_figs, sig_figs};
  } else if (std::isnan(value)) {
    layout = {3, sig_figs};
  } else if (std::isinf(value)) {
    layout = {sig_figs + 1, sig_figs};
  } else if (magnitude >= 1) {
    const int digits
        = static_cast<int>(std::ceil(std::log10(magnitude) + 1e-6));
    layout = digits >= sig_figs ? FixedLayout{digits, 0}
                                : FixedLayout{sig_figs + 1, sig_figs - digits};
  } else {
    const int zeros
        = static_cast<int>(std::fabs(std::floor(std::log10(magnitude))));
    layout = {1 + zeros + sig_figs, zeros + sig_figs - 1};
  }
  if (std::signbit(value))
    ++layout.width;
  return layout;
}

std::string non_finite_text(double value) {
  if (std::isnan(value))
    return "nan";
  return value > 0 ? "inf" : "-inf";
}

std::string format_value(double value, Notation notation, int sig_figs) {
  if (!std::isfinite(value))
    return non_finite_text(value);
  std::ostringstream out;
  if (notation == Notation::scientific)
    out << std::scientific << std::setprecision(sig_figs - 1);
  else
    out << std::fixed
        << std::setprecision(fixed_layout(value, sig_figs).decimals);
  out << value;
  return out.str();
}

// Shortest general notation with `precision` significant digits (the CSV
// file's format for everything but container elements).
std::string general_value(double value, int precision) {
  if (!std::isfinite(value))
    return non_finite_text(value);
  std::ostringstream out;
  out << std::setprecision(precision) << value;
  return out.str();
}

struct Column {
  Notation notation;
  int width;
};

// A column is printed in fixed notation when every value fits in fewer than
// 8 characters that way (padding included), otherwise in scientific
// notation.  A NaN anywhere in the column also makes it scientific: that is
// what CmdStan 2.35 prints on x86-64 (its width rule has no case for NaN and
// ends up with an out-of-range width), e.g. the sampler rows' N_Eff column
// once stepsize__ or divergent__ yields NaN.
Column choose_column(const std::vector<double>& values,
                     const std::string& label, int sig_figs) {
  constexpr int padding = 2;
  constexpr int fixed_limit = 8;
  const int label_width = static_cast<int>(label.size());
  int widest = 0;
  bool negative = false;
  bool has_nan = false;
  for (double value : values) {
    widest = std::max(widest, fixed_layout(value, sig_figs).width);
    negative = negative || value < 0;
    has_nan = has_nan || std::isnan(value);
  }
  if (!has_nan && widest + padding < fixed_limit)
    return {Notation::fixed, std::max(label_width, widest) + padding};
  const int scientific_width = sig_figs + 1 + 4 + (negative ? 1 : 0);
  return {Notation::scientific,
          std::max(label_width, scientific_width) + padding};
}

std::vector<Column> choose_columns(const std::vector<Row>& rows,
                                   const std::vector<std::string>& labels,
                                   int sig_figs) {
  std::vector<Column> columns;
  for (std::size_t j = 0; j < labels.size(); ++j) {
    std::vector<double> values;
    for (const Row& row : rows)
      values.push_back(row.stats[j]);
    columns.push_back(choose_column(values, labels[j], sig_figs));
  }
  return columns;
}

// ----------------------------------------------------------------- output

template <typename T, typename F>
std::string joined(const std::vector<T>& items, const std::string& separator,
                   F text) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i ? separator : "") + text(items[i]);
  return out;
}

// A time with two significant figures, as stansummary reports times.
std::string seconds_text(double seconds) {
  return format_value(seconds, Notation::fixed, 2);
}

void write_duration(std::ostream& out, const std::string& prefix,
                    const std::string& what,
                    const std::vector<double>& seconds) {
  double total = 0;
  for (double s : seconds)
    total += s;
  std::string unit = "seconds";
  if (total / 3600 > 1) {
    total /= 3600;
    unit = "hours";
  } else if (total / 60 > 1) {
    total /= 60;
    unit = "minutes";
  }
  out << prefix << what << " took ";
  if (seconds.size() == 1) {
    out << seconds_text(total) << " " << unit << "\n";
    return;
  }
  out << "(" << joined(seconds, ", ", seconds_text) << ") seconds, "
      << seconds_text(total) << " " << unit << " total\n";
}

void write_timing(std::ostream& out, const RunDraws& draws,
                  const std::string& prefix) {
  const stan::mcmc::chains<>& chains = draws.chains;
  std::vector<int> kept, warmup, thin;
  for (int c = 0; c < chains.num_chains(); ++c) {
    kept.push_back(chains.num_kept_samples(c));
    warmup.push_back(chains.warmup(c));
    thin.push_back(static_cast<int>(draws.metadata[c].thin));
  }
  auto number = [](int n) { return std::to_string(n); };
  out << prefix << "Inference for Stan model: " << draws.metadata[0].model
      << "\n"
      << prefix << chains.num_chains() << " chains: each with iter=("
      << joined(kept, ",", number) << "); warmup=("
      << joined(warmup, ",", number) << "); thin=("
      << joined(thin, ",", number) << "); " << chains.num_samples()
      << " iterations saved.\n"
      << prefix << "\n";
  write_duration(out, prefix, "Warmup", draws.warmup_seconds);
  write_duration(out, prefix, "Sampling", draws.sampling_seconds);
}

void write_sampler_info(std::ostream& out,
                        const stan::io::stan_csv_metadata& metadata,
                        const std::string& prefix) {
  out << prefix << "Samples were drawn using " << metadata.algorithm
      << " with " << metadata.engine << ".\n"
      << prefix
      << "For each parameter, N_Eff is a crude measure of effective "
         "sample size,\n"
      << prefix
      << "and R_hat is the potential scale reduction factor on split "
         "chains (at \n"
      << prefix << "convergence, R_hat=1).\n";
}

int name_width(const stan::mcmc::chains<>& chains) {
  std::size_t longest = 0;
  for (int i = 0; i < chains.num_params(); ++i)
    longest = std::max(longest, chains.param_name(i).size());
  return static_cast<int>(longest) + 1;
}

struct ConsoleLayout {
  int name_width;
  std::vector<int> widths;  // shared by all rows
  std::vector<Column> sampler;
  std::vector<Column> model;  // also used for lp__
};

ConsoleLayout console_layout(const RunDraws& draws, const Summary& summary,
                             int sig_figs) {
  ConsoleLayout layout;
  layout.name_width = name_width(draws.chains);
  layout.sampler = choose_columns(summary.sampler, summary.labels, sig_figs);
  layout.model = choose_columns(summary.model, summary.labels, sig_figs);
  for (std::size_t j = 0; j < summary.labels.size(); ++j)
    layout.widths.push_back(
        std::max(layout.sampler[j].width, layout.model[j].width));
  return layout;
}

void print_row(std::ostream& out, const std::string& name, const Row& row,
               const std::vector<int>& widths,
               const std::vector<Column>& columns, int name_width,
               int sig_figs) {
  out << std::left << std::setw(name_width) << name << std::right;
  for (std::size_t j = 0; j < row.stats.size(); ++j)
    out << std::setw(widths[j])
        << format_value(row.stats[j], columns[j].notation, sig_figs);
  out << "\n";
}

void print_console(std::ostream& out, const RunDraws& draws,
                   const Summary& summary, int sig_figs) {
  const stan::mcmc::chains<>& chains = draws.chains;
  const ConsoleLayout layout = console_layout(draws, summary, sig_figs);
  write_timing(out, draws, "");
  out << "\n" << std::setw(layout.name_width) << "";
  for (std::size_t j = 0; j < summary.labels.size(); ++j)
    out << std::setw(layout.widths[j]) << summary.labels[j];
  out << "\n\n";
  auto print = [&](const Row& row, const std::vector<Column>& columns) {
    print_row(out, chains.param_name(row.column), row, layout.widths,
              columns, layout.name_width, sig_figs);
  };
  print(summary.lp, layout.model);
  for (const Row& row : summary.sampler)
    print(row, layout.sampler);
  out << "\n";
  for (const Row& row : summary.model)
    print(row, layout.model);
  out << "\n";
  write_sampler_info(out, draws.metadata[0], "");
}

// The autocorrelations of every column of one chain, lag by lag.
void print_autocorrelations(std::ostream& out, const RunDraws& draws,
                            int chain_number, int sig_figs) {
  const stan::mcmc::chains<>& chains = draws.chains;
  const int chain = chain_number - 1;
  const int width = name_width(chains);
  std::vector<Eigen::VectorXd> series;
  for (int i = 0; i < chains.num_params(); ++i)
    series.push_back(chains.autocorrelation(chain, i));
  const int lags = static_cast<int>(series.empty() ? 0 : series[0].size());
  const int lag_width
      = std::max(4, static_cast<int>(std::to_string(lags).size()) + 1);
  out << "Displaying the autocorrelations for chain " << chain_number
      << ":\n\n"
      << std::setw(lag_width) << "Lag";
  for (int i = 0; i < chains.num_params(); ++i)
    out << std::setw(width) << chains.param_name(i);
  out << "\n";
  for (int lag = 0; lag < lags; ++lag) {
    out << std::setw(lag_width) << lag;
    for (const Eigen::VectorXd& s : series)
      out << std::setw(width) << general_value(s(lag), sig_figs);
    out << "\n";
  }
  out << "\n";
}

void write_csv_row(std::ostream& out, const std::string& name, const Row& row,
                   int precision) {
  out << "\"" << name << "\"";
  for (double value : row.stats)
    out << ","
        << (row.fixed_in_csv
                ? format_value(value, Notation::fixed, precision)
                : general_value(value, precision));
  out << "\n";
}

// The statistics at full precision (6 significant figures unless
// --sig_figs was given), then the console's notes as "#" comments.
// Container elements come out in fixed notation as in CmdStan 2.35, but
// always with the file's significant figures: CmdStan uses the console's
// (2 when --sig_figs is absent) for them, and its fixed notation then
// carries over to the scalar rows after them, which this does not copy.
void write_csv(std::ostream& out, const RunDraws& draws,
               const Summary& summary, const Options& options) {
  const stan::mcmc::chains<>& chains = draws.chains;
  const int precision = options.sig_figs_given ? options.sig_figs : 6;
  out << "name";
  for (const std::string& label : summary.labels)
    out << "," << label;
  out << "\n";
  write_csv_row(out, chains.param_name(0), summary.lp, precision);
  for (const Row& row : summary.sampler)
    write_csv_row(out, chains.param_name(row.column), row, precision);
  for (const Row& row : summary.model)
    write_csv_row(out, chains.param_name(row.column), row, precision);
  write_timing(out, draws, "# ");
  write_sampler_info(out, draws.metadata[0], "# ");
}

int run(int argc, char* argv[]) {
  const Options options = parse_command_line(argc, argv);
  if (options.help) {
    std::cout << kUsage;
    return 0;
  }
  if (options.files.empty())
    throw tool_error(std::string("No Stan CSV files given.\n") + kUsage);
  if (options.autocorr > static_cast<int>(options.files.size()))
    throw tool_error("Option --autocorr: " + std::to_string(options.autocorr)
                     + " is not a valid chain id; the input files are "
                     + "chains 1 to " + std::to_string(options.files.size())
                     + ".");
  // Opened (and emptied) first so that an unwritable path fails at once.
  std::ofstream csv_file;
  if (!options.csv_filename.empty()) {
    csv_file.open(options.csv_filename);
    if (!csv_file.good())
      throw tool_error("Cannot save to csv_filename: " + options.csv_filename
                       + ".");
  }
  const RunDraws draws = read_draws(options.files, std::cerr);
  const Summary summary = summarise(draws, options);
  print_console(std::cout, draws, summary, options.sig_figs);
  if (options.autocorr > 0)
    print_autocorrelations(std::cout, draws, options.autocorr,
                           options.sig_figs);
  std::cout.flush();
  if (csv_file.is_open()) {
    write_csv(csv_file, draws, summary, options);
    csv_file.close();
    if (csv_file.fail())
      throw tool_error("Error writing csv_filename: " + options.csv_filename
                       + ".");
  }
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
