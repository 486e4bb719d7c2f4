/*
 * The C floor of the bench (c-floor.ts compiles it with gcc -O2): what starting the same jobs costs with
 * nothing in the way, posix_spawn from a small process woken at each second boundary.
 *   floor N SECONDS OUTFILE  for SECONDS seconds, at each second boundary N times
 *                            bash -c 'echo "$GOTORCH_SCHEDULED_AT $EPOCHREALTIME" >> OUTFILE'
 *                            with GOTORCH_SCHEDULED_AT=<that second> (the job the schedulers run)
 *   floor burst N BURSTS     at each second boundary, N `bash -c /bin/true` back to back (the very
 *                            processes the daemon's burst starts: its task file says SHELL=/bin/bash);
 *                            prints the ms from the boundary to the Nth posix_spawn call, one per burst
 * Every child: its own process group, stdin/stdout/stderr /dev/null, no signal blocked or ignored.
 * SIGCHLD is ignored here, so the kernel reaps them. Prints `ready` once set up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char **environ;
static posix_spawnattr_t attr;
static posix_spawn_file_actions_t actions;

static void check(int error, const char *what) {
  if (error != 0) fprintf(stderr, "floor: %s: %s\n", what, strerror(error)), exit(1);
}

static time_t next_boundary(void) {
  struct timespec now, at;
  check(clock_gettime(CLOCK_REALTIME, &now) == 0 ? 0 : errno, "clock_gettime");
  at = (struct timespec){now.tv_sec + 1, 0};
  int error;
  while ((error = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL)) == EINTR) {}
  check(error, "clock_nanosleep");
  return at.tv_sec;
}

static void spawn(char *const argv[], char *const envp[]) {
  pid_t pid;
  check(posix_spawn(&pid, argv[0], &actions, &attr, argv, envp), argv[0]);
}

int main(int argc, char **argv) {
  int burst = argc == 4 && strcmp(argv[1], "burst") == 0;
  int n = argc == 4 ? atoi(argv[1 + burst]) : 0, count = argc == 4 ? atoi(argv[2 + burst]) : 0;
  if (n <= 0 || count <= 0) return fprintf(stderr, "usage: floor N SECONDS OUTFILE | floor burst N BURSTS\n"), 2;
  if (signal(SIGCHLD, SIG_IGN) == SIG_ERR) return perror("floor: signal"), 1;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  check(posix_spawnattr_init(&attr), "posix_spawnattr_init");
  check(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF), "setflags");
  check(posix_spawnattr_setpgroup(&attr, 0), "setpgroup");
  check(posix_spawnattr_setsigmask(&attr, &none), "setsigmask");
  check(posix_spawnattr_setsigdefault(&attr, &all), "setsigdefault");
  check(posix_spawn_file_actions_init(&actions), "file_actions_init");
  check(posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0), "addopen stdin");
  check(posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0), "addopen stdout");
  check(posix_spawn_file_actions_adddup2(&actions, 1, 2), "adddup2 stderr");
  puts("ready");
  fflush(stdout);
  if (burst) {
    char *const argvTrue[] = {"/bin/bash", "-c", "/bin/true", NULL};
    for (int round = 0; round < count; round++) {
      time_t second = next_boundary();
      struct timespec last;
      for (int index = 0; index < n; index++) {
        if (index == n - 1) clock_gettime(CLOCK_REALTIME, &last);
        spawn(argvTrue, environ);
      }
      printf("%.3f\n", (double)(last.tv_sec - second) * 1e3 + last.tv_nsec / 1e6);
      fflush(stdout);
    }
    return 0;
  }
  size_t size = 0;
  while (environ[size] != NULL) size++;
  char **envp = calloc(size + 2, sizeof *envp), scheduled[64];
  if (envp == NULL) return perror("floor: calloc"), 1;
  size_t kept = 0;
  envp[kept++] = scheduled;
  for (size_t index = 0; index < size; index++)
    if (strncmp(environ[index], "GOTORCH_SCHEDULED_AT=", 21) != 0) envp[kept++] = environ[index];
  char command[4096];
  if (snprintf(command, sizeof command, "echo \"$GOTORCH_SCHEDULED_AT $EPOCHREALTIME\" >> %s", argv[3]) >= (int)sizeof command) return fputs("floor: OUTFILE too long\n", stderr), 2;
  char *const job[] = {"/bin/bash", "-c", command, NULL};
  for (int elapsed = 0; elapsed < count; elapsed++) {
    snprintf(scheduled, sizeof scheduled, "GOTORCH_SCHEDULED_AT=%lld", (long long)next_boundary());
    for (int index = 0; index < n; index++) spawn(job, envp);
  }
  return 0;
}
