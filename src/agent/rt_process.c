/* rt_process.c — the "process" runtime (runtime.h), for development: a container is a local
 * command, run without a shell, in the agent's working directory, with an environment of its
 * own (its env, PATH, CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES = its device; nothing
 * else of the agent's, whose token must not leak). The image is recorded, not used.
 *
 * Each container is a directory DIR/<ctr> (its runtime id is allot's id) holding
 *   spec.json  what to run (written by create)
 *   log        its stdout and stderr
 *   pid        "<pid> <start time in clock ticks since boot> <unix start time>" (written by its
 *              supervisor once the command runs, before start returns)
 *   status     "exit <code> <unix end time>" (written when it ends; a signal N is code 128 + N)
 * The command runs under a small supervisor of its own (a double fork, so that neither is the
 * agent's child and an agent restart leaves both running): the supervisor writes `pid` once
 * the command runs, waits for it and writes `status`, like conmon does for Podman.
 *
 * What a restarted agent knows: every container (the directories), whether each was started
 * (pid), whether it runs (the pid alive with the same start time, so that a reused pid is not
 * taken for it), and how it ended (status). What it cannot know: the exit code of a command
 * whose supervisor was killed too (kill -9 of both, a reboot): it is reported ended, exit code
 * unknown, with an error saying so; and a command that double-forked away from its process
 * group outlives the stop. */
#include "agent/rt_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/num.h"
#include "core/timefmt.h"

#define PROC_DIR_MAX  512         /* bytes of the runtime's directory */
#define PROC_SPEC_MAX (256 << 10) /* bytes of a spec.json */
#define PROC_DEFAULT  "allot-process"

struct proc {
    char dir[PROC_DIR_MAX + 1];
};

/* A process runtime id is allot's id: [A-Za-z0-9_-]{1,63}, so never a path of its own. */
static int name_ok(const char *id, struct al_err *reterr)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= AL_RUNTIME_CTR_MAX)
        return al_err_set(reterr, AL_E_INVAL, "process: container id: 1 to %d characters",
                          AL_RUNTIME_CTR_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", id[i]))
            return al_err_set(reterr, AL_E_INVAL, "process: container id: [A-Za-z0-9_-] only");
    return 0;
}

/* "process: <what>: <errno's words>" into reterr; returns code, or -e when code is 0.
 * strerror_r: the agent may have libcurl's threads. */
static int sys_err(struct al_err *reterr, int code, int e, const char *what)
{
    char why[128] = "?";
    (void)strerror_r(e, why, sizeof why);
    return al_err_set(reterr, code ? code : (e ? -e : AL_E_IO), "process: %s: %s", what, why);
}

/* DIR/<id>[/<file>] into out (PATH of PROC_DIR_MAX + 128 bytes). */
#define PATH_CAP (PROC_DIR_MAX + 128)
static void path_of(const struct proc *p, const char *id, const char *file, char out[PATH_CAP])
{
    snprintf(out, PATH_CAP, "%s/%s%s%s", p->dir, id, file ? "/" : "", file ? file : "");
}

/* Read a small file (at most cap - 1 bytes) into buf, NUL-terminated. Its length, or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    if (fd < 0)
        return -errno;
    n = read(fd, buf, cap - 1);
    if (n < 0)
        n = -errno;
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

/* Write text to path through path.tmp and a rename, so that a reader sees all or nothing. */
static int write_atomic(const char *path, const char *text, struct al_err *reterr)
{
    char tmp[PATH_CAP + 8];
    size_t n = strlen(text);
    int fd, rc = 0;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return sys_err(reterr, 0, errno, tmp);
    if (write(fd, text, n) != (ssize_t)n)
        rc = al_err_set(reterr, AL_E_IO, "process: %s: write failed", tmp);
    if (close(fd) < 0 && rc == 0)
        rc = sys_err(reterr, AL_E_IO, errno, tmp);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = sys_err(reterr, 0, errno, path);
    return rc;
}

/* Append text to buf at *n; put also v in decimal after it. Without stdio, so that the
 * supervisor (a fork of a process that may have threads) can use them. */
static void put_str(char *buf, size_t *n, const char *text)
{
    for (; *text; text++)
        buf[(*n)++] = *text;
}

static void put(char *buf, size_t *n, const char *text, unsigned long long v)
{
    char digits[24];
    size_t k = 0;
    put_str(buf, n, text);
    do
        digits[k++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (k > 0)
        buf[(*n)++] = digits[--k];
}

/* The start time of pid in clock ticks since boot (/proc/<pid>/stat, field 22), or 0. Used by
 * the supervisor too: nothing here allocates or takes a lock. */
static unsigned long long start_ticks(pid_t pid)
{
    char path[64], buf[1024], *p, *tok;
    size_t n = 0;
    uint64_t v = 0;
    put(path, &n, "/proc/", (unsigned long long)pid);
    put_str(path, &n, "/stat");
    path[n] = '\0';
    if (read_small(path, buf, sizeof buf) <= 0 || !(p = strrchr(buf, ')')))
        return 0;
    /* after ") ": field 3 (state) … field 22 (starttime) */
    tok = p + 1;
    for (int field = 3; field <= 22; field++) {
        tok += strspn(tok, " ");
        size_t len = strcspn(tok, " ");
        if (field == 22) {
            tok[len] = '\0';
            return al_num_parse_u64(tok, 0, UINT64_MAX, &v) == 0 ? v : 0;
        }
        tok += len;
    }
    return 0;
}

/* What the pid file says; 0, or -ENOENT when the container was never started. */
struct pidrec {
    pid_t pid;
    unsigned long long ticks;
    int64_t started;
};

/* Container id's small file `name` (one line of three words) split into f: 0, or -errno
 * (-ENOENT when it is not there, -EINVAL when it holds fewer than three words). */
static int read_words(const struct proc *p, const char *id, const char *name, char *buf, size_t cap,
                      char *f[3])
{
    char path[PATH_CAP], *save = NULL;
    ssize_t n;
    path_of(p, id, name, path);
    if ((n = read_small(path, buf, cap)) < 0)
        return (int)n;
    buf[strcspn(buf, "\n")] = '\0';
    f[0] = strtok_r(buf, " ", &save);
    f[1] = strtok_r(NULL, " ", &save);
    f[2] = strtok_r(NULL, " ", &save);
    return f[2] ? 0 : -EINVAL;
}

static int read_pid(const struct proc *p, const char *id, struct pidrec *r)
{
    char buf[128], *f[3];
    uint64_t pid, ticks;
    int64_t t;
    int rc = read_words(p, id, "pid", buf, sizeof buf, f);
    if (rc < 0)
        return rc;
    if (al_num_parse_u64(f[0], 2, INT32_MAX, &pid) < 0 ||
        al_num_parse_u64(f[1], 0, UINT64_MAX, &ticks) < 0 ||
        al_num_parse_i64(f[2], 0, INT64_MAX, &t) < 0)
        return -EINVAL;
    *r = (struct pidrec){(pid_t)pid, ticks, t};
    return 0;
}

/* The status file: "exit <code> <time>". 0, -ENOENT while it runs, -EINVAL if garbled. */
static int read_status(const struct proc *p, const char *id, int *code, int64_t *at)
{
    char buf[128], *f[3];
    int64_t c;
    int rc = read_words(p, id, "status", buf, sizeof buf, f);
    if (rc < 0)
        return rc;
    if (strcmp(f[0], "exit") != 0 || al_num_parse_i64(f[1], 0, 255, &c) < 0 ||
        al_num_parse_i64(f[2], 0, INT64_MAX, at) < 0)
        return -EINVAL;
    *code = (int)c;
    return 0;
}

/* Whether the pid of r is still that process (alive, same start time). */
static bool alive(const struct pidrec *r)
{
    if (kill(r->pid, 0) < 0 && errno != EPERM)
        return false;
    return r->ticks == 0 || start_ticks(r->pid) == r->ticks;
}

static int p_inspect(void *impl, const char *id, struct al_rt_ctr *ret, struct al_err *reterr)
{
    const struct proc *p = impl;
    char path[PATH_CAP];
    struct pidrec r;
    struct stat st;
    int64_t at = 0;
    int rc = name_ok(id, reterr), code = 0;
    *ret = (struct al_rt_ctr){.state = AL_RT_UNKNOWN};
    if (rc < 0)
        return rc;
    path_of(p, id, "spec.json", path);
    if (stat(path, &st) < 0)
        return al_err_set(reterr, AL_E_NOTFOUND, "process: no container %s", id);
    *ret = (struct al_rt_ctr){.state = AL_RT_CREATED};
    snprintf(ret->id, sizeof ret->id, "%s", id);
    snprintf(ret->ctr, sizeof ret->ctr, "%s", id);
    if ((rc = read_pid(p, id, &r)) == -ENOENT)
        return 0;
    if (rc < 0)
        return al_err_set(reterr, AL_E_INVAL, "process: %s/%s/pid: garbled", p->dir, id);
    al_timefmt(r.started, ret->started_at, sizeof ret->started_at);
    if ((rc = read_status(p, id, &code, &at)) == 0) {
        ret->state = AL_RT_EXITED;
        ret->has_exit = true;
        ret->exit_code = code;
        al_timefmt(at, ret->finished_at, sizeof ret->finished_at);
    } else if (rc != -ENOENT) {
        return al_err_set(reterr, AL_E_INVAL, "process: %s/%s/status: garbled", p->dir, id);
    } else if (alive(&r)) {
        ret->state = AL_RT_RUNNING;
    } else {
        ret->state = AL_RT_EXITED;
        snprintf(ret->error, sizeof ret->error,
                 "ended without an exit status (its supervisor was killed, or the host "
                 "restarted)");
    }
    return 0;
}

static int p_open(const char *arg, bool gpu_requests, void **ret, struct al_err *reterr)
{
    const char *dir = arg && arg[0] ? arg : PROC_DEFAULT;
    struct proc *p;
    (void)gpu_requests; /* the NVIDIA toolkit's device requests are docker-api's */
    *ret = NULL;
    if (strlen(dir) > PROC_DIR_MAX)
        return al_err_set(reterr, AL_E_INVAL, "runtime process: DIR longer than %d bytes",
                          PROC_DIR_MAX);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return sys_err(reterr, 0, errno, dir);
    if (!(p = calloc(1, sizeof *p)))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    *ret = p;
    return 0;
}

static void p_close(void *impl)
{
    free(impl);
}

/* Node `node`'s containers in DIR/node: the agents of several nodes may share a DIR (make
 * run's two simulated nodes do) without one taking the other's for its own. */
static int p_scope(void *impl, const char *node, struct al_err *reterr)
{
    struct proc *p = impl;
    char dir[PROC_DIR_MAX + AL_RUNTIME_NODE_MAX + 2];
    snprintf(dir, sizeof dir, "%s/%s", p->dir, node);
    if (strlen(dir) > PROC_DIR_MAX)
        return al_err_set(reterr, AL_E_INVAL, "runtime process: DIR/%s longer than %d bytes", node,
                          PROC_DIR_MAX);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return sys_err(reterr, 0, errno, dir);
    memcpy(p->dir, dir, strlen(dir) + 1); /* fits: checked above */
    return 0;
}

static int p_ping(void *impl, struct al_err *reterr)
{
    const struct proc *p = impl;
    if (access(p->dir, W_OK | X_OK) < 0)
        return sys_err(reterr, AL_E_IO, errno, p->dir);
    return 0;
}

static int p_list(void *impl, struct al_rt_ctr **ret, size_t *n, struct al_err *reterr)
{
    const struct proc *p = impl;
    DIR *d = opendir(p->dir);
    struct dirent *e;
    int rc = 0;
    if (!d)
        return sys_err(reterr, AL_E_IO, errno, p->dir);
    if (!(*ret = calloc(AL_RUNTIME_LIST_MAX, sizeof **ret))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): the DIR stream is this call's alone */
    while ((e = readdir(d))) { /* cppcheck-suppress readdirCalled */
        struct al_rt_ctr c = {.state = AL_RT_UNKNOWN};
        if (e->d_name[0] == '.' || name_ok(e->d_name, NULL) < 0 ||
            p_inspect(impl, e->d_name, &c, NULL) < 0)
            continue; /* not a container's directory (or one being removed) */
        if (*n == AL_RUNTIME_LIST_MAX) {
            rc = al_err_set(reterr, AL_E_RANGE, "process %s: more than %d containers", p->dir,
                            AL_RUNTIME_LIST_MAX);
            goto out;
        }
        (*ret)[(*n)++] = c;
    }
out:
    closedir(d);
    if (rc < 0) {
        free(*ret);
        *ret = NULL;
        *n = 0;
    }
    return rc;
}

static int p_create(void *impl, const struct al_runtime_spec *s, char *id, struct al_err *reterr)
{
    const struct proc *p = impl;
    char path[PATH_CAP], *text = NULL;
    json_t *spec = NULL;
    int rc = name_ok(s->ctr, reterr);
    if (rc < 0)
        return rc;
    path_of(p, s->ctr, NULL, path);
    if (mkdir(path, 0700) < 0)
        return sys_err(reterr, errno == EEXIST ? AL_E_CONFLICT : 0, errno, s->ctr);
    spec = json_pack("{s:s,s:s,s:O,s:O,s:O,s:s}", "ctr", s->ctr, "image", s->image, "command",
                     s->command, "env", s->env, "labels", s->labels, "device", s->device);
    if (!spec || !(text = json_dumps(spec, JSON_COMPACT))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    path_of(p, s->ctr, "spec.json", path);
    if ((rc = write_atomic(path, text, reterr)) == 0)
        snprintf(id, AL_RUNTIME_ID_MAX, "%s", s->ctr);
out:
    free(text);
    json_decref(spec);
    return rc;
}

/* ---- Starting: everything the command needs is made before the fork; after it, only
 * async-signal-safe calls (the agent may hold other threads' locks: libcurl's resolver). */

struct launch {
    char **argv, **envp; /* NULL-terminated, each string malloc'd */
    char exe[PATH_CAP];  /* argv[0] found on the container's PATH */
    char status[PATH_CAP], status_tmp[PATH_CAP + 8];
    char pid[PATH_CAP], pid_tmp[PATH_CAP + 8];
    long long t0; /* the unix time it was started */
    int log_fd, null_fd;
};

/* What the supervisor tells the agent: the command's pid, and exec's errno (0: it runs). */
struct started {
    int pid, err;
};

static void launch_free(struct launch *l)
{
    for (size_t i = 0; l->argv && l->argv[i]; i++)
        free(l->argv[i]);
    for (size_t i = 0; l->envp && l->envp[i]; i++)
        free(l->envp[i]);
    free(l->argv);
    free(l->envp);
    if (l->log_fd >= 0)
        close(l->log_fd);
    if (l->null_fd >= 0)
        close(l->null_fd);
}

static char *join(const char *k, const char *v)
{
    size_t n = strlen(k) + strlen(v) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s=%s", k, v);
    return s;
}

/* The environment: the spec's env, PATH (the spec's, else the agent's, else a default), and the
 * device twice, last, so that nothing in env overrides them. */
static int make_env(struct launch *l, const json_t *env, const char *device)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): nothing in the agent sets its environment */
    const char *k, *path = getenv("PATH");
    const json_t *v;
    size_t n = 0;
    if (!(l->envp = calloc(json_object_size(env) + 4, sizeof *l->envp)))
        return -1;
    json_object_foreach((json_t *)env, k, v)
    {
        if (!json_is_string(v) || !(l->envp[n++] = join(k, json_string_value(v))))
            return -1;
        if (strcmp(k, "PATH") == 0)
            path = NULL;
    }
    if (path && !(l->envp[n++] = join("PATH", path[0] ? path : "/usr/local/bin:/usr/bin:/bin")))
        return -1;
    if (!(l->envp[n++] = join("CUDA_VISIBLE_DEVICES", device)) ||
        !(l->envp[n++] = join("NVIDIA_VISIBLE_DEVICES", device)))
        return -1;
    return 0;
}

/* argv[0] as execve takes it: a path as given, or the first executable of that name on the
 * container's PATH. */
static int resolve(struct launch *l, struct al_err *reterr)
{
    const char *name = l->argv[0], *path = "/usr/local/bin:/usr/bin:/bin";
    if (!name)
        return al_err_set(reterr, AL_E_INVAL, "process: command: empty");
    if (strchr(name, '/')) {
        snprintf(l->exe, sizeof l->exe, "%s", name);
        return 0;
    }
    for (size_t i = 0; l->envp[i]; i++)
        if (strncmp(l->envp[i], "PATH=", 5) == 0)
            path = l->envp[i] + 5;
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(l->exe, sizeof l->exe, "%.*s/%s", (int)n, path, name);
        if (n > 0 && access(l->exe, X_OK) == 0)
            return 0;
        path += n + (path[n] == ':');
    }
    return al_err_set(reterr, AL_E_INVAL, "process: %.100s: not found on PATH", name);
}

/* Read spec.json (bounded) and make the argv and environment of its command. */
static int make_launch(const struct proc *p, const char *id, struct launch *l,
                       struct al_err *reterr)
{
    char path[PATH_CAP];
    json_t *spec = NULL, *cmd, *a;
    struct stat st;
    size_t i;
    int rc = AL_E_NOMEM;
    path_of(p, id, "spec.json", path);
    if (stat(path, &st) < 0 || st.st_size > PROC_SPEC_MAX ||
        !(spec = json_load_file(path, JSON_REJECT_DUPLICATES, NULL)))
        return al_err_set(reterr, AL_E_INVAL, "process: %s: unreadable or not JSON", path);
    cmd = json_object_get(spec, "command");
    if (!json_is_array(cmd) || json_array_size(cmd) == 0 ||
        !json_is_string(json_object_get(spec, "device")) ||
        !json_is_object(json_object_get(spec, "env"))) {
        rc = al_err_set(reterr, AL_E_INVAL, "process: %s: command, env or device missing", path);
        goto out;
    }
    if (!(l->argv = calloc(json_array_size(cmd) + 1, sizeof *l->argv)))
        goto out;
    for (i = 0; i < json_array_size(cmd); i++) {
        a = json_array_get(cmd, i);
        if (!json_is_string(a)) {
            rc = al_err_set(reterr, AL_E_INVAL, "process: %s: command[%zu]: a string", path, i);
            goto out;
        }
        if (!(l->argv[i] = strdup(json_string_value(a))))
            goto out;
    }
    if (make_env(l, json_object_get(spec, "env"),
                 json_string_value(json_object_get(spec, "device"))) < 0)
        goto out;
    rc = resolve(l, reterr);
out:
    if (rc == AL_E_NOMEM)
        al_err_set(reterr, rc, "out of memory");
    json_decref(spec);
    return rc;
}

/* The n bytes of line as the file path, through tmp and a rename (async-signal-safe). */
static void put_file(const char *path, const char *tmp, const char *line, size_t n)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return;
    if (write(fd, line, n) == (ssize_t)n && close(fd) == 0)
        (void)rename(tmp, path);
}

/* The command's process: its own process group (stopped as one), the signals as a fresh
 * process has them, stdin from /dev/null, stdout and stderr to the log. */
static void exec_command(const struct launch *l, int err_fd)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;
    int e;
    setpgid(0, 0);
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGHUP, &dfl, NULL);
    sigaction(SIGPIPE, &dfl, NULL);
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    if (dup2(l->null_fd, 0) >= 0 && dup2(l->log_fd, 1) >= 0 && dup2(l->log_fd, 2) >= 0)
        execve(l->exe, l->argv, l->envp);
    e = errno;
    if (write(err_fd, &e, sizeof e) < 0)
        _exit(126);
    _exit(127);
}

/* The supervisor: start the command, tell the agent its pid (or exec's errno) on report_fd,
 * wait for it, write its status. Immune to the signals that stop the command. Never returns. */
static void supervise(const struct launch *l, int report_fd)
{
    struct sigaction ign = {.sa_handler = SIG_IGN};
    struct started msg = {-1, 0};
    struct timespec now;
    char line[96];
    size_t n = 0;
    int ep[2], ws = 0, fd;
    sigaction(SIGTERM, &ign, NULL);
    sigaction(SIGINT, &ign, NULL);
    sigaction(SIGHUP, &ign, NULL);
    for (fd = 3; fd < 1024; fd++) /* the agent's connections are not the command's */
        if (fd != report_fd && fd != l->log_fd && fd != l->null_fd)
            close(fd);
    if (pipe(ep) < 0 || fcntl(ep[1], F_SETFD, FD_CLOEXEC) < 0 || (msg.pid = fork()) < 0) {
        msg.err = errno;
        if (write(report_fd, &msg, sizeof msg) < 0)
            _exit(1);
        _exit(1);
    }
    if (msg.pid == 0)
        exec_command(l, ep[1]);
    close(ep[1]);
    while (read(ep[0], &msg.err, sizeof msg.err) < 0 && errno == EINTR)
        ;
    if (msg.err == 0) { /* the pid file before the agent hears of it: started is recorded */
        put(line, &n, "", (unsigned long long)msg.pid);
        put(line, &n, " ", start_ticks(msg.pid));
        put(line, &n, " ", (unsigned long long)l->t0);
        line[n++] = '\n';
        put_file(l->pid, l->pid_tmp, line, n);
    }
    if (write(report_fd, &msg, sizeof msg) < 0 || msg.err != 0)
        _exit(0); /* exec failed: the agent reports it; no status */
    close(report_fd);
    while (waitpid(msg.pid, &ws, 0) < 0 && errno == EINTR)
        ;
    clock_gettime(CLOCK_REALTIME, &now);
    n = 0;
    put(line, &n, "exit ",
        (unsigned long long)(WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws)));
    put(line, &n, " ", (unsigned long long)now.tv_sec);
    line[n++] = '\n';
    put_file(l->status, l->status_tmp, line, n);
    _exit(0);
}

/* Fork twice (neither the supervisor nor the command is the agent's child, so none is left a
 * zombie and an agent restart leaves both running) and read what the supervisor tells. */
static int spawn(struct launch *l, struct started *msg, struct al_err *reterr)
{
    int rp[2], ws;
    pid_t x;
    ssize_t got;
    if (pipe(rp) < 0)
        return sys_err(reterr, 0, errno, "pipe");
    fcntl(rp[0], F_SETFD, FD_CLOEXEC);
    fcntl(rp[1], F_SETFD, FD_CLOEXEC); /* the supervisor's, never the command's */
    if ((x = fork()) < 0) {
        close(rp[0]);
        close(rp[1]);
        return sys_err(reterr, 0, errno, "fork");
    }
    if (x == 0) {
        setsid();
        pid_t a = fork();
        if (a == 0) {
            close(rp[0]);
            supervise(l, rp[1]);
        }
        _exit(a < 0 ? 1 : 0);
    }
    close(rp[1]);
    while (waitpid(x, &ws, 0) < 0 && errno == EINTR)
        ;
    while ((got = read(rp[0], msg, sizeof *msg)) < 0 && errno == EINTR)
        ;
    close(rp[0]);
    if (got != (ssize_t)sizeof *msg || msg->pid <= 0)
        return msg->err ? sys_err(reterr, AL_E_INTERNAL, msg->err, "the supervisor did not start")
                        : al_err_set(reterr, AL_E_INTERNAL, "process: no word from the supervisor");
    if (msg->err) {
        char what[PATH_CAP + 8];
        snprintf(what, sizeof what, "exec %.100s", l->exe);
        return sys_err(reterr, AL_E_INVAL, msg->err, what);
    }
    return 0;
}

static int p_start(void *impl, const char *id, struct al_err *reterr)
{
    const struct proc *p = impl;
    struct launch l = {.log_fd = -1, .null_fd = -1};
    struct started msg = {0, 0};
    struct al_rt_ctr c = {.state = AL_RT_UNKNOWN};
    char path[PATH_CAP];
    int rc = p_inspect(impl, id, &c, reterr);
    if (rc < 0 || c.state != AL_RT_CREATED)
        return rc; /* started already: as Docker's 304 */
    l.t0 = (long long)time(NULL);
    if ((rc = make_launch(p, id, &l, reterr)) < 0)
        goto out;
    path_of(p, id, "log", path);
    if ((l.log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0 ||
        (l.null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        rc = sys_err(reterr, 0, errno, path);
        goto out;
    }
    path_of(p, id, "status", l.status);
    snprintf(l.status_tmp, sizeof l.status_tmp, "%s.tmp", l.status);
    path_of(p, id, "pid", l.pid);
    snprintf(l.pid_tmp, sizeof l.pid_tmp, "%s.tmp", l.pid);
    rc = spawn(&l, &msg, reterr);
out:
    launch_free(&l);
    return rc;
}

/* Poll every 0.1 s, up to tenths, until the container no longer runs. Whether it ended. */
static bool wait_end(void *impl, const char *id, int tenths)
{
    struct al_rt_ctr c = {.state = AL_RT_UNKNOWN};
    for (int i = 0; i <= tenths; i++) {
        if (p_inspect(impl, id, &c, NULL) < 0 || c.state != AL_RT_RUNNING)
            return true;
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

/* SIGTERM to its process group, SIGKILL after AL_RUNTIME_STOP_S seconds. */
static int p_stop(void *impl, const char *id, struct al_err *reterr)
{
    struct al_rt_ctr c = {.state = AL_RT_UNKNOWN};
    struct pidrec r;
    int rc = p_inspect(impl, id, &c, reterr);
    if (rc < 0 || c.state != AL_RT_RUNNING)
        return rc;
    if (read_pid(impl, id, &r) < 0 || !alive(&r))
        return 0;
    if (kill(-r.pid, SIGTERM) < 0)
        kill(r.pid, SIGTERM);
    if (wait_end(impl, id, AL_RUNTIME_STOP_S * 10))
        return 0;
    if (kill(-r.pid, SIGKILL) < 0)
        kill(r.pid, SIGKILL);
    if (wait_end(impl, id, 50))
        return 0;
    return al_err_set(reterr, AL_E_INTERNAL, "process: %s: still running after SIGKILL", id);
}

static int p_logs(void *impl, const char *id, char **ret, size_t *len, struct al_err *reterr)
{
    const size_t want = AL_RUNTIME_LOG_MAX + 3; /* 3 more: a character cut at the front */
    char path[PATH_CAP], *buf = NULL;
    struct stat st;
    ssize_t got = 0;
    size_t n = 0, off;
    int fd, rc = name_ok(id, reterr);
    if (rc < 0)
        return rc;
    path_of(impl, id, "log", path);
    if (!(buf = malloc(want + 1)))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
        if (fstat(fd, &st) == 0)
            got = pread(fd, buf, want, st.st_size > (off_t)want ? st.st_size - (off_t)want : 0);
        close(fd);
    }
    if (got < 0)
        got = 0;
    off = al_runtime_tail_text(buf, (size_t)got, AL_RUNTIME_LOG_MAX, &n);
    memmove(buf, buf + off, n);
    buf[n] = '\0';
    *ret = buf;
    *len = n;
    return 0;
}

static int p_remove(void *impl, const char *id, struct al_err *reterr)
{
    static const char *const files[] = {"spec.json", "spec.json.tmp", "log",       "pid",
                                        "pid.tmp",   "status",        "status.tmp"};
    char path[PATH_CAP];
    struct al_rt_ctr c = {.state = AL_RT_UNKNOWN};
    int rc = p_inspect(impl, id, &c, reterr);
    if (rc == 0 && c.state == AL_RT_RUNNING)
        rc = p_stop(impl, id, reterr);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        path_of(impl, id, files[i], path);
        unlink(path);
    }
    path_of(impl, id, NULL, path);
    if (rmdir(path) < 0)
        return sys_err(reterr, 0, errno, path);
    return 0;
}

const struct al_rt_ops al_rt_process_ops = {
    "process", p_open,    p_close, p_ping, p_list,   p_create,
    p_start,   p_inspect, p_logs,  p_stop, p_remove, p_scope,
};
