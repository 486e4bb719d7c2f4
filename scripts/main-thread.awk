# Reads `perf script -F tid,ip,sym` of the daemon's main thread and prints where its time went, per job
# start: each sample is put under the outermost event-loop entry point on its stack (the second's timer,
# setImmediate work, an exit or output callback, a thread-pool completion, the epoll wait itself, ...).
# Variables: HZ (perf's sampling rate), SECONDS (the recorded stretch), JOBS (job starts per second).
function flush(   i, f, c) {
  if (!have) return
  c = "other"
  for (i = n; i >= 1; i--) { f = fr[i]; if (f in names) { c = names[f]; break } }
  cnt[c]++; total++; have = 0; n = 0
}
BEGIN {
  names["timer_ready"] = "second's timer (tick, planner, runs queued)"
  names["node::Environment::CheckImmediate"] = "setImmediate (spawns, run events, records)"
  names["exit_ready"] = "job exit (pidfd)"; names["exit_closed"] = "job exit (pidfd)"
  names["output_ready"] = "job output"; names["output_closed"] = "job output"
  names["uv__work_done"] = "thread-pool completion (fs writes)"
  names["uv__async_io.part.0"] = "async wake (thread pool, platform)"
  names["node::PerIsolatePlatformData::FlushForegroundTasksInternal"] = "V8 foreground tasks (GC)"
  names["uv__run_timers"] = "JS timers"
  names["uv__stream_io"] = "sockets and pipes (keeper, control)"; names["uv__server_io"] = "sockets and pipes (keeper, control)"
  names["epoll_pwait"] = "epoll_wait itself"
}
/^ *[0-9]+ *$/ { flush(); have = 1; next }
/^\t *[0-9a-f]+ / { if (have) { n++; fr[n] = $2; sub(/\+0x.*/, "", fr[n]) } next }
/^$/ { flush() }
END {
  flush()
  runs = SECONDS * ((JOBS > 0) ? JOBS : 1)
  printf "main thread: %.1f ms in %d s, %.3f ms per %s\n", total * 1000 / HZ, SECONDS, total * 1000 / HZ / runs, (JOBS > 0 ? "job start" : "second"); fflush()
  for (c in cnt) printf "  %8.3f ms  %s\n", cnt[c] * 1000 / HZ / runs, c | "sort -rn"
}
