/* Session tests on loopback through the public API: lifecycle and state,
 * a transfer between two sessions, remove with file deletion, a handle used
 * after removal, a corrupted piece found by force_recheck, resume data,
 * alert dispatch calling back into the API, and peers that send garbage,
 * oversized messages or out-of-range requests (disconnected while the
 * session goes on). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cswarm/cswarm.h>

#include "session_fixture.h"

static const fx_file multi_files[] = {
    {"a.bin", 300000, false}, {"empty", 0, false}, {"d/b.bin", 123457, false}};

/* ---- tests ---- */

static void test_lifecycle(void **state)
{
    (void)state;
    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ALL);
    assert_true(sw_session_is_listening(ses));
    sfx_listen_port(ses);
    uint8_t id[20];
    assert_int_equal(sw_session_get_peer_id(ses, id), 0);
    assert_memory_equal(id, "-SW", 3);
    uint8_t mine[20];
    memcpy(mine, "-XX0000-abcdefghijkl", 20);
    assert_int_equal(sw_session_set_peer_id(ses, mine), 0);
    assert_int_equal(sw_session_get_peer_id(ses, id), 0);
    assert_memory_equal(id, mine, 20);

    assert_false(sw_session_is_paused(ses));
    assert_int_equal(sw_session_pause(ses), 0);
    assert_true(sw_session_is_paused(ses));
    assert_int_equal(sw_session_resume(ses), 0);
    assert_false(sw_session_is_paused(ses));

    sw_session_status st;
    assert_int_equal(sw_session_get_status(ses, &st), 0);
    assert_int_equal(st.num_torrents, 0);
    assert_int_equal(st.num_peers, 0);

    /* Saved state round-trips through another session. */
    sw_settings *s;
    assert_int_equal(sw_session_get_settings(ses, &s), 0);
    assert_int_equal(sw_settings_set_int(s, SW_SET_CONNECTIONS_LIMIT, 77), 0);
    assert_int_equal(sw_session_apply_settings(ses, s), 0);
    sw_settings_free(s);
    uint8_t *buf;
    size_t len;
    assert_int_equal(sw_session_save_state(ses, SW_SAVE_ALL, &buf, &len), 0);
    sw_session *other = sfx_session(0, SW_ALERT_CAT_ERROR);
    assert_int_equal(sw_session_load_state(other, buf, len, SW_SAVE_ALL), 0);
    assert_int_equal(sw_session_get_settings(other, &s), 0);
    int v = 0;
    assert_int_equal(sw_settings_get_int(s, SW_SET_CONNECTIONS_LIMIT, &v), 0);
    assert_int_equal(v, 77);
    sw_settings_free(s);
    free(buf);
    assert_int_equal(sw_session_load_state(other, "garbage", 7, SW_SAVE_ALL) < 0, 1);
    sw_session_free(other);

    /* A listen_succeeded alert was posted. */
    sw_alert *a = sfx_wait_alert(ses, SW_ALERT_LISTEN_SUCCEEDED, 0, SFX_WAIT_MS);
    assert_non_null(a);
    assert_string_equal(a->payload.listen.ip, "127.0.0.1");
    sw_alert_free(a);

    /* abort: returns at once; the proxy waits. Calls then fail. */
    sw_session_proxy *proxy;
    assert_int_equal(sw_session_abort(ses, &proxy), 0);
    sw_session_proxy *again;
    assert_int_equal(sw_session_abort(ses, &again), SW_ERR_ABORTED);
    assert_int_equal(sw_session_proxy_wait(proxy, SFX_WAIT_MS), 0);
    assert_int_equal(sw_session_pause(ses), SW_ERR_ABORTED);
    sw_session_free(ses);
    sw_session_proxy_free(proxy);
}

static void test_listen_range_and_fallback(void **state)
{
    (void)state;
    sw_session *a = sfx_session(0, SW_ALERT_CAT_ERROR);
    uint16_t taken = sfx_listen_port(a);
    sw_session *b = sfx_session(0, SW_ALERT_CAT_ERROR);
    /* The only port of the range is taken: without the flag the OS picks. */
    assert_int_equal(sw_session_listen_on(b, taken, taken, "127.0.0.1", 0), 0);
    uint16_t got = sfx_listen_port(b);
    assert_true(got != taken);
    /* With no_system_port it fails. */
    assert_true(sw_session_listen_on(b, taken, taken, "127.0.0.1", SW_LISTEN_NO_SYSTEM_PORT) < 0);
    assert_false(sw_session_is_listening(b));
    /* A range whose first port is taken moves on to the next one. */
    assert_int_equal(sw_session_listen_on(b, taken, taken + 1, "127.0.0.1", 0), 0);
    assert_true(sfx_listen_port(b) != taken);
    sw_session_free(b);
    sw_session_free(a);
}

typedef struct pair {
    sfx_payload d;
    sw_session *seeder, *leecher;
    sw_torrent_handle hs, hl;
} pair;

static void pair_setup(pair *p, int piece_length)
{
    memset(p, 0, sizeof *p);
    sfx_payload_make(&p->d, "multi", multi_files, 3, piece_length, 7, false);
    p->seeder = sfx_session(0, SW_ALERT_CAT_ALL);
    p->leecher = sfx_session(0, SW_ALERT_CAT_ALL);
    p->hs = sfx_add(p->seeder, p->d.t.ti, p->d.seed_dir.path);
    assert_true(sfx_wait_state(p->hs, SW_TORRENT_SEEDING, SFX_WAIT_MS));
    sfx_drain(p->seeder);
}

static void pair_teardown(pair *p)
{
    sw_session_free(p->leecher);
    sw_session_free(p->seeder);
    sfx_payload_free(&p->d);
}

static void download(pair *p)
{
    p->hl = sfx_add(p->leecher, p->d.t.ti, p->d.dl_dir.path);
    assert_true(sfx_wait_state(p->hl, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    sfx_connect(p->hl, p->seeder);
    sw_alert *a = sfx_wait_alert(p->leecher, SW_ALERT_TORRENT_FINISHED, p->hl.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    assert_true(sfx_torrent_data_equals(&p->d.t, p->d.dl_dir.path));
}

static void test_transfer_then_remove_with_delete(void **state)
{
    (void)state;
    pair p;
    pair_setup(&p, 32768);
    download(&p);

    sw_torrent_status st = sfx_status(p.hl);
    assert_int_equal(st.state, SW_TORRENT_SEEDING);
    assert_int_equal(st.num_pieces, st.num_pieces_total);
    assert_int_equal(st.total_done, p.d.t.total);
    assert_true(st.total_payload_download >= p.d.t.total);
    assert_int_equal(st.progress_ppm, 1000000);
    int64_t *fp;
    size_t nf;
    assert_int_equal(sw_torrent_get_file_progress(p.hl, &fp, &nf), 0);
    assert_int_equal(nf, 3);
    assert_int_equal(fp[0], 300000);
    assert_int_equal(fp[1], 0);
    assert_int_equal(fp[2], 123457);
    free(fp);
    sw_session_status ss;
    assert_int_equal(sw_session_get_status(p.seeder, &ss), 0);
    assert_true(ss.total_payload_upload >= p.d.t.total);

    /* Remove with deletion: the handle dies at once, the files go. */
    assert_int_equal(sw_session_remove_torrent(p.leecher, p.hl, SW_REMOVE_DELETE_FILES), 0);
    sw_torrent_status dead;
    assert_int_equal(sw_torrent_get_status(p.hl, &dead), SW_ERR_INVALID_HANDLE);
    assert_false(sw_torrent_is_valid(p.hl));
    assert_int_equal(sw_torrent_pause(p.hl), SW_ERR_INVALID_HANDLE);
    assert_int_equal(sw_torrent_connect_peer(p.hl, "127.0.0.1", 1), SW_ERR_INVALID_HANDLE);
    assert_int_equal(sw_torrent_force_recheck(p.hl), SW_ERR_INVALID_HANDLE);
    assert_int_equal(sw_torrent_set_file_priority(p.hl, 0, 1), SW_ERR_INVALID_HANDLE);
    assert_int_equal(sw_session_remove_torrent(p.leecher, p.hl, 0), SW_ERR_INVALID_HANDLE);
    sw_alert *a = sfx_wait_alert(p.leecher, SW_ALERT_TORRENT_DELETED, p.hl.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    char path[512];
    snprintf(path, sizeof path, "%s/multi/a.bin", p.d.dl_dir.path);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof path, "%s/multi", p.d.dl_dir.path);
    assert_int_equal(access(path, F_OK), -1);
    sw_torrent_handle *hs;
    size_t n;
    assert_int_equal(sw_session_get_torrents(p.leecher, &hs, &n), 0);
    assert_int_equal(n, 0);
    free(hs);
    /* The seeder's copy is untouched. */
    assert_true(sfx_torrent_data_equals(&p.d.t, p.d.seed_dir.path));
    pair_teardown(&p);
}

static void test_recheck_finds_corrupted_piece(void **state)
{
    (void)state;
    pair p;
    pair_setup(&p, 16384);
    sw_torrent_status st = sfx_status(p.hs);
    int total = st.num_pieces_total;
    assert_int_equal(st.num_pieces, total);
    /* Flip one byte of piece 3 on disk (inside a.bin). */
    char path[512];
    snprintf(path, sizeof path, "%s/multi/a.bin", p.d.seed_dir.path);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    off_t off = 3 * 16384 + 100;
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0xff;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
    assert_int_equal(sw_torrent_force_recheck(p.hs), 0);
    sw_alert *a = sfx_wait_alert(p.seeder, SW_ALERT_TORRENT_CHECKED, p.hs.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    st = sfx_status(p.hs);
    assert_int_equal(st.num_pieces, total - 1);
    assert_int_equal(st.state, SW_TORRENT_DOWNLOADING);
    uint8_t *bits;
    size_t len;
    assert_int_equal(sw_torrent_get_pieces(p.hs, &bits, &len), 0);
    assert_int_equal(len, (size_t)(total + 7) / 8);
    assert_int_equal(bits[0] & 0x10, 0); /* piece 3 */
    assert_int_equal(bits[0] & 0xef, 0xef);
    free(bits);
    pair_teardown(&p);
}

static void test_resume_data_round_trip(void **state)
{
    (void)state;
    pair p;
    pair_setup(&p, 32768);
    assert_int_equal(sw_torrent_set_file_priority(p.hs, 2, 5), 0);
    assert_int_equal(sw_torrent_save_resume_data(p.hs, 0), 0);
    sw_alert *a = sfx_wait_alert(p.seeder, SW_ALERT_SAVE_RESUME_DATA, p.hs.id, SFX_WAIT_MS);
    assert_non_null(a);
    assert_non_null(a->payload.resume.data);
    size_t len = a->payload.resume.len;
    uint8_t *resume = malloc(len);
    memcpy(resume, a->payload.resume.data, len);
    sw_alert_free(a);
    assert_int_equal(sw_session_remove_torrent(p.seeder, p.hs, 0), 0);
    sw_add_torrent_params ap;
    sw_add_torrent_params_init(&ap);
    ap.ti = p.d.t.ti;
    ap.save_path = p.d.seed_dir.path;
    ap.resume_data = resume;
    ap.resume_data_len = len;
    p.hs = sfx_add_params(p.seeder, &ap);
    free(resume);
    a = sfx_wait_alert(p.seeder, SW_ALERT_TORRENT_CHECKED, p.hs.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    sw_torrent_status st = sfx_status(p.hs);
    assert_int_equal(st.num_pieces, st.num_pieces_total);
    int prio = 0;
    assert_int_equal(sw_torrent_file_priority(p.hs, 2, &prio), 0);
    assert_int_equal(prio, 5);
    /* A duplicate add is an error by default. */
    sw_add_torrent_params_init(&ap);
    ap.ti = p.d.t.ti;
    ap.save_path = p.d.seed_dir.path;
    sw_torrent_handle h2;
    assert_int_equal(sw_session_add_torrent(p.seeder, &ap, &h2, NULL), SW_ERR_DUPLICATE_TORRENT);
    ap.flags &= ~(uint64_t)SW_ADD_DUPLICATE_IS_ERROR;
    assert_int_equal(sw_session_add_torrent(p.seeder, &ap, &h2, NULL), 0);
    assert_true(h2.id == p.hs.id);
    sw_torrent_handle found;
    assert_int_equal(
        sw_session_find_torrent(p.seeder, &sw_torrent_info_hashes(p.d.t.ti)->v1, &found), 0);
    assert_true(found.id == p.hs.id);
    pair_teardown(&p);
}

typedef struct dispatch_ctx {
    sw_torrent_handle h;
    int calls;
    int status_rc;
    int finished;
} dispatch_ctx;

/* Runs on the network thread: the API call inside runs inline. */
static void on_dispatch(void *user, sw_alert *a)
{
    dispatch_ctx *d = user;
    d->calls++;
    if (a->type == SW_ALERT_TORRENT_FINISHED && a->torrent_id == d->h.id) {
        sw_torrent_status st;
        d->status_rc = sw_torrent_get_status(d->h, &st);
        if (d->status_rc == 0 && st.is_finished)
            d->finished = 1;
    }
    sw_alert_free(a);
}

static void test_dispatch_callback_calls_api_inline(void **state)
{
    (void)state;
    pair p;
    pair_setup(&p, 32768);
    dispatch_ctx d = {0};
    p.hl = sfx_add(p.leecher, p.d.t.ti, p.d.dl_dir.path);
    d.h = p.hl;
    assert_int_equal(sw_session_set_alert_dispatch(p.leecher, on_dispatch, &d), 0);
    assert_true(sfx_wait_state(p.hl, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    sfx_connect(p.hl, p.seeder);
    uint64_t deadline = sfx_now_ms() + SFX_WAIT_MS;
    while (!d.finished && sfx_now_ms() < deadline)
        usleep(20000);
    assert_int_equal(d.status_rc, 0);
    assert_int_equal(d.finished, 1);
    assert_int_equal(sw_session_set_alert_dispatch(p.leecher, NULL, NULL), 0);
    assert_true(sfx_torrent_data_equals(&p.d.t, p.d.dl_dir.path));
    pair_teardown(&p);
}

static void test_async_add_and_state_updates(void **state)
{
    (void)state;
    pair p;
    pair_setup(&p, 32768);
    sw_add_torrent_params ap;
    sw_add_torrent_params_init(&ap);
    ap.ti = p.d.t.ti;
    ap.save_path = p.d.dl_dir.path;
    ap.flags |= SW_ADD_PAUSED;
    assert_int_equal(sw_session_async_add_torrent(p.leecher, &ap), 0);
    sw_alert *a = sfx_wait_alert(p.leecher, SW_ALERT_ADD_TORRENT, 0, SFX_WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->error, 0);
    sw_torrent_handle h = {p.leecher, a->torrent_id};
    sw_alert_free(a);
    assert_true(sw_torrent_is_valid(h));
    assert_true(sfx_wait_state(h, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    assert_true(sfx_status(h).paused);
    assert_int_equal(sw_session_post_torrent_updates(p.leecher), 0);
    a = sfx_wait_alert(p.leecher, SW_ALERT_STATE_UPDATE, 0, SFX_WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->payload.state_update.count, 1);
    assert_true(a->payload.state_update.status[0].handle.id == h.id);
    sw_alert_free(a);
    /* Nothing changed since: the next update is empty. */
    assert_int_equal(sw_session_post_torrent_updates(p.leecher), 0);
    a = sfx_wait_alert(p.leecher, SW_ALERT_STATE_UPDATE, 0, SFX_WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->payload.state_update.count, 0);
    sw_alert_free(a);
    /* Resume and download. */
    assert_int_equal(sw_torrent_resume(h), 0);
    sfx_connect(h, p.seeder);
    a = sfx_wait_alert(p.leecher, SW_ALERT_TORRENT_FINISHED, h.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    sw_torrent_status *sts;
    size_t n;
    assert_int_equal(sw_session_get_torrent_status(p.leecher, NULL, NULL, &sts, &n), 0);
    assert_int_equal(n, 1);
    assert_true(sts[0].is_seeding);
    sts[0].num_pieces = -1;
    assert_int_equal(sw_session_refresh_torrent_status(p.leecher, sts, n), 0);
    assert_int_equal(sts[0].num_pieces, sts[0].num_pieces_total);
    free(sts);
    pair_teardown(&p);
}

static bool is_error_alert(const sw_alert *a, void *id)
{
    return (a->type == SW_ALERT_FILE_ERROR || a->type == SW_ALERT_TORRENT_ERROR) &&
           a->torrent_id == *(uint64_t *)id;
}

/* The next file_error or torrent_error alert about torrent id. */
static sw_alert *wait_error_alert(sw_session *ses, uint64_t id)
{
    return sfx_wait_alert_if(ses, is_error_alert, &id, SFX_WAIT_MS);
}

static void test_disk_error_stops_torrent(void **state)
{
    (void)state;
    pair p;
    pair_setup(&p, 32768);
    /* A save path below a regular file: checking and writing fail with
     * ENOTDIR, even for root. */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/file", p.d.dl_dir.path);
    sfx_write_file(bad, (const uint8_t *)"x", 1);
    snprintf(bad, sizeof bad, "%s/file/below", p.d.dl_dir.path);
    p.hl = sfx_add(p.leecher, p.d.t.ti, bad);
    sw_alert *a = wait_error_alert(p.leecher, p.hl.id);
    assert_non_null(a);
    assert_true(a->error < 0);
    sw_alert_free(a);
    sw_torrent_status st = sfx_status(p.hl);
    assert_true(st.error < 0);
    assert_true(strlen(st.error_message) > 0);
    assert_int_equal(st.num_peers, 0);
    /* A connection attempt to a stopped torrent does nothing. */
    sfx_connect(p.hl, p.seeder);
    /* Resuming clears the error; the cause is still there, so it returns. */
    assert_int_equal(sw_torrent_resume(p.hl), 0);
    a = wait_error_alert(p.leecher, p.hl.id);
    assert_non_null(a);
    sw_alert_free(a);
    assert_true(sfx_status(p.hl).error < 0);
    assert_int_equal(sw_session_remove_torrent(p.leecher, p.hl, 0), 0);

    /* Writes that fail mid-download: the save path does not exist while
     * the files are checked (nothing found, no error), then a regular file
     * takes its place before the first block arrives. */
    char later[300];
    snprintf(later, sizeof later, "%s/later", p.d.dl_dir.path);
    p.hl = sfx_add(p.leecher, p.d.t.ti, later);
    assert_true(sfx_wait_state(p.hl, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    sfx_write_file(later, (const uint8_t *)"x", 1);
    sfx_connect(p.hl, p.seeder);
    a = wait_error_alert(p.leecher, p.hl.id);
    assert_non_null(a);
    assert_true(a->error < 0);
    sw_alert_free(a);
    st = sfx_status(p.hl);
    assert_true(st.error < 0);
    assert_int_equal(st.num_pieces, 0);
    assert_int_equal(sw_session_remove_torrent(p.leecher, p.hl, 0), 0);

    /* The session goes on: the seeder still serves a good download. */
    download(&p);
    pair_teardown(&p);
}

static sw_torrent_handle add_seed_mode(sw_session *ses, sw_torrent_info *ti, const char *dir)
{
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ti;
    p.save_path = dir;
    p.flags |= SW_ADD_SEED_MODE;
    return sfx_add_params(ses, &p);
}

static void test_seed_mode(void **state)
{
    (void)state;
    pair p;
    pair_setup(&p, 16384);
    int total = sw_torrent_info_num_pieces(p.d.t.ti);
    /* A second seeder in seed mode on good data: seeding at once, no check,
     * and a download from it alone completes. */
    sw_session *fast = sfx_session(0, SW_ALERT_CAT_ALL);
    sw_torrent_handle hf = add_seed_mode(fast, p.d.t.ti, p.d.seed_dir.path);
    sw_torrent_status st = sfx_status(hf);
    assert_int_equal(st.state, SW_TORRENT_SEEDING);
    assert_true(st.seed_mode);
    assert_int_equal(st.num_pieces, total);
    p.hl = sfx_add(p.leecher, p.d.t.ti, p.d.dl_dir.path);
    assert_true(sfx_wait_state(p.hl, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    sfx_connect(p.hl, fast);
    sw_alert *a = sfx_wait_alert(p.leecher, SW_ALERT_TORRENT_FINISHED, p.hl.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    assert_true(sfx_torrent_data_equals(&p.d.t, p.d.dl_dir.path));
    /* Every piece was checked before it went out: seed mode is over. */
    assert_false(sfx_status(hf).seed_mode);
    sw_session_free(fast);

    /* Seed mode on data with a bad piece: the piece fails its check before
     * upload, seed mode ends and a recheck finds the piece missing. */
    char path[512];
    snprintf(path, sizeof path, "%s/multi/a.bin", p.d.seed_dir.path);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b = 0;
    assert_int_equal(pread(fd, &b, 1, 5 * 16384), 1);
    b ^= 1;
    assert_int_equal(pwrite(fd, &b, 1, 5 * 16384), 1);
    close(fd);
    fast = sfx_session(0, SW_ALERT_CAT_ALL);
    hf = add_seed_mode(fast, p.d.t.ti, p.d.seed_dir.path);
    assert_int_equal(sw_session_remove_torrent(p.leecher, p.hl, SW_REMOVE_DELETE_FILES), 0);
    a = sfx_wait_alert(p.leecher, SW_ALERT_TORRENT_DELETED, p.hl.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    p.hl = sfx_add(p.leecher, p.d.t.ti, p.d.dl_dir.path);
    assert_true(sfx_wait_state(p.hl, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    sfx_connect(p.hl, fast);
    a = sfx_wait_alert(fast, SW_ALERT_HASH_FAILED, hf.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    a = sfx_wait_alert(fast, SW_ALERT_TORRENT_CHECKED, hf.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    st = sfx_status(hf);
    assert_false(st.seed_mode);
    assert_int_equal(st.num_pieces, total - 1);
    assert_int_equal(st.state, SW_TORRENT_DOWNLOADING);
    sw_session_free(fast);
    pair_teardown(&p);
}

/* ---- misbehaving peers ---- */

static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const void *data, size_t len)
{
    assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* True once the other end closed the connection (EOF or reset), draining
 * whatever it sent before. */
static bool closed_by_peer(int fd, int timeout_ms)
{
    uint64_t deadline = sfx_now_ms() + (uint64_t)timeout_ms;
    uint8_t buf[4096];
    while (sfx_now_ms() < deadline) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            return true;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return true;
    }
    return false;
}

static void handshake(int fd, const sw_torrent_info *ti)
{
    uint8_t hs[68] = {19};
    memcpy(hs + 1, "BitTorrent protocol", 19);
    hs[25] = 0x10; /* extension protocol */
    hs[27] = 0x04; /* fast extension */
    memcpy(hs + 28, sw_torrent_info_hashes(ti)->v1.v, 20);
    memcpy(hs + 48, "-TT0000-badpeer00000", 20);
    send_all(fd, hs, sizeof hs);
    uint8_t reply[68];
    size_t got = 0;
    uint64_t deadline = sfx_now_ms() + SFX_WAIT_MS;
    while (got < sizeof reply && sfx_now_ms() < deadline) {
        ssize_t n = recv(fd, reply + got, sizeof reply - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0)
            break;
    }
    assert_int_equal(got, sizeof reply);
    assert_memory_equal(reply + 28, hs + 28, 20);
}

static void test_misbehaving_peers_are_disconnected(void **state)
{
    (void)state;
    pair p;
    pair_setup(&p, 32768);
    uint16_t port = sfx_listen_port(p.seeder);
    int npieces = sw_torrent_info_num_pieces(p.d.t.ti);

    /* Garbage instead of a handshake. */
    int fd = dial(port);
    send_all(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
    assert_true(closed_by_peer(fd, SFX_WAIT_MS));
    close(fd);

    /* A handshake for a torrent we do not have. */
    fd = dial(port);
    uint8_t hs[68] = {19};
    memcpy(hs + 1, "BitTorrent protocol", 19);
    memset(hs + 28, 0xab, 20);
    send_all(fd, hs, sizeof hs);
    assert_true(closed_by_peer(fd, SFX_WAIT_MS));
    close(fd);

    /* An oversized message. */
    fd = dial(port);
    handshake(fd, p.d.t.ti);
    uint8_t big[5] = {0x7f, 0xff, 0xff, 0xff, 7};
    send_all(fd, big, sizeof big);
    assert_true(closed_by_peer(fd, SFX_WAIT_MS));
    close(fd);

    /* A request for a piece past the end. */
    fd = dial(port);
    handshake(fd, p.d.t.ti);
    uint8_t req[17] = {0, 0, 0, 13, 6};
    uint32_t idx = htonl((uint32_t)npieces + 5), begin = 0, len = htonl(16384);
    memcpy(req + 5, &idx, 4);
    memcpy(req + 9, &begin, 4);
    memcpy(req + 13, &len, 4);
    send_all(fd, req, sizeof req);
    assert_true(closed_by_peer(fd, SFX_WAIT_MS));
    close(fd);

    /* A request running past the end of its piece. */
    fd = dial(port);
    handshake(fd, p.d.t.ti);
    idx = 0;
    begin = htonl(32768 - 100);
    memcpy(req + 5, &idx, 4);
    memcpy(req + 9, &begin, 4);
    send_all(fd, req, sizeof req);
    assert_true(closed_by_peer(fd, SFX_WAIT_MS));
    close(fd);

    /* A bitfield of the wrong length. */
    fd = dial(port);
    handshake(fd, p.d.t.ti);
    uint8_t bf[5 + 40] = {0, 0, 0, 41, 5};
    send_all(fd, bf, sizeof bf);
    assert_true(closed_by_peer(fd, SFX_WAIT_MS));
    close(fd);

    /* A piece message for a block nobody asked for, then garbage ids. */
    fd = dial(port);
    handshake(fd, p.d.t.ti);
    uint8_t junk[] = {0, 0, 0, 3, 0xee, 1, 2, 0, 0, 0, 1, 99};
    send_all(fd, junk, sizeof junk);
    close(fd);

    /* The session goes on: a real peer still downloads everything. */
    download(&p);
    sw_session_status ss;
    assert_int_equal(sw_session_get_status(p.seeder, &ss), 0);
    pair_teardown(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_listen_range_and_fallback),
        cmocka_unit_test(test_transfer_then_remove_with_delete),
        cmocka_unit_test(test_recheck_finds_corrupted_piece),
        cmocka_unit_test(test_resume_data_round_trip),
        cmocka_unit_test(test_dispatch_callback_calls_api_inline),
        cmocka_unit_test(test_async_add_and_state_updates),
        cmocka_unit_test(test_disk_error_stops_torrent),
        cmocka_unit_test(test_seed_mode),
        cmocka_unit_test(test_misbehaving_peers_are_disconnected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
