#include "bastion/extender_names.h"

namespace postern::bastion {

std::string extender_file_stem(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || (c == '.' && i != 0);
    if (plain) {
      out += char(c);
    } else {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string extender_socket_path(std::string_view dir, std::string_view name) {
  return std::string(dir) + "/" + extender_file_stem(name) + ".sock";
}

std::string extender_owner_path(std::string_view dir, std::string_view name) {
  return std::string(dir) + "/" + extender_file_stem(name) + ".owner";
}

}  // namespace postern::bastion
