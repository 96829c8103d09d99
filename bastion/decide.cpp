// Access decisions (decide.h). Deny by default: a request is allowed when one role, all of
// whose conditions hold, grants it:
//  - members: the bastion user by name, "group:NAME" for a group in Subject::groups, or "*"
//    (any authenticated bastion user; a policy writer has to type it on purpose);
//  - source: the client address is in the role's address lists, read as one sshd address list
//    (so a '!' entry excludes across the whole list); an empty list applies from nowhere;
//  - targets: a named target by name, tag:TAG or a pattern; an address or host name that no
//    [[target]] names (ResolvedTarget::target null) only by a pattern. Patterns: a CIDR block
//    matching the target's address when that is an IP literal, or a host glob (match_pattern.h,
//    case-insensitive) matching the target's name or address;
//  - target user: in target_users ("*": any), and for a named target that lists users, also
//    in that list. Empty target user (a jump-mode direct-tcpip, which logs in to nothing):
//    this check is skipped and the channel must be direct-tcpip;
//  - channel: in channels; empty: any. "scp" is also granted by "exec": `scp -O` runs as an
//    exec request of `scp -t`/`scp -f`, which a role granting exec already allows.
#include "bastion/decide.h"

#include <algorithm>
#include <stdexcept>

#include "bastion/policy_values.h"
#include "common/match_pattern.h"

namespace postern::bastion {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool is_member(const Role& role, const Subject& subject) {
  for (const std::string& m : role.members) {
    if (m == "*" || m == subject.user) return true;
    if (m.rfind("group:", 0) == 0 && contains(subject.groups, std::string_view(m).substr(6)))
      return true;
  }
  return false;
}

bool applies_from(const Role& role, const Subject& subject) {
  if (role.source.empty() || subject.client_address.empty()) return false;
  std::string list;
  for (const std::string& s : role.source) list += (list.empty() ? "" : ",") + s;
  return detail::address_in_list(subject.client_address, list);
}

bool pattern_matches(std::string_view pattern, const ResolvedTarget& target) {
  std::string_view host = pattern.substr(0, pattern.find('/'));
  if (detail::is_ip_literal(host))
    return detail::is_ip_literal(target.address) && detail::cidr_contains(pattern, target.address);
  if (pattern.find_first_of("*?") == std::string_view::npos) return false;
  return match_pattern(target.name, pattern, true) || match_pattern(target.address, pattern, true);
}

bool grants_target(const Role& role, const ResolvedTarget& target) {
  for (const std::string& g : role.targets) {
    if (target.target) {
      if (g == target.target->name) return true;
      if (g.rfind("tag:", 0) == 0 && contains(target.target->tags, std::string_view(g).substr(4)))
        return true;
    }
    if (pattern_matches(g, target)) return true;
  }
  return false;
}

bool grants_user(const Role& role, const ResolvedTarget& target, std::string_view user) {
  if (user.empty()) return true;
  if (!contains(role.target_users, "*") && !contains(role.target_users, user)) return false;
  return !target.target || target.target->users.empty() || contains(target.target->users, user);
}

bool grants_channel(const Role& role, std::string_view user, std::string_view channel) {
  if (user.empty())
    return contains(role.channels, "direct-tcpip") &&
           (channel.empty() || channel == "direct-tcpip");
  if (channel.empty()) return !role.channels.empty();
  if (contains(role.channels, channel)) return true;
  return channel == "scp" && contains(role.channels, "exec");
}

// "deploy@web1" or "web1:2222" as the request names it, for messages.
std::string request_text(const ResolvedTarget& target, std::string_view user) {
  std::string t = user.empty() ? target.name + ":" + std::to_string(target.port) : target.name;
  return user.empty() ? t : std::string(user) + "@" + t;
}

// What decide() and decide_certificate_issue() share: the first role whose conditions all
// hold; `issuing` adds issue_certificates to them.
Decision decide_with(const Policy& policy, const Subject& subject, const ResolvedTarget& target,
                     std::string_view target_user, std::string_view channel, bool issuing) {
  std::string what = request_text(target, target_user);
  std::string for_channel = channel.empty() ? "" : " for " + std::string(channel);
  Decision d;
  d.user_message = "no role lets " + subject.user + " reach " + what + for_channel;
  // How far the best role got, so the audit says which condition nothing satisfied.
  enum Stage { kNone, kMember, kSource, kTarget, kUser, kChannel } best = kNone;
  const Role* granting = nullptr;  // issuing: a role that grants all but issue_certificates
  for (const Role& role : policy.roles) {
    if (!is_member(role, subject)) continue;
    best = std::max(best, kMember);
    if (!applies_from(role, subject)) continue;
    best = std::max(best, kSource);
    if (!grants_target(role, target)) continue;
    best = std::max(best, kTarget);
    if (!grants_user(role, target, target_user)) continue;
    best = std::max(best, kUser);
    if (!grants_channel(role, target_user, channel)) continue;
    best = kChannel;
    if (issuing && !role.issue_certificates) {
      if (granting == nullptr) granting = &role;
      continue;
    }
    d.allowed = true;
    d.role = role.name;
    d.reason = "role \"" + role.name + "\" grants " + subject.user + " " + what + for_channel +
               (issuing ? " and issues certificates" : "");
    d.user_message.clear();
    return d;
  }
  const std::string& u = subject.user;
  switch (best) {
    case kChannel:
      d.reason = "role \"" + granting->name + "\" grants " + what + " but not issue_certificates";
      d.user_message = "role " + granting->name + " may not issue certificates for " + what;
      break;
    case kNone:
      d.reason = "no role has member " + u;
      break;
    case kMember:
      d.reason = "no role of " + u + " applies from " + subject.client_address;
      break;
    case kSource:
      d.reason = "no role of " + u + " grants target " + target.name +
                 (target.target ? "" : " (no [[target]]; an address pattern would)");
      break;
    case kTarget:
      d.reason =
          "no role of " + u + " grants account " + std::string(target_user) + " on " + target.name;
      break;
    case kUser:
      d.reason =
          "no role of " + u + " grants " +
          (target_user.empty() ? std::string("direct-tcpip") : "channel " + std::string(channel)) +
          " to " + what;
      break;
  }
  return d;
}

}  // namespace

Decision decide(const Policy& policy, const Subject& subject, const ResolvedTarget& target,
                std::string_view target_user, std::string_view channel) {
  return decide_with(policy, subject, target, target_user, channel, false);
}

Decision decide_certificate_issue(const Policy& policy, const Subject& subject,
                                  const ResolvedTarget& target, std::string_view target_user) {
  if (target_user.empty()) throw std::logic_error("a certificate names a target user");
  Decision d = decide_with(policy, subject, target, target_user, "", true);
  if (!d.allowed && d.user_message.rfind("no role lets ", 0) == 0)
    d.user_message = "no role lets " + subject.user + " have certificates for " +
                     request_text(target, target_user);
  return d;
}

std::vector<Reachable> reachable_targets(const Policy& policy, const Subject& subject) {
  std::vector<Reachable> out;
  for (const Target& t : policy.targets) {
    ResolvedTarget rt{&t, t.name, t.address, t.port};
    Reachable r{&t, {}};
    for (const Role& role : policy.roles) {
      // A role granting only direct-tcpip logs in to nothing, so it lists no accounts.
      if (!is_member(role, subject) || !applies_from(role, subject) || !grants_target(role, rt) ||
          role.channels == std::vector<std::string>{"direct-tcpip"})
        continue;
      // "*" lists the accounts the target names, or "*" itself for a target naming none (any
      // account: the picker asks for one).
      static const std::vector<std::string> kAny = {"*"};
      const auto& names = !contains(role.target_users, "*") ? role.target_users
                          : t.users.empty()                 ? kAny
                                                            : t.users;
      for (const std::string& u : names)
        if (grants_user(role, rt, u) && !contains(r.target_users, u)) r.target_users.push_back(u);
    }
    if (!r.target_users.empty()) out.push_back(std::move(r));
  }
  return out;
}

const Role* role_for(const Policy& policy, const Decision& d) {
  return d.allowed ? policy.find_role(d.role) : nullptr;
}

}  // namespace postern::bastion
