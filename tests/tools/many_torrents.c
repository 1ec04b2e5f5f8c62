/* Adds many torrents to one session and waits until every one of them is
 * seeding from data already on disk: the cswarm side of
 * tests/bench/bench_many_torrents.py.
 *
 * usage: many_torrents TORRENT_DIR DATA_DIR COUNT [--seed-mode]
 *                      [--no-default-plugins] [--set NAME=VALUE]...
 *
 * TORRENT_DIR holds t00000.torrent, t00001.torrent, ... and DATA_DIR the
 * files they describe. Torrents are read and added from this thread
 * (asynchronous adds, no round trip each); a dispatch callback on the
 * network thread counts the torrents that reach the seeding state. Prints
 * one line of JSON: seconds from the first add until all are seeding, the
 * resident set size before the first add and its peak (KiB). Exits non-zero
 * if a torrent fails or the wait times out (120 s). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cswarm/cswarm.h>

static atomic_int seeding;
static atomic_int failed;

static void on_alert(void *user, sw_alert *a)
{
    (void)user;
    if (a->type == SW_ALERT_STATE_CHANGED && a->payload.state_changed.state == SW_TORRENT_SEEDING)
        atomic_fetch_add(&seeding, 1);
    else if ((a->type == SW_ALERT_ADD_TORRENT && a->error) || a->type == SW_ALERT_TORRENT_ERROR ||
             a->type == SW_ALERT_FILE_ERROR)
        atomic_fetch_add(&failed, 1);
    sw_alert_free(a);
}

/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM"). */
static long proc_status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr,
                "usage: %s TORRENT_DIR DATA_DIR COUNT [--seed-mode] "
                "[--no-default-plugins]\n",
                argv[0]);
        return 2;
    }
    const char *tdir = argv[1], *ddir = argv[2];
    int count = atoi(argv[3]);
    bool seed_mode = false, plugins = true;
    sw_settings *s;
    if (sw_settings_new(&s) < 0)
        return 1;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--seed-mode") == 0) {
            seed_mode = true;
        } else if (strcmp(argv[i], "--no-default-plugins") == 0) {
            plugins = false;
        } else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
            int rc = sw_settings_apply_assignment(s, argv[++i]);
            if (rc < 0) {
                fprintf(stderr, "--set %s: %s\n", argv[i], sw_strerror(rc));
                sw_settings_free(s);
                return 2;
            }
        }
    }
    sw_settings_set_str(s, SW_SET_LISTEN_INTERFACES, "127.0.0.1:0");
    sw_settings_set_bool(s, SW_SET_ENABLE_DHT, false);
    sw_settings_set_bool(s, SW_SET_ENABLE_LSD, false);
    sw_settings_set_bool(s, SW_SET_ENABLE_UPNP, false);
    sw_settings_set_bool(s, SW_SET_ENABLE_NATPMP, false);
    sw_session_params sp;
    sw_session_params_init(&sp);
    sp.settings = s;
    sp.alert_mask = SW_ALERT_CAT_STATUS | SW_ALERT_CAT_ERROR;
    if (!plugins)
        sp.flags &= ~(unsigned)SW_SESSION_ADD_DEFAULT_PLUGINS;
    sw_session *ses;
    int rc = sw_session_new(&sp, &ses);
    sw_settings_free(s);
    if (rc < 0) {
        fprintf(stderr, "session: %s\n", sw_strerror(rc));
        return 1;
    }
    sw_session_set_alert_dispatch(ses, on_alert, NULL);
    rc = sw_session_listen_on(ses, 0, 0, "127.0.0.1", 0);
    if (rc < 0) {
        fprintf(stderr, "listen: %s\n", sw_strerror(rc));
        sw_session_free(ses);
        return 1;
    }
    long rss_before = proc_status_kib("VmRSS");
    double t0 = now_s();
    char path[4096];
    for (int i = 0; i < count; i++) {
        snprintf(path, sizeof path, "%s/t%05d.torrent", tdir, i);
        sw_torrent_info *ti;
        sw_error_detail err;
        rc = sw_torrent_info_load_file(path, NULL, &ti, &err);
        if (rc < 0) {
            fprintf(stderr, "%s\n", err.message);
            sw_session_free(ses);
            return 1;
        }
        sw_add_torrent_params p;
        sw_add_torrent_params_init(&p);
        p.ti = ti;
        p.save_path = ddir;
        if (seed_mode)
            p.flags |= SW_ADD_SEED_MODE;
        rc = sw_session_async_add_torrent(ses, &p);
        sw_torrent_info_unref(ti);
        if (rc < 0) {
            fprintf(stderr, "add: %s\n", sw_strerror(rc));
            sw_session_free(ses);
            return 1;
        }
    }
    double t_added = now_s();
    int status = 0;
    while (atomic_load(&seeding) < count) {
        if (atomic_load(&failed) > 0) {
            fprintf(stderr, "%d torrents failed\n", atomic_load(&failed));
            status = 1;
            break;
        }
        if (now_s() - t0 > 120) {
            fprintf(stderr, "timed out: %d of %d seeding\n", atomic_load(&seeding), count);
            status = 1;
            break;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    double t1 = now_s();
    long rss_peak = proc_status_kib("VmHWM");
    long rss_end = proc_status_kib("VmRSS");
    printf("{\"seconds\": %.4f, \"add_seconds\": %.4f, \"seeding\": %d, \"rss_before_kib\": %ld, "
           "\"rss_peak_kib\": %ld, \"rss_end_kib\": %ld}\n",
           t1 - t0, t_added - t0, atomic_load(&seeding), rss_before, rss_peak, rss_end);
    fflush(stdout);
    double tf = now_s();
    sw_session_free(ses);
    fprintf(stderr, "shutdown took %.3f s\n", now_s() - tf);
    return status;
}
