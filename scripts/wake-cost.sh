#!/bin/bash
# usage: scripts/wake-cost.sh [INTERVAL_MS] [WAKES]
# What one wake costs this machine in CPU (the main thread's schedstat, ns): a C loop of nanosleep, and Node
# with one setTimeout at a time. On a paravirtualised VM a wake alone can cost more than the work a run does;
# read the daemon's CPU per start (scripts/cpu-window.sh, npm run bench) against these (issue 16).
set -eu
MS=${1:-20}; N=${2:-300}
D=$(mktemp -d "${TMPDIR:-/tmp}/gotorch-wake.XXXX"); trap 'rm -rf "$D"' EXIT
cat > "$D/wake.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static long long ran(void) { long long ns = 0; FILE *f = fopen("/proc/self/schedstat", "r"); if (f) { if (fscanf(f, "%lld", &ns) != 1) ns = 0; fclose(f); } return ns; }
int main(int argc, char **argv) {
  int ms = atoi(argv[1]), n = atoi(argv[2]);
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  long long before = ran();
  for (int i = 0; i < n; i++) nanosleep(&t, NULL);
  printf("C, nanosleep every %d ms: %.1f us of CPU per wake\n", ms, (ran() - before) / 1000.0 / n);
  return 0;
}
C
gcc -O2 -o "$D/wake" "$D/wake.c"
"$D/wake" "$MS" "$N"
node --max-semi-space-size=1 --v8-pool-size=1 --input-type=module -e "
import { readFileSync } from 'node:fs';
const ran = () => Number(readFileSync('/proc/self/task/' + process.pid + '/schedstat', 'utf8').split(' ')[0]);
let i = 0, before = 0;
const step = () => {
  if (i === 10) before = ran();
  if (i++ === $N + 10) return console.log('Node, setTimeout every $MS ms: ' + ((ran() - before) / 1000 / $N).toFixed(1) + ' us of CPU per wake (main thread)');
  setTimeout(step, $MS);
};
step();
"
