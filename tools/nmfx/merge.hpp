#pragma once
// nmfx merge: joins the results folders of shards (nmfx run --shard i/n) into one.
#include <string>
#include <vector>

namespace nmfx_merge {

struct Options {
  std::vector<std::string> dirs;
  std::string output;
};

/// Copies every result (and the .npy files beside them) into output and writes its summary.jsonl.
/// Exit status: 0, or 2 when the folders come from different specs.
int run(const Options& options);

}  // namespace nmfx_merge
