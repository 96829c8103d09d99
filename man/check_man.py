#!/usr/bin/python3
"""The man pages (meson test man_pages): each formats without a groff warning or error
(groff -man -ww -z), and sshd_config.5 documents every keyword of the keyword table
(config_dump -K) with a '.B Keyword' entry, and postern-bastion.5 documents every key of the
example bastion.toml and templates.json (contrib/bastion/) and the keys postern adds.
Usage: check_man.py CONFIG_DUMP MANDIR"""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

config_dump, mandir = sys.argv[1], Path(sys.argv[2])
pages = ["sshd.8", "sshd_config.5", "sftp-server.8", "ssh-keysign.8", "postern-bastion.5",
         "postern-audit.1", "postern-keygen.1"]
failed = False
for page in pages:
    r = subprocess.run(["groff", "-man", "-ww", "-z", str(mandir / page)],
                       capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        print(f"{page}: groff says:\n{r.stderr}")
        failed = True

text = (mandir / "sshd_config.5").read_text()
documented = set(re.findall(r"^\.TP\n\.B (\S+)$", text, re.M))
table = subprocess.run([config_dump, "-K"], capture_output=True, text=True, check=True).stdout
keywords = [line.split("\t") for line in table.splitlines() if line]
if len(keywords) < 90:
    print(f"config_dump -K listed only {len(keywords)} keywords")
    failed = True
for name, where in keywords:
    if name not in documented:
        print(f"sshd_config.5: keyword {name} is not documented")
        failed = True
        continue
    # The entry says "(Match)" exactly when the keyword may appear inside Match.
    entry = text.split(f".TP\n.B {name}\n", 1)[1].split("\n.TP\n", 1)[0]
    says_match = entry.startswith(".I (Match)")
    if says_match != (where == "match"):
        print(f"sshd_config.5: {name} is {where} in the table but the entry says otherwise")
        failed = True
for extra in ("Include", "Match"):
    if extra not in documented:
        print(f"sshd_config.5: {extra} is not documented")
        failed = True

# Every key of the example policy and templates (and of each table in them) has an entry.
bastion = (mandir / "postern-bastion.5").read_text()
entries = set(re.findall(r"^\.TP\n\.B (\S+)$", bastion, re.M))
examples = mandir.parent / "contrib" / "bastion"
policy = tomllib.loads((examples / "bastion.toml").read_text())
keys = set(policy["bastion"]) | {"serial_file", "connect_timeout", "extender_sockets"}
for table in ("user", "target", "extender", "role"):
    for item in policy[table]:
        keys |= set(item)
for template in json.loads((examples / "templates.json").read_text()):
    keys |= set(template)
for key in sorted(keys - entries):
    print(f"postern-bastion.5: key {key} is not documented")
    failed = True
sys.exit(1 if failed else 0)
