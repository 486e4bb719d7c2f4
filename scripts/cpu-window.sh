#!/bin/bash
# usage: scripts/cpu-window.sh JOBS SECONDS SPAWNER [NODE_FLAGS...]
# Starts a foreground daemon with 10,000 idle tasks and JOBS every-second `true` jobs, and prints the CPU
# time of all its threads (first field of /proc/PID/task/*/schedstat, ns; the job keeper's too when the daemon
# runs under one) per 5 s window, in ms. Discard the
# windows of the first 65 s (V8's memory reducer GCs in the first 30 s; the monitor's first record at 60 s).
# CPU per job start = (ms per 5 s - the same with JOBS=0) / (5 x JOBS). GOTORCH_ROOT measures another build
# (a checkout with dist/ and build/ in it); the run's folder is kept and printed.
# PERF=1: instead, after 65 s, `perf record` the daemon's main thread for SECONDS and print where its time
# went per job start (scripts/main-thread.awk; needs perf, and JOBS=0 gives the idle second's share).
set -eu
J=$1; S=$2; SP=$3; shift 3
ROOT=${GOTORCH_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
D=$(mktemp -d "${TMPDIR:-/tmp}/gotorch-cpu.XXXX"); mkdir -p "$D/run"; cd "$ROOT"
node --input-type=module -e "
const {expressions}=await import('$ROOT/dist/scripts/bench/workload.js');
const idle=expressions(10000).map((e,i)=>e.split(' ').slice(0,3).join(' ')+' 1 jan * * 1 cron name=idle'+i+' true');
const jobs=Array.from({length:$J},(_, i)=>'* * * * * * * 1 cron name=job'+i+' true');
(await import('fs')).writeFileSync('$D/tasks.conf',['SHELL=/bin/sh',...idle,...jobs].join('\n')+'\n');
"
GOTORCH_SPAWNER=$SP node --max-semi-space-size=1 --v8-pool-size=1 "$@" dist/src/cli/main.js start --foreground -c "$D/tasks.conf" --pidfile "$D/run/g.pid" --log-dir "$D/log" > "$D.out" 2>&1 &
P=$!
# Under the job keeper (issue 17) the process started is the keeper and the daemon is its child: count both.
for ((i=0;i<300;i++)); do [ -s "$D/run/g.pid" ] && break; sleep 0.1; done
DP=$(cat "$D/run/g.pid" 2>/dev/null || echo $P)
# Alone (GOTORCH_KEEPER=off) the two are one process: counted once.
PROCS="/proc/$P/task/*/schedstat"; [ "$DP" != "$P" ] && PROCS="$PROCS /proc/$DP/task/*/schedstat"
if [ -n "${PERF:-}" ]; then
  HZ=10000; sleep 65
  perf record -q -F $HZ -e cpu-clock -g -t "$DP" -o "$D/perf.data" -- sleep "$S" > /dev/null 2>&1
  kill -TERM $P; wait $P || true
  perf script -i "$D/perf.data" -F tid,ip,sym 2> /dev/null | awk -v HZ=$HZ -v SECONDS="$S" -v JOBS="$J" -f "$ROOT/scripts/main-thread.awk"
  echo "$J jobs/s $SP ($D)"; exit 0
fi
cpu() { cat $PROCS 2>/dev/null | awk '{s+=$1} END {printf "%d", s/1000}'; }
prev=$(cpu); line=""
for ((i=0;i<S;i+=5)); do sleep 5; c=$(cpu); line="$line $(awk "BEGIN {printf \"%.1f\", ($c - $prev) / 1000}")"; prev=$c; done
kill -TERM $P; wait $P || true
echo "$J jobs/s $SP, ms per 5 s:$line  ($D)"
