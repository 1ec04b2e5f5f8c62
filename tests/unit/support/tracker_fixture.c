/* Test helpers for core/tracker (see tracker_fixture.h). */
#include "tracker_fixture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- loop running ---- */

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_tick_closed(uv_handle_t *h)
{
    (void)h;
}

bool tfx_run_until(uv_loop_t *loop, bool (*cond)(void *arg), void *arg, int timeout_ms)
{
    uv_timer_t tick;
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, on_tick, 20, 20);
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    bool ok;
    while (!(ok = cond(arg)) && now_ms() < end)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, on_tick_closed);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

static void on_walk_report(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "tracker fixture: handle still open: %s%s\n", uv_handle_type_name(h->type),
            uv_is_closing(h) ? " (closing)" : "");
}

int tfx_close_loop(uv_loop_t *loop, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (uv_loop_alive(loop) && now_ms() < end)
        uv_run(loop, UV_RUN_ONCE);
    int rc = uv_loop_close(loop);
    if (rc != 0)
        uv_walk(loop, on_walk_report, NULL);
    return rc;
}

/* ---- processes ---- */

bool tfx_have_program(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    char *copy = strdup(path);
    bool found = false;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found;
         dir = strtok_r(NULL, ":", &save)) {
        char full[512];
        snprintf(full, sizeof full, "%s/%s", dir, name);
        found = access(full, X_OK) == 0;
    }
    free(copy);
    return found;
}

uint16_t tfx_free_port(void)
{
    for (int tries = 0; tries < 50; tries++) {
        int t = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (t < 0 || bind(t, (struct sockaddr *)&a, sizeof a) != 0 ||
            getsockname(t, (struct sockaddr *)&a, &len) != 0) {
            if (t >= 0)
                close(t);
            continue;
        }
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        bool ok = u >= 0 && bind(u, (struct sockaddr *)&a, sizeof a) == 0;
        if (u >= 0)
            close(u);
        close(t);
        if (ok)
            return ntohs(a.sin_port);
    }
    return 0;
}

static bool tcp_accepts(uint16_t port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return false;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    bool ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

int tfx_make_temp_dir(char *out, size_t len)
{
    snprintf(out, len, "/tmp/cswarm-tracker-XXXXXX");
    if (!mkdtemp(out)) {
        out[0] = '\0';
        return -1;
    }
    /* Readable by others: opentracker drops privileges before reading
     * files from its folder. */
    chmod(out, 0755);
    return 0;
}

void tfx_remove_dir(const char *dir)
{
    if (!dir || !dir[0])
        return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void exec_in(const char *dir, char *const argv[])
{
    if (chdir(dir) != 0)
        _exit(127);
    char log_name[64];
    snprintf(log_name, sizeof log_name, "%s.log", argv[0]);
    int log = open(log_name, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
        close(log);
    }
    execvp(argv[0], argv);
    _exit(127);
}

/* The child that runs a server. Some servers switch to another user
 * (opentracker), which clears a parent-death signal, so a guardian process
 * that keeps our credentials stands between: it gets SIGTERM when the test
 * process dies (or when tfx_kill asks), kills the server and, if the test
 * process is gone, removes the folder. */
static void guardian(const char *dir, char *const argv[], pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    pid_t child = fork();
    if (child < 0)
        _exit(127);
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        exec_in(dir, argv);
    }
    for (;;) {
        int sig = 0, status;
        sigwait(&set, &sig);
        if (sig == SIGCHLD) {
            if (waitpid(child, &status, WNOHANG) == child)
                _exit(1); /* the server ended on its own */
            continue;
        }
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        if (getppid() != parent)
            tfx_remove_dir(dir);
        _exit(0);
    }
}

int tfx_spawn(tfx_process *p, const char *dir, char *const argv[], uint16_t wait_port)
{
    p->pid = 0;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        guardian(dir, argv, parent);
    p->pid = pid;
    if (wait_port == 0)
        return 0;
    /* Poll until it listens (or dies). */
    uint64_t end = now_ms() + 10000;
    while (now_ms() < end) {
        if (tcp_accepts(wait_port))
            return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            p->pid = 0;
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    tfx_kill(p);
    return -1;
}

void tfx_kill(tfx_process *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGTERM); /* the guardian kills the server and exits */
    uint64_t end = now_ms() + 3000;
    int status;
    while (waitpid(p->pid, &status, WNOHANG) == 0) {
        if (now_ms() > end) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    p->pid = 0;
}

int tfx_run(const char *dir, char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        exec_in(dir, argv);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- opentracker ---- */

/* One blocking HTTP GET to 127.0.0.1:port; the response (cut to len - 1
 * bytes) goes to out. Returns 0 or -1. */
static int http_get(uint16_t port, const char *target, char *out, size_t len)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", target);
    size_t got = 0;
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0 || write(s, req, (size_t)n) != n) {
        close(s);
        return -1;
    }
    ssize_t r;
    while (got + 1 < len && (r = read(s, out + got, len - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(s);
    return got > 0 ? 0 : -1;
}

/* opentracker reads its whitelist on a thread of its own after it starts
 * listening: wait until it knows the first hash. A "stopped" announce from
 * an unknown peer registers nobody. */
static bool opentracker_ready(tfx_opentracker *ot, const uint8_t hash[20])
{
    char target[256];
    int n = snprintf(target, sizeof target, "/announce?info_hash=");
    for (int k = 0; k < 20; k++)
        n += snprintf(target + n, sizeof target - (size_t)n, "%%%02X", hash[k]);
    snprintf(target + n, sizeof target - (size_t)n,
             "&peer_id=-SW0100-readyprobe00&port=1&uploaded=0&downloaded=0&left=0"
             "&event=stopped&compact=1");
    uint64_t end = now_ms() + 10000;
    char resp[2048];
    while (now_ms() < end) {
        if (http_get(ot->port, target, resp, sizeof resp) == 0 && strstr(resp, "\r\n\r\nd") &&
            !strstr(resp, "failure reason"))
            return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

bool tfx_opentracker_available(void)
{
    return tfx_have_program("opentracker");
}

int tfx_opentracker_start(tfx_opentracker *ot, const uint8_t (*hashes)[20], size_t n)
{
    memset(ot, 0, sizeof *ot);
    if (tfx_make_temp_dir(ot->dir, sizeof ot->dir) != 0) {
        fprintf(stderr, "opentracker: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/whitelist.txt", ot->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 20; k++)
            fprintf(f, "%02x", hashes[i][k]);
        fputc('\n', f);
    }
    fclose(f);
    /* A port can be taken between the probe and opentracker's bind: retry. */
    for (int tries = 0; tries < 5; tries++) {
        uint16_t port = tfx_free_port();
        char port_text[8];
        snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
        char *argv[] = {"opentracker", "-i", "127.0.0.1",     "-p", port_text, "-P",
                        port_text,     "-w", "whitelist.txt", "-d", ot->dir,   NULL};
        if (port == 0 || tfx_spawn(&ot->proc, ot->dir, argv, port) != 0)
            continue;
        ot->port = port;
        /* Another process may own the port if ours failed to bind: ours
         * must still be running once the whitelist is in. */
        int status;
        if (n == 0 ||
            (opentracker_ready(ot, hashes[0]) && waitpid(ot->proc.pid, &status, WNOHANG) == 0))
            return 0;
        tfx_kill(&ot->proc);
    }
    fprintf(stderr, "opentracker: could not start it (see %s/opentracker.log)\n", ot->dir);
    return -1;
}

void tfx_opentracker_stop(tfx_opentracker *ot)
{
    tfx_kill(&ot->proc);
    tfx_remove_dir(ot->dir);
    ot->dir[0] = '\0';
}

/* ---- fake peers ---- */

static void peer_stats(void *user, sw_tracker_stats *out)
{
    tfx_peer *p = user;
    *out = p->stats;
}

static void peer_notice(void *user, const sw_tracker_notice *n)
{
    tfx_peer *p = user;
    snprintf(p->last_url, sizeof p->last_url, "%s", n->url ? n->url : "");
    switch (n->type) {
    case SW_TRACKER_NOTICE_ANNOUNCE:
        p->announces++;
        p->last_event = n->event;
        break;
    case SW_TRACKER_NOTICE_REPLY:
        p->replies++;
        p->last_reply_event = n->event;
        p->num_peers = n->num_peers < TFX_MAX_PEERS ? n->num_peers : TFX_MAX_PEERS;
        if (p->num_peers)
            memcpy(p->peers, n->peers, p->num_peers * sizeof *p->peers);
        p->complete = n->complete;
        p->incomplete = n->incomplete;
        p->downloaded = n->downloaded;
        break;
    case SW_TRACKER_NOTICE_WARNING:
        p->warnings++;
        snprintf(p->last_message, sizeof p->last_message, "%s", n->message);
        break;
    case SW_TRACKER_NOTICE_ERROR:
        p->errors++;
        p->last_error = n->error;
        p->last_status = n->status_code;
        p->times_in_row = n->times_in_row;
        snprintf(p->last_message, sizeof p->last_message, "%s", n->message);
        break;
    case SW_TRACKER_NOTICE_SCRAPE_REPLY:
        p->scrapes++;
        p->complete = n->complete;
        p->incomplete = n->incomplete;
        p->downloaded = n->downloaded;
        break;
    case SW_TRACKER_NOTICE_SCRAPE_FAILED:
        p->scrape_failures++;
        p->last_error = n->error;
        snprintf(p->last_message, sizeof p->last_message, "%s", n->message);
        break;
    }
}

int tfx_peer_init(tfx_peer *p, sw_tracker_client *client, const uint8_t info_hash[20],
                  uint16_t port, int64_t left, int peer_id_seed)
{
    memset(p, 0, sizeof *p);
    p->stats.port = port;
    p->stats.left = left;
    p->complete = p->incomplete = p->downloaded = -1;
    sw_tracker_manager_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.client = client;
    memcpy(cfg.info_hash, info_hash, 20);
    char id[32];
    snprintf(id, sizeof id, "-SW0100-test%08d", peer_id_seed);
    memcpy(cfg.peer_id, id, 20);
    cfg.shuffle_seed = (uint64_t)peer_id_seed + 1;
    cfg.get_stats = peer_stats;
    cfg.on_notice = peer_notice;
    cfg.user = p;
    return sw__tracker_manager_new(&cfg, &p->m);
}

bool tfx_peer_sees(const tfx_peer *p, uint16_t port)
{
    for (size_t i = 0; i < p->num_peers; i++) {
        const sw_tracker_peer *e = &p->peers[i];
        if (e->family == AF_INET && e->port == port && e->addr[0] == 127 && e->addr[1] == 0 &&
            e->addr[2] == 0 && e->addr[3] == 1)
            return true;
    }
    return false;
}
