#pragma once
/// @file params.hpp
/// Parameter schemas (declared by each plugin) and resolved parameter values.
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nmfx/types.hpp>

namespace nmfx {

enum class ParamType { integer, real, boolean, string, path, choice };
const char* to_string(ParamType type);

/// One parameter of a plugin: the schema is the documentation (`nmfx list` prints it) and the
/// validation (a spec is checked against it before anything runs).
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::real;
  json default_value;                ///< null means required
  std::optional<double> min, max;    ///< inclusive bounds for integer and real
  std::vector<std::string> choices;  ///< allowed values for choice
  std::string doc;                   ///< one line
};

/// Builders for the common cases, so a schema reads as a table.
ParamSpec param_real(std::string name, double def, std::string doc, std::optional<double> min = std::nullopt,
                     std::optional<double> max = std::nullopt);
ParamSpec param_int(std::string name, long long def, std::string doc, std::optional<double> min = std::nullopt,
                    std::optional<double> max = std::nullopt);
ParamSpec param_bool(std::string name, bool def, std::string doc);
ParamSpec param_string(std::string name, std::string def, std::string doc);
/// A file or folder; a relative path in a spec is resolved against the spec file's folder.
/// An empty default means the parameter is required.
ParamSpec param_path(std::string name, std::string doc);
ParamSpec param_choice(std::string name, std::string def, std::vector<std::string> choices, std::string doc);

/// Resolved parameter values of one plugin instance: every declared name present, types checked.
class Params {
 public:
  Params() = default;
  explicit Params(json values) : values_(std::move(values)) {}
  double real(const std::string& name) const;
  long long integer(const std::string& name) const;
  bool boolean(const std::string& name) const;
  std::string str(const std::string& name) const;  ///< string, path and choice
  const json& values() const { return values_; }

 private:
  const json& at(const std::string& name) const;
  json values_ = json::object();
};

/// Checks `given` (an object of name -> scalar) against `schema`, fills defaults, converts types.
/// Throws ParamError naming the offending key. Lists are not accepted here: the grid expands them.
struct ParamError : Error {
  ParamError(std::string parameter, const std::string& what) : Error(what), key(std::move(parameter)) {}
  ~ParamError() override;
  std::string key;
};
json resolve_params(const std::vector<ParamSpec>& schema, const json& given);

}  // namespace nmfx
