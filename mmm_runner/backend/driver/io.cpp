#include "driver.hpp"

#include <stan/io/empty_var_context.hpp>
#include <stan/io/json/json_data.hpp>
#include <stan/math/rev/core/profiling.hpp>
#include <stan/version.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <sstream>
#include <sys/stat.h>
#include <thread>

stan::math::profile_map& get_stan_profile_data();

namespace mmm_driver {

namespace {

bool file_exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::ostringstream out;
  out << std::put_time(&utc, "%Y-%m-%d %H:%M:%S") << " UTC";
  return out.str();
}

// Splits a path at the extension of its last component.
std::pair<std::string, std::string> split_extension(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return {path, ""};
  return {path.substr(0, dot), path.substr(dot)};
}

}  // namespace

ContextPtr read_var_context(const std::string& path, const std::string& what) {
  if (path.empty())
    return std::make_shared<stan::io::empty_var_context>();
  std::ifstream stream(path);
  if (!stream.good())
    throw run_error("Cannot open " + what + " file \"" + path
                        + "\": no such file or it is not readable.");
  const auto [stem, extension] = split_extension(path);
  if (extension != ".json")
    throw run_error("The " + what + " file \"" + path
                        + "\" must be JSON (ending in .json).");
  try {
    return std::make_shared<stan::json::json_data>(stream);
  } catch (const std::exception& e) {
    throw run_error("Error reading " + what + " file \"" + path + "\": "
                        + e.what());
  }
}

std::string with_chain_suffix(const std::string& base, unsigned int id) {
  const auto [stem, extension] = split_extension(base);
  return stem + "_" + std::to_string(id) + extension;
}

std::string chain_input(const Run& run, const std::string& path, int index,
                        int count) {
  if (count == 1 || path.empty())
    return path;
  if (!file_exists(with_chain_suffix(path, run.id)))
    return path;
  return with_chain_suffix(path, run.id + index);
}

Writer open_csv(const Run& run, const std::string& path, bool diagnostic) {
  auto stream = std::make_unique<std::ofstream>(path);
  if (!stream->good())
    throw run_error("Cannot open output file \"" + path + "\" for writing.");
  const long sig_figs = run.args.integer({"output", "sig_figs"});
  if (sig_figs > -1)
    stream->precision(sig_figs);
  Writer writer(std::move(stream), "# ");
  writer("stan_version_major = " + std::string(stan::MAJOR_VERSION));
  writer("stan_version_minor = " + std::string(stan::MINOR_VERSION));
  writer("stan_version_patch = " + std::string(stan::PATCH_VERSION));
  writer("model = " + run.model.model_name());
  if (!diagnostic)
    writer("start_datetime = " + utc_now());
  for (const std::string& line : run.args.config_lines())
    writer(line);
  if (!diagnostic)
    for (const std::string& line : run.model.model_compile_info())
      writer(line);
  return writer;
}

Writer null_writer() { return Writer(std::unique_ptr<std::ofstream>()); }

namespace {

// The init argument as a radius, or false when it names a file.
bool parse_radius(const std::string& init, double& radius) {
  char* end = nullptr;
  radius = std::strtod(init.c_str(), &end);
  return !init.empty() && *end == '\0';
}

}  // namespace

double init_radius(const Run& run) {
  const std::string init = run.args.text({"init"});
  double radius = 0;
  if (!parse_radius(init, radius))
    return 2.0;  // a file: values it leaves unset start on the default range
  if (radius < 0)
    throw run_error("init must be a non-negative radius or a JSON file; found "
                    + init);
  return radius;
}

std::vector<ContextPtr> init_contexts(const Run& run, int count) {
  const std::string init = run.args.text({"init"});
  double radius = 0;
  std::vector<ContextPtr> contexts;
  for (int i = 0; i < count; ++i) {
    if (parse_radius(init, radius))
      contexts.push_back(std::make_shared<stan::io::empty_var_context>());
    else
      contexts.push_back(
          read_var_context(chain_input(run, init, i, count), "init"));
  }
  return contexts;
}

namespace {

std::vector<std::string> split_line(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream stream(line);
  while (std::getline(stream, cell, ',')) {
    const auto first = cell.find_first_not_of(" \t\r");
    const auto last = cell.find_last_not_of(" \t\r");
    cells.push_back(first == std::string::npos ? ""
                                               : cell.substr(first, last - first + 1));
  }
  return cells;
}

}  // namespace

CsvTable read_stan_csv(const std::string& path, const std::string& what) {
  std::ifstream stream(path);
  if (!stream.good())
    throw run_error("Can't open specified file, \"" + path + "\" (the " + what
                    + ").");
  CsvTable table;
  std::string line;
  while (std::getline(stream, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::vector<std::string> cells = split_line(line);
    if (table.header.empty()) {
      table.header = cells;
      continue;
    }
    if (cells.size() != table.header.size())
      throw run_error("The " + what + " file \"" + path + "\" has a row with "
                      + std::to_string(cells.size()) + " values for "
                      + std::to_string(table.header.size()) + " columns.");
    std::vector<double> values;
    for (const std::string& cell : cells)
      values.push_back(std::strtod(cell.c_str(), nullptr));
    table.rows.push_back(values);
  }
  if (table.header.empty())
    throw run_error("The " + what + " file \"" + path + "\" has no header row.");
  return table;
}

Eigen::MatrixXd select_columns(const CsvTable& table,
                               const std::vector<std::string>& names,
                               const std::string& path) {
  Eigen::MatrixXd out(table.rows.size(), names.size());
  for (size_t j = 0; j < names.size(); ++j) {
    const auto it = std::find(table.header.begin(), table.header.end(), names[j]);
    if (it == table.header.end())
      throw run_error("\"" + path + "\" lacks a column for parameter " + names[j]
                      + "; was it written by this model?");
    const auto column = std::distance(table.header.begin(), it);
    for (size_t i = 0; i < table.rows.size(); ++i)
      out(i, j) = table.rows[i][column];
  }
  return out;
}

void write_profiles(const Run& run) {
  stan::math::profile_map& profiles = get_stan_profile_data();
  if (profiles.empty())
    return;
  const std::string path = run.args.text({"output", "profile_file"});
  std::ofstream out(path);
  if (!out.good()) {
    run.logger.error("Cannot write profile file \"" + path + "\".");
    return;
  }
  out << "name,thread_id,total_time,forward_time,reverse_time,chain_stack,"
         "no_chain_stack,autodiff_calls,no_autodiff_calls\n";
  for (const auto& [key, info] : profiles) {
    out << key.first << "," << key.second << ","
        << info.get_fwd_time() + info.get_rev_time() << ","
        << info.get_fwd_time() << "," << info.get_rev_time() << ","
        << info.get_chain_stack_used() << "," << info.get_nochain_stack_used()
        << "," << info.get_num_AD_fwd_passes() << ","
        << info.get_num_no_AD_fwd_passes() << "\n";
  }
}

}  // namespace mmm_driver
