/* Test helpers for whole sessions on loopback (see session_fixture.h). */
#include "session_fixture.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* How often status is polled while waiting for a torrent. */
#define POLL_MS 20

/* ---- time ---- */

uint64_t sfx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sfx_sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

/* ---- temporary folders ---- */

void sfx_dir_make(sfx_dir *d)
{
    /* Named after the test program, so a folder left behind says whose. */
    snprintf(d->path, sizeof d->path, "/tmp/%s-XXXXXX", program_invocation_short_name);
    assert_non_null(mkdtemp(d->path));
}

void sfx_dir_remove(sfx_dir *d)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
    assert_int_equal(system(cmd), 0);
}

void sfx_payload_make(sfx_payload *p, const char *name, const fx_file *files, int nfiles,
                      int piece_length, uint32_t seed, bool single)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(fx_make_torrent(&p->t, name, files, nfiles, piece_length, seed, single), 0);
    sfx_dir_make(&p->seed_dir);
    sfx_dir_make(&p->dl_dir);
    sfx_write_torrent_data(&p->t, p->seed_dir.path);
}

void sfx_payload_free(sfx_payload *p)
{
    sfx_dir_remove(&p->seed_dir);
    sfx_dir_remove(&p->dl_dir);
    fx_torrent_free(&p->t);
}

/* ---- sessions ---- */

sw_settings *sfx_loopback_settings(void)
{
    sw_settings *s;
    assert_int_equal(sw_settings_new(&s), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_LISTEN_INTERFACES, "127.0.0.1:0"), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_DHT, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_LSD, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_UPNP, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_NATPMP, false), 0);
    assert_int_equal(sw_settings_set_int(s, SW_SET_AIO_THREADS, 2), 0);
    return s;
}

sw_session *sfx_session_from(sw_settings *s, unsigned flags, uint32_t alert_mask, bool listen)
{
    sw_session_params p;
    sw_session_params_init(&p);
    p.settings = s;
    p.alert_mask = alert_mask;
    p.flags = flags;
    sw_session *ses = NULL;
    int rc = sw_session_new(&p, &ses);
    sw_settings_free(s);
    assert_int_equal(rc, 0);
    if (listen)
        assert_int_equal(sw_session_listen_on(ses, 0, 0, "127.0.0.1", 0), 0);
    return ses;
}

sw_session *sfx_session(unsigned flags, uint32_t alert_mask)
{
    return sfx_session_from(sfx_loopback_settings(), flags, alert_mask, true);
}

uint16_t sfx_listen_port(sw_session *ses)
{
    uint16_t port = 0;
    assert_int_equal(sw_session_listen_port(ses, &port), 0);
    assert_true(port > 0);
    return port;
}

void sfx_apply_setting(sw_session *ses, sw_setting_id id, int value)
{
    sw_settings *s;
    assert_int_equal(sw_session_get_settings(ses, &s), 0);
    const sw_setting_info *info = sw_setting_info_get(id);
    assert_non_null(info);
    if (info->type == SW_SETTING_BOOL)
        assert_int_equal(sw_settings_set_bool(s, id, value != 0), 0);
    else
        assert_int_equal(sw_settings_set_int(s, id, value), 0);
    assert_int_equal(sw_session_apply_settings(ses, s), 0);
    sw_settings_free(s);
}

/* ---- alerts ---- */

sw_alert *sfx_wait_alert_if(sw_session *ses, sfx_alert_pred pred, void *arg, int timeout_ms)
{
    uint64_t deadline = sfx_now_ms() + (uint64_t)timeout_ms;
    while (sfx_now_ms() < deadline) {
        sw_session_wait_for_alert(ses, 50);
        sw_alert *a;
        while (sw_session_pop_alert(ses, &a) == 0 && a) {
            if (pred(a, arg))
                return a;
            sw_alert_free(a);
        }
    }
    return NULL;
}

typedef struct alert_want {
    sw_alert_type type;
    uint64_t torrent_id;
} alert_want;

static bool is_wanted_alert(const sw_alert *a, void *arg)
{
    const alert_want *w = arg;
    return a->type == w->type && (w->torrent_id == 0 || a->torrent_id == w->torrent_id);
}

sw_alert *sfx_wait_alert(sw_session *ses, sw_alert_type type, uint64_t torrent_id, int timeout_ms)
{
    alert_want w = {type, torrent_id};
    return sfx_wait_alert_if(ses, is_wanted_alert, &w, timeout_ms);
}

void sfx_drain(sw_session *ses)
{
    sw_alert_batch *b;
    assert_int_equal(sw_session_pop_alerts(ses, &b), 0);
    sw_alert_batch_free(b);
}

/* ---- torrents ---- */

sw_torrent_handle sfx_add_params(sw_session *ses, const sw_add_torrent_params *p)
{
    sw_torrent_handle h;
    sw_error_detail err;
    if (sw_session_add_torrent(ses, p, &h, &err) != 0)
        fail_msg("add_torrent: %s", err.message);
    return h;
}

sw_torrent_handle sfx_add(sw_session *ses, sw_torrent_info *ti, const char *dir)
{
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ti;
    p.save_path = dir;
    return sfx_add_params(ses, &p);
}

sw_torrent_handle sfx_add_flags(sw_session *ses, sw_torrent_info *ti, const char *dir,
                                uint64_t flags)
{
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ti;
    p.save_path = dir;
    p.flags |= flags;
    return sfx_add_params(ses, &p);
}

sw_torrent_handle sfx_add_seeding(sw_session *ses, sw_torrent_info *ti, const char *dir)
{
    sw_torrent_handle h = sfx_add(ses, ti, dir);
    if (!sfx_wait_state(h, SW_TORRENT_SEEDING, SFX_WAIT_MS))
        fail_msg("the torrent in %s did not start seeding", dir);
    return h;
}

sw_torrent_handle sfx_add_hash(sw_session *ses, const sw_sha1 *info_hash, const char *dir)
{
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.info_hash = *info_hash;
    p.save_path = dir;
    return sfx_add_params(ses, &p);
}

sw_torrent_info *sfx_create_torrent(const sw_create_params *cp)
{
    uint8_t *buf;
    size_t len;
    assert_int_equal(sw_create_torrent(cp, &buf, &len, NULL), 0);
    sw_torrent_info *ti = NULL;
    int rc = sw_torrent_info_load(buf, len, NULL, &ti, NULL);
    free(buf);
    assert_int_equal(rc, 0);
    return ti;
}

sw_torrent_status sfx_status(sw_torrent_handle h)
{
    sw_torrent_status st;
    assert_int_equal(sw_torrent_get_status(h, &st), 0);
    return st;
}

bool sfx_wait_status(sw_torrent_handle h, sfx_status_pred pred, void *arg, int timeout_ms)
{
    uint64_t deadline = sfx_now_ms() + (uint64_t)timeout_ms;
    while (sfx_now_ms() < deadline) {
        sw_torrent_status st = sfx_status(h);
        if (pred(&st, arg))
            return true;
        sfx_sleep_ms(POLL_MS);
    }
    return false;
}

static bool in_state(const sw_torrent_status *st, void *arg)
{
    return st->state == *(const sw_torrent_state *)arg && !st->error;
}

bool sfx_wait_state(sw_torrent_handle h, sw_torrent_state state, int timeout_ms)
{
    return sfx_wait_status(h, in_state, &state, timeout_ms);
}

static bool is_finished(const sw_torrent_status *st, void *arg)
{
    (void)arg;
    return st->is_finished && !st->error;
}

bool sfx_wait_finished(sw_torrent_handle h, int timeout_ms)
{
    return sfx_wait_status(h, is_finished, NULL, timeout_ms);
}

static bool has_paused(const sw_torrent_status *st, void *arg)
{
    return st->paused == *(const bool *)arg;
}

bool sfx_wait_paused(sw_torrent_handle h, bool paused, int timeout_ms)
{
    return sfx_wait_status(h, has_paused, &paused, timeout_ms);
}

void sfx_connect(sw_torrent_handle h, sw_session *other)
{
    assert_int_equal(sw_torrent_connect_peer(h, "127.0.0.1", sfx_listen_port(other)), 0);
}

/* ---- files ---- */

void sfx_write_file(const char *path, const void *data, size_t len)
{
    char dir[512];
    assert_true(strlen(path) < sizeof dir);
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            fail_msg("mkdir %s: %s", dir, strerror(errno));
        *p = '/';
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

bool sfx_file_equals(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    /* One byte more than expected, to see a file that is too long. */
    uint8_t *buf = malloc(len + 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, len + 1, f);
    fclose(f);
    bool same = got == len && memcmp(buf, data, len) == 0;
    free(buf);
    return same;
}

/* The file entry at index i of t, or NULL for a pad file (no data on
 * disk); its path under root goes to path. */
static const sw_file_entry *data_file(const fx_torrent *t, int i, const char *root, char *path,
                                      size_t len)
{
    const sw_file_entry *f = sw_torrent_info_file(t->ti, i);
    if (f->flags & SW_FILE_PAD)
        return NULL;
    int n = snprintf(path, len, "%s/%s", root, f->path);
    assert_true(n > 0 && (size_t)n < len);
    return f;
}

void sfx_write_torrent_data(const fx_torrent *t, const char *root)
{
    char path[512];
    for (int i = 0; i < sw_torrent_info_num_files(t->ti); i++) {
        const sw_file_entry *f = data_file(t, i, root, path, sizeof path);
        if (f)
            sfx_write_file(path, t->data + f->offset, (size_t)f->size);
    }
}

bool sfx_torrent_data_equals(const fx_torrent *t, const char *root)
{
    char path[512];
    for (int i = 0; i < sw_torrent_info_num_files(t->ti); i++) {
        const sw_file_entry *f = data_file(t, i, root, path, sizeof path);
        if (f && !sfx_file_equals(path, t->data + f->offset, (size_t)f->size))
            return false;
    }
    return true;
}
