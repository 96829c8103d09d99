// Where a connected extender's socket is (man/postern-bastion.5 EXTENDERS): one Unix socket per
// extender in the policy's extender_sockets directory, which only root may enter. The
// extender's connection publishes it; a user's connection to a target `via` it connects there.
#pragma once

#include <string>
#include <string_view>

namespace postern::bastion {

// The file name for an extender's name: letters, digits, '-', '_' and '.' (not first) as they
// are, every other byte as "=XX" (hex), so no name can climb out of the directory or collide.
std::string extender_file_stem(std::string_view name);

// DIR/STEM.sock, and DIR/STEM.owner (who holds it now: "pid start-time session", so a newer
// connection of the same extender can close the older one).
std::string extender_socket_path(std::string_view dir, std::string_view name);
std::string extender_owner_path(std::string_view dir, std::string_view name);

}  // namespace postern::bastion
