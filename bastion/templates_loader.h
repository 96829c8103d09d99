// templates.json (internal to bastion/; policy_loader.cpp calls it): the certificate templates
// a policy's roles name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bastion/policy.h"
#include "common/result.h"

namespace postern::bastion {

// Parses templates.json and resolves each template's derivation (templates_loader.cpp says the
// rules). Errors name `path`, a line and the template or field.
Result<std::vector<CertTemplate>> parse_templates(std::string_view text, const std::string& path);

}  // namespace postern::bastion
