#include <cmath>
#include <sstream>

#include <nmfx/params.hpp>

namespace nmfx {

const char* to_string(ParamType type) {
  switch (type) {
    case ParamType::integer:
      return "int";
    case ParamType::real:
      return "real";
    case ParamType::boolean:
      return "bool";
    case ParamType::string:
      return "string";
    case ParamType::path:
      return "path";
    case ParamType::choice:
      return "choice";
  }
  return "?";
}

ParamSpec param_real(std::string name, double def, std::string doc, std::optional<double> min,
                     std::optional<double> max) {
  return {std::move(name), ParamType::real, def, min, max, {}, std::move(doc)};
}
ParamSpec param_int(std::string name, long long def, std::string doc, std::optional<double> min,
                    std::optional<double> max) {
  return {std::move(name), ParamType::integer, def, min, max, {}, std::move(doc)};
}
ParamSpec param_bool(std::string name, bool def, std::string doc) {
  return {std::move(name), ParamType::boolean, def, {}, {}, {}, std::move(doc)};
}
ParamSpec param_string(std::string name, std::string def, std::string doc) {
  return {std::move(name), ParamType::string, def, {}, {}, {}, std::move(doc)};
}
ParamSpec param_path(std::string name, std::string doc) {
  return {std::move(name), ParamType::path, nullptr, {}, {}, {}, std::move(doc)};
}
ParamSpec param_choice(std::string name, std::string def, std::vector<std::string> choices, std::string doc) {
  return {std::move(name), ParamType::choice, def, {}, {}, std::move(choices), std::move(doc)};
}

const json& Params::at(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error("parameter '" + name + "' was not declared by this plugin");
  return *it;
}
double Params::real(const std::string& name) const { return at(name).get<double>(); }
long long Params::integer(const std::string& name) const { return at(name).get<long long>(); }
bool Params::boolean(const std::string& name) const { return at(name).get<bool>(); }
std::string Params::str(const std::string& name) const { return at(name).get<std::string>(); }

namespace {

std::string bounds_text(const ParamSpec& s) {
  std::ostringstream os;
  os << "[" << (s.min ? std::to_string(*s.min) : "-inf") << ", " << (s.max ? std::to_string(*s.max) : "inf") << "]";
  return os.str();
}

json convert(const ParamSpec& s, const json& v) {
  auto fail = [&](const std::string& what) { throw ParamError(s.name, "parameter '" + s.name + "' " + what); };
  switch (s.type) {
    case ParamType::integer: {
      long long x = 0;
      if (v.is_number_integer()) {
        x = v.get<long long>();
      } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
                 std::abs(v.get<double>()) < 9e15) {
        x = static_cast<long long>(v.get<double>());  // 1e3 written in YAML is an integer
      } else {
        fail("must be an integer, got " + v.dump());
      }
      if ((s.min && static_cast<double>(x) < *s.min) || (s.max && static_cast<double>(x) > *s.max))
        fail("= " + std::to_string(x) + " is out of range " + bounds_text(s));
      return x;
    }
    case ParamType::real: {
      if (!v.is_number()) fail("must be a number, got " + v.dump());
      const double x = v.get<double>();
      if (!std::isfinite(x)) fail("must be finite, got " + v.dump());
      if ((s.min && x < *s.min) || (s.max && x > *s.max)) fail("= " + v.dump() + " is out of range " + bounds_text(s));
      return x;
    }
    case ParamType::boolean:
      if (!v.is_boolean()) fail("must be true or false, got " + v.dump());
      return v;
    case ParamType::string:
    case ParamType::path:
      if (!v.is_string()) fail("must be a string, got " + v.dump());
      return v;
    case ParamType::choice: {
      if (!v.is_string()) fail("must be one of its choices, got " + v.dump());
      for (const auto& c : s.choices)
        if (c == v.get<std::string>()) return v;
      std::string all;
      for (const auto& c : s.choices) all += (all.empty() ? "" : ", ") + c;
      fail("= " + v.dump() + " is not one of: " + all);
    }
  }
  return v;
}

}  // namespace

json resolve_params(const std::vector<ParamSpec>& schema, const json& given) {
  json out = json::object();
  if (!given.is_null() && !given.is_object()) throw ParamError("", "parameters must be a mapping");
  for (auto it = given.begin(); given.is_object() && it != given.end(); ++it) {
    bool known = false;
    for (const auto& s : schema) known = known || s.name == it.key();
    if (!known) throw ParamError(it.key(), "unknown parameter '" + it.key() + "'");
  }
  for (const auto& s : schema) {
    if (given.is_object() && given.contains(s.name)) {
      out[s.name] = convert(s, given.at(s.name));
    } else if (s.default_value.is_null()) {
      throw ParamError(s.name, "parameter '" + s.name + "' is required (" + s.doc + ")");
    } else {
      out[s.name] = s.default_value;
    }
  }
  return out;
}

}  // namespace nmfx
