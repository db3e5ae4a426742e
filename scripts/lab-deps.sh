#!/bin/sh
# Installs the Debian packages `flowguard lab` uses (topology, capture,
# attack tools, victim services), only those missing. Idempotent and quiet.
# Service packages are installed with a policy-rc.d that forbids starting
# daemons, and anything that started anyway is stopped: the lab starts its
# own instances inside network namespaces, never in the root namespace.
set -eu

pkgs="iproute2 tcpdump nmap hping3 hydra slowhttptest sqlmap openssh-server vsftpd dnsmasq tcpreplay"

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "lab-deps.sh: need root to install:$missing" >&2
	exit 1
fi

policy=/usr/sbin/policy-rc.d
had_policy=0
if [ -e "$policy" ]; then
	had_policy=1
	cp -p "$policy" "$policy.flowguard-lab"
fi
restore() {
	if [ "$had_policy" = 1 ]; then
		mv -f "$policy.flowguard-lab" "$policy"
	else
		rm -f "$policy"
	fi
}
trap restore EXIT
trap 'exit 1' INT TERM
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod 755 "$policy"

# Daemons of the root network namespace running before the install (a
# machine's own SSH server, say) are left alone; only new ones are stopped.
rootns=$(readlink /proc/1/ns/net)
daemons() {
	for d in sshd vsftpd dnsmasq; do
		for pid in $(pgrep -x "$d" 2>/dev/null || true); do
			[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$rootns" ] && echo "$pid"
		done
	done
	return 0
}
before=" $(daemons | tr '\n' ' ') "

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# shellcheck disable=SC2086 # $missing is a list of package names
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	exit 1
fi
rm -f "$log"

# Belt and braces: without systemd, some maintainer scripts start daemons
# directly, policy-rc.d or not. None of them belongs in the root namespace.
for pid in $(daemons); do
	case "$before" in
	*" $pid "*) ;;
	*) kill "$pid" 2>/dev/null || true ;;
	esac
done
exit 0
