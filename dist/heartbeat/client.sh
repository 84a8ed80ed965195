#!/bin/bash
# An example client of respawn's heartbeat monitor (respawn
# --heartbeat-dir=DIR), in bash: it registers this shell's PID, then
# writes a beat to its FIFO every period.
#
# usage: client.sh DIR NAME PERIOD_MS MISSES ACTION [BEATS]
#
# ACTION is kill or log. With BEATS, it stops beating after that many and
# waits without beating (to see the action taken).
#
# respawn accepts the registration only if this process, and no other,
# holds the FIFO open for writing. A child forked while the FIFO is open
# holds it too until it closes it, so once the FIFO is open the script
# forks only mv (with 3>&-, before the file appears under its final name)
# and waits with bash's read -t on a second FIFO, which never has data,
# rather than with sleep. The registration is written under another name
# and renamed into place, so that respawn never reads it half written.
set -eu
dir=$1 name=$2 ms=$3 misses=$4 action=$5 beats=${6:--1}

sec=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
# One FIFO per name: a client killed for a missed beat leaves its FIFO,
# which the next one of that name replaces.
fifo=${TMPDIR:-/tmp}/heartbeat.$name.fifo
idle=$fifo.idle
rm -f "$fifo" "$idle"
mkfifo -m 600 "$fifo" "$idle"
trap 'rm -f "$fifo" "$idle"' EXIT
trap 'exit 143' TERM
tmp=$(mktemp "$dir/tmp.XXXXXX")
printf 'fifo=%s\nperiod=%sms\nmisses=%s\naction=%s\nname=%s\n' \
	"$fifo" "$ms" "$misses" "$action" "$name" >"$tmp"

exec 3<>"$fifo" 4<>"$idle" # read and write: the open waits for no reader
mv "$tmp" "$dir/.phm_$$_${tmp##*.}" 3>&- 4>&-

n=0
while ((beats < 0 || n < beats)); do
	printf . >&3
	n=$((n + 1))
	read -r -t "$sec" -u 4 _ || :
done
while :; do read -r -t 1 -u 4 _ || :; done
