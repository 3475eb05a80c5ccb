#pragma once
#include <string_view>

namespace berth {

// Compares dotted numeric versions ("1.9" < "1.24" < "1.51"), as moby's
// versions.Compare: missing components count as 0, non-digits end a component.
// Returns <0, 0 or >0.
int compareVersions(std::string_view a, std::string_view b);

}  // namespace berth
