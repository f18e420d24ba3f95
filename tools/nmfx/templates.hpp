#pragma once
// The files `nmfx new-plugin` writes, embedded at build time from tools/templates/*.in
// (tools/nmfx/embed_templates.cmake). Keys are the file names without ".in".
#include <map>
#include <string>

namespace nmfx_templates {

const std::map<std::string, std::string>& files();

}  // namespace nmfx_templates
