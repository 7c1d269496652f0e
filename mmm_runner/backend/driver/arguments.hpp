// The command line of a CmdStan model executable, as a tree of arguments.
//
// CmdStan's grammar is positional: a token `name=value` (or a bare `name`)
// is looked up among the children of the argument most recently opened and,
// failing that, among the children of its ancestors.  Categories (`adapt`,
// `data`, `output`) open a scope; list arguments (`method=sample`,
// `algorithm=hmc`) open the scope of the chosen value.  The same tree prints
// the configuration comment block that cmdstanpy reads back from Stan CSV.
#ifndef MMM_DRIVER_ARGUMENTS_HPP
#define MMM_DRIVER_ARGUMENTS_HPP

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mmm_driver {

// Raised for a token the tree cannot place or a value it cannot accept.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Arg {
 public:
  enum class Kind { category, list, integer, real, boolean, text };

  Arg(std::string name, Kind kind, const std::string& default_value = "");

  Arg* add(std::unique_ptr<Arg> child) {
    child->parent_ = this;
    children_.push_back(std::move(child));
    return children_.back().get();
  }

  const std::string& name() const { return name_; }
  Kind kind() const { return kind_; }
  const std::string& value() const { return value_; }
  // CmdStan marks a value "(Default)" whenever it equals the default, even
  // when the user typed it.
  bool is_default() const { return value_ == default_; }
  Arg* parent() const { return parent_; }
  const std::vector<std::unique_ptr<Arg>>& children() const {
    return children_;
  }

  // Smallest accepted number for integer and real arguments.
  Arg* at_least(double low) {
    min_ = low;
    has_min_ = true;
    return this;
  }
  // Largest accepted number for integer and real arguments.
  Arg* at_most(double high) {
    max_ = high;
    has_max_ = true;
    return this;
  }
  // Overrides the default shown in the config block (used for seeds).
  void set_default(const std::string& value) {
    value_ = value;
    default_ = value;
  }

  Arg* child(const std::string& name) const;
  // For a list argument, the chosen value's category.
  Arg* chosen() const;
  void assign(const std::string& text);

  void print(std::vector<std::string>& lines, int depth) const;

 private:
  std::string range() const;

  std::string name_;
  Kind kind_;
  std::string value_;
  std::string default_;
  Arg* parent_ = nullptr;
  std::vector<std::unique_ptr<Arg>> children_;
  double min_ = 0, max_ = 0;
  bool has_min_ = false, has_max_ = false;
};

// The whole command line: builds CmdStan 2.35's argument tree and parses
// tokens into it.
class CommandLine {
 public:
  CommandLine();
  void parse(const std::vector<std::string>& tokens);

  // Looks up an argument by its path of names; list arguments are walked
  // through their chosen value, e.g. {"method", "sample", "num_samples"}.
  const Arg& at(const std::vector<std::string>& path) const;
  std::string text(const std::vector<std::string>& path) const;
  long integer(const std::vector<std::string>& path) const;
  double real(const std::vector<std::string>& path) const;
  bool boolean(const std::vector<std::string>& path) const;

  std::string method() const { return root_->child("method")->value(); }
  // The config block lines, without the "# " prefix.
  std::vector<std::string> config_lines() const;
  Arg& root() { return *root_; }

 private:
  std::unique_ptr<Arg> root_;
  bool method_given_ = false;
};

}  // namespace mmm_driver

#endif
