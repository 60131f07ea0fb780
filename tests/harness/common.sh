# shellcheck shell=bash
# Helpers shared by pg.sh and pooler.sh: privilege handling and free ports.
# Sourced; defines functions only and leaves the caller's shell options alone.

LG_PYTHON=${LG_PYTHON:-/usr/bin/python3}
LG_RUN_AS=${LG_RUN_AS:-postgres}

# lg_is_root: true when we run as root, where PostgreSQL and the poolers must
# run as $LG_RUN_AS instead (both refuse to run as root).
lg_is_root() { [ "$(id -u)" = 0 ]; }

# lg_as_service CMD...: run CMD as the service user when root, else as is.
# setpriv execs (no fork, no PAM session), so "$!" of a backgrounded call is
# the service's own pid, which the signal tests need.
LG_AS_SERVICE=()
if lg_is_root; then
	LG_AS_SERVICE=(setpriv --reuid="$LG_RUN_AS" --regid="$LG_RUN_AS" --init-groups --)
fi
lg_as_service() { "${LG_AS_SERVICE[@]}" "$@"; }

# lg_give_dir DIR: make DIR writable by the service user.
lg_give_dir() {
	if lg_is_root; then
		chown -R "$LG_RUN_AS:" "$1" && chmod 0755 "$1"
	fi
}

# lg_free_port: print a TCP port on 127.0.0.1 that nothing is bound to now.
# Chosen below the kernel's ephemeral range so that the outgoing sockets of
# a 10,000-connection test cannot take it; callers retry if they lose a race.
lg_free_port() {
	"$LG_PYTHON" - <<'PY'
import random, socket
lo, hi = 15000, 32000
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        eph = int(f.read().split()[0])
    hi = min(hi, eph - 1)
except (OSError, ValueError):
    pass
for _ in range(500):
    port = random.randint(lo, hi)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port found")
PY
}

# lg_export NAME VALUE: print a line the caller can eval.
lg_export() { printf 'export %s=%q\n' "$1" "$2"; }

# lg_raise_nofile: raise the soft open-files limit to the hard limit.
lg_raise_nofile() { ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; }

# lg_alive PID: true while PID runs. A zombie counts as gone: the poolers
# are orphans once pooler.sh exits, and init may reap them late.
lg_alive() {
	local stat
	kill -0 "$1" 2>/dev/null || return 1
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) }
	[ "${stat:0:1}" != Z ]
}

# lg_watchdog DIR CMD...: if LG_OWNER_PID is set, watch that process from a
# session of its own: should it die while DIR still exists (a test runner
# killed with SIGKILL, which no trap sees), run CMD, a stop command.
lg_watchdog() {
	local dir=$1
	shift
	[ -n "${LG_OWNER_PID:-}" ] || return 0
	# shellcheck disable=SC2016 # expanded by the inner bash
	setsid -f bash -c '
		owner=$1 dir=$2
		shift 2
		while [ -d "$dir" ] && kill -0 "$owner" 2>/dev/null; do sleep 1; done
		[ -d "$dir" ] && "$@"
	' lg-watchdog "$LG_OWNER_PID" "$dir" "$@" </dev/null >/dev/null 2>&1
}
