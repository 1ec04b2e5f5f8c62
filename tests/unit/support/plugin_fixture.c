/* Test helpers for plugins (see plugin_fixture.h). */
#include "plugin_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

void pfx_dir_make(pfx_dir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/sw-plugin-test-XXXXXX");
    assert_non_null(mkdtemp(d->path));
}

void pfx_dir_remove(pfx_dir *d)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
    assert_int_equal(system(cmd), 0);
}

uint64_t pfx_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

sw_session *pfx_session(unsigned flags, uint32_t mask)
{
    sw_settings *s;
    assert_int_equal(sw_settings_new(&s), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_LISTEN_INTERFACES, "127.0.0.1:0"), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_DHT, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_LSD, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_UPNP, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_NATPMP, false), 0);
    assert_int_equal(sw_settings_set_int(s, SW_SET_AIO_THREADS, 2), 0);
    sw_session_params p;
    sw_session_params_init(&p);
    p.settings = s;
    p.alert_mask = mask;
    p.flags = flags;
    sw_session *ses = NULL;
    assert_int_equal(sw_session_new(&p, &ses), 0);
    sw_settings_free(s);
    assert_int_equal(sw_session_listen_on(ses, 0, 0, "127.0.0.1", 0), 0);
    return ses;
}

uint16_t pfx_port(sw_session *ses)
{
    uint16_t port = 0;
    assert_int_equal(sw_session_listen_port(ses, &port), 0);
    assert_true(port > 0);
    return port;
}

sw_alert *pfx_wait_alert(sw_session *ses, sw_alert_type type, uint64_t id, int timeout_ms)
{
    uint64_t deadline = pfx_now_ms() + (uint64_t)timeout_ms;
    while (pfx_now_ms() < deadline) {
        sw_session_wait_for_alert(ses, 50);
        sw_alert *a;
        while (sw_session_pop_alert(ses, &a) == 0 && a) {
            if (a->type == type && (id == 0 || a->torrent_id == id))
                return a;
            sw_alert_free(a);
        }
    }
    return NULL;
}

void pfx_drain(sw_session *ses)
{
    sw_alert_batch *b;
    assert_int_equal(sw_session_pop_alerts(ses, &b), 0);
    sw_alert_batch_free(b);
}

static sw_torrent_handle add_params(sw_session *ses, sw_add_torrent_params *p)
{
    sw_torrent_handle h;
    sw_error_detail err;
    int rc = sw_session_add_torrent(ses, p, &h, &err);
    if (rc != 0)
        fail_msg("add_torrent: %s", err.message);
    return h;
}

sw_torrent_handle pfx_add(sw_session *ses, sw_torrent_info *ti, const char *dir)
{
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ti;
    p.save_path = dir;
    return add_params(ses, &p);
}

sw_torrent_handle pfx_add_hash(sw_session *ses, const sw_sha1 *ih, const char *dir)
{
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.info_hash = *ih;
    p.save_path = dir;
    return add_params(ses, &p);
}

bool pfx_wait_state(sw_torrent_handle h, sw_torrent_state state, int timeout_ms)
{
    uint64_t deadline = pfx_now_ms() + (uint64_t)timeout_ms;
    while (pfx_now_ms() < deadline) {
        sw_torrent_status st;
        assert_int_equal(sw_torrent_get_status(h, &st), 0);
        if (st.state == state && !st.error)
            return true;
        usleep(20000);
    }
    return false;
}

bool pfx_wait_finished(sw_torrent_handle h, int timeout_ms)
{
    uint64_t deadline = pfx_now_ms() + (uint64_t)timeout_ms;
    while (pfx_now_ms() < deadline) {
        sw_torrent_status st;
        assert_int_equal(sw_torrent_get_status(h, &st), 0);
        if (st.is_finished && !st.error)
            return true;
        usleep(20000);
    }
    return false;
}

static void write_whole(const char *path, const uint8_t *data, size_t len)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0777);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

void pfx_write_data(const fx_torrent *t, const char *root)
{
    int n = sw_torrent_info_num_files(t->ti);
    for (int i = 0; i < n; i++) {
        const sw_file_entry *f = sw_torrent_info_file(t->ti, i);
        if (f->flags & SW_FILE_PAD)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", root, f->path);
        write_whole(path, t->data + f->offset, (size_t)f->size);
    }
}

static bool file_equals(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    uint8_t *buf = malloc(len + 1);
    size_t got = fread(buf, 1, len + 1, f);
    fclose(f);
    bool same = got == len && memcmp(buf, data, len) == 0;
    free(buf);
    return same;
}

bool pfx_data_equals(const fx_torrent *t, const char *root)
{
    int n = sw_torrent_info_num_files(t->ti);
    for (int i = 0; i < n; i++) {
        const sw_file_entry *f = sw_torrent_info_file(t->ti, i);
        if (f->flags & SW_FILE_PAD)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", root, f->path);
        if (!file_equals(path, t->data + f->offset, (size_t)f->size))
            return false;
    }
    return true;
}

/* The folder of the running test executable (<build>/tests). */
static void exe_dir(char *out, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", out, len - 1);
    assert_true(n > 0);
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    assert_non_null(slash);
    *slash = '\0';
}

const char *pfx_test_plugin(const char *name)
{
    static char path[1024];
    char dir[900];
    exe_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/plugins/%s.so", dir, name);
    return path;
}

const char *pfx_std_plugin(const char *name)
{
    static char path[1024];
    char dir[900];
    exe_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/../plugins/%s.so", dir, name);
    return path;
}
