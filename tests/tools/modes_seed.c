/* modes_seed: a cswarm session seeding one torrent in a chosen mode, for the
 * interop tests of torrent modes.
 *
 *   modes_seed TORRENT_FILE DATA_DIR PORT [super] [strict] [seed_mode]
 *
 * Listens on 127.0.0.1:PORT and adds the torrent with DATA_DIR as its save
 * path: "super" adds it with super seeding, "strict" sets
 * strict_super_seeding, "seed_mode" skips the file check. One JSON object
 * per line on stdout: {"ready":...} once it seeds (and super seeds if asked),
 * then every 200 ms {"up":payload bytes uploaded,"super":bool,"pieces":n,
 * "seed_mode":bool,"state":"..."}, and every alert as {"alert":"name"}.
 * Stops when stdin reaches end of file; a 300 s watchdog ends a stuck run. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cswarm/cswarm.h>

static void print_status(sw_torrent_handle h)
{
    sw_torrent_status st;
    if (sw_torrent_get_status(h, &st) < 0)
        return;
    printf("{\"up\":%lld,\"super\":%s,\"pieces\":%d,\"seed_mode\":%s,\"state\":\"%s\","
           "\"error\":%d}\n",
           (long long)st.total_payload_upload, st.super_seeding ? "true" : "false", st.num_pieces,
           st.seed_mode ? "true" : "false", sw_torrent_state_name(st.state), st.error);
    fflush(stdout);
}

static void print_alerts(sw_session *ses)
{
    sw_alert *a;
    while (sw_session_pop_alert(ses, &a) == 0 && a) {
        printf("{\"alert\":\"%s\"}\n", sw_alert_type_name(a->type));
        sw_alert_free(a);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: modes_seed TORRENT_FILE DATA_DIR PORT [super] [strict] "
                        "[seed_mode]\n");
        return 2;
    }
    bool super = false, strict = false, seed_mode = false;
    for (int i = 4; i < argc; i++) {
        super = super || !strcmp(argv[i], "super");
        strict = strict || !strcmp(argv[i], "strict");
        seed_mode = seed_mode || !strcmp(argv[i], "seed_mode");
    }
    sw_settings *s;
    if (sw_settings_new(&s) < 0)
        return 1;
    char iface[64];
    snprintf(iface, sizeof iface, "127.0.0.1:%s", argv[3]);
    sw_settings_set_str(s, SW_SET_LISTEN_INTERFACES, iface);
    sw_settings_set_bool(s, SW_SET_ENABLE_DHT, false);
    sw_settings_set_bool(s, SW_SET_ENABLE_LSD, false);
    sw_settings_set_bool(s, SW_SET_ENABLE_UPNP, false);
    sw_settings_set_bool(s, SW_SET_ENABLE_NATPMP, false);
    sw_settings_set_bool(s, SW_SET_STRICT_SUPER_SEEDING, strict);
    sw_session_params sp;
    sw_session_params_init(&sp);
    sp.settings = s;
    sp.alert_mask = SW_ALERT_CAT_ALL;
    sp.flags = 0;
    sw_session *ses = NULL;
    int rc = sw_session_new(&sp, &ses);
    sw_settings_free(s);
    if (rc < 0) {
        fprintf(stderr, "modes_seed: session: %s\n", sw_strerror(rc));
        return 1;
    }
    int port = atoi(argv[3]);
    rc = sw_session_listen_on(ses, port, port, "127.0.0.1", SW_LISTEN_NO_SYSTEM_PORT);
    if (rc < 0) {
        fprintf(stderr, "modes_seed: listen on %d: %s\n", port, sw_strerror(rc));
        sw_session_free(ses);
        return 1;
    }
    sw_torrent_info *ti = NULL;
    sw_error_detail err;
    rc = sw_torrent_info_load_file(argv[1], NULL, &ti, &err);
    if (rc < 0) {
        fprintf(stderr, "modes_seed: %s: %s\n", argv[1], err.message);
        sw_session_free(ses);
        return 1;
    }
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ti;
    p.save_path = argv[2];
    if (super)
        p.flags |= SW_ADD_SUPER_SEEDING;
    if (seed_mode)
        p.flags |= SW_ADD_SEED_MODE;
    sw_torrent_handle h;
    rc = sw_session_add_torrent(ses, &p, &h, &err);
    sw_torrent_info_unref(ti);
    if (rc < 0) {
        fprintf(stderr, "modes_seed: add: %s\n", err.message);
        sw_session_free(ses);
        return 1;
    }
    time_t start = time(NULL);
    bool ready = false;
    for (;;) {
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        int n = poll(&pfd, 1, 200);
        if (n > 0) {
            char buf[256];
            if (read(0, buf, sizeof buf) <= 0)
                break;
        }
        print_alerts(ses);
        sw_torrent_status st;
        if (sw_torrent_get_status(h, &st) < 0)
            break;
        if (!ready && st.state == SW_TORRENT_SEEDING && (!super || st.super_seeding)) {
            ready = true;
            printf("{\"ready\":true}\n");
        }
        print_status(h);
        if (time(NULL) - start > 300) {
            fprintf(stderr, "modes_seed: watchdog\n");
            break;
        }
    }
    sw_session_free(ses);
    return 0;
}
