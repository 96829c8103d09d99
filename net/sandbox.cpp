#include "net/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

namespace postern::net {

SandboxPolicy& SandboxPolicy::allow(int syscall_nr) {
  m_rules.push_back({syscall_nr, 0, {}});
  return *this;
}

SandboxPolicy& SandboxPolicy::allow_if(int syscall_nr,
                                       std::initializer_list<ArgCondition> conditions) {
  m_rules.push_back({syscall_nr, 0, conditions});
  return *this;
}

SandboxPolicy& SandboxPolicy::deny(int syscall_nr, int err) {
  m_rules.push_back({syscall_nr, err, {}});
  return *this;
}

SandboxPolicy& SandboxPolicy::allow_io() {
  for (int nr :
       {SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(recvmsg),
        SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(close),
        SCMP_SYS(shutdown), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek)})
    allow(nr);
  // fcntl: only the commands the child uses (net/net_main.cpp: F_SETFD before the jail, then
  // F_GETFL/F_SETFL for O_NONBLOCK). F_SETOWN(_EX), F_SETSIG and O_ASYNC would let the kernel
  // signal a pid of the child's choosing, e.g. another connection's child under the same uid;
  // leases, locks, F_NOTIFY and F_DUPFD are of no use to it. The command is an int: compare
  // the low 32 bits only.
  constexpr uint64_t kInt = 0xffffffffu;
  for (int cmd : {F_GETFD, F_SETFD, F_GETFL}) allow_if(SCMP_SYS(fcntl), {{1, kInt, uint64_t(cmd)}});
  allow_if(SCMP_SYS(fcntl), {{1, kInt, uint64_t(F_SETFL)}, {2, uint64_t(O_ASYNC), 0}});
  return *this;
}

SandboxPolicy& SandboxPolicy::allow_poll() {
  for (int nr : {SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
                 SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait)})
    allow(nr);
  return *this;
}

SandboxPolicy& SandboxPolicy::allow_memory() {
  for (int nr : {SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise)}) allow(nr);
  // W^X: memory is never made executable in the jail (every library is loaded and OpenSSL's
  // algorithms fetched before it, warm_up_openssl in privsep_child/privilege_drop.cpp), so
  // injected code cannot be given a page to run from. The prot argument is the third of both
  // calls.
  allow_if(SCMP_SYS(mmap), {{2, uint64_t(PROT_EXEC), 0}});
  allow_if(SCMP_SYS(mprotect), {{2, uint64_t(PROT_EXEC), 0}});
  return *this;
}

SandboxPolicy& SandboxPolicy::allow_time() {
  for (int nr : {SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
                 SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep)})
    allow(nr);
  return *this;
}

SandboxPolicy& SandboxPolicy::allow_random() {
  return allow(SCMP_SYS(getrandom));
}

SandboxPolicy& SandboxPolicy::allow_exit() {
  for (int nr : {SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
                 SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall)})
    allow(nr);
#if defined(POSTERN_SANITIZERS)
  // The sanitizers' runtime (sanitizer build only): ASan tears down its alternate signal stack
  // on the way out, and probes whether memory is readable by writing it to a pipe.
  for (int nr : {SCMP_SYS(sigaltstack), SCMP_SYS(pipe2), SCMP_SYS(pipe)}) allow(nr);
#endif
  return *this;
}

SandboxPolicy& SandboxPolicy::allow_futex() {
  return allow(SCMP_SYS(futex));
}

SandboxPolicy& SandboxPolicy::allow_accept() {
  // Only a descriptor already held can listen (socket() and bind() stay denied), so this reaches
  // nothing new: it takes the streams the monitor's socket receives.
  return allow(SCMP_SYS(accept4));
}

SandboxPolicy SandboxPolicy::net_child() {
  SandboxPolicy p;
  p.allow_io().allow_poll().allow_memory().allow_time().allow_random().allow_exit().allow_futex();
  // Harmless identity queries (logging, libc).
  for (int nr : {SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
                 SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(sched_yield)})
    p.allow(nr);
  // Libraries may try these and must cope with failure; the child itself never needs them.
  for (int nr : {SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(socket), SCMP_SYS(stat),
                 SCMP_SYS(access), SCMP_SYS(ioctl)})
    p.deny(nr, EACCES);
  return p;
}

namespace {

// Async-signal-safe: only write() and _exit().
void sigsys_handler(int, siginfo_t* info, void*) {
  char buf[64] = "sandbox violation: syscall ";
  size_t len = std::strlen(buf);
  int nr = info->si_syscall;
  char digits[12];
  int n = 0;
  do {
    digits[n++] = char('0' + nr % 10);
    nr /= 10;
  } while (nr > 0 && n < 11);
  while (n > 0) buf[len++] = digits[--n];
  buf[len++] = '\n';
  ssize_t ignored = ::write(STDERR_FILENO, buf, len);
  (void)ignored;
  _exit(255);
}

struct SeccompCtxFree {
  void operator()(scmp_filter_ctx* ctx) const { seccomp_release(*ctx); }
};

}  // namespace

Result<void> SandboxPolicy::apply() const {
  uint32_t def = m_violation == Violation::kTrap ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
  scmp_filter_ctx ctx = seccomp_init(def);
  if (ctx == nullptr) return Unexpected("seccomp_init failed");
  std::unique_ptr<scmp_filter_ctx, SeccompCtxFree> owner(&ctx);
  // A syscall made through another architecture's entry (int 0x80 on x86-64) bypasses the
  // native numbers: kill it.
  if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0)
    return Unexpected("seccomp: cannot set the bad-arch action");
  if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) != 0)
    return Unexpected("seccomp: cannot request no_new_privs");
  for (const Rule& r : m_rules) {
    // A negative number is a syscall this architecture lacks (e.g. open on arm64): skip it.
    if (r.nr < 0) continue;
    uint32_t action = r.err == 0 ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(uint32_t(r.err));
    std::vector<scmp_arg_cmp> cmp;
    for (const ArgCondition& c : r.conditions)
      cmp.push_back(SCMP_CMP(c.index, SCMP_CMP_MASKED_EQ, c.mask, c.value));
    int rc = seccomp_rule_add_array(ctx, action, r.nr, unsigned(cmp.size()), cmp.data());
    if (rc != 0) return Unexpected("seccomp_rule_add(" + std::to_string(r.nr) + ") failed");
  }
  if (m_violation == Violation::kTrap) {
    struct sigaction sa {};
    sa.sa_sigaction = sigsys_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, nullptr) != 0) return Unexpected("sigaction(SIGSYS) failed");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return Unexpected(std::string("prctl(PR_SET_NO_NEW_PRIVS): ") + std::strerror(errno));
  int rc = seccomp_load(ctx);
  if (rc != 0) return Unexpected(std::string("seccomp_load: ") + std::strerror(-rc));
  return {};
}

Result<JailSpec> privsep_jail(const std::string& user, const std::string& dir) {
  passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) return Unexpected("Privilege separation user " + user + " does not exist");
  JailSpec spec;
  spec.chroot_dir = dir;
  spec.uid = pw->pw_uid;
  spec.gid = pw->pw_gid;
  return spec;
}

Result<void> drop_capability_bounding_set() {
  for (cap_value_t c = 0; CAP_IS_SUPPORTED(c); ++c)
    if (cap_get_bound(c) == 1 && cap_drop_bound(c) != 0)
      return Unexpected("cannot drop capability " + std::to_string(c) + " from the bounding set");
  return {};
}

Result<void> clear_capabilities() {
  if (cap_reset_ambient() != 0 && errno != EINVAL) return Unexpected("cannot reset ambient caps");
  cap_t empty = cap_init();
  if (empty == nullptr) return Unexpected("cap_init failed");
  int rc = cap_set_proc(empty);
  cap_free(empty);
  if (rc != 0) return Unexpected(std::string("cap_set_proc: ") + std::strerror(errno));
  return {};
}

Result<void> enter_jail(const JailSpec& spec) {
  if (!spec.chroot_dir.empty()) {
    // The directory must be root-owned and not writable by others, or the jail is no jail.
    struct stat st {};
    if (::stat(spec.chroot_dir.c_str(), &st) != 0)
      return Unexpected("Missing privilege separation directory: " + spec.chroot_dir);
    if (st.st_uid != 0 || (st.st_mode & 022) != 0)
      return Unexpected(spec.chroot_dir +
                        " must be owned by root and not group or world-writable.");
    if (::chroot(spec.chroot_dir.c_str()) != 0)
      return Unexpected("chroot(\"" + spec.chroot_dir + "\"): " + std::strerror(errno));
    if (::chdir("/") != 0) return Unexpected(std::string("chdir(\"/\"): ") + std::strerror(errno));
  }
  if (::setgroups(0, nullptr) != 0)
    return Unexpected(std::string("setgroups: ") + std::strerror(errno));
  if (::setresgid(spec.gid, spec.gid, spec.gid) != 0)
    return Unexpected(std::string("setresgid: ") + std::strerror(errno));
  if (auto r = drop_capability_bounding_set(); !r) return r;
  if (::setresuid(spec.uid, spec.uid, spec.uid) != 0)
    return Unexpected(std::string("setresuid: ") + std::strerror(errno));
  if (auto r = clear_capabilities(); !r) return r;
  // Defence in depth behind seccomp: no files grow, no processes start, and no other process
  // of the privsep user (another connection's child) may attach to this one or read its memory.
  rlimit zero{0, 0};
  rlimit fsize{rlim_t(spec.max_file_size), rlim_t(spec.max_file_size)};
  if (::setrlimit(RLIMIT_FSIZE, &fsize) != 0 || ::setrlimit(RLIMIT_NPROC, &zero) != 0)
    return Unexpected(std::string("setrlimit: ") + std::strerror(errno));
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return Unexpected(std::string("prctl(PR_SET_DUMPABLE): ") + std::strerror(errno));
  // Paranoia, as OpenSSH's permanently_set_uid(): root must not come back.
  if (spec.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0))
    return Unexpected("privilege drop failed: could regain root");
  return {};
}

}  // namespace postern::net
