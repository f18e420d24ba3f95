#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <tuple>

#include <nmfx/host/results.hpp>

namespace nmfx {

// ---------------------------------------------------------------------------------------------
// Trace

const std::vector<std::string>& Trace::reserved_columns() {
  static const std::vector<std::string> columns = {
      "iteration",          "solver_seconds",           "eval_seconds", "loss",           "objective",
      "projected_gradient", "comm_bytes_per_iteration", "comm_seconds", "compute_seconds"};
  return columns;
}

std::size_t Trace::begin_row() {
  written_.clear();
  return rows_++;
}

void Trace::append(const std::string& column, const json& value) {
  json& c = columns_[column];
  if (c.is_null()) c = json::array();
  while (c.size() + 1 < rows_) c.push_back(nullptr);  // a column that started late
  c.push_back(value);
  written_.push_back(column);
}

void Trace::put_reserved(const std::string& column, const json& value) { append(column, value); }

void Trace::put(const std::string& source, const std::string& column, const json& value) {
  const auto& reserved = reserved_columns();
  if (std::find(reserved.begin(), reserved.end(), column) != reserved.end()) {
    std::string all;
    for (const auto& r : reserved) all += (all.empty() ? "" : ", ") + r;
    throw Error(source + " returns a column named '" + column + "', which the runner writes itself (reserved: " + all +
                "); rename it");
  }
  if (std::find(written_.begin(), written_.end(), column) != written_.end())
    throw Error(source + " returns a column named '" + column +
                "', which another metric or the solver's statistics already wrote at this checkpoint; rename it");
  append(column, value);
}

json Trace::last_row() const {
  json row = json::object();
  for (auto it = columns_.begin(); it != columns_.end(); ++it)
    row[it.key()] = it->size() == rows_ ? it->back() : json();
  return row;
}

// ---------------------------------------------------------------------------------------------
// RunResult

const std::vector<std::string>& result_keys() {
  static const std::vector<std::string> keys = {
      "schema_version", "id",         "spec",           "cell",         "status",          "message",
      "stop_reason",    "iterations", "solver_seconds", "eval_seconds", "skipped_metrics", "factors",
      "restarts",       "data",       "trace",          "final",        "environment"};
  return keys;
}

json RunResult::to_json() const {
  json j = {{"schema_version", schema_version},
            {"id", id},
            {"spec", spec},
            {"cell", cell},
            {"status", status},
            {"message", message},
            {"stop_reason", stop_reason ? json(*stop_reason) : json()},
            {"iterations", iterations},
            {"solver_seconds", solver_seconds},
            {"eval_seconds", eval_seconds},
            {"trace", trace},
            {"final", final_values},
            {"environment", environment}};
  if (!data.is_null()) j["data"] = data;
  if (!skipped_metrics.is_null()) j["skipped_metrics"] = skipped_metrics;
  if (!factors.is_null()) j["factors"] = factors;
  if (!restarts.is_null()) j["restarts"] = restarts;
  return j;
}

RunResult RunResult::from_json(const json& j) {
  auto field = [&](const char* key) -> const json& {
    if (!j.is_object() || !j.contains(key)) throw Error(std::string("result has no '") + key + "'");
    return j[key];
  };
  RunResult r;
  try {
    r.schema_version = field("schema_version").get<int>();
    r.id = field("id").get<std::string>();
    r.spec = field("spec");
    r.cell = field("cell");
    r.status = field("status").get<std::string>();
    r.message = field("message").get<std::string>();
    if (!field("stop_reason").is_null()) r.stop_reason = field("stop_reason").get<std::string>();
    r.iterations = field("iterations").get<std::size_t>();
    r.solver_seconds = field("solver_seconds").get<double>();
    r.eval_seconds = field("eval_seconds").get<double>();
    r.trace = field("trace");
    r.final_values = field("final");
    r.environment = field("environment");
  } catch (const json::exception& e) {
    throw Error(std::string("result has a field of the wrong type (") + e.what() + ")");
  }
  r.data = j.value("data", json());
  r.skipped_metrics = j.value("skipped_metrics", json());
  r.factors = j.value("factors", json());
  r.restarts = j.value("restarts", json());
  return r;
}

// ---------------------------------------------------------------------------------------------
// Summary

const std::vector<std::string>& flat_record_fixed_keys() {
  static const std::vector<std::string> keys = {
      "id",   "status", "message", "stop_reason", "iterations", "solver_seconds", "eval_seconds",
      "rank", "seed",   "file",    "dataset",     "solver",     "loss",           "init_scaling"};
  return keys;
}

// One flat record per run, for pandas: pd.read_json("summary.jsonl", lines=True).
json flat_record(const json& r) {
  json f = {{"id", r["id"]},
            {"status", r["status"]},
            {"message", r["message"]},
            {"stop_reason", r["stop_reason"]},
            {"iterations", r["iterations"]},
            {"solver_seconds", r["solver_seconds"]},
            {"eval_seconds", r["eval_seconds"]},
            {"rank", r["cell"]["rank"]},
            {"seed", r["cell"]["seed"]},
            {"file", r["id"].get<std::string>() + ".json"}};
  for (const char* part : {"dataset", "solver", "loss"}) {
    f[part] = r["cell"][part]["name"];
    for (auto it = r["cell"][part]["params"].begin(); it != r["cell"][part]["params"].end(); ++it)
      f[std::string(part) + "." + it.key()] = *it;
  }
  for (auto it = r["cell"]["init"].begin(); it != r["cell"]["init"].end(); ++it) f["init." + it.key()] = *it;
  f["init_scaling"] = r["cell"]["init_scaling"];
  for (auto it = r["cell"]["regularization"].begin(); it != r["cell"]["regularization"].end(); ++it) f[it.key()] = *it;
  for (auto it = r["final"].begin(); it != r["final"].end(); ++it)
    if (!f.contains(it.key())) f[it.key()] = *it;
  return f;
}

SummaryWriter::SummaryWriter(const std::string& path) : path_(path), out_(path, std::ios::trunc) {
  if (!out_) throw Error(path + ": cannot write (" + std::strerror(errno) + ")");
}

void SummaryWriter::append(const json& result) {
  out_ << flat_record(result).dump() << '\n';
  out_.flush();
  if (!out_) throw Error(path_ + ": write failed");
}

// ---------------------------------------------------------------------------------------------
// Files

void write_file_atomic(const std::string& path, const std::string& text, bool durable) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw Error(tmp + ": cannot write (" + std::strerror(errno) + ")");
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      std::remove(tmp.c_str());
      throw Error(tmp + ": write failed (" + why + ")");
    }
    done += static_cast<std::size_t>(n);
  }
  // The data reaches the disk before the name does: a crash leaves the old file or the new one.
  if (durable) ::fsync(fd);
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error(path + ": cannot rename the finished file into place (" + why + ")");
  }
}

void sync_folder(const std::string& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::syncfs(fd);
  ::close(fd);
}

std::vector<std::filesystem::path> result_files(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw Error(dir + ": not a results folder");
  std::vector<fs::path> files;
  std::ifstream summary(fs::path(dir) / "summary.jsonl");
  if (summary) {
    for (std::string line; std::getline(summary, line);)
      if (!line.empty()) files.push_back(fs::path(dir) / json::parse(line)["file"].get<std::string>());
  } else {
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
  }
  return files;
}

std::string file_hash(const std::string& path) {
  // Hashed once per (path, size, modification time) in a process: a grid hashes each library once,
  // and a library rebuilt while the process lives is hashed again.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  using Key = std::tuple<std::string, long long, long long, long long>;
  static std::map<Key, std::string> memo;
  static std::mutex mutex;
  const Key key{path, static_cast<long long>(st.st_size), static_cast<long long>(st.st_mtim.tv_sec),
                static_cast<long long>(st.st_mtim.tv_nsec)};
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = memo.find(key); it != memo.end()) return it->second;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "";
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64, with FNV's offset basis
  unsigned char buf[1 << 16];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
    for (std::size_t k = 0; k < n; ++k) {
      h ^= buf[k];
      h *= 1099511628211ull;
    }
  std::fclose(f);
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return memo[key] = out;
}

}  // namespace nmfx
