// Reading a configuration file whole, bounded: the policy and the templates (the listener reads
// them as root, so a FIFO or a huge file in the path must neither block nor exhaust it).
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace postern::bastion {

// The file's bytes; an error naming the path for a missing file, one that is not regular, or one
// larger than `max_size`.
Result<std::string> read_bounded_file(const std::string& path, size_t max_size);

}  // namespace postern::bastion
