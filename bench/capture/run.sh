#!/usr/bin/env bash
# Live-capture benchmark: `flowguard sniff` on one end of a veth pair while
# tcpreplay sends a synthetic capture into the other end, from a network
# namespace, at rising packet rates. For each rate it records what tcpreplay
# sent, what sniff saw, the kernel ring drops sniff reports, drops in the
# kernel's backlog before the capture point, and sniff's CPU time during the
# replay. See bench/capture/README.md for results.
#
# usage: bench/capture/run.sh [-r "RATES"] [-f FILTER] [-s SCALE] [-S SEED] [--no-install]
#
#   -r RATES       packet rates to replay at, "topspeed" for as fast as
#                  tcpreplay goes (default "50000 100000 200000 400000
#                  800000 topspeed", env RATES)
#   -f FILTER      pcap-filter expression for sniff --filter (env FILTER)
#   -s SCALE       synthpcap -scale (default 40, env SCALE): about 1.06M packets
#   -S SEED        synthpcap -seed (default 13, env SEED)
#   --no-install   never call apt-get; fail if tcpreplay is missing
#
# Other environment: FLOWGUARD_BENCH_DIR (cached capture, default
# /tmp/flowguard-bench, shared with bench/flowmeter.sh), SNIFF_CPU and
# REPLAY_CPU (cores sniff and tcpreplay are pinned to, default 1 and 0),
# SNIFF_ARGS (extra flags for flowguard sniff, split at spaces; no quoting).
#
# Needs root (namespaces, AF_PACKET) on Linux. It changes no sysctl of the
# host; the namespace and the veth pair are removed on exit.
set -euo pipefail

rates=${RATES:-50000 100000 200000 400000 800000 topspeed}
filter=${FILTER:-}
scale=${SCALE:-40}
seed=${SEED:-13}
sniff_cpu=${SNIFF_CPU:-1}
replay_cpu=${REPLAY_CPU:-0}
install=1
bench_dir=${FLOWGUARD_BENCH_DIR:-/tmp/flowguard-bench}

die() {
	echo "capture/run.sh: $*" >&2
	exit 1
}
log() { echo "== $*" >&2; }
usage() {
	sed -n '9,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while (($#)); do
	case $1 in
	-r) rates=${2:?}; shift 2 ;;
	-f) filter=${2:?}; shift 2 ;;
	-s) scale=${2:?}; shift 2 ;;
	-S) seed=${2:?}; shift 2 ;;
	--no-install) install=0; shift ;;
	-h | --help) usage ;;
	*) echo "capture/run.sh: unknown argument $1" >&2; usage ;;
	esac
done

export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[[ $(id -u) == 0 ]] || die "needs root: network namespaces and AF_PACKET capture"
command -v ip >/dev/null 2>&1 || die "needs the ip command (iproute2)"

# --- tools -------------------------------------------------------------------
missing=()
command -v tcpreplay >/dev/null 2>&1 || missing+=(tcpreplay)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
if ((${#missing[@]})); then
	((install)) || die "missing packages: ${missing[*]}"
	command -v apt-get >/dev/null 2>&1 || die "missing packages: ${missing[*]}; no apt-get here"
	log "installing ${missing[*]}"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
if [[ -f $repo/scripts/setup.sh ]]; then
	# shellcheck source=scripts/setup.sh
	source "$repo/scripts/setup.sh"
fi
command -v go >/dev/null 2>&1 || die "the Go toolchain is needed"

work=$(mktemp -d "${TMPDIR:-/tmp}/capturebench.XXXXXX")
sfx=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
ns=fgbench-$sfx
root_if=fgbr$sfx
peer_if=fgbp$sfx
sniff_pid=
cleanup() {
	if [[ -n $sniff_pid ]]; then kill "$sniff_pid" 2>/dev/null || true; fi
	ip link del "$root_if" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

log "building flowguard and synthpcap"
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/flowguard" ./cmd/flowguard) || die "go build ./cmd/flowguard failed"
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/synthpcap" ./bench/synthpcap) || die "go build ./bench/synthpcap failed"
"$work/flowguard" sniff --help >/dev/null 2>&1 || die "this flowguard has no sniff command"

# --- capture (cached as bench/flowmeter.sh does, keyed by the generator) -----
mkdir -p "$bench_dir"
genver=$(cat "$repo/bench/synthpcap/main.go" "$repo/internal/capture/writer.go" | sha256sum | cut -c1-12)
pcap=$bench_dir/synth-scale$scale-seed$seed-$genver.pcap
if [[ ! -s $pcap || ! -s $pcap.txt ]]; then
	log "generating $pcap"
	rm -f "$pcap" "$pcap.txt"
	"$work/synthpcap" -scale "$scale" -seed "$seed" -o "$pcap" 2>"$work/gen.txt" ||
		{ cat "$work/gen.txt" >&2; die "synthpcap failed"; }
	mv "$work/gen.txt" "$pcap.txt"
fi
packets=$(sed -n 's/^synthpcap: wrote .*: \([0-9][0-9]*\) packets.*/\1/p' "$pcap.txt")
[[ -n $packets ]] || die "cannot read the packet count from $pcap.txt"
log "capture: $pcap ($packets packets)"

# --- link --------------------------------------------------------------------
# No addresses and no IPv6 on either end: only the replayed frames cross.
ip netns add "$ns"
ip link add "$root_if" type veth peer name "$peer_if" netns "$ns"
echo 1 >"/proc/sys/net/ipv6/conf/$root_if/disable_ipv6" || true
ip netns exec "$ns" sh -c "echo 1 > /proc/sys/net/ipv6/conf/$peer_if/disable_ipv6" || true
ip link set "$root_if" up
ip -n "$ns" link set "$peer_if" up
ip -n "$ns" link set lo up

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Column 2 of /proc/net/softnet_stat counts frames dropped because a CPU's
# input backlog was full: lost before any packet socket sees them.
backlog_drops() {
	local s=0 _processed dropped _rest
	while read -r _processed dropped _rest; do s=$((s + 16#$dropped)); done </proc/net/softnet_stat
	echo "$s"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results=$work/results.tsv
printf 'rate\tsent\tactual_pps\tseen\tkernel_drops\tbacklog_drops\tcpu_s\treplay_s\tcpu_s_per_100k_pkts\n' >"$results"
port=$((20000 + RANDOM % 20000))
for rate in $rates; do
	log "rate $rate: starting flowguard sniff on $root_if (core $sniff_cpu)"
	filter_arg=()
	if [[ -n $filter ]]; then filter_arg=(--filter "$filter"); fi
	# shellcheck disable=SC2086 # SNIFF_ARGS is split on purpose
	taskset -c "$sniff_cpu" "$work/flowguard" sniff -i "$root_if" -o /dev/null \
		--metrics-listen "127.0.0.1:$port" "${filter_arg[@]}" ${SNIFF_ARGS:-} 2>"$work/sniff.err" &
	sniff_pid=$!
	for _ in $(seq 100); do
		command -v curl >/dev/null 2>&1 || { sleep 2; break; }
		curl -sf "http://127.0.0.1:$port/metrics" >/dev/null 2>&1 && break
		kill -0 "$sniff_pid" 2>/dev/null || { cat "$work/sniff.err" >&2; die "flowguard sniff exited"; }
		sleep 0.1
	done
	sleep 0.5
	if [[ $rate == topspeed ]]; then speed=(--topspeed); else speed=(--pps="$rate"); fi
	t0=$(cpu_ticks "$sniff_pid")
	b0=$(backlog_drops)
	start=$(date +%s.%N)
	ip netns exec "$ns" taskset -c "$replay_cpu" tcpreplay --intf1="$peer_if" --preload-pcap "${speed[@]}" "$pcap" >"$work/replay.out" 2>&1 ||
		{ cat "$work/replay.out" >&2; die "tcpreplay failed"; }
	end=$(date +%s.%N)
	sleep 1 # the ring hands over its last block after the block timeout
	t1=$(cpu_ticks "$sniff_pid")
	b1=$(backlog_drops)
	kill -INT "$sniff_pid"
	wait "$sniff_pid" || true
	sniff_pid=
	summary=$(grep '^flowguard sniff:' "$work/sniff.err" | tail -1)
	[[ -n $summary ]] || { cat "$work/sniff.err" >&2; die "no summary line from flowguard sniff"; }
	seen=$(sed -n 's/.*: \([0-9][0-9]*\) packets, .*/\1/p' <<<"$summary")
	kdrops=$(sed -n 's/.* \([0-9][0-9]*\) kernel drops.*/\1/p' <<<"$summary")
	sent=$(sed -n 's/^Actual: \([0-9][0-9]*\) packets.*/\1/p' "$work/replay.out")
	actual=$(sed -n 's/^Rated: .*, \([0-9.][0-9.]*\) pps.*/\1/p' "$work/replay.out")
	cpu=$(awk -v a="$t0" -v b="$t1" -v c="$clk" 'BEGIN {printf "%.2f", (b - a) / c}')
	dur=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}')
	per=$(awk -v c="$cpu" -v n="$seen" 'BEGIN {if (n > 0) printf "%.3f", c * 100000 / n; else print "-"}')
	log "rate $rate: sent $sent at $actual pps, sniff saw $seen, kernel drops $kdrops, backlog drops $((b1 - b0)), cpu ${cpu}s over ${dur}s"
	echo "   $summary" >&2
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rate" "$sent" "$actual" "$seen" "$kdrops" "$((b1 - b0))" "$cpu" "$dur" "$per" >>"$results"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "load average before: $load_before, after: $load_after"
echo "capture: $packets packets ($pcap)"
echo "sniff flags: ${filter:+--filter '$filter' }${SNIFF_ARGS:-}"
column -t -s $'\t' "$results"
# Without a filter every sent frame must be seen; with one, only the drop
# counters say whether sniff kept up.
best=$(awk -F'\t' -v f="$filter" 'NR > 1 && $5 == 0 && $6 == 0 && (f != "" || $4 == $2) {if ($3 + 0 > b) b = $3 + 0} END {print b + 0}' "$results")
echo "highest rate with no kernel or backlog drops${filter:+ (filtered)}${filter:- and every sent packet seen}: $best pps"
