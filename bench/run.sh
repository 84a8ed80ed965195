#!/usr/bin/env bash
# respawn benchmarks, side by side with the supervisors people use today
# (daemontools, runit, s6, supervisord), all in one run on this machine.
#
#   make bench                 # = make build && bench/run.sh
#   ROUNDS=5 N=100 bench/run.sh
#
# Run as root on Debian 12: missing peers are installed with apt-get (with a
# policy-rc.d that keeps their services from starting). Without root or apt,
# the bench goes on with whatever peers exist.
#
# Each figure is a script bench/<figure>.py that writes FRAG_DIR/<figure>.json;
# bench/summary.py prints the combined table and writes JSON_OUT. To add a
# figure, write bench/<name>.py (see benchlib.py) and add it to FIGURES below.
#
# env:
#   RESPAWN    respawn binary (default: bin/respawn of this repository)
#   FIGURES    figures to run (default: "latency settings storm upgrade control output watch acct watchdog")
#   ROUNDS     latency rounds per system (20)
#   N          services in the storm/memory/idle figure (500)
#   IDLE_SECS  idle window (10)
#   SYSTEMS    comma-separated words: keep only the systems whose key contains
#              one (keys: respawn daemontools runit s6 supervisord); the floor
#              always runs
#   ACCT_N     processes in the accounting figure's burst (20000)
#   WATCHDOG_SECS  seconds of crash storm in the watchdog figure's VM (600)
#   JSON_OUT   where to write the results (default: bench/results.json)
#   NO_INSTALL=1  never run apt-get
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
export RESPAWN=${RESPAWN:-$repo/bin/respawn}
export ROUNDS=${ROUNDS:-20} N=${N:-500} IDLE_SECS=${IDLE_SECS:-10} SYSTEMS=${SYSTEMS:-}
FIGURES=${FIGURES:-latency settings storm upgrade control output watch acct watchdog heartbeat}
JSON_OUT=${JSON_OUT:-$here/results.json}

say() { printf '[bench] %s\n' "$*" >&2; }

BENCH_TMP=$(mktemp -d /tmp/respawn-bench.XXXXXX)
export BENCH_TMP FRAG_DIR=$BENCH_TMP/fragments
created_policy=

# Every process whose executable, working directory or command line is under
# BENCH_TMP was started by this bench: none may outlive it. Kill by pid.
leftovers() {
	local p pid what n=0
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
		what="$(readlink "$p/exe" 2>/dev/null || true) $(readlink "$p/cwd" 2>/dev/null || true) $(tr '\0' ' ' 2>/dev/null <"$p/cmdline" || true)"
		if [[ $what == *"$BENCH_TMP"* ]]; then
			# skip zombies: they are dead already, their parent reaps them
			[[ $(sed -n 's/^State:\s*\(.\).*/\1/p' "$p/status" 2>/dev/null) == Z ]] && continue
			say "leftover process $pid: $(tr '\0' ' ' 2>/dev/null <"$p/cmdline" | cut -c1-100) -- killing it"
			kill -KILL "$pid" 2>/dev/null || true
			n=$((n + 1))
		fi
	done
	return $((n > 0))
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $created_policy ]]; then rm -f /usr/sbin/policy-rc.d; fi
	leftovers || { sleep 0.5; leftovers || true; }
	rm -rf "$BENCH_TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- peers
install_peers() {
	local need=() pkg
	command -v supervise >/dev/null && command -v svscan >/dev/null || need+=(daemontools)
	command -v runsv >/dev/null && command -v runsvdir >/dev/null || need+=(runit)
	command -v s6-supervise >/dev/null && command -v s6-svscan >/dev/null || need+=(s6)
	command -v supervisord >/dev/null || need+=(supervisor)
	command -v forkstat >/dev/null || need+=(forkstat)
	command -v gcc >/dev/null || need+=(gcc libc6-dev)
	command -v python3 >/dev/null || need+=(python3)
	[[ -x /usr/sbin/atopacctd ]] || need+=(atop)
	((${#need[@]})) || return 0
	if [[ ${NO_INSTALL:-} == 1 ]]; then
		say "NO_INSTALL=1: not installing ${need[*]}"
		return 0
	fi
	if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		say "not root or no apt-get: cannot install ${need[*]}; going on with what exists"
		return 0
	fi
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\n# bench/run.sh: start no service while installing peers\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		created_policy=1
	fi
	say "installing ${need[*]} (apt-get; log in $BENCH_TMP/apt.log)"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get update >"$BENCH_TMP/apt.log" 2>&1; then
		say "apt-get update failed (see below); trying the install anyway"
		tail -n 3 "$BENCH_TMP/apt.log" >&2 || true
	fi
	if ! apt-get install -y --no-install-recommends "${need[@]}" >>"$BENCH_TMP/apt.log" 2>&1; then
		for pkg in "${need[@]}"; do
			apt-get install -y --no-install-recommends "$pkg" >>"$BENCH_TMP/apt.log" 2>&1 ||
				say "apt-get could not install $pkg: going on without it"
		done
	fi
	if [[ -n $created_policy ]]; then
		rm -f /usr/sbin/policy-rc.d
		created_policy=
	fi
}
install_peers

command -v python3 >/dev/null || { say "python3 is needed"; exit 1; }
command -v gcc >/dev/null || { say "gcc is needed to build the probe"; exit 1; }

missing=()
for c in supervise svscan runsv runsvdir s6-supervise s6-svscan supervisord; do
	command -v "$c" >/dev/null || missing+=("$c")
done
((${#missing[@]} == 0)) || say "peers missing (their rows are skipped): ${missing[*]}"
[[ -x $RESPAWN ]] || say "$RESPAWN is not built: respawn's rows are skipped"

# ---------------------------------------------------------------- probe
export STAMP=$BENCH_TMP/stamp
if ! gcc -static -O2 -o "$STAMP" "$here/stamp.c" 2>"$BENCH_TMP/gcc.log"; then
	say "static link failed ($(tail -n 1 "$BENCH_TMP/gcc.log")); using a dynamic probe"
	gcc -O2 -o "$STAMP" "$here/stamp.c"
fi
# The fork storm of the 'watch' and 'acct' figures.
export FORKSTORM=$BENCH_TMP/forkstorm
gcc -static -O2 -o "$FORKSTORM" "$here/forkstorm.c" 2>/dev/null || gcc -O2 -o "$FORKSTORM" "$here/forkstorm.c"

# ---------------------------------------------------------------- figures
say "rounds=$ROUNDS N=$N idle=${IDLE_SECS}s figures: $FIGURES; $(nproc) CPUs, $(uname -r)"
read -r load1 _ </proc/loadavg
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
	say "warning: load average $load1 on $(nproc) CPUs: the machine is busy, the figures will be noisy"
fi
start=$SECONDS
ran=()
for fig in $FIGURES; do
	if [[ ! -f $here/$fig.py ]]; then
		say "no figure $fig ($here/$fig.py)"
		continue
	fi
	t=$SECONDS
	say "figure $fig"
	if python3 "$here/$fig.py"; then
		ran+=("$fig")
	else
		say "figure $fig failed (exit $?); going on"
		ran+=("$fig")
	fi
	say "figure $fig took $((SECONDS - t)) s"
done

if leftovers; then
	say "leftover check: no process of the bench is left"
else
	say "leftover check: the processes above were left behind and are now killed"
fi

python3 "$here/summary.py" "$JSON_OUT" "${ran[@]}"
say "total $((SECONDS - start)) s; results in $JSON_OUT"
