/*
 * The native spawner's C half (issue 16): posix_spawn `file argv` in its own process group, stdin from
 * /dev/null, stdout and stderr to two pipes, the job's cwd and its complete environment; the exit is seen
 * through a pidfd watched by the event loop (uv_poll) and reaped with waitid(P_PIDFD), so libuv's SIGCHLD
 * handler (which waits only for the pids it spawned itself) never races it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define CHECK(call)                                                                  \
  do {                                                                               \
    if ((call) != napi_ok) {                                                         \
      napi_throw_error(env, NULL, "gotorch_spawn: " #call " failed");                \
      return NULL;                                                                   \
    }                                                                                \
  } while (0)

static int pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/* A JS string as a malloc'd C string; NULL (with a pending exception) when it is not a string. */
static char *copy_string(napi_env env, napi_value value) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "gotorch_spawn: expected a string");
    return NULL;
  }
  char *text = malloc(length + 1);
  if (text != NULL) napi_get_value_string_utf8(env, value, text, length + 1, &length);
  return text;
}

static void free_strings(char **strings) {
  if (strings == NULL) return;
  for (char **at = strings; *at != NULL; at++) free(*at);
  free(strings);
}

/* A JS array of strings as a NULL-terminated C array. */
static char **copy_strings(napi_env env, napi_value array) {
  uint32_t count;
  if (napi_get_array_length(env, array, &count) != napi_ok) {
    napi_throw_type_error(env, NULL, "gotorch_spawn: expected an array of strings");
    return NULL;
  }
  char **strings = calloc(count + 1, sizeof(char *));
  if (strings == NULL) return NULL;
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    if (napi_get_element(env, array, i, &item) != napi_ok || (strings[i] = copy_string(env, item)) == NULL) {
      free_strings(strings);
      return NULL;
    }
  }
  return strings;
}

static napi_value errno_result(napi_env env, int error) {
  napi_value result, value;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_int32(env, error, &value));
  CHECK(napi_set_named_property(env, result, "errno", value));
  return result;
}

static int set_int(napi_env env, napi_value object, const char *name, int number) {
  napi_value value;
  return napi_create_int32(env, number, &value) == napi_ok && napi_set_named_property(env, object, name, value) == napi_ok;
}

/* The spawn itself, on C strings; returns 0 or an errno. */
static int spawn_job(const char *file, char **argv, char **envp, const char *cwd, pid_t *pid, int *pidfd, int out[2], int err[2]) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  sigset_t none, all;
  int error;
  if (pipe2(out, O_CLOEXEC) != 0) return errno;
  if (pipe2(err, O_CLOEXEC) != 0) {
    error = errno;
    close(out[0]);
    close(out[1]);
    return error;
  }
  if ((error = posix_spawn_file_actions_init(&actions)) != 0 || (error = posix_spawnattr_init(&attr)) != 0) {
    close(out[0]);
    close(out[1]);
    close(err[0]);
    close(err[1]);
    return error;
  }
  sigemptyset(&none);
  sigfillset(&all);
#if defined(__GLIBC__) && defined(__SIGRTMIN)
  // glibc's sigfillset leaves out its internal signals (32, 33), and posix_spawn then starts the child
  // with them ignored, which exec keeps: add them by hand so they are at their default too.
  for (int sig = __SIGRTMIN; sig < SIGRTMIN; sig++) all.__val[(sig - 1) / (8 * sizeof(unsigned long))] |= 1UL << ((sig - 1) % (8 * sizeof(unsigned long)));
#endif
  // dup2 onto 1 and 2 clears close-on-exec there; the pipes' own fds (O_CLOEXEC) close at exec.
  error = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (error == 0) error = posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  if (error == 0) error = posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  if (error == 0 && cwd != NULL) error = posix_spawn_file_actions_addchdir_np(&actions, cwd);
  // Own process group (pgid = its pid); no blocked signals; every signal at its default (Node ignores SIGPIPE).
  if (error == 0) error = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (error == 0) error = posix_spawnattr_setpgroup(&attr, 0);
  if (error == 0) error = posix_spawnattr_setsigmask(&attr, &none);
  if (error == 0) error = posix_spawnattr_setsigdefault(&attr, &all);
  if (error == 0) error = posix_spawn(pid, file, &actions, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  close(err[1]);
  if (error == 0) {
    // The child is not reaped before this: only its watcher below waits for it.
    *pidfd = pidfd_open(*pid);
    if (*pidfd < 0) {
      error = errno;
      kill(-*pid, SIGKILL);
      waitpid(*pid, NULL, 0);
    }
  }
  if (error != 0) {
    close(out[0]);
    close(err[0]);
  }
  return error;
}

/*
 * A file descriptor watched by the event loop, calling back into JS: the common head of the job, the
 * output watch and the wake timer below (each struct starts with it). A job's pipes have no callback
 * of their own (callback NULL): they call the job's.
 */
typedef struct {
  uv_poll_t poll;
  int fd;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
} Watch;

/* Watches `fd` for `events` with `ready`, calling `callback` (or nothing) later; false with an exception pending. */
static int watch_start(napi_env env, Watch *watch, int fd, napi_value callback, const char *name, int events, uv_poll_cb ready) {
  uv_loop_t *loop;
  napi_value resource;
  watch->fd = fd;
  watch->env = env;
  watch->poll.data = watch;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok ||
      (callback != NULL && (napi_create_reference(env, callback, 1, &watch->callback) != napi_ok ||
                            napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource) != napi_ok ||
                            napi_async_init(env, NULL, resource, &watch->context) != napi_ok))) {
    napi_throw_error(env, NULL, "gotorch_spawn: could not set up an event-loop watch");
    return 0;
  }
  int error = uv_poll_init(loop, &watch->poll, fd);
  if (error == 0) error = uv_poll_start(&watch->poll, events, ready);
  if (error != 0) {
    napi_throw_error(env, NULL, uv_strerror(error));
    return 0;
  }
  return 1;
}

/*
 * `callback` (a watch's own, or another reference) with `argc` values made by `make` inside a handle
 * scope, in `watch`'s async context; make_callback runs the microtasks it queues, as any libuv callback
 * into JS does.
 */
static void watch_call_with(Watch *watch, napi_ref reference, size_t argc, int (*make)(void *, napi_value *), void *data) {
  napi_handle_scope scope;
  napi_value callback, global, argv[3], ignored;
  if (napi_open_handle_scope(watch->env, &scope) != napi_ok) return;
  if (napi_get_reference_value(watch->env, reference, &callback) == napi_ok && napi_get_global(watch->env, &global) == napi_ok &&
      (make == NULL || make(data, argv)))
    napi_make_callback(watch->env, watch->context, global, callback, argc, argv, &ignored);
  napi_close_handle_scope(watch->env, scope);
}

static void watch_call(Watch *watch, size_t argc, int (*make)(void *, napi_value *)) { watch_call_with(watch, watch->callback, argc, make, watch); }

/* Drops a watch's references to JS (a job's pipes have none). */
static void watch_release(Watch *watch) {
  if (watch->callback == NULL) return;
  napi_delete_reference(watch->env, watch->callback);
  napi_async_destroy(watch->env, watch->context);
  watch->callback = NULL;
}

/* Releases a closed watch (uv_close's callback); `closeFd` closes its descriptor too. */
static void watch_free(Watch *watch, int closeFd) {
  if (closeFd) close(watch->fd);
  watch_release(watch);
  free(watch);
}

/*
 * An output pipe read on the event loop (uv_poll on the non-blocking read end), a job's or one
 * readOutput watches: each chunk is a Buffer passed to JS; at the end (EOF or a read error) the fd is
 * closed and a readOutput callback gets null once. No net.Socket per pipe: on a daemon starting many
 * short jobs the two sockets' setup and teardown were a third of its CPU per start (issue 16).
 */
#define READ_CHUNK 65536
#define READS_PER_EVENT 4

typedef struct Job Job;

typedef struct {
  Watch watch;
  int ended; // EOF, a read error, or detached: the poll is stopped and closing
  Job *job;  // the job whose pipe this is (its callbacks), or NULL (readOutput's own callback)
  int index; // a job's stdout 0, stderr 1
  const char *data; // the chunk being passed to JS (NULL: the end)
  size_t length;
} OutputWatch;

/*
 * A job: its exit (on the pidfd, Watch.fd; reaped with waitid) and both output pipes, watched together.
 * JS is called for each output chunk (onOutput) and once when the exit and both pipes' ends are all
 * seen (onDone), as child_process's `close`: one call per run where three were made before (issue 16).
 */
struct Job {
  Watch exit; // its callback is onDone
  napi_ref on_output;
  OutputWatch *pipes[2]; // NULL once closed
  int open;      // of the exit watch and the two pipes, how many are not yet closed
  int finalized; // the JS handle was collected: the job is freed once nothing is open either
  int code;      // exit code, or -1
  int signal;    // terminating signal, or 0
  int error;     // why the exit status is unknown (an errno), or 0
};

static char read_buffer[READ_CHUNK];

static int output_value(void *data, napi_value *argv) {
  OutputWatch *output = data;
  napi_env env = output->watch.env;
  if (output->job != NULL && napi_create_int32(env, output->index, &argv[0]) != napi_ok) return 0;
  napi_value *chunk = output->job != NULL ? &argv[1] : &argv[0];
  if (output->data == NULL) return napi_get_null(env, chunk) == napi_ok;
  return napi_create_buffer_copy(env, output->length, output->data, NULL, chunk) == napi_ok;
}

/* A readOutput callback(chunk | null), or a job's onOutput(index, chunk) (a job's pipe end is not reported). */
static void output_call(OutputWatch *watch, const char *data, size_t length) {
  watch->data = data;
  watch->length = length;
  if (watch->job == NULL) watch_call(&watch->watch, 1, output_value);
  else if (data != NULL) watch_call_with(&watch->job->exit, watch->job->on_output, 2, output_value, watch);
}

static int exit_values(void *data, napi_value *argv) {
  Job *job = data;
  napi_env env = job->exit.env;
  return napi_create_int32(env, job->code, &argv[0]) == napi_ok && napi_create_int32(env, job->signal, &argv[1]) == napi_ok &&
         napi_create_int32(env, job->error, &argv[2]) == napi_ok;
}

/* One of the job's three watches closed: after the last, onDone, and the job lets go of JS. */
static void job_part_closed(Job *job) {
  if (job->open > 1) {
    job->open--;
    return;
  }
  watch_call(&job->exit, 3, exit_values); // open stays 1 meanwhile: a finalizer run in it cannot free the job
  napi_delete_reference(job->exit.env, job->on_output);
  watch_release(&job->exit);
  job->open = 0;
  if (job->finalized) free(job);
}

static void finalize_job(napi_env env, void *data, void *hint) {
  Job *job = data;
  (void)env;
  (void)hint;
  job->finalized = 1;
  if (job->open == 0) free(job);
}

static void output_closed(uv_handle_t *handle) {
  OutputWatch *watch = handle->data;
  Job *job = watch->job;
  if (job == NULL) {
    watch_free(&watch->watch, 0);
    return;
  }
  job->pipes[watch->index] = NULL;
  free(watch);
  job_part_closed(job);
}

/* Stops watching; `report` says whether the fd is closed and the end reported (not for a detached pipe, whose fd lives on). */
static void output_end(OutputWatch *watch, int report) {
  watch->ended = 1;
  uv_poll_stop(&watch->watch.poll);
  if (report) {
    close(watch->watch.fd);
    output_call(watch, NULL, 0);
  }
  uv_close((uv_handle_t *)&watch->watch.poll, output_closed);
}

static void output_ready(uv_poll_t *poll, int status, int events) {
  OutputWatch *watch = poll->data;
  (void)events;
  if (status < 0) {
    output_end(watch, 1);
    return;
  }
  for (int reads = 0; reads < READS_PER_EVENT && !watch->ended; reads++) {
    ssize_t count = read(watch->watch.fd, read_buffer, READ_CHUNK);
    if (count > 0) {
      output_call(watch, read_buffer, (size_t)count);
      if (count < READ_CHUNK) return; // drained for now
    } else if (count == 0 || (errno != EAGAIN && errno != EINTR)) {
      output_end(watch, 1);
    } else if (errno == EAGAIN) {
      return;
    }
  }
}

/* Watches output pipe `fd` (made non-blocking) for a job or with its own `callback`; NULL with an exception pending. */
static OutputWatch *output_watch(napi_env env, int fd, Job *job, int index, napi_value callback) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  OutputWatch *watch = calloc(1, sizeof *watch);
  if (watch == NULL) {
    napi_throw_error(env, NULL, "gotorch_spawn: out of memory");
    return NULL;
  }
  watch->job = job;
  watch->index = index;
  if (!watch_start(env, &watch->watch, fd, callback, "gotorch:output", UV_READABLE | UV_DISCONNECT, output_ready)) return NULL;
  return watch;
}

static void finalize_nothing(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  (void)hint;
}

/* readOutput(fd, callback(chunk | null)): reads a pipe a job no longer watches (detachOutput's, when nobody else could take it). */
static napi_value ReadOutput(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  CHECK(napi_get_value_int32(env, args[0], &fd));
  output_watch(env, fd, NULL, 0, args[1]);
  return NULL;
}

static void exit_closed(uv_handle_t *handle) {
  Job *job = handle->data;
  close(job->exit.fd);
  job_part_closed(job);
}

static void exit_ready(uv_poll_t *poll, int status, int events) {
  Job *job = poll->data;
  siginfo_t info;
  memset(&info, 0, sizeof info);
  int done = 0;
  (void)events;
  if (status < 0) {
    job->error = -status; // libuv's errors are negated errnos
  } else {
    do
      done = waitid((idtype_t)P_PIDFD, (id_t)job->exit.fd, &info, WEXITED | WNOHANG);
    while (done < 0 && errno == EINTR);
    if (done == 0 && info.si_pid == 0) return; // readable before the exit is waitable: wait for the next event
    if (done < 0) job->error = errno;
    else if (info.si_code == CLD_EXITED) job->code = info.si_status;
    else job->signal = info.si_status;
  }
  uv_poll_stop(poll);
  uv_close((uv_handle_t *)poll, exit_closed);
}

/* The exit and both pipes of a started child watched as one job; its JS handle, or NULL with an exception pending. */
static napi_value watch_job(napi_env env, int pidfd, int out, int err, napi_value on_output, napi_value on_done) {
  napi_value handle;
  Job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "gotorch_spawn: out of memory");
    return NULL;
  }
  job->code = -1;
  if (napi_create_reference(env, on_output, 1, &job->on_output) != napi_ok || !watch_start(env, &job->exit, pidfd, on_done, "gotorch:job", UV_READABLE, exit_ready))
    return NULL;
  job->open = 1;
  int fds[2] = {out, err};
  for (int index = 0; index < 2; index++) {
    if ((job->pipes[index] = output_watch(env, fds[index], job, index, NULL)) == NULL) return NULL;
    job->open++;
  }
  if (napi_create_external(env, job, finalize_job, NULL, &handle) != napi_ok) {
    napi_throw_error(env, NULL, "gotorch_spawn: could not build the result");
    return NULL;
  }
  return handle;
}

/*
 * A task definition's shared environment as C strings, made once (prepareEnv) and handed to every
 * spawn of its runs, which add only their own variables: the NAME=value strings of ~30 inherited
 * variables were copied out of JS for every run before (issue 16). Freed when its JS handle is collected.
 */
typedef struct {
  char **strings;
  uint32_t count;
} SharedEnv;

static void finalize_shared_env(napi_env env, void *data, void *hint) {
  SharedEnv *shared = data;
  (void)env;
  (void)hint;
  free_strings(shared->strings);
  free(shared);
}

/* prepareEnv(pairs) → a handle for spawn. */
static napi_value PrepareEnv(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1], result;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  SharedEnv *shared = calloc(1, sizeof *shared);
  if (shared == NULL || (shared->strings = copy_strings(env, args[0])) == NULL) {
    bool pending = false;
    free(shared);
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "gotorch_spawn: out of memory");
    return NULL;
  }
  while (shared->strings[shared->count] != NULL) shared->count++;
  if (napi_create_external(env, shared, finalize_shared_env, NULL, &result) != napi_ok) {
    finalize_shared_env(env, shared, NULL);
    napi_throw_error(env, NULL, "gotorch_spawn: could not build the result");
    return NULL;
  }
  return result;
}

/* The shared strings (not copied) and the run's own, as one NULL-terminated envp; NULL when out of memory. */
static char **join_env(const SharedEnv *shared, char **own) {
  uint32_t owned = 0;
  while (own[owned] != NULL) owned++;
  uint32_t before = shared == NULL ? 0 : shared->count;
  char **envp = malloc((before + owned + 1) * sizeof(char *));
  if (envp == NULL) return NULL;
  if (before > 0) memcpy(envp, shared->strings, before * sizeof(char *));
  memcpy(envp + before, own, (owned + 1) * sizeof(char *));
  return envp;
}

/*
 * spawn(file, argv, sharedEnv | null, envp, cwd | null, onOutput(index, chunk), onDone(code, signal, errno))
 * → { pid, stdoutFd, stderrFd, job } or { errno }: the child started with sharedEnv's strings then envp,
 * and watched (watch_job); `job` is the handle for detachOutput.
 */
static napi_value Spawn(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value args[7], result, job;
  napi_valuetype sharedType, cwdType;
  SharedEnv *shared = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "gotorch_spawn: spawn(file, argv, sharedEnv, envp, cwd, onOutput, onDone)");
    return NULL;
  }
  CHECK(napi_typeof(env, args[2], &sharedType));
  if (sharedType == napi_external) CHECK(napi_get_value_external(env, args[2], (void **)&shared));
  CHECK(napi_typeof(env, args[4], &cwdType));
  char *file = copy_string(env, args[0]);
  char **argv = file == NULL ? NULL : copy_strings(env, args[1]);
  char **own = argv == NULL ? NULL : copy_strings(env, args[3]);
  char **envp = own == NULL ? NULL : join_env(shared, own);
  char *cwd = envp == NULL || cwdType != napi_string ? NULL : copy_string(env, args[4]);
  bool ready = envp != NULL && (cwdType != napi_string || cwd != NULL);
  pid_t pid = 0;
  int pidfd = -1, out[2] = {-1, -1}, err[2] = {-1, -1};
  int error = ready ? spawn_job(file, argv, envp, cwd, &pid, &pidfd, out, err) : 0;
  free(file);
  free_strings(argv);
  free_strings(own);
  free(envp); // its shared strings stay with sharedEnv
  free(cwd);
  if (!ready) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "gotorch_spawn: out of memory");
    return NULL;
  }
  if (error != 0) return errno_result(env, error);
  if ((job = watch_job(env, pidfd, out[0], err[0], args[5], args[6])) == NULL) return NULL;
  CHECK(napi_create_object(env, &result));
  if (!set_int(env, result, "pid", pid) || !set_int(env, result, "stdoutFd", out[0]) || !set_int(env, result, "stderrFd", err[0]) ||
      napi_set_named_property(env, result, "job", job) != napi_ok) {
    napi_throw_error(env, NULL, "gotorch_spawn: could not build the result");
    return NULL;
  }
  return result;
}

/*
 * detachOutput(job, index) → fd, or -1 when that pipe already ended: stops reading it (its end is then
 * not waited for) and returns its fd, blocking again, for another process to read (the `wc -c` past
 * log_limit).
 */
static napi_value DetachOutput(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2], result;
  Job *job;
  int32_t index;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  CHECK(napi_get_value_external(env, args[0], (void **)&job));
  CHECK(napi_get_value_int32(env, args[1], &index));
  OutputWatch *watch = index == 0 || index == 1 ? job->pipes[index] : NULL;
  int fd = -1;
  if (watch != NULL && !watch->ended) {
    fd = watch->watch.fd;
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    output_end(watch, 0);
  }
  CHECK(napi_create_int32(env, fd, &result));
  return result;
}

/*
 * detachExit(job): issue 17, a handover: stops watching the job's exit without reaping it, so that once
 * this daemon is gone the job keeper (its subreaper) reaps it and tells the next daemon its status.
 */
static napi_value DetachExit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  Job *job;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  CHECK(napi_get_value_external(env, args[0], (void **)&job));
  uv_handle_t *poll = (uv_handle_t *)&job->exit.poll;
  if (!uv_is_closing(poll)) {
    job->error = ECANCELED;
    uv_poll_stop(&job->exit.poll);
    uv_close(poll, exit_closed);
  }
  return NULL;
}

/*
 * The ticker's wake-up (issue 16): a timerfd watched by the event loop, armed for a wall-clock instant
 * to the nanosecond (Node's timers count whole milliseconds and fire up to 1 ms after). The instant is
 * turned into a CLOCK_MONOTONIC delay from CLOCK_REALTIME now, so a clock step while it waits acts as
 * on setTimeout (the ticker sees it on waking) and libfaketime's shifted clock is honoured.
 */
typedef struct {
  Watch watch;
} WakeTimer;

static void timer_ready(uv_poll_t *poll, int status, int events) {
  WakeTimer *timer = poll->data;
  uint64_t expirations;
  (void)status;
  (void)events;
  if (read(timer->watch.fd, &expirations, sizeof expirations) != sizeof expirations) return; // not due (EAGAIN)
  watch_call(&timer->watch, 0, NULL);
}

static void timer_closed(uv_handle_t *handle) { watch_free(handle->data, 1); }

/* createTimer(callback) → handle: calls back each time an armed instant is reached. */
static napi_value CreateTimer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1], result;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  WakeTimer *timer = calloc(1, sizeof *timer);
  if (timer == NULL) {
    close(fd);
    napi_throw_error(env, NULL, "gotorch_spawn: out of memory");
    return NULL;
  }
  if (!watch_start(env, &timer->watch, fd, args[0], "gotorch:timer", UV_READABLE, timer_ready)) return NULL;
  CHECK(napi_create_external(env, timer, finalize_nothing, NULL, &result));
  return result;
}

/* armTimer(handle, epochMs): the next call back at that wall-clock instant (at once if it passed); NaN disarms. */
static napi_value ArmTimer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  WakeTimer *timer;
  double at;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  CHECK(napi_get_value_external(env, args[0], (void **)&timer));
  CHECK(napi_get_value_double(env, args[1], &at));
  struct itimerspec spec;
  memset(&spec, 0, sizeof spec);
  if (at == at) { // not NaN
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double delay_ns = at * 1e6 - ((double)now.tv_sec * 1e9 + (double)now.tv_nsec);
    if (delay_ns < 1) delay_ns = 1; // zero would disarm
    spec.it_value.tv_sec = (time_t)(delay_ns / 1e9);
    spec.it_value.tv_nsec = (long)(delay_ns - (double)spec.it_value.tv_sec * 1e9);
  }
  if (timerfd_settime(timer->watch.fd, 0, &spec, NULL) != 0) napi_throw_error(env, NULL, strerror(errno));
  return NULL;
}

/*
 * holdUntil(epochMs, maxMs): sleeps until that wall-clock instant, never longer than maxMs (a clock
 * stepped back while it sleeps cannot hold the caller longer). The ticker plans a second a little
 * before it begins and its starts wait here for the boundary (src/daemon/wake-timer.ts).
 */
static napi_value HoldUntil(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  double at, max;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  CHECK(napi_get_value_double(env, args[0], &at));
  CHECK(napi_get_value_double(env, args[1], &max));
  // Relative sleeps, re-reading the wall clock after each: an absolute CLOCK_MONOTONIC deadline is
  // mangled by libfaketime's clock_nanosleep (the hold returned at once under a shifted clock), and the
  // budget is counted on CLOCK_MONOTONIC so a clock stepped back cannot hold the caller longer.
  struct timespec began, now, wall;
  clock_gettime(CLOCK_MONOTONIC, &began);
  for (;;) {
    clock_gettime(CLOCK_REALTIME, &wall);
    clock_gettime(CLOCK_MONOTONIC, &now);
    double delay_ns = at * 1e6 - ((double)wall.tv_sec * 1e9 + (double)wall.tv_nsec);
    double left_ns = max * 1e6 - ((double)(now.tv_sec - began.tv_sec) * 1e9 + (double)(now.tv_nsec - began.tv_nsec));
    if (!(delay_ns > 0) || !(left_ns > 0)) break; // passed (or NaN), or held long enough
    if (delay_ns > left_ns) delay_ns = left_ns;
    struct timespec nap = {(time_t)(delay_ns / 1e9), (long)(delay_ns - (double)(time_t)(delay_ns / 1e9) * 1e9)};
    nanosleep(&nap, NULL); // EINTR: the loop sleeps what is left
  }
  return NULL;
}

/* closeTimer(handle): never calls back again. */
static napi_value CloseTimer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  WakeTimer *timer;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  CHECK(napi_get_value_external(env, args[0], (void **)&timer));
  uv_poll_stop(&timer->watch.poll);
  uv_close((uv_handle_t *)&timer->watch.poll, timer_closed);
  return NULL;
}

/*
 * exec(file, argv, envp) → errno: replaces this process (same pid) with `file argv`; returns only on
 * failure. The foreground daemon uses it to restart itself with its node flags (issue 16). The signal
 * mask is emptied and stdio made inheritable and blocking again first, as a freshly started program expects.
 */
static napi_value Exec(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3], result;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "gotorch_spawn: exec(file, argv, envp)");
    return NULL;
  }
  char *file = copy_string(env, args[0]);
  char **argv = file == NULL ? NULL : copy_strings(env, args[1]);
  char **envp = argv == NULL ? NULL : copy_strings(env, args[2]);
  if (envp == NULL) {
    free(file);
    free_strings(argv);
    return NULL; // an exception is pending
  }
  // A profiler's SIGPROF (node --cpu-prof) still pending or in flight across the exec would kill the next
  // program: ignored (an ignored signal stays so across exec, and its pending instances are discarded).
  setitimer(ITIMER_PROF, &(struct itimerval){0}, NULL);
  signal(SIGPROF, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int fd = 0; fd <= 2; fd++) {
    // Node may have made its stdio close-on-exec or non-blocking: the next program gets them as they came.
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    int fdFlags = fcntl(fd, F_GETFD);
    if (fdFlags >= 0 && (fdFlags & FD_CLOEXEC)) fcntl(fd, F_SETFD, fdFlags & ~FD_CLOEXEC);
  }
  execve(file, argv, envp);
  int error = errno;
  free(file);
  free_strings(argv);
  free_strings(envp);
  CHECK(napi_create_int32(env, error, &result));
  return result;
}

/* probe() → null when pidfd_open works here, else why not (a kernel before 5.3). */
static napi_value Probe(napi_env env, napi_callback_info info) {
  napi_value result;
  int fd = pidfd_open(getpid());
  if (fd >= 0) {
    close(fd);
    CHECK(napi_get_null(env, &result));
  } else {
    CHECK(napi_create_string_utf8(env, strerror(errno), NAPI_AUTO_LENGTH, &result));
  }
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"spawn", NULL, Spawn, NULL, NULL, NULL, napi_default, NULL},
      {"prepareEnv", NULL, PrepareEnv, NULL, NULL, NULL, napi_default, NULL},
      {"probe", NULL, Probe, NULL, NULL, NULL, napi_default, NULL},
      {"exec", NULL, Exec, NULL, NULL, NULL, napi_default, NULL},
      {"holdUntil", NULL, HoldUntil, NULL, NULL, NULL, napi_default, NULL},
      {"readOutput", NULL, ReadOutput, NULL, NULL, NULL, napi_default, NULL},
      {"detachOutput", NULL, DetachOutput, NULL, NULL, NULL, napi_default, NULL},
      {"detachExit", NULL, DetachExit, NULL, NULL, NULL, napi_default, NULL},
      {"createTimer", NULL, CreateTimer, NULL, NULL, NULL, napi_default, NULL},
      {"armTimer", NULL, ArmTimer, NULL, NULL, NULL, napi_default, NULL},
      {"closeTimer", NULL, CloseTimer, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
