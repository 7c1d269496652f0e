// Shared by the stansummary and diagnose tools: reading a run's Stan CSV
// files into a stan::mcmc::chains object.
//
// Both tools go through Stan's own CSV reader and chains class, the code
// CmdStan 2.35's tools use, so means, quantiles, N_Eff and split R-hat are
// computed by the same functions and agree with CmdStan to the last digit.
// These are standalone programs: this header is not part of the model
// driver and is never linked into a model.
#ifndef MMM_DRIVER_TOOLS_CHAIN_FILES_HPP
#define MMM_DRIVER_TOOLS_CHAIN_FILES_HPP

#include <stan/io/stan_csv_reader.hpp>
#include <stan/mcmc/chains.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace mmm_driver {
namespace tools {

// A failure the tool reports on stderr before exiting with status 1.
struct tool_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The draws of every input file, one chain per file, in argument order.
struct RunDraws {
  std::vector<stan::io::stan_csv_metadata> metadata;
  std::vector<double> warmup_seconds;
  std::vector<double> sampling_seconds;
  stan::mcmc::chains<> chains{std::vector<std::string>{}};

  double total_sampling_seconds() const {
    double total = 0;
    for (double seconds : sampling_seconds)
      total += seconds;
    return total;
  }
};

inline bool is_regular_file(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// Fails unless every path names a readable regular file; checked before any
// parsing so that a typo is reported at once, whatever its position.
inline void require_readable(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    std::ifstream probe(path);
    if (!is_regular_file(path) || !probe.good())
      throw tool_error("Cannot read input csv file: " + path
                       + " (no such file, or it is not readable).");
  }
}

namespace detail {

// Stan's reader reports through a stream.  A missing adaptation block is
// normal (fixed_param runs have none, and with save_warmup the warmup draws
// come before it), so that warning is dropped; lines starting with "Error"
// mean the draws could not be read; anything else is passed on as a note.
inline void triage_reader_messages(const std::string& path,
                                   const std::string& messages,
                                   std::ostream& notes) {
  std::istringstream lines(messages);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()
        || line.find("error reading adaptation data") != std::string::npos)
      continue;
    if (line.rfind("Error: ", 0) == 0)
      throw tool_error("Cannot parse input csv file: " + path + ": "
                       + line.substr(7));
    notes << path << ": " << line << "\n";
  }
}

// Whether the configuration block says warmup draws were saved.  Stan
// 2.35's reader parses this flag as 0/1 only, but CmdStan 2.35 (and our
// driver) write "save_warmup = true", so the reader always reports false and
// CmdStan 2.35's own tools summarise warmup and sampling draws together.
// Reading the line here keeps the warmup draws out.
inline bool warmup_saved(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line) && !line.empty() && line[0] == '#') {
    const auto key = line.find("save_warmup");
    const auto equals = line.find('=');
    if (key == std::string::npos || equals == std::string::npos
        || equals < key)
      continue;
    std::istringstream value(line.substr(equals + 1));
    std::string word;
    value >> word;
    return word == "true" || word == "1";
  }
  return false;
}

// Rows at the top of the draws that are warmup.  Stan saves warmup
// iteration m when m % thin == 0, so there are ceil(num_warmup / thin) of
// them.
inline int saved_warmup_rows(const stan::io::stan_csv& csv) {
  if (!csv.metadata.save_warmup)
    return 0;
  const std::size_t thin = std::max<std::size_t>(csv.metadata.thin, 1);
  const std::size_t rows = (csv.metadata.num_warmup + thin - 1) / thin;
  return static_cast<int>(
      std::min<std::size_t>(rows, static_cast<std::size_t>(csv.samples.rows())));
}

// Stan's reader converts each value with operator>>, which cannot read
// "nan" or "inf" and leaves 0 in their place; the draws would then be
// summarised as if they were zeros.  This puts the non-finite values back,
// walking the data lines the way the reader does (comment and empty lines
// skipped, the first other line being the column names).
inline void restore_non_finite(const std::string& path,
                               Eigen::MatrixXd& samples) {
  std::ifstream in(path);
  std::string line;
  bool header_seen = false;
  Eigen::Index row = 0;
  while (std::getline(in, line) && row < samples.rows()) {
    if (line.empty() || line[0] == '#')
      continue;
    if (!header_seen) {
      header_seen = true;
      continue;
    }
    // Only letters other than an exponent's 'e' can mean nan or inf.
    if (line.find_first_of("aAfFiInN") != std::string::npos) {
      std::istringstream fields(line);
      std::string field;
      for (Eigen::Index col = 0;
           std::getline(fields, field, ',') && col < samples.cols(); ++col)
        if (field.find_first_of("aAfFiInN") != std::string::npos)
          samples(row, col) = std::strtod(field.c_str(), nullptr);
    }
    ++row;
  }
}

inline stan::io::stan_csv parse_file(const std::string& path,
                                     std::ostream& notes) {
  std::ifstream in(path);
  std::stringstream messages;
  stan::io::stan_csv csv;
  try {
    csv = stan::io::stan_csv_reader::parse(in, &messages);
  } catch (const std::exception&) {
    throw tool_error("Cannot parse input csv file: " + path
                     + ": no Stan CSV header line (column names) found.");
  }
  triage_reader_messages(path, messages.str(), notes);
  csv.metadata.save_warmup = csv.metadata.save_warmup || warmup_saved(path);
  restore_non_finite(path, csv.samples);
  if (csv.samples.rows() - saved_warmup_rows(csv) < 1)
    throw tool_error("No sampling draws found in Stan CSV file: " + path
                     + ".");
  return csv;
}

inline void require_same_columns(const stan::mcmc::chains<>& chains,
                                 const stan::io::stan_csv& csv,
                                 const std::string& path,
                                 const std::string& first_path) {
  bool same = csv.header.size() == static_cast<std::size_t>(chains.num_params());
  for (std::size_t i = 0; same && i < csv.header.size(); ++i)
    same = csv.header[i] == chains.param_name(static_cast<int>(i));
  if (!same)
    throw tool_error("The columns of " + path + " differ from those of "
                     + first_path
                     + "; all files must be chains of the same model and run.");
}

}  // namespace detail

// Reads every file as one chain.  Reader notes that are not errors go to
// `notes`.
inline RunDraws read_draws(const std::vector<std::string>& paths,
                           std::ostream& notes) {
  if (paths.empty())
    throw tool_error("No Stan CSV files given.");
  require_readable(paths);
  RunDraws draws;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    stan::io::stan_csv csv = detail::parse_file(paths[i], notes);
    if (i == 0)
      draws.chains = stan::mcmc::chains<>(csv.header);
    else
      detail::require_same_columns(draws.chains, csv, paths[i], paths[0]);
    draws.chains.add(csv.samples);
    draws.chains.set_warmup(static_cast<int>(i),
                            detail::saved_warmup_rows(csv));
    draws.metadata.push_back(csv.metadata);
    draws.warmup_seconds.push_back(csv.timing.warmup);
    draws.sampling_seconds.push_back(csv.timing.sampling);
  }
  return draws;
}

// Sampler outputs (lp__, accept_stat__, ...) end in "__"; Stan forbids
// that ending for model variables.
inline bool is_sampler_column(const std::string& name) {
  return name.size() > 2 && name.compare(name.size() - 2, 2, "__") == 0;
}

}  // namespace tools
}  // namespace mmm_driver

#endif
