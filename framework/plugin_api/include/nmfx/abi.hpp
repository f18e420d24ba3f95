#pragma once
// The plugin ABI version. Bump it whenever a type that crosses the plugin boundary changes layout
// or meaning (PluginDescriptor, Data, Problem, MetricContext, the interfaces' virtual tables).
// A plugin built against another version is refused before any of its C++ objects is touched.
#define NMFX_ABI_VERSION 3
