#!/usr/bin/env bash
# Flow-meter benchmark: flowguard against argus and softflowd, measured in the
# same run on the same synthetic capture, plus the reference CICFlowMeter
# figures of shared/golden/README.md section 5. See bench/README.md.
#
# usage: bench/flowmeter.sh [-n RUNS] [-s SCALE] [-S SEED] [-c CPU] [--no-install]
#
#   -n RUNS        measured runs per tool (default 5, env RUNS)
#   -s SCALE       synthpcap -scale (default 40, env SCALE): about 1.06M packets
#   -S SEED        synthpcap -seed (default 13, env SEED)
#   -c CPU         core every run is pinned to with taskset (default 0, env BENCH_CPU)
#   --no-install   never call apt-get; fail if a tool is missing
#
# Other environment: FLOWGUARD_BENCH_DIR (cache and results, default
# /tmp/flowguard-bench), SOFTFLOWD_EXPORT (where softflowd sends NetFlow,
# default 127.0.0.1:9995; nothing needs to listen there).
#
# Meant for a Debian 12 machine, run as root so that missing packages can be
# installed. Running it again reuses the installed packages and the cached
# capture.
set -euo pipefail

runs=${RUNS:-5}
scale=${SCALE:-40}
seed=${SEED:-13}
cpu=${BENCH_CPU:-0}
install=1
bench_dir=${FLOWGUARD_BENCH_DIR:-/tmp/flowguard-bench}
export_to=${SOFTFLOWD_EXPORT:-127.0.0.1:9995}

die() {
	echo "flowmeter.sh: $*" >&2
	exit 1
}
log() { echo "== $*" >&2; }
usage() {
	sed -n '6,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while (($#)); do
	case $1 in
	-n) runs=${2:?}; shift 2 ;;
	-s) scale=${2:?}; shift 2 ;;
	-S) seed=${2:?}; shift 2 ;;
	-c) cpu=${2:?}; shift 2 ;;
	--no-install) install=0; shift ;;
	-h | --help) usage ;;
	*) echo "flowmeter.sh: unknown argument $1" >&2; usage ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got $runs"
[[ $cpu =~ ^[0-9]+$ ]] || die "CPU must be a core number, got $cpu"

export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# --- tools -------------------------------------------------------------------
# argus (the daemon that reads pcaps with -r) is in argus-server; argus-client
# has only the ra* readers, of which ra checks argus's output here.
missing=()
command -v argus >/dev/null 2>&1 || missing+=(argus-server)
command -v ra >/dev/null 2>&1 || missing+=(argus-client)
command -v softflowd >/dev/null 2>&1 || missing+=(softflowd)
[[ -x /usr/bin/time ]] || missing+=(time)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
if ((${#missing[@]})); then
	((install)) || die "missing packages: ${missing[*]}"
	[[ $(id -u) == 0 ]] || die "missing packages: ${missing[*]}; run as root or install them"
	command -v apt-get >/dev/null 2>&1 || die "missing packages: ${missing[*]}; no apt-get here"
	log "installing ${missing[*]}"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
	# On a systemd machine the argus-server package starts argus on the
	# first interface. The benchmark only uses it as a pcap reader, so stop
	# the service this install started; it would compete for the CPU.
	if [[ " ${missing[*]} " == *" argus-server "* ]] && command -v systemctl >/dev/null 2>&1 &&
		systemctl is-active --quiet argus.service 2>/dev/null; then
		log "stopping argus.service, started by the package install"
		systemctl stop argus.service || true
	fi
fi
for d in argus softflowd; do
	if pgrep -x "$d" >/dev/null 2>&1; then
		echo "flowmeter.sh: warning: a $d daemon is running and takes CPU time during the runs" >&2
	fi
done
# The repository's setup script puts a Go toolchain new enough for go.mod on
# PATH (installing Debian's golang-go first if there is no Go at all).
if [[ -f $repo/scripts/setup.sh ]]; then
	# shellcheck source=scripts/setup.sh
	source "$repo/scripts/setup.sh"
fi
command -v go >/dev/null 2>&1 || die "the Go toolchain is needed (go.mod asks for $(sed -n 's/^go //p' "$repo/go.mod"))"

work=$(mktemp -d "${TMPDIR:-/tmp}/flowmeter.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "building flowguard and synthpcap"
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/flowguard" ./cmd/flowguard) ||
	die "go build ./cmd/flowguard failed"
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/synthpcap" ./bench/synthpcap) ||
	die "go build ./bench/synthpcap failed"

# --- capture -----------------------------------------------------------------
# The cached capture is keyed by scale, seed and the generator's source, so a
# changed generator never reuses an old file.
mkdir -p "$bench_dir"
genver=$(cat "$repo/bench/synthpcap/main.go" "$repo/internal/capture/writer.go" | sha256sum | cut -c1-12)
pcap=$bench_dir/synth-scale$scale-seed$seed-$genver.pcap
tiny=$bench_dir/synth-tiny-$genver.pcap
if [[ ! -s $pcap || ! -s $pcap.txt ]]; then
	log "generating $pcap"
	rm -f "$pcap" "$pcap.txt"
	"$work/synthpcap" -scale "$scale" -seed "$seed" -o "$pcap" 2>"$work/gen.txt" ||
		{ cat "$work/gen.txt" >&2; die "synthpcap failed"; }
	mv "$work/gen.txt" "$pcap.txt"
fi
if [[ ! -s $tiny ]]; then
	"$work/synthpcap" -scale 1 -seed "$seed" -packets 10 -o "$tiny" 2>/dev/null
fi
sed -n 1p "$pcap.txt" >&2
packets=$(sed -n 's/^synthpcap: wrote .*: \([0-9][0-9]*\) packets, \([0-9][0-9]*\) bytes.*/\1/p' "$pcap.txt")
pcap_bytes=$(stat -c %s "$pcap")
[[ -n $packets ]] || die "cannot read the packet count from $pcap.txt"
cat "$pcap" >/dev/null # into the page cache: every tool reads it from memory

# --- commands ----------------------------------------------------------------
tools=(flowguard-engelen-csv flowguard-cic2017-csv flowguard-engelen-jsonl argus argus-AJRZ softflowd)

# command_for TOOL INPUT sets cmd to the command line.
command_for() {
	case $1 in
	flowguard-engelen-csv) cmd=("$work/flowguard" flows --profile engelen --format csv -o /dev/null "$2") ;;
	flowguard-cic2017-csv) cmd=("$work/flowguard" flows --profile cic2017 --format csv -o /dev/null "$2") ;;
	flowguard-engelen-jsonl) cmd=("$work/flowguard" flows --profile engelen --format jsonl -o /dev/null "$2") ;;
	# -X: ignore /etc/argus.conf and use argus's built-in defaults.
	# -w: argus appends, so out.argus is removed before every run.
	argus) cmd=(argus -X -r "$2" -w "$work/out.argus") ;;
	# The same with application byte counts, jitter, response-time data and
	# packet-size statistics: the closest argus gets to a feature set.
	argus-AJRZ) cmd=(argus -X -A -J -R -Z -r "$2" -w "$work/out.argus") ;;
	# -d: stay in the foreground. With -r softflowd meters the whole file,
	# expires flows only when its flow table (default 8192) is full and
	# flushes the rest at the end; -n sends NetFlow v9 over UDP.
	softflowd) cmd=(softflowd -d -r "$2" -n "$export_to" -v 9) ;;
	*) die "unknown tool $1" ;;
	esac
}

# measure TOOL INPUT runs the tool pinned to one core under /usr/bin/time and
# sets wall, user, sys (seconds) and rss (KiB).
measure() {
	command_for "$1" "$2"
	rm -f "$work/out.argus"
	if ! /usr/bin/time -f '%e %U %S %M' -o "$work/time" taskset -c "$cpu" "${cmd[@]}" \
		>"$work/stdout" 2>"$work/stderr"; then
		tail -n 20 "$work/stderr" >&2
		die "$1 failed: ${cmd[*]}"
	fi
	read -r wall user sys rss < <(tail -n 1 "$work/time")
}

# counts TOOL sets tool_packets and tool_flows from the last run's output.
counts() {
	tool_packets='?' tool_flows='?'
	case $1 in
	flowguard-*)
		tool_packets=$(sed -n 's/^flowguard flows: \([0-9][0-9]*\) packets.*/\1/p' "$work/stderr" | head -n 1)
		tool_flows=$(grep -o '[0-9][0-9]* flows written' "$work/stderr" | head -n 1 | cut -d' ' -f1)
		;;
	argus*)
		read -r tool_packets tool_flows < <(ra -L -1 -n -r "$work/out.argus" -s pkts - not man |
			awk '$1 ~ /^[0-9]+$/ { p += $1; n++ } END { print p + 0, n + 0 }')
		;;
	softflowd)
		tool_packets=$(sed -n 's/^Packets processed: \([0-9][0-9]*\).*/\1/p' "$work/stdout" "$work/stderr" | head -n 1)
		tool_flows=$(sed -n 's/^Flows expired: \([0-9][0-9]*\).*/\1/p' "$work/stdout" "$work/stderr" | head -n 1)
		;;
	esac
	tool_packets=${tool_packets:-?} tool_flows=${tool_flows:-?}
}

printf 'tool\tpackets\tflows\tcommand\n' >"$work/tools.tsv"
printf 'kind\ttool\trun\twall\tuser\tsys\trss_kib\n' >"$work/runs.tsv"

# One unmeasured run per tool: checks that it works, reads what it counted.
log "warm-up run of each tool (not counted)"
for t in "${tools[@]}"; do
	measure "$t" "$pcap"
	counts "$t"
	printf '%s\t%s\t%s\t%s\n' "$t" "$tool_packets" "$tool_flows" "${cmd[*]}" >>"$work/tools.tsv"
	if [[ $tool_packets != "$packets" ]]; then
		echo "flowmeter.sh: warning: $t reports $tool_packets packets, the capture has $packets" >&2
	fi
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${load_before%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
	echo "flowmeter.sh: warning: load average $load_before on $(nproc) cores; other work inflates" \
		"the wall times, the CPU-second columns are more robust" >&2
fi
for ((r = 1; r <= runs; r++)); do
	log "round $r of $runs"
	for t in "${tools[@]}"; do
		measure "$t" "$pcap"
		printf 'main\t%s\t%d\t%s\t%s\t%s\t%s\n' "$t" "$r" "$wall" "$user" "$sys" "$rss" >>"$work/runs.tsv"
		# The same tool on a 10-packet capture: start-up and shut-down cost.
		measure "$t" "$tiny"
		printf 'floor\t%s\t%d\t%s\t%s\t%s\t%s\n' "$t" "$r" "$wall" "$user" "$sys" "$rss" >>"$work/runs.tsv"
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ------------------------------------------------------------------
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
json=$bench_dir/flowmeter-$(date -u -d "$stamp" +%Y%m%dT%H%M%SZ).json
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$repo" status --porcelain 2>/dev/null) ]]; then commit+="-dirty"; fi
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem_kib=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo unknown; }

awk -F '\t' \
	-v packets="$packets" -v pcap="$pcap" -v pcap_bytes="$pcap_bytes" -v scale="$scale" -v seed="$seed" \
	-v runs="$runs" -v cpu="$cpu" -v json="$json" -v stamp="$stamp" -v commit="$commit" \
	-v nproc="$(nproc)" -v cpu_model="$cpu_model" -v mem_kib="$mem_kib" -v kernel="$(uname -r)" \
	-v go_version="$(go version | cut -d' ' -f3)" -v argus_version="$(pkgver argus-server)" \
	-v softflowd_version="$(pkgver softflowd)" -v load_before="$load_before" -v load_after="$load_after" '
function median(a, n,    i, j, v, s) {
	for (i = 1; i <= n; i++) s[i] = a[i]
	for (i = 2; i <= n; i++) { v = s[i]; for (j = i - 1; j >= 1 && s[j] > v; j--) s[j + 1] = s[j]; s[j + 1] = v }
	return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
}
function minimum(a, n,    i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
function group(x,    s, neg) {  # integer with thousands separators
	x = sprintf("%.0f", x); neg = x ~ /^-/; if (neg) x = substr(x, 2)
	s = ""; while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
	return (neg ? "-" : "") x s
}
function num(x) { return x > 0 ? group(x) : "-" }  # "-": too fast to time
function times(x, w, d) { return x > 0 ? sprintf("%" w "." d "fx", x) : sprintf("%" w + 1 "s", "-") }
function jnum(x, d) { return x > 0 ? sprintf("%." d "f", x) : "null" }
function jstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
function ratio(a, b) { return b > 0 ? a / b : 0 }
FNR == 1 { next }
FILENAME ~ /tools.tsv$/ { nt++; name[nt] = $1; tpk[$1] = $2; tfl[$1] = $3; tcmd[$1] = $4; next }
{
	t = $2
	if ($1 == "main") {
		k = ++nm[t]; W[t, k] = $4; C[t, k] = $5 + $6; R[t, k] = $7 / 1024
		raw[t] = raw[t] (k > 1 ? ", " : "") sprintf("{\"wall_s\": %s, \"user_s\": %s, \"sys_s\": %s, \"max_rss_kib\": %s}", $4, $5, $6, $7)
	} else {
		k = ++nf[t]; F[t, k] = $4
	}
}
END {
	for (i = 1; i <= nt; i++) {
		t = name[i]; n = nm[t]
		delete a; for (k = 1; k <= n; k++) a[k] = W[t, k]; wall[t] = median(a, n); best[t] = minimum(a, n)
		delete a; for (k = 1; k <= n; k++) a[k] = C[t, k]; cpus[t] = median(a, n)
		delete a; for (k = 1; k <= n; k++) a[k] = R[t, k]; rss[t] = median(a, n)
		delete a; for (k = 1; k <= nf[t]; k++) a[k] = F[t, k]; floor_s[t] = median(a, nf[t])
		pps[t] = ratio(packets, wall[t]); ppc[t] = ratio(packets, cpus[t])
	}
	printf "\nflow-meter benchmark, %s; %s packets (%s bytes), synthpcap scale %s seed %s\n", stamp, group(packets), group(pcap_bytes), scale, seed
	printf "machine: %s cores, %s, %.1f GiB; every run pinned to core %s (taskset); load average %s before, %s after\n", nproc, cpu_model, mem_kib / 1048576, cpu, load_before, load_after
	printf "medians of %d runs per tool, tools alternated round by round\n\n", runs
	printf "%-24s %10s %8s %7s %7s %7s %11s %11s %7s %8s\n", "tool", "packets", "flows", "wall s", "best s", "CPU s", "pkt/s", "pkt/CPU-s", "floor s", "RSS MiB"
	for (i = 1; i <= nt; i++) {
		t = name[i]
		printf "%-24s %10s %8s %7.2f %7.2f %7.2f %11s %11s %7.2f %8.1f\n", t, group(tpk[t]), tfl[t] == "?" ? "?" : group(tfl[t]), wall[t], best[t], cpus[t], num(pps[t]), num(ppc[t]), floor_s[t], rss[t]
	}
	printf "\n(wall, CPU = user+sys and RSS are medians; best = fastest wall; pkt/s = capture packets / median wall;\n pkt/CPU-s = capture packets / median CPU; floor = median wall on a 10-packet capture; flows = records written)\n"

	printf "\nratios (flowguard / peer; throughput: higher is better; RSS: lower is better)\n"
	printf "%-24s %-11s %10s %10s %8s\n", "flowguard", "peer", "pkt/s", "pkt/CPU-s", "RSS"
	for (i = 1; i <= nt; i++) {
		t = name[i]; if (t !~ /^flowguard/) continue
		for (j = 1; j <= nt; j++) {
			p = name[j]; if (p ~ /^flowguard/) continue
			r_pps[t, p] = ratio(pps[t], pps[p]); r_ppc[t, p] = ratio(ppc[t], ppc[p]); r_rss[t, p] = ratio(rss[t], rss[p])
			printf "%-24s %-11s %s %s %s\n", t, p, times(r_pps[t, p], 9, 2), times(r_ppc[t, p], 9, 2), times(r_rss[t, p], 7, 2)
		}
	}

	# shared/golden/README.md section 5: the reference CICFlowMeter builds,
	# timed on the scale-40 seed-13 capture of the generator behind the golden
	# data (1,080,618 packets) on a shared 2-vCPU VM; wall time includes the
	# JVM start; best of 14 runs.
	refpk = 1080618
	refwall["cic2017"] = 8.70; refcpu["cic2017"] = 13.6; refrss["cic2017"] = 1130
	refwall["engelen"] = 9.95; refcpu["engelen"] = 13.5; refrss["engelen"] = 1514
	printf "\nreference CICFlowMeter (golden README section 5, not measured here: %s packets, best wall of 14 runs incl. JVM start)\n", group(refpk)
	printf "%-8s %12s %18s %12s %10s\n", "profile", "best wall s", "pkt/s at best wall", "best CPU s", "RSS MiB"
	for (pr in refwall) order[pr == "cic2017" ? 1 : 2] = pr
	for (o = 1; o <= 2; o++) {
		pr = order[o]; refpps[pr] = refpk / refwall[pr]
		printf "%-8s %12.2f %18s %12.1f %10s\n", pr, refwall[pr], group(refpps[pr]), refcpu[pr], group(refrss[pr])
	}
	printf "%-24s %-8s %16s %10s\n", "flowguard", "profile", "pkt/s vs best", "RSS"
	for (i = 1; i <= nt; i++) {
		t = name[i]; if (t !~ /^flowguard/) continue
		pr = t ~ /cic2017/ ? "cic2017" : "engelen"
		x_ref[t] = ratio(pps[t], refpps[pr]); x_rss[t] = ratio(rss[t], refrss[pr])
		printf "%-24s %-8s %s %s\n", t, pr, times(x_ref[t], 15, 1), times(x_rss[t], 9, 3)
	}

	h = "flowguard-engelen-csv"
	if (h in pps) {
		printf "\ntargets (issue text; informational, %s):\n", h
		printf "  >= 2,000,000 pkt/s on one core: %s pkt/s (median wall), %s pkt/CPU-s\n", group(pps[h]), group(ppc[h])
		if ("argus" in pps) printf "  >= 2x argus: %.2fx by wall, %.2fx per CPU-second\n", r_pps[h, "argus"], r_ppc[h, "argus"]
		printf "  <= 100 MiB RSS for %s packets: %.1f MiB\n", group(packets), rss[h]
		printf "  about 20x the reference at its best (engelen): %.1fx\n", x_ref[h]
	}

	printf "{\n" > json
	printf "  \"date_utc\": %s,\n  \"flowguard_commit\": %s,\n", jstr(stamp), jstr(commit) > json
	printf "  \"machine\": {\"cores\": %s, \"cpu_model\": %s, \"mem_kib\": %s, \"kernel\": %s, \"pinned_core\": %s, \"loadavg_before\": %s, \"loadavg_after\": %s},\n", nproc, jstr(cpu_model), mem_kib, jstr(kernel), cpu, jstr(load_before), jstr(load_after) > json
	printf "  \"versions\": {\"go\": %s, \"argus_server\": %s, \"softflowd\": %s},\n", jstr(go_version), jstr(argus_version), jstr(softflowd_version) > json
	printf "  \"capture\": {\"path\": %s, \"packets\": %s, \"bytes\": %s, \"scale\": %s, \"seed\": %s},\n", jstr(pcap), packets, pcap_bytes, scale, seed > json
	printf "  \"runs_per_tool\": %s,\n  \"tools\": [\n", runs > json
	for (i = 1; i <= nt; i++) {
		t = name[i]
		printf "    {\"tool\": %s, \"command\": %s, \"packets_reported\": %s, \"flows_written\": %s,\n", jstr(t), jstr(tcmd[t]), tpk[t] == "?" ? "null" : tpk[t], tfl[t] == "?" ? "null" : tfl[t] > json
		printf "     \"median_wall_s\": %.3f, \"best_wall_s\": %.3f, \"median_cpu_s\": %.3f, \"packets_per_s\": %s, \"packets_per_cpu_s\": %s, \"median_max_rss_mib\": %.1f, \"floor_wall_s\": %.3f,\n", wall[t], best[t], cpus[t], jnum(pps[t], 0), jnum(ppc[t], 0), rss[t], floor_s[t] > json
		printf "     \"runs\": [%s]}%s\n", raw[t], i < nt ? "," : "" > json
	}
	printf "  ],\n  \"ratios\": [\n" > json
	sep = ""
	for (i = 1; i <= nt; i++) {
		t = name[i]; if (t !~ /^flowguard/) continue
		for (j = 1; j <= nt; j++) {
			p = name[j]; if (p ~ /^flowguard/) continue
			printf "%s    {\"flowguard\": %s, \"peer\": %s, \"packets_per_s\": %s, \"packets_per_cpu_s\": %s, \"rss\": %s}", sep, jstr(t), jstr(p), jnum(r_pps[t, p], 3), jnum(r_ppc[t, p], 3), jnum(r_rss[t, p], 3) > json
			sep = ",\n"
		}
	}
	printf "\n  ],\n  \"reference\": {\"source\": \"shared/golden/README.md section 5\", \"packets\": %d,\n", refpk > json
	printf "    \"cic2017\": {\"best_wall_s\": 8.70, \"best_cpu_s\": 13.6, \"median_rss_mib\": 1130, \"packets_per_s_at_best_wall\": %.0f},\n", refpps["cic2017"] > json
	printf "    \"engelen\": {\"best_wall_s\": 9.95, \"best_cpu_s\": 13.5, \"median_rss_mib\": 1514, \"packets_per_s_at_best_wall\": %.0f},\n", refpps["engelen"] > json
	printf "    \"flowguard_vs_reference\": [" > json
	sep = ""
	for (i = 1; i <= nt; i++) {
		t = name[i]; if (t !~ /^flowguard/) continue
		printf "%s{\"flowguard\": %s, \"packets_per_s\": %s, \"rss\": %s}", sep, jstr(t), jnum(x_ref[t], 2), jnum(x_rss[t], 4) > json
		sep = ", "
	}
	printf "]}\n}\n" > json
	close(json)
}' "$work/tools.tsv" "$work/runs.tsv"

cp "$json" "$bench_dir/flowmeter-latest.json"
echo
echo "results: $json (also $bench_dir/flowmeter-latest.json)"
