# The man pages as the Debian package installs them (sed -E, from debian/rules): the pages get
# postern's names (postern(8), postern_config(5), postern-sftp-server(8)) so that none lands on
# a page openssh-server or openssh-sftp-server owns, and the paths become the package's.
# References to OpenSSH's own pages and programs ("OpenSSH's sshd", "sshd(8) lists ...") stay.
s/^\.TH SSHD 8 /.TH POSTERN 8 /
s/^\.TH SSHD_CONFIG 5 /.TH POSTERN_CONFIG 5 /
s/^\.TH SFTP-SERVER 8 /.TH POSTERN-SFTP-SERVER 8 /
s/^sshd \\- postern, /postern \\- /
s/^sshd_config \\- /postern_config \\- /
s/^sftp-server \\- /postern-sftp-server \\- /
s/^\.BR sshd \(8\)/.BR postern (8)/
s/^\.BR sshd_config \(5\)/.BR postern_config (5)/
s/^\.BR sftp\\-server \(8\)/.BR postern\\-sftp\\-server (8)/
s/^(\.BR? )sshd( \\-|$)/\1postern\2/
s/^(\.BR? )sftp\\-server( |$)/\1postern\\-sftp\\-server\2/
s/^(\.RB \( )"sshd \\-/\1"postern \\-/
s/^\.BR "sshd \\-/.BR "postern \\-/
s/sshd_config's/postern_config's/g
s/instead of forked copies/instead of forked copies (in \/usr\/lib\/postern)/
# Paths: the package's configuration, host keys, privilege separation directory, pid file.
s#/etc/ssh/sshd_config#/etc/postern/sshd_config#g
s#/etc/ssh/ssh_host_#/etc/postern/ssh_host_#g
s#/run/sshd\.pid#/run/postern.pid#g
s#^\.I /run/sshd$#.I /run/postern/empty#
s#^\.IR /etc/ssh \.#.IR /etc/postern .#
s#under /etc/ssh are used#under /etc/postern are used#
s#^\(/etc/ssh when configured with \\-\\-sysconfdir=/etc; meson's \\-Dconfig_subdir names the$#(/etc/postern in the Debian package, beside OpenSSH's /etc/ssh);#
s#^folder\); PidFile defaults to /run/postern.pid as on Debian \(meson's \\-Dpid_file\)\.$#PidFile defaults to /run/postern.pid, beside OpenSSH's /run/sshd.pid.#
s#/usr/local/libexec/sftp\\-server#/usr/lib/postern/sftp\\-server#
s#^where the directory is the build's libexecdir\.#(the package's Subsystem line).#
s#^it serves the sockets it is given instead of binding its own\. Example units are in#it serves the sockets it is given instead of binding its own. The units are#
s#^\.IR contrib/systemd/ \.#.BR postern.service ", " postern.socket " and " postern@.service ;\n.BR postern\\-switch (8)\nmakes postern the system's SSH server.#
