// The pre-auth child's jail (docs/architecture.md): chroot to the empty privsep directory, the
// privsep user's uid/gid with no supplementary groups, no capabilities (not even in the bounding
// set), PR_SET_NO_NEW_PRIVS, and a seccomp allow-list built with libseccomp.
//
// SandboxPolicy is a small fluent builder, so the allow-list reads as what the child's poll loop
// needs: `SandboxPolicy().allow_io().allow_memory().deny(SCMP_SYS(openat), EACCES)...`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "common/result.h"

namespace postern::net {

class SandboxPolicy {
 public:
  // What happens on a syscall that is neither allowed nor denied with an errno.
  enum class Violation {
    kKillProcess,  // SIGSYS, the whole process dies (production)
    kTrap,         // SIGSYS handler writes the syscall number to stderr, then _exit(255) (debug)
  };

  SandboxPolicy& on_violation(Violation v) {
    m_violation = v;
    return *this;
  }
  SandboxPolicy& allow(int syscall_nr);
  // Allows the call only when every condition holds: (argument[index] & mask) == value.
  // Several allow_if rules for one syscall are alternatives; a call that matches none of them
  // meets the violation action.
  struct ArgCondition {
    unsigned index;  // 0-based argument number
    uint64_t mask;
    uint64_t value;
  };
  SandboxPolicy& allow_if(int syscall_nr, std::initializer_list<ArgCondition> conditions);
  // Fails the syscall with `err` instead of killing, for calls libraries make and cope with
  // failing (open of a config file, a socket for a resolver).
  SandboxPolicy& deny(int syscall_nr, int err);

  // Groups of syscalls, named for what the child does with them.
  SandboxPolicy& allow_io();      // read/write on fds it already holds, sendmsg/recvmsg, close,
                                  // fcntl F_GETFD/F_SETFD/F_GETFL and F_SETFL without O_ASYNC
  SandboxPolicy& allow_poll();    // poll/ppoll/select/epoll_wait
  SandboxPolicy& allow_memory();  // brk, munmap, mremap, madvise; mmap and mprotect only
                                  // without PROT_EXEC
  SandboxPolicy& allow_time();    // clock_gettime, gettimeofday, nanosleep
  SandboxPolicy& allow_random();  // getrandom
  SandboxPolicy& allow_exit();    // exit, exit_group, rt_sigreturn, and the signal mask calls
  SandboxPolicy& allow_futex();   // futex (libstdc++ and OpenSSL's locks)
  SandboxPolicy& allow_accept();  // accept4 on a listening socket it was given (an extender's)

  // The pre-auth child's policy: everything its transport and userauth loop needs; open(),
  // socket() fail with EACCES; anything else (execve, ptrace, ...) kills the process.
  static SandboxPolicy net_child();

  // Sets PR_SET_NO_NEW_PRIVS and loads the filter into this process (irreversible).
  Result<void> apply() const;

 private:
  struct Rule {
    int nr;
    int err;  // 0: allow
    std::vector<ArgCondition> conditions;
  };
  std::vector<Rule> m_rules;
  Violation m_violation = Violation::kKillProcess;
};

// Where and as whom the pre-auth child runs.
struct JailSpec {
  std::string chroot_dir;  // e.g. /run/sshd; empty: no chroot (tests run unprivileged)
  uid_t uid = 0;
  gid_t gid = 0;
  // RLIMIT_FSIZE: 0, so no file grows; sshd-bastion writes recordings through passed fds and
  // gets their cap.
  uint64_t max_file_size = 0;
};

// Looks up the privsep user (must be done before chroot, /etc/passwd is outside it).
Result<JailSpec> privsep_jail(const std::string& user, const std::string& dir);

// Enters the jail: chroot + chdir("/"), setgroups(0)/setgid/setuid, drops every capability
// (effective, permitted, inheritable, ambient and bounding), RLIMIT_FSIZE spec.max_file_size
// and RLIMIT_NPROC 0,
// not dumpable. Verifies that root cannot be regained. Must run as root; the seccomp policy is
// applied separately, last.
Result<void> enter_jail(const JailSpec& spec);

// Capabilities, in the order a privilege drop needs them: the bounding set while still root
// (dropping from it needs CAP_SETPCAP), then the uid change, then the (by then empty) effective,
// permitted, inheritable and ambient sets.
Result<void> drop_capability_bounding_set();
Result<void> clear_capabilities();

}  // namespace postern::net
