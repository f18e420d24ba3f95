// A library that claims another plugin ABI version, as a plugin built against an older or newer
// nmfx would. The registry must refuse it before touching its descriptor.
#include <boost/dll/alias.hpp>

namespace wrong_abi {
int abi_version() { return 999; }
}  // namespace wrong_abi

BOOST_DLL_ALIAS(wrong_abi::abi_version, nmfx_abi_version)
