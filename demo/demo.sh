#!/usr/bin/env bash
# A narrated demo of respawn over four example servers (sh and coreutils
# only): a respawn, a burial, a cremation and a revival, then the SIGUSR1
# info dump and a clean stop. Run it after `make build`;
# RESPAWN=/path/to/respawn overrides the binary, DEMO_PACE the pauses.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${RESPAWN:-bin/respawn}
[[ -x $BIN ]] || { echo "demo: $BIN not found: run 'make build' first" >&2; exit 1; }
BIN=$(realpath "$BIN")

DIR=$(mktemp -d "${TMPDIR:-/tmp}/respawn-demo.XXXXXX")
LOG=$DIR/respawn.log
INTERVAL=2
SUP=

# On any exit: if respawn is still there, stop it by pid (SIGTERM, then
# SIGKILL), and remove the scratch directory.
cleanup() {
	if [[ -n $SUP ]] && kill -0 "$SUP" 2>/dev/null; then
		kill -TERM "$SUP" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$SUP" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SUP" 2>/dev/null || true
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT

bold= plain=
if [[ -t 1 ]]; then bold=$(tput bold 2>/dev/null || true) plain=$(tput sgr0 2>/dev/null || true); fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
pace() { sleep "${DEMO_PACE:-2}"; } # for the reader only: nothing waits on it

# show prints the transitions and revivals logged since its last call.
shown=0
show() {
	local n
	n=$(wc -l <"$LOG")
	sed -n "$((shown + 1)),${n}p" "$LOG" |
		grep -E 'msg=(ALIVE|DEAD|BURIED|CREMATED|revive|"respawn|"shutting)' |
		sed -E 's/^time=[^ ]+ //; s/ lived=[^ ]+//; s/^/    /' || true
	shown=$n
}

# wait_log waits, up to 10 s, until at least ${2:-1} log lines match the
# extended regex $1.
wait_log() {
	for _ in $(seq 200); do
		[[ $(grep -Ec -- "$1" "$LOG") -ge ${2:-1} ]] && return 0
		sleep 0.05
	done
	echo "demo: timed out waiting for: $1" >&2
	cat "$LOG" >&2
	exit 1
}

# pid_of prints the pid of the latest start of server $1.
pid_of() { grep -E "msg=ALIVE server=$1 " "$LOG" | tail -1 | sed -E 's/.* pid=([0-9]+).*/\1/'; }

say "Four servers under respawn, with a do-not-resuscitate interval of ${INTERVAL}s:"
cat <<'EOF'
    1 steady   sleep 1000                             runs until killed
    2 crasher  sh -c 'exit 3'                         dies at once, every time
    3 oneshot  sh -c 'echo job done'                  does its job and ends well
    4 flaky    sh -c 'test -e ready && exec sleep 1000'   dies at once until ./ready exists
EOF
# The servers run in $DIR, where flaky looks for its file.
(cd "$DIR" && exec "$BIN" --interval="$INTERVAL" --stop-timeout=2s --control=none \
	{ @steady sleep 1000 } \
	{ @crasher sh -c 'exit 3' } \
	{ @oneshot sh -c 'echo "    oneshot: job done"' } \
	{ @flaky sh -c 'test -e ready && exec sleep 1000' } \
	2>"$LOG") &
SUP=$!
wait_log 'msg=CREMATED server=3 '
wait_log 'msg=BURIED server=2 '
wait_log 'msg=BURIED server=4 '
show
say "oneshot exited 0: CREMATED, never started again."
say "crasher and flaky died abnormally within ${INTERVAL}s of their start, then at each of their 3 retries (100, 200, 400 ms apart): BURIED."
pace

STEADY=$(pid_of 1)
say "Once steady has run longer than the interval, we kill it (SIGKILL to pid $STEADY)..."
for _ in $(seq 100); do
	[[ $(ps -o etimes= -p "$STEADY" | tr -d ' ') -gt $INTERVAL ]] && break
	sleep 0.05
done
kill -KILL "$STEADY"
wait_log 'msg=ALIVE server=1 .*from=DEAD'
show
say "...it was DEAD for an instant and respawned at once, as pid $(pid_of 1)."
pace

say "We fix flaky (touch ready) and send SIGUSR2: every buried server is revived."
touch "$DIR/ready"
kill -USR2 "$SUP"
wait_log 'msg=ALIVE server=4 .*from=BURIED'
wait_log 'msg=BURIED server=2 ' 2
show
say "flaky runs now; crasher still crashes at once and is buried again after 3 fresh retries."
pace

say "SIGUSR1: the info dump."
kill -USR1 "$SUP"
wait_log '^end of info dump'
sed -n '/^respawn info dump/,/^end of info dump/p' "$LOG" | sed 's/^/    /'
pace

PIDS=$(grep -oE ' pid=[0-9]+' "$LOG" | cut -d= -f2 | sort -u | grep -vx 0 | grep -vx "$SUP" || true)
say "SIGTERM: respawn stops every server's process group, reaps them and exits."
kill -TERM "$SUP"
status=0
wait "$SUP" || status=$?
SUP=
show
left=
for p in $PIDS; do
	if kill -0 "$p" 2>/dev/null; then left="$left $p"; fi
done
if [[ -n $left ]]; then
	echo "demo: still running after the stop:$left" >&2
	exit 1
fi
say "respawn exited with status $status (1: crasher never ended cleanly); none of its $(wc -w <<<"$PIDS") server processes is left."
