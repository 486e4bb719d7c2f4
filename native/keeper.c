/*
 * gotorch_keeper (issue 17): an ancestor of every job that outlives the daemon. It is a child subreaper, so
 * jobs of a dead daemon become its children (their real exit status is reaped here); it holds its own read
 * end of each job's output pipes (opened through /proc), drains them into a bounded spool while no client
 * is connected (so no writer blocks or gets SIGPIPE), and restarts the daemon after a crash. It schedules
 * nothing and parses no task file: the protocol is one text line per command (README "Job keeper").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FIRST_ENTRIES 512 /* the table's first size; it doubles when full (an fd limit refuses a HOLD first) */
#define MAX_CLIENTS 8
#define MAX_DAEMONS 8
#define LINE_LEN 8192 /* START carries the next daemon's argv */
#define STATUS_UNKNOWN (-1)
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

struct entry {
  int used;
  char id[128];
  pid_t pid;
  int fd[2];         /* the keeper's own read ends of the job's stdout and stderr; -1 once at EOF */
  char *spool[2];    /* bytes read while no client was connected, up to spool_limit for both together */
  size_t spooled[2];
  unsigned long long dropped; /* bytes read past the limit: read anyway so the writer never blocks */
  int status;        /* a waitpid status once the keeper reaped the job, else STATUS_UNKNOWN */
  char *tag;         /* the client's own words about the run (HOLD's last field), returned by LIST */
};

struct client {
  int fd;
  pid_t pid;   /* from SO_PEERCRED: whose /proc/PID/fd a HOLD opens */
  int watcher; /* sent WATCH: gets an EXIT line whenever a held job is reaped */
  int quiet;   /* sent QUIET: HOLD and DROP are not answered (a refusal goes to the keeper's log), one wake-up less per event */
  char line[LINE_LEN];
  size_t len;
};

/* Every COMMAND the keeper started that still runs: during a handover the old and the next daemon both do. */
struct daemon { pid_t pid; int ready, bye; long long started_ms; };

static struct entry *entries; /* n_entries slots, zeroed; a slot is in use when .used */
static int n_entries;
static struct client clients[MAX_CLIENTS];
static int n_clients;
static char **command; /* COMMAND [ARGS...]: the daemon, started again with the same argv */
static const char *socket_path;
static size_t spool_limit = 1 << 20;
static int listen_fd = -1, signal_pipe[2];
static struct daemon daemons[MAX_DAEMONS];
static int n_daemons;
static int pass_fd = -1;           /* --pass-fd: given to the first daemon only (its readiness pipe), then closed here */
static long long restart_at_ms;    /* 0: no restart pending */
static int first_delay_s = 1, restart_delay_s = 1, stopping, detaching;

static void log_event(const char *format, ...) {
  char line[LINE_LEN];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  fprintf(stderr, "gotorch-keeper: %s\n", line); /* one write per event: lines of two processes never mix */
}

/* What goes right (a start, a clean stop, a reaped job) is said only with --verbose: the daemon's log says it. */
static int verbose;
#define log_routine(...) do { if (verbose) log_event(__VA_ARGS__); } while (0)

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void finish(int code) {
  if (listen_fd >= 0) unlink(socket_path);
  exit(code);
}

/* Signals only write their number to a pipe: all the work happens in the poll loop. */
static void on_signal(int sig) {
  int saved = errno;
  char byte = (char)sig;
  if (write(signal_pipe[1], &byte, 1) < 0) { /* full pipe: a wake is already pending */ }
  errno = saved;
}

/*
 * One keeper per socket path: an flock on PATH.lock, held for the keeper's life (close-on-exec, so no
 * daemon or job holds it after), decides between keepers started at once; the holder replaces a socket
 * file left by a dead keeper. (Probing the socket alone raced: a keeper that had bound but not yet
 * listened looked dead to the other, which took its path.)
 */
static void listen_socket(void) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  struct stat st;
  if (strlen(socket_path) >= sizeof addr.sun_path) { log_event("socket path too long: %s", socket_path); exit(2); }
  strcpy(addr.sun_path, socket_path);
  char lock_path[sizeof addr.sun_path + 8];
  snprintf(lock_path, sizeof lock_path, "%s.lock", socket_path);
  int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd < 0) { log_event("cannot open %s: %s", lock_path, strerror(errno)); exit(1); }
  if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) { log_event("a keeper already answers on %s", socket_path); exit(1); }
  if (lstat(socket_path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) { log_event("%s exists and is not a socket; remove it", socket_path); exit(2); }
    unlink(socket_path);
  }
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  mode_t old_mask = umask(0177); /* the socket is created 0600: only the daemon's user may talk to it */
  int bound = bind(listen_fd, (struct sockaddr *)&addr, sizeof addr);
  umask(old_mask);
  if (bound < 0 || listen(listen_fd, 16) < 0) { log_event("cannot listen on %s: %s", socket_path, strerror(errno)); listen_fd = -1; exit(1); }
}

static pid_t start_daemon(void) {
  if (n_daemons == MAX_DAEMONS) { log_event("%d daemons run already; not starting another", MAX_DAEMONS); return 0; }
  int first = pass_fd >= 0;
  pid_t pid = fork();
  if (pid == 0) {
    char self[32], ready_fd[32];
    snprintf(self, sizeof self, "%d", (int)getppid());
    setenv("GOTORCH_KEEPER_SOCKET", socket_path, 1);
    setenv("GOTORCH_KEEPER_PID", self, 1);
    if (first) { snprintf(ready_fd, sizeof ready_fd, "%d", pass_fd); setenv("GOTORCH_READY_FD", ready_fd, 1); }
    else unsetenv("GOTORCH_READY_FD");
    signal(SIGPIPE, SIG_DFL); /* an ignored signal stays ignored across exec */
    signal(SIGPROF, SIG_DFL);
    /* Held fds stay open at LIST's numbers (a socket has no /proc way), named in GOTORCH_KEEPER_FDS. */
    size_t size = (size_t)n_entries * 2 * 12 + 1, used = 0;
    char *fds = malloc(size);
    if (!fds) _exit(127);
    fds[0] = '\0';
    for (int i = 0; i < n_entries; i++)
      for (int w = 0; w < 2; w++)
        if (entries[i].used && entries[i].fd[w] >= 0) {
          fcntl(entries[i].fd[w], F_SETFD, 0);
          used += (size_t)snprintf(fds + used, size - used, "%s%d", used ? "," : "", entries[i].fd[w]);
        }
    setenv("GOTORCH_KEEPER_FDS", fds, 1);
    execvp(command[0], command);
    fprintf(stderr, "gotorch-keeper: cannot run %s: %s\n", command[0], strerror(errno));
    _exit(127);
  }
  if (pid < 0) { log_event("fork failed: %s", strerror(errno)); return 0; }
  if (first) { close(pass_fd); pass_fd = -1; } /* whoever waits on it sees its end when the daemon closes it */
  log_routine("daemon %d started", (int)pid);
  daemons[n_daemons++] = (struct daemon){.pid = pid, .started_ms = now_ms()};
  restart_at_ms = 0;
  return pid;
}

static struct daemon *daemon_of(pid_t pid) {
  for (int i = 0; i < n_daemons; i++)
    if (daemons[i].pid == pid) return &daemons[i];
  return NULL;
}

/* START's argv, tab-separated (no argument holds a tab): the command of this and every later (re)start. */
static int replace_command(char *args) {
  size_t count = 1;
  for (char *p = args; *p; p++) count += *p == '\t';
  char **argv = calloc(count + 1, sizeof *argv);
  char *copy = strdup(args);
  if (!argv || !copy) { free(argv); free(copy); return -1; }
  size_t n = 0;
  for (char *word = strtok(copy, "\t"); word; word = strtok(NULL, "\t")) argv[n++] = word;
  if (n == 0) { free(argv); free(copy); return -1; }
  command = argv; /* the previous argv is kept: it may be main's */
  return 0;
}
static int held_count(void) {
  int count = 0;
  for (int i = 0; i < n_entries; i++) count += entries[i].used;
  return count;
}

static void describe_status(int status, char *out, size_t size) {
  if (status == STATUS_UNKNOWN) snprintf(out, size, "running");
  else if (WIFEXITED(status)) snprintf(out, size, "exit:%d", WEXITSTATUS(status));
  else snprintf(out, size, "signal:%d", WTERMSIG(status));
}

/* A job's status to every watching client. */
static int reply(struct client *c, const char *format, ...);
static void tell_watchers(struct entry *e) {
  char how[32];
  describe_status(e->status, how, sizeof how);
  for (int i = 0; i < n_clients; i++)
    if (clients[i].watcher) reply(&clients[i], "EXIT %s %s", e->id, how);
}

/*
 * A daemon ended. While another runs (a handover) nothing more happens. Else: a clean stop (its BYE said,
 * nothing held) ends the keeper; a daemon that ended before it said READY while nothing is held
 * is not restarted either (a bad task file, a broken install: the keeper exits with its status); any other end
 * restarts COMMAND after a back-off.
 */
static void daemon_ended(struct daemon *ended, int status) {
  char how[32];
  if (WIFSIGNALED(status)) snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
  else snprintf(how, sizeof how, "exited with %d", WEXITSTATUS(status));
  struct daemon d = *ended;
  *ended = daemons[--n_daemons];
  if (stopping || detaching) {
    if (n_daemons > 0) return;
    log_routine("daemon %d %s after a %s signal; exiting", (int)d.pid, how, stopping ? "stop" : "detach");
    finish(0);
  }
  if (n_daemons > 0) { log_routine("daemon %d %s; daemon %d runs on", (int)d.pid, how, (int)daemons[0].pid); return; }
  /* After its BYE the daemon's stop is done, whatever ends it then (a signal in its last milliseconds): never a restart. */
  if (d.bye && held_count() == 0) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) log_routine("daemon %d stopped cleanly; nothing held; exiting", (int)d.pid);
    else log_event("daemon %d %s after it had stopped cleanly; nothing held; exiting", (int)d.pid, how);
    finish(0);
  }
  if (!d.ready && held_count() == 0) {
    log_event("daemon %d %s before it was ready; exiting", (int)d.pid, how);
    finish(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
  }
  if (now_ms() - d.started_ms >= 10000) restart_delay_s = first_delay_s; /* it ran a while: not a crash loop */
  log_event("daemon %d %s; restarting in %d s", (int)d.pid, how, restart_delay_s);
  restart_at_ms = now_ms() + restart_delay_s * 1000LL;
  restart_delay_s = restart_delay_s * 2 > 30 ? 30 : restart_delay_s * 2;
}

static void reap_children(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    struct daemon *d = daemon_of(pid);
    if (d) { daemon_ended(d, status); continue; }
    char how[32];
    describe_status(status, how, sizeof how);
    int held = 0;
    for (int i = 0; i < n_entries; i++)
      if (entries[i].used && entries[i].pid == pid && entries[i].status == STATUS_UNKNOWN) {
        entries[i].status = status;
        held = 1;
        log_routine("job %s (pid %d) ended: %s", entries[i].id, (int)pid, how);
        tell_watchers(&entries[i]);
      }
    if (!held) log_routine("process %d ended: %s", (int)pid, how);
  }
}

/* Reads what the pipe has now into the spool; past the limit bytes are only counted. */
static void drain(struct entry *e, int w) {
  char buf[65536];
  for (int round = 0; round < 16; round++) { /* bounded: one fast writer must not starve the others */
    ssize_t n = read(e->fd[w], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) { close(e->fd[w]); e->fd[w] = -1; return; }
    size_t used = e->spooled[0] + e->spooled[1];
    size_t keep = used >= spool_limit ? 0 : spool_limit - used;
    if (keep > (size_t)n) keep = (size_t)n;
    if (keep > 0) {
      char *grown = realloc(e->spool[w], e->spooled[w] + keep);
      if (!grown) keep = 0;
      else { memcpy(grown + e->spooled[w], buf, keep); e->spool[w] = grown; e->spooled[w] += keep; }
    }
    e->dropped += (unsigned long long)n - keep;
  }
}

/* Blocking send with the socket's 5 s timeout: a client that stops reading is dropped, not waited for. */
static int send_all(struct client *c, const char *data, size_t size) {
  while (size > 0) {
    ssize_t n = send(c->fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    data += n;
    size -= (size_t)n;
  }
  return 0;
}

static int reply(struct client *c, const char *format, ...) {
  char line[LINE_LEN];
  va_list args;
  va_start(args, format);
  int size = vsnprintf(line, sizeof line - 1, format, args);
  va_end(args);
  if (size < 0 || size > (int)sizeof line - 2) size = (int)sizeof line - 2;
  line[size++] = '\n';
  return send_all(c, line, (size_t)size);
}

/* Doubles the table (the new half free); 0, or -1 when out of memory (the table stays as it was). */
static int grow_entries(void) {
  int size = n_entries == 0 ? FIRST_ENTRIES : n_entries * 2;
  struct entry *grown = realloc(entries, (size_t)size * sizeof *grown);
  if (!grown) return -1;
  memset(grown + n_entries, 0, (size_t)(size - n_entries) * sizeof *grown);
  entries = grown;
  n_entries = size;
  return 0;
}

static struct entry *find_entry(const char *id) {
  for (int i = 0; i < n_entries; i++)
    if (entries[i].used && strcmp(entries[i].id, id) == 0) return &entries[i];
  return NULL;
}

/*
 * The client's pipe, opened anew through /proc: no fd passing needed, same uid required. child_process's
 * stdio is a socketpair, which /proc cannot reopen (ENXIO): that one is duplicated with pidfd_getfd, which
 * needs ptrace rights over the client (the keeper is the daemon's parent, enough even under Yama scope 1).
 */
static int open_client_fd(pid_t client, int fd) {
  if (fd < 0) return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)client, fd);
  int mine = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (mine >= 0 || errno != ENXIO) return mine;
  int pidfd = (int)syscall(SYS_pidfd_open, client, 0);
  if (pidfd < 0) return -1;
  mine = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0); /* CLOEXEC; the same open file, already non-blocking in libuv */
  close(pidfd);
  if (mine >= 0) fcntl(mine, F_SETFL, fcntl(mine, F_GETFL) | O_NONBLOCK);
  return mine;
}

/* HOLD's and DROP's answer: NULL for OK. A QUIET client hears nothing; a refusal is logged instead. */
static int answer(struct client *c, const char *format, ...) {
  char line[LINE_LEN];
  if (format == NULL) return c->quiet ? 0 : reply(c, "OK");
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (!c->quiet) return reply(c, "ERR %s", line);
  /* Mostly a job that ended before its HOLD was read (its pipe already closed), then its DROP: said with --verbose. */
  log_routine("refused a request of process %d: %s", (int)c->pid, line);
  return 0;
}

static int command_hold(struct client *c, const char *args) {
  char id[128];
  int pid, fds[2], used = 0;
  if (sscanf(args, "%127s %d %d %d%n", id, &pid, &fds[0], &fds[1], &used) != 4) return answer(c, "usage: HOLD <id> <pid> <stdoutFd> <stderrFd> [tag]");
  const char *tag = args + used;
  while (*tag == ' ') tag++;
  if (find_entry(id)) return answer(c, "%s is already held", id);
  struct entry *e = NULL;
  for (int i = 0; i < n_entries && !e; i++)
    if (!entries[i].used) e = &entries[i];
  if (!e && grow_entries() == 0) e = &entries[n_entries / 2];
  if (!e) {
    log_event("cannot hold %s: no memory for more than %d entries", id, n_entries);
    return answer(c, "the keeper has no memory for more than %d entries", n_entries);
  }
  int mine[2];
  for (int w = 0; w < 2; w++) {
    mine[w] = open_client_fd(c->pid, fds[w]);
    if (fds[w] >= 0 && mine[w] < 0) {
      int err = errno;
      if (w == 1 && mine[0] >= 0) close(mine[0]);
      return answer(c, "cannot take fd %d of process %d: %s", fds[w], (int)c->pid, strerror(err));
    }
  }
  *e = (struct entry){.used = 1, .pid = pid, .fd = {mine[0], mine[1]}, .status = STATUS_UNKNOWN, .tag = *tag ? strdup(tag) : NULL};
  snprintf(e->id, sizeof e->id, "%s", id);
  return answer(c, NULL);
}

static int command_drop(struct client *c, const char *id) {
  struct entry *e = find_entry(id);
  if (!e) return answer(c, "no entry %s", id);
  for (int w = 0; w < 2; w++) {
    if (e->fd[w] >= 0) close(e->fd[w]);
    free(e->spool[w]);
  }
  free(e->tag);
  memset(e, 0, sizeof *e);
  return answer(c, NULL);
}

static int command_list(struct client *c) {
  int count = 0;
  for (int i = 0; i < n_entries; i++) {
    struct entry *e = &entries[i];
    if (!e->used) continue;
    char how[32];
    describe_status(e->status, how, sizeof how);
    if (reply(c, "RUN %s %d %d %d %s %zu %zu %llu %s", e->id, (int)e->pid, e->fd[0], e->fd[1], how, e->spooled[0], e->spooled[1], e->dropped, e->tag ? e->tag : "-") < 0) return -1;
    count++;
  }
  return reply(c, "OK %d", count);
}

static int command_spool(struct client *c, const char *args) {
  char id[128], stream[16];
  if (sscanf(args, "%127s %15s", id, stream) != 2) return reply(c, "ERR usage: SPOOL <id> <stdout|stderr>");
  struct entry *e = find_entry(id);
  if (!e) return reply(c, "ERR no entry %s", id);
  int w = strcmp(stream, "stdout") == 0 ? 0 : strcmp(stream, "stderr") == 0 ? 1 : -1;
  if (w < 0) return reply(c, "ERR write stdout or stderr, not %s", stream);
  if (reply(c, "OK %zu", e->spooled[w]) < 0 || send_all(c, e->spool[w], e->spooled[w]) < 0) return -1;
  free(e->spool[w]);
  e->spool[w] = NULL;
  e->spooled[w] = 0;
  return 0;
}

static int run_command(struct client *c, char *line) {
  char *args = strchr(line, ' ');
  if (args) *args++ = '\0';
  else args = line + strlen(line);
  if (strcmp(line, "HOLD") == 0) return command_hold(c, args);
  if (strcmp(line, "LIST") == 0) return command_list(c);
  if (strcmp(line, "SPOOL") == 0) return command_spool(c, args);
  if (strcmp(line, "DROP") == 0) return command_drop(c, args);
  if (strcmp(line, "START") == 0) {
    if (*args && replace_command(args) < 0) return reply(c, "ERR START <argv, tab-separated>");
    pid_t pid = start_daemon();
    return pid > 0 ? reply(c, "OK %d", (int)pid) : reply(c, "ERR the daemon could not be started (see the keeper's log)");
  }
  if (strcmp(line, "QUIET") == 0) {
    c->quiet = 1;
    return reply(c, "OK");
  }
  if (strcmp(line, "WATCH") == 0) {
    c->watcher = 1;
    for (int i = 0; i < n_entries; i++)
      if (entries[i].used && entries[i].status != STATUS_UNKNOWN) tell_watchers(&entries[i]);
    return 0;
  }
  struct daemon *d = daemon_of(c->pid);
  if (strcmp(line, "READY") == 0) {
    if (!d) return reply(c, "ERR process %d is not a daemon this keeper started", (int)c->pid);
    d->ready = 1;
    return reply(c, "OK");
  }
  if (strcmp(line, "BYE") == 0) {
    if (d) d->bye = 1;
    return reply(c, "OK");
  }
  return reply(c, "ERR unknown command %s (HOLD, DROP, LIST, SPOOL, START, WATCH, QUIET, READY, BYE)", line);
}

static void close_client(int index) {
  close(clients[index].fd);
  clients[index] = clients[--n_clients];
  if (n_clients == 0) log_routine("no client connected; draining the pipes of %d held jobs", held_count());
}

static void accept_client(void) {
  int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) return;
  struct ucred cred;
  socklen_t size = sizeof cred;
  struct timeval timeout = {.tv_sec = 5};
  if (n_clients == MAX_CLIENTS || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) < 0) { close(fd); return; }
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  clients[n_clients++] = (struct client){.fd = fd, .pid = cred.pid};
}

/* Runs every complete line the client sent; returns -1 when the client is gone. */
static int read_client(struct client *c) {
  ssize_t n = read(c->fd, c->line + c->len, sizeof c->line - c->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return -1;
  c->len += (size_t)n;
  char *newline;
  while ((newline = memchr(c->line, '\n', c->len))) {
    *newline = '\0';
    if (run_command(c, c->line) < 0) return -1;
    size_t rest = c->len - (size_t)(newline + 1 - c->line);
    memmove(c->line, newline + 1, rest);
    c->len = rest;
  }
  return c->len == sizeof c->line ? -1 : 0; /* a line longer than the buffer: not a client of ours */
}

static void handle_signals(void) {
  char sigs[64];
  ssize_t n = read(signal_pipe[0], sigs, sizeof sigs);
  for (ssize_t i = 0; i < n; i++) {
    if (sigs[i] == SIGCHLD) { reap_children(); continue; }
    if (sigs[i] == SIGUSR1) detaching = 1; /* systemd's restart: the daemon detaches, the keeper ends with it */
    else if (sigs[i] != SIGHUP && sigs[i] != SIGUSR2) stopping = 1; /* TERM/INT/QUIT: the daemon stops or quits; no restart after it */
    for (int d = 0; d < n_daemons; d++) kill(daemons[d].pid, sigs[i]);
    if (n_daemons == 0 && (stopping || detaching)) finish(0);
  }
}

static void parse_args(int argc, char **argv) {
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) socket_path = argv[++i];
    else if (strcmp(argv[i], "--spool-limit") == 0 && i + 1 < argc) spool_limit = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--restart-delay") == 0 && i + 1 < argc) first_delay_s = restart_delay_s = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
    else if (strcmp(argv[i], "--pass-fd") == 0 && i + 1 < argc) pass_fd = atoi(argv[++i]);
    else if (strcmp(argv[i], "--verbose") == 0) verbose = 1;
    else break;
  }
  if (!socket_path || i >= argc - 1 || strcmp(argv[i], "--") != 0) {
    fprintf(stderr, "usage: gotorch_keeper --socket PATH [--spool-limit BYTES] [--restart-delay SECONDS] [--pass-fd FD] [--verbose] -- COMMAND [ARGS...]\n");
    exit(2);
  }
  command = &argv[i + 1];
}

/* Nothing the caller left open stays open here (a `| cat` would never end, a flock never be released): all above 2 but --pass-fd. */
static void close_inherited(void) {
  if (pass_fd < 0 || pass_fd > 3) syscall(SYS_close_range, 3U, pass_fd < 0 ? ~0U : (unsigned)pass_fd - 1, 0U);
  syscall(SYS_close_range, pass_fd < 3 ? 3U : (unsigned)pass_fd + 1, ~0U, 0U);
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  close_inherited();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) { log_event("cannot become a subreaper: %s", strerror(errno)); return 1; }
  if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) < 0) return 1;
  signal(SIGPIPE, SIG_IGN); /* a closed stderr or client must not kill the holder of every job's pipes */
  /* A profiling timer survives exec: `node --cpu-prof ... start -f` becomes the keeper in place, whose SIGPROF would kill it. */
  setitimer(ITIMER_PROF, &(struct itimerval){0}, NULL);
  signal(SIGPROF, SIG_IGN);
  struct sigaction action = {.sa_handler = on_signal, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
  /* Every signal the daemon acts on (SPEC §4) is passed on: sent to the keeper's pid (a foreground start, systemd's main pid) it must not kill the keeper. */
  int forwarded[] = {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaction(forwarded[i], &action, NULL);
  listen_socket();
  start_daemon();

  if (grow_entries() < 0) { log_event("out of memory"); finish(1); }
  struct pollfd *fds = NULL;
  int *owner = NULL; /* poll slot - first pipe slot → entry index * 2 + stream */
  int polled = 0;    /* the entries fds and owner have room for: grown at the top of a turn, never inside one
                        (a HOLD read below may grow the table while this turn still reads fds) */
  for (;;) {
    if (polled != n_entries) {
      struct pollfd *more = realloc(fds, (size_t)(2 + MAX_CLIENTS + 2 * n_entries) * sizeof *fds);
      if (more) fds = more;
      int *owners = more ? realloc(owner, (size_t)(2 * n_entries) * sizeof *owner) : NULL;
      if (owners) owner = owners;
      if (!more || !owners) { log_event("out of memory"); finish(1); }
      polled = n_entries;
    }
    int n = 0;
    fds[n++] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
    for (int i = 0; i < n_clients; i++) fds[n++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
    int first_pipe = n;
    for (int i = 0; i < n_entries && n_clients == 0; i++) /* a connected client reads its own copies */
      for (int w = 0; w < 2; w++)
        if (entries[i].used && entries[i].fd[w] >= 0) { owner[n - first_pipe] = i * 2 + w; fds[n++] = (struct pollfd){.fd = entries[i].fd[w], .events = POLLIN}; }
    int timeout = -1;
    if (restart_at_ms) timeout = restart_at_ms > now_ms() ? (int)(restart_at_ms - now_ms()) : 0;
    if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR) { log_event("poll: %s", strerror(errno)); finish(1); }
    if (restart_at_ms && now_ms() >= restart_at_ms && n_daemons == 0) start_daemon();
    if (fds[0].revents) handle_signals();
    for (int slot = first_pipe; slot < n; slot++)
      if (fds[slot].revents) drain(&entries[owner[slot - first_pipe] / 2], owner[slot - first_pipe] % 2);
    for (int i = n_clients - 1; i >= 0; i--)
      if (fds[2 + i].revents && read_client(&clients[i]) < 0) close_client(i);
    if (fds[1].revents) accept_client();
  }
}
