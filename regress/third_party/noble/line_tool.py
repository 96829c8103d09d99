"""Postern's helpers for the cross-checks against the vendored noble (net/mlkem768_ and
common/mldsa44_noble_crosscheck.py): a request-line -> answer-line conversation with a helper
process, and the check that ends a cross-check at the first disagreement."""
import shutil
import subprocess
import sys

HERE = __file__.rsplit("/", 1)[0]


class LineTool:
    """A helper speaking one request line -> one answer line; empty words are sent as "-"."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)

    def ask(self, *words):
        self.proc.stdin.write(" ".join(w or "-" for w in words) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().split()
        if not answer:
            raise SystemExit(f"{self.proc.args[0]} gave no answer to {words[0]}")
        return answer

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def check(condition, what):
    if not condition:
        print("FAIL:", what)
        sys.exit(1)


def start_pair(tool, front_end, *probe):
    """postern's helper and noble's front end (a .mjs here) under node, or None (after saying
    why) when node is missing or cannot run the vendored modules: the caller exits 77."""
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        print("node not found: skipped")
        return None
    noble = LineTool([node, f"{HERE}/{front_end}"])
    answer = noble.ask(*probe)
    if answer[0] == "error" or len(answer) != 2:
        print("the vendored noble does not run here:", " ".join(answer))
        return None
    return LineTool([tool]), noble


def finish(ours, noble, rounds):
    """Ends both conversations after every check passed; the exit status for main()."""
    ours.close()
    noble.close()
    print(f"{rounds} rounds agree")
    return 0
