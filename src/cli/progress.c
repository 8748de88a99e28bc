/* One updating progress line on stderr: "  1.2 GiB / 3.4 GiB  85.3 MiB/s  ETA 0:27".
 * The library calls it from worker threads, so all state sits behind a mutex
 * and redraws are throttled. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define REDRAW_SECONDS 0.25
#define RATE_SMOOTHING 0.3 /* weight of the newest sample in the rate */

static struct {
    pthread_mutex_t mu;
    double last_sample;    /* monotonic seconds of the last redraw, 0 = none */
    uint64_t last_done;
    double rate;           /* bytes per second, smoothed */
    int drawn;
} prog = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0};

static void format_eta(double seconds, char *buf, size_t len)
{
    unsigned long s;

    if (seconds < 0 || seconds > 359999) {
        snprintf(buf, len, "--:--");
        return;
    }
    s = (unsigned long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, len, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%lu:%02lu", s / 60, s % 60);
}

static void draw(uint64_t done, uint64_t total)
{
    char d[32], t[32], r[32], eta[32], line[160];
    uint64_t rate = (uint64_t)prog.rate;

    format_eta(prog.rate > 0 ? (double)(total > done ? total - done : 0) / prog.rate : -1, eta,
               sizeof(eta));
    snprintf(line, sizeof(line), "\r  %s / %s  %s/s  ETA %s\033[K", cli_human_size(done, d, sizeof(d)),
             cli_human_size(total, t, sizeof(t)), cli_human_size(rate, r, sizeof(r)), eta);
    fputs(line, stderr);
    prog.drawn = 1;
}

/* Set by SIGINT/SIGTERM: the library is asked to stop and clean up. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = 1;
    signal(sig, SIG_DFL); /* a second one ends the process at once */
}

static int on_progress(uint64_t done, uint64_t total, void *payload)
{
    double now = cli_now(), dt;

    if (!payload)
        return interrupted;
    pthread_mutex_lock(&prog.mu);
    if (prog.last_sample == 0 || done < prog.last_done) {
        /* First call, or a new phase (e.g. verify's restore check) began. */
        prog.last_sample = now;
        prog.last_done = done;
        prog.rate = 0;
    }
    dt = now - prog.last_sample;
    if (dt >= REDRAW_SECONDS) {
        double sample = (double)(done - prog.last_done) / dt;
        prog.rate = prog.rate == 0 ? sample : prog.rate + RATE_SMOOTHING * (sample - prog.rate);
        prog.last_sample = now;
        prog.last_done = done;
        draw(done, total);
    }
    pthread_mutex_unlock(&prog.mu);
    return interrupted;
}

void cli_progress_setup(cli_args *a, int draw_line)
{
    static int drawing = 1;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    a->kvopts.progress = on_progress;
    /* the payload says whether to draw: the callback also carries Ctrl-C */
    a->kvopts.progress_payload =
        draw_line && !a->quiet && !a->json && isatty(STDERR_FILENO) ? &drawing : NULL;
}

void cli_progress_end(void)
{
    pthread_mutex_lock(&prog.mu);
    if (prog.drawn)
        fputs("\r\033[K", stderr);
    prog.drawn = 0;
    prog.last_sample = 0;
    pthread_mutex_unlock(&prog.mu);
}
