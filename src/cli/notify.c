/* Notifications after backup, restore, verify, prune and gc: a command run
 * with the report on its stdin, and a JSON POST. A notification never
 * changes what the command did; it changes the exit status only with
 * --notify-required. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_TIMEOUT_S 60

/* The report --json prints, plus event, ok, error, store and env. */
static char *event_json(const cli_cmd *cmd, const cli_args *a, const char *store, int rc)
{
    json_t *root = a->report && rc == CLI_OK ? json_loadb(a->report, a->report_len, 0, NULL) : NULL;
    char *text;
    if (!json_is_object(root)) {
        json_decref(root);
        root = json_object();
    }
    json_object_set_new(root, "event", json_string(cmd->name));
    json_object_set_new(root, "ok", json_boolean(rc == CLI_OK));
    json_object_set_new(root, "error", rc == CLI_OK ? json_null() : json_string(cli_last_error()));
    json_object_set_new(root, "store", json_string(store));
    json_object_set_new(root, "env", json_string(a->env ? a->env : "default"));
    if (*a->report_id)
        json_object_set_new(root, "backup_id", json_string(a->report_id));
    text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
    json_decref(root);
    return text;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* In the child: the hook's environment, stdin, own process group, exec.
 * KVAULT_STORE is also the default store of a kvault the hook runs. */
static void exec_hook(int in, const cli_cmd *cmd, const cli_args *a, const char *store, int rc)
{
    setpgid(0, 0);
    dup2(in, STDIN_FILENO);
    close(in);
    setenv("KVAULT_EVENT", cmd->name, 1);
    setenv("KVAULT_OK", rc == CLI_OK ? "1" : "0", 1);
    setenv("KVAULT_ENV", a->env ? a->env : "default", 1);
    setenv("KVAULT_STORE", store, 1); /* a kvault run by the hook uses the same store */
    if (*a->report_id)
        setenv("KVAULT_BACKUP_ID", a->report_id, 1);
    else
        unsetenv("KVAULT_BACKUP_ID");
    execl("/bin/sh", "sh", "-c", a->notify, (char *)NULL);
    _exit(127);
}

/* Writes the JSON to the hook's stdin without blocking past the deadline;
 * a hook that does not read it is not an error. */
static void feed(int fd, const char *json, double deadline)
{
    size_t len = strlen(json), off = 0;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    while (off < len && now_s() < deadline) {
        struct pollfd p = {fd, POLLOUT, 0};
        ssize_t n;
        if (poll(&p, 1, 100) <= 0)
            continue;
        n = write(fd, json + off, len - off);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            break;
        off += n > 0 ? (size_t)n : 0;
    }
    close(fd);
}

/* Waits for the hook until the deadline, then kills its process group.
 * 0 when it exited 0; else -1 with why in msg. */
static int reap(pid_t pid, double deadline, const char *command, char *msg, size_t n)
{
    int status;
    pid_t got;
    while ((got = waitpid(pid, &status, WNOHANG)) == 0 && now_s() < deadline) {
        struct timespec t = {0, 20 * 1000000L};
        nanosleep(&t, NULL);
    }
    if (got == 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        snprintf(msg, n, "the --notify command '%s' did not finish in time and was killed", command);
        return -1;
    }
    if (got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (got == pid && WIFEXITED(status))
        snprintf(msg, n, "the --notify command '%s' exited with status %d", command,
                 WEXITSTATUS(status));
    else
        snprintf(msg, n, "the --notify command '%s' was ended by signal %d", command,
                 got == pid && WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}

static int run_hook(const cli_cmd *cmd, const cli_args *a, const char *store, const char *json,
                    int rc, double timeout_s, char *msg, size_t n)
{
    int fds[2];
    pid_t pid;
    double deadline = now_s() + timeout_s;
    if (pipe(fds) != 0) {
        snprintf(msg, n, "cannot run the --notify command: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    if ((pid = fork()) < 0) {
        snprintf(msg, n, "cannot run the --notify command: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[1]);
        exec_hook(fds[0], cmd, a, store, rc);
    }
    close(fds[0]);
    feed(fds[1], json, deadline);
    return reap(pid, deadline, a->notify, msg, n);
}

static int post(const cli_args *a, const char *json, double timeout_s, char *msg, size_t n)
{
    kvault_notify_opts o = KVAULT_NOTIFY_OPTS_INIT;
    o.timeout_s = (int)timeout_s;
    o.ca_file = a->ca_cert;
    if (a->notify_auth_env && !(o.authorization = getenv(a->notify_auth_env))) {
        snprintf(msg, n, "--notify-auth-env: %s is not set", a->notify_auth_env);
        return -1;
    }
    if (kvault_notify_post(a->notify_url, json, strlen(json), &o) == KV_OK)
        return 0;
    snprintf(msg, n, "%s", kvault_errmsg());
    return -1;
}

int cli_notify(const cli_cmd *cmd, cli_args *a, const char *store, int rc)
{
    double timeout_s = a->notify_timeout_s > 0 ? (double)a->notify_timeout_s : DEFAULT_TIMEOUT_S;
    char msg[1024];
    char *json;
    int failed = 0;

    if (!(cmd->accepts & CLI_O_NOTIFY) || (!a->notify && !a->notify_url) || rc == CLI_USAGE)
        return rc;
    if (!(json = event_json(cmd, a, store, rc))) {
        fprintf(stderr, "kvault: notification: out of memory\n");
        return a->notify_required && rc == CLI_OK ? CLI_FAIL : rc;
    }
    if (a->notify && run_hook(cmd, a, store, json, rc, timeout_s, msg, sizeof msg) != 0) {
        fprintf(stderr, "kvault: notification: %s\n", msg);
        failed = 1;
    }
    if (a->notify_url && post(a, json, timeout_s, msg, sizeof msg) != 0) {
        fprintf(stderr, "kvault: notification: %s\n", msg);
        failed = 1;
    }
    free(json);
    return failed && a->notify_required && rc == CLI_OK ? CLI_FAIL : rc;
}
