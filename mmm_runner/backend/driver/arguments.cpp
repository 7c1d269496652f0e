#include "arguments.hpp"

#include <cstdlib>
#include <random>
#include <sstream>

namespace mmm_driver {

namespace {

using Kind = Arg::Kind;

std::unique_ptr<Arg> make(const std::string& name, Kind kind,
                          const std::string& default_value = "") {
  return std::make_unique<Arg>(name, kind, default_value);
}

// Formats a double the way CmdStan echoes real arguments (%.17g).
std::string format_real(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

bool parse_long(const std::string& text, long& out) {
  if (text.empty())
    return false;
  char* end = nullptr;
  out = std::strtol(text.c_str(), &end, 10);
  return *end == '\0';
}

bool parse_double(const std::string& text, double& out) {
  if (text.empty())
    return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return *end == '\0';
}

void add_lbfgs_tolerances(Arg* parent) {
  parent->add(make("init_alpha", Kind::real, "0.001"))->at_least(0);
  parent->add(make("tol_obj", Kind::real, "1e-12"))->at_least(0);
  parent->add(make("tol_rel_obj", Kind::real, "10000"))->at_least(0);
  parent->add(make("tol_grad", Kind::real, "1e-08"))->at_least(0);
  parent->add(make("tol_rel_grad", Kind::real, "1e+07"))->at_least(0);
  parent->add(make("tol_param", Kind::real, "1e-08"))->at_least(0);
}

void build_sample(Arg* sample) {
  sample->add(make("num_samples", Kind::integer, "1000"))->at_least(0);
  sample->add(make("num_warmup", Kind::integer, "1000"))->at_least(0);
  sample->add(make("save_warmup", Kind::boolean, "false"));
  sample->add(make("thin", Kind::integer, "1"))->at_least(1);
  Arg* adapt = sample->add(make("adapt", Kind::category));
  adapt->add(make("engaged", Kind::boolean, "true"));
  adapt->add(make("gamma", Kind::real, "0.05"))->at_least(0);
  adapt->add(make("delta", Kind::real, "0.8"))->at_least(0)->at_most(1);
  adapt->add(make("kappa", Kind::real, "0.75"))->at_least(0);
  adapt->add(make("t0", Kind::real, "10"))->at_least(0);
  adapt->add(make("init_buffer", Kind::integer, "75"))->at_least(0);
  adapt->add(make("term_buffer", Kind::integer, "50"))->at_least(0);
  adapt->add(make("window", Kind::integer, "25"))->at_least(0);
  adapt->add(make("save_metric", Kind::boolean, "false"));
  Arg* algorithm = sample->add(make("algorithm", Kind::list, "hmc"));
  Arg* hmc = algorithm->add(make("hmc", Kind::category));
  Arg* engine = hmc->add(make("engine", Kind::list, "nuts"));
  Arg* nuts = engine->add(make("nuts", Kind::category));
  nuts->add(make("max_depth", Kind::integer, "10"))->at_least(1);
  Arg* fixed = engine->add(make("static", Kind::category));
  fixed->add(make("int_time", Kind::real, "6.28319"))->at_least(0);
  Arg* metric = hmc->add(make("metric", Kind::list, "diag_e"));
  metric->add(make("unit_e", Kind::category));
  metric->add(make("diag_e", Kind::category));
  metric->add(make("dense_e", Kind::category));
  hmc->add(make("metric_file", Kind::text, ""));
  hmc->add(make("stepsize", Kind::real, "1"))->at_least(0);
  hmc->add(make("stepsize_jitter", Kind::real, "0"))->at_least(0)->at_most(1);
  algorithm->add(make("fixed_param", Kind::category));
  sample->add(make("num_chains", Kind::integer, "1"))->at_least(1);
}

void build_optimize(Arg* optimize) {
  Arg* algorithm = optimize->add(make("algorithm", Kind::list, "lbfgs"));
  Arg* bfgs = algorithm->add(make("bfgs", Kind::category));
  add_lbfgs_tolerances(bfgs);
  Arg* lbfgs = algorithm->add(make("lbfgs", Kind::category));
  add_lbfgs_tolerances(lbfgs);
  lbfgs->add(make("history_size", Kind::integer, "5"))->at_least(1);
  algorithm->add(make("newton", Kind::category));
  optimize->add(make("jacobian", Kind::boolean, "false"));
  optimize->add(make("iter", Kind::integer, "2000"))->at_least(1);
  optimize->add(make("save_iterations", Kind::boolean, "false"));
}

void build_laplace(Arg* laplace) {
  laplace->add(make("mode", Kind::text, ""));
  laplace->add(make("jacobian", Kind::boolean, "true"));
  laplace->add(make("draws", Kind::integer, "1000"))->at_least(1);
  laplace->add(make("calculate_lp", Kind::boolean, "true"));
}

void build_pathfinder(Arg* pathfinder) {
  add_lbfgs_tolerances(pathfinder);
  pathfinder->add(make("history_size", Kind::integer, "5"))->at_least(1);
  pathfinder->add(make("num_psis_draws", Kind::integer, "1000"))->at_least(1);
  pathfinder->add(make("num_paths", Kind::integer, "4"))->at_least(1);
  pathfinder->add(make("save_single_paths", Kind::boolean, "false"));
  pathfinder->add(make("psis_resample", Kind::boolean, "true"));
  pathfinder->add(make("calculate_lp", Kind::boolean, "true"));
  pathfinder->add(make("max_lbfgs_iters", Kind::integer, "1000"))->at_least(1);
  pathfinder->add(make("num_draws", Kind::integer, "1000"))->at_least(1);
  pathfinder->add(make("num_elbo_draws", Kind::integer, "25"))->at_least(1);
}

std::string default_num_threads() {
  const char* env = std::getenv("STAN_NUM_THREADS");
  long threads = 0;
  if (env != nullptr && parse_long(env, threads) && (threads == -1 || threads > 0))
    return env;
  return "1";
}

// Finds `name` among the children of `scope`; a bare name may also pick the
// value of a list child (so `sample` means `method=sample`).
Arg* lookup(const Arg* scope, const std::string& name, bool bare,
            bool& picked_choice) {
  picked_choice = false;
  if (Arg* direct = scope->child(name))
    return direct;
  if (!bare)
    return nullptr;
  for (const auto& child : scope->children()) {
    if (child->kind() == Kind::list && child->child(name) != nullptr) {
      picked_choice = true;
      return child.get();
    }
  }
  return nullptr;
}

}  // namespace

Arg::Arg(std::string name, Kind kind, const std::string& default_value)
    : name_(std::move(name)), kind_(kind) {
  value_ = kind == Kind::real ? format_real(std::stod(default_value))
                              : default_value;
  default_ = value_;
}

Arg* Arg::child(const std::string& name) const {
  for (const auto& c : children_)
    if (c->name() == name)
      return c.get();
  return nullptr;
}

Arg* Arg::chosen() const { return kind_ == Kind::list ? child(value_) : nullptr; }

void Arg::assign(const std::string& text) {
  std::string normalised = text;
  switch (kind_) {
    case Kind::category:
      throw usage_error(name_ + " does not take a value; found " + name_ + "="
                        + text);
    case Kind::list: {
      if (child(text) == nullptr) {
        std::string choices;
        for (const auto& c : children_)
          choices += (choices.empty() ? "" : ", ") + c->name();
        throw usage_error(text + " is not a valid value for \"" + name_
                          + "\"\n  Valid values: " + choices);
      }
      break;
    }
    case Kind::integer: {
      long number = 0;
      if (!parse_long(text, number))
        throw usage_error(text + " is not a valid value for \"" + name_
                          + "\"\n  Valid values: an integer");
      if ((has_min_ && number < min_) || (has_max_ && number > max_))
        throw usage_error(text + " is not a valid value for \"" + name_
                          + "\"\n  Valid values: " + range());
      normalised = std::to_string(number);
      break;
    }
    case Kind::real: {
      double number = 0;
      if (!parse_double(text, number))
        throw usage_error(text + " is not a valid value for \"" + name_
                          + "\"\n  Valid values: a real number");
      if ((has_min_ && number < min_) || (has_max_ && number > max_))
        throw usage_error(text + " is not a valid value for \"" + name_
                          + "\"\n  Valid values: " + range());
      normalised = format_real(number);
      break;
    }
    case Kind::boolean: {
      if (text == "1" || text == "true")
        normalised = "true";
      else if (text == "0" || text == "false")
        normalised = "false";
      else
        throw usage_error(text + " is not a valid value for \"" + name_
                          + "\"\n  Valid values: [0, 1, false, true]");
      break;
    }
    case Kind::text:
      break;
  }
  value_ = normalised;
}

std::string Arg::range() const {
  std::string out;
  if (has_min_)
    out += format_real(min_) + " <= ";
  out += name_;
  if (has_max_)
    out += " <= " + format_real(max_);
  return out;
}

void Arg::print(std::vector<std::string>& lines, int depth) const {
  const std::string indent(2 * depth, ' ');
  const std::string mark = is_default() ? " (Default)" : "";
  if (kind_ == Kind::category) {
    lines.push_back(indent + name_);
    for (const auto& c : children_)
      c->print(lines, depth + 1);
    return;
  }
  lines.push_back(indent + name_ + " = " + value_ + mark);
  if (kind_ == Kind::list) {
    const Arg* value = chosen();
    // CmdStan echoes a chosen value only when it carries sub-arguments.
    if (value != nullptr && !value->children().empty())
      value->print(lines, depth + 1);
  }
}

CommandLine::CommandLine() : root_(make("", Kind::category)) {
  Arg* method = root_->add(make("method", Kind::list, "sample"));
  build_sample(method->add(make("sample", Kind::category)));
  build_optimize(method->add(make("optimize", Kind::category)));
  build_laplace(method->add(make("laplace", Kind::category)));
  build_pathfinder(method->add(make("pathfinder", Kind::category)));
  Arg* gq = method->add(make("generate_quantities", Kind::category));
  gq->add(make("fitted_params", Kind::text, ""));
  gq->add(make("num_chains", Kind::integer, "1"))->at_least(1);
  root_->add(make("id", Kind::integer, "1"))->at_least(0);
  root_->add(make("data", Kind::category))->add(make("file", Kind::text, ""));
  root_->add(make("init", Kind::text, "2"));
  Arg* random = root_->add(make("random", Kind::category));
  Arg* seed = random->add(make("seed", Kind::integer, "0"));
  seed->at_least(0)->at_most(4294967295.0);
  seed->set_default(std::to_string(std::random_device{}() % 4294967295u));
  Arg* output = root_->add(make("output", Kind::category));
  output->add(make("file", Kind::text, "output.csv"));
  output->add(make("diagnostic_file", Kind::text, ""));
  output->add(make("refresh", Kind::integer, "100"))->at_least(0);
  output->add(make("sig_figs", Kind::integer, "-1"))->at_least(-1)->at_most(18);
  output->add(make("profile_file", Kind::text, "profile.csv"));
  output->add(make("save_cmdstan_config", Kind::boolean, "false"));
  root_->add(make("num_threads", Kind::integer, default_num_threads()))
      ->at_least(-1);
}

void CommandLine::parse(const std::vector<std::string>& tokens) {
  Arg* scope = root_.get();
  for (const std::string& token : tokens) {
    const auto eq = token.find('=');
    const bool bare = eq == std::string::npos;
    const std::string name = bare ? token : token.substr(0, eq);
    const std::string value = bare ? "" : token.substr(eq + 1);
    Arg* found = nullptr;
    bool picked_choice = false;
    for (Arg* s = scope; s != nullptr && found == nullptr; s = s->parent()) {
      if (s->kind() == Kind::list)
        continue;  // a list's children are its values, not arguments
      found = lookup(s, name, bare, picked_choice);
    }
    if (found == nullptr)
      throw usage_error(name + " is either mistyped or misplaced.");
    if (found == root_->child("method"))
      method_given_ = true;
    if (picked_choice) {
      found->assign(name);
      scope = found->chosen();
    } else if (found->kind() == Kind::category) {
      if (!bare)
        found->assign(value);  // throws: categories take no value
      scope = found;
    } else if (bare) {
      throw usage_error(name + " requires a value: " + name + "=<value>");
    } else {
      found->assign(value);
      scope = found->kind() == Kind::list ? found->chosen() : found->parent();
    }
  }
  if (!method_given_)
    throw usage_error("A method must be specified!");
}

const Arg& CommandLine::at(const std::vector<std::string>& path) const {
  const Arg* node = root_.get();
  for (const std::string& name : path) {
    const Arg* next = node->child(name);
    if (next == nullptr)
      throw std::logic_error("driver bug: no argument " + name);
    node = next;
  }
  return *node;
}

std::string CommandLine::text(const std::vector<std::string>& path) const {
  return at(path).value();
}

long CommandLine::integer(const std::vector<std::string>& path) const {
  return std::stol(at(path).value());
}

double CommandLine::real(const std::vector<std::string>& path) const {
  return std::stod(at(path).value());
}

bool CommandLine::boolean(const std::vector<std::string>& path) const {
  return at(path).value() == "true";
}

std::vector<std::string> CommandLine::config_lines() const {
  std::vector<std::string> lines;
  for (const auto& c : root_->children())
    c->print(lines, 0);
  return lines;
}

}  // namespace mmm_driver
