/* Loading plugins: modules that break the ABI check, have no entry point or
 * fail their init are refused with a message and a plugin_error alert, and
 * the session goes on; the entry point's own check refuses a host of another
 * ABI; a missing Lua file is refused; bare names are found through
 * plugin_search_path; duplicate names are refused; the built-in registry and
 * the default-plugins flag; a failing hook disables its plugin (its
 * contexts destroyed) while the session goes on; work a plugin queues on the
 * pool. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#define SW_PLUGIN_BUILTIN 1
#include <cswarm/cswarm.h>
#include <cswarm/plugin.h>

#include "plugin_fixture.h"
#include "session_fixture.h"

/* Loads path and expects code; returns the alert's message check. */
static void expect_refused(sw_session *ses, const char *path, int code, const char *needle)
{
    sw_error_detail err;
    memset(&err, 0, sizeof err);
    int rc = sw_session_load_plugin(ses, path, &err);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    if (!strstr(err.message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
}

static void expect_error_alert(sw_session *ses, const char *needle)
{
    sw_alert *a = sfx_wait_alert(ses, SW_ALERT_PLUGIN_ERROR, 0, SFX_WAIT_MS);
    assert_non_null(a);
    if (!strstr(a->message, needle))
        fail_msg("alert \"%s\" lacks \"%s\"", a->message, needle);
    assert_true(a->error < 0);
    sw_alert_free(a);
}

static char *names(sw_session *ses)
{
    char *n = NULL;
    assert_int_equal(sw_session_plugin_names(ses, &n), 0);
    return n;
}

static void test_bad_modules_refused(void **state)
{
    (void)state;
    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ALL);

    expect_refused(ses, pfx_test_plugin("bad_abi"), SW_ERR_PLUGIN_ABI, "plugin ABI 99.");
    expect_error_alert(ses, "engine ABI 1.1");

    expect_refused(ses, pfx_test_plugin("bad_signature"), SW_ERR_PLUGIN_ABI, "abi1-p4-l4-i4-le");
    expect_error_alert(ses, SW_PLUGIN_SIGNATURE);

    expect_refused(ses, pfx_test_plugin("no_entry"), SW_ERR_PLUGIN_NO_ENTRY,
                   "sw_plugin_no_entry_init");

    expect_refused(ses, pfx_test_plugin("failing_init"), SW_ERR_PLUGIN_INIT,
                   "this plugin refuses to start");
    expect_error_alert(ses, "this plugin refuses to start");

    expect_refused(ses, "/nonexistent/plugin.so", SW_ERR_PLUGIN_OPEN, "cannot open");
    expect_refused(ses, "/some/where/automation.lua", SW_ERR_PLUGIN_OPEN,
                   "cannot open /some/where/automation.lua");
    expect_refused(ses, "test_refuse", SW_ERR_NOT_FOUND, "plugin_search_path");

    /* None of them stayed, and the session still works. */
    char *n = names(ses);
    assert_string_equal(n, "");
    free(n);
    sw_error_detail err;
    assert_int_equal(sw_session_load_plugin(ses, pfx_test_plugin("test_refuse"), &err), 0);
    sw_alert *a = sfx_wait_alert(ses, SW_ALERT_PLUGIN_LOADED, 0, SFX_WAIT_MS);
    assert_non_null(a);
    assert_string_equal(a->payload.plugin.name, "test_refuse");
    assert_string_equal(a->payload.plugin.path, pfx_test_plugin("test_refuse"));
    sw_alert_free(a);
    /* A second plugin of the same name is refused. */
    expect_refused(ses, pfx_test_plugin("test_refuse"), SW_ERR_EXISTS, "already in the session");
    n = names(ses);
    assert_string_equal(n, "test_refuse");
    free(n);
    sw_session_free(ses);
}

static void test_search_path(void **state)
{
    (void)state;
    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ALL);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", pfx_test_plugin("x"));
    *strrchr(dir, '/') = '\0';
    sw_settings *s;
    assert_int_equal(sw_session_get_settings(ses, &s), 0);
    char path[1100];
    snprintf(path, sizeof path, "/nonexistent:%s", dir);
    assert_int_equal(sw_settings_set_str(s, SW_SET_PLUGIN_SEARCH_PATH, path), 0);
    assert_int_equal(sw_session_apply_settings(ses, s), 0);
    sw_settings_free(s);
    sw_error_detail err;
    assert_int_equal(sw_session_load_plugin(ses, "test_refuse", &err), 0);
    char *n = names(ses);
    assert_string_equal(n, "test_refuse");
    free(n);
    sw_session_free(ses);
}

/* The check SW_PLUGIN_INIT2 makes inside a module, against hosts of another
 * major version or build signature. */
static void test_entry_point_checks_host(void **state)
{
    (void)state;
    void *m = dlopen(pfx_test_plugin("test_refuse"), RTLD_NOW | RTLD_LOCAL);
    assert_non_null(m);
    void *sym = dlsym(m, "sw_plugin_test_refuse_init");
    assert_non_null(sym);
    sw_plugin_init_fn init;
    memcpy(&init, &sym, sizeof init);

    sw_host fake;
    memset(&fake, 0, sizeof fake);
    fake.abi_major = SW_PLUGIN_ABI_MAJOR + 1;
    fake.struct_size = sizeof fake;
    fake.signature = SW_PLUGIN_SIGNATURE;
    sw_plugin_desc d;
    memset(&d, 0, sizeof d);
    char *msg = NULL;
    assert_int_equal(init(&fake, &d, &msg), SW_ERR_NOT_SUPPORTED);
    fake.abi_major = SW_PLUGIN_ABI_MAJOR;
    fake.signature = "abi1-p2-l2-i2-be";
    assert_int_equal(init(&fake, &d, &msg), SW_ERR_NOT_SUPPORTED);
    assert_null(d.name); /* nothing filled */
    assert_null(msg);
    dlclose(m);
}

static void test_builtin_registry_and_defaults(void **state)
{
    (void)state;
    const char *expect[] = {"ut_metadata", "ut_pex", "smart_ban", "lt_tex"};
    size_t i = 0;
    for (; sw_builtin_plugin_name(i); i++)
        assert_string_equal(sw_builtin_plugin_name(i), expect[i]);
    assert_int_equal(i, 4);

    sw_session *ses = sfx_session(SW_SESSION_ADD_DEFAULT_PLUGINS, SW_ALERT_CAT_ALL);
    char *n = names(ses);
    assert_string_equal(n, "ut_metadata,ut_pex,smart_ban,lt_tex");
    free(n);
    sw_session_free(ses);

    /* An embedder's pick, without dlopen. */
    ses = sfx_session(0, SW_ALERT_CAT_ALL);
    sw_error_detail err;
    assert_int_equal(sw_session_add_builtin_plugin(ses, "smart_ban", &err), 0);
    assert_int_equal(sw_session_add_builtin_plugin(ses, "no_such_plugin", &err), SW_ERR_NOT_FOUND);
    /* The same plugin as a module cannot join a session that has it. */
    assert_int_equal(sw_session_load_plugin(ses, pfx_std_plugin("smart_ban"), &err), SW_ERR_EXISTS);
    assert_int_equal(sw_session_load_plugin(ses, pfx_std_plugin("ut_pex"), &err), 0);
    n = names(ses);
    assert_string_equal(n, "smart_ban,ut_pex");
    free(n);
    sw_session_free(ses);
}

/* ---- a plugin whose hook fails ---- */

typedef struct flaky {
    int ticks;
    int torrents_destroyed;
    int session_destroyed;
} flaky;

static flaky g_flaky;
static int g_marker;

static int flaky_new_torrent(void *ctx, sw_plugin_torrent *t, void **out)
{
    (void)ctx;
    (void)t;
    *out = &g_marker;
    return SW_OK;
}

static int flaky_tick(void *ctx)
{
    flaky *f = ctx;
    return ++f->ticks >= 2 ? SW_ERR_IO : SW_OK;
}

static void flaky_torrent_destroy(void *ctx)
{
    (void)ctx;
    g_flaky.torrents_destroyed++;
}

static void flaky_destroy(void *ctx)
{
    flaky *f = ctx;
    f->session_destroyed++;
}

static const sw_session_hooks flaky_session = {
    .struct_size = sizeof(sw_session_hooks),
    .destroy = flaky_destroy,
    .new_torrent = flaky_new_torrent,
    .on_tick = flaky_tick,
};
static const sw_torrent_hooks flaky_torrent = {
    .struct_size = sizeof(sw_torrent_hooks),
    .destroy = flaky_torrent_destroy,
};

SW_PLUGIN_ENTRY(flaky)
{
    SW_PLUGIN_INIT2(host, errmsg);
    SW_PLUGIN_DESC_INIT(out, "flaky", "1.0");
    out->ctx = &g_flaky;
    out->session_hooks = &flaky_session;
    out->torrent_hooks = &flaky_torrent;
    return SW_OK;
}

static void test_failing_hook_disables_plugin(void **state)
{
    (void)state;
    memset(&g_flaky, 0, sizeof g_flaky);
    fx_torrent t;
    assert_int_equal(
        fx_make_torrent(&t, "one", (const fx_file[]){{"a.bin", 100000, false}}, 1, 32768, 3, true),
        0);
    sfx_dir dir;
    sfx_dir_make(&dir);
    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ALL);
    sw_error_detail err;
    assert_int_equal(sw_session_add_extension(ses, sw_plugin_flaky_init, &err), 0);
    sw_torrent_handle h = sfx_add(ses, t.ti, dir.path);
    expect_error_alert(ses, "flaky disabled: on_tick");
    /* Torn down at the next tick: the torrent context goes, the session
     * context stays until the session ends. */
    uint64_t deadline = sfx_now_ms() + SFX_WAIT_MS;
    while (sfx_now_ms() < deadline && __atomic_load_n(&g_flaky.torrents_destroyed, 0) == 0)
        usleep(10000);
    assert_int_equal(g_flaky.torrents_destroyed, 1);
    assert_int_equal(g_flaky.session_destroyed, 0);
    assert_int_equal(g_flaky.ticks, 2);
    char *n = names(ses);
    assert_string_equal(n, "");
    free(n);
    /* The session goes on. */
    assert_true(sw_torrent_is_valid(h));
    assert_int_equal(sw_torrent_pause(h), 0);
    sw_session_free(ses);
    assert_int_equal(g_flaky.session_destroyed, 1);
    assert_int_equal(g_flaky.torrents_destroyed, 1);
    sfx_dir_remove(&dir);
    fx_torrent_free(&t);
}

/* ---- work on the pool ---- */

typedef struct worker {
    int input, output, done_result, done_calls;
    bool ran_off_loop; /* work ran on another thread than done */
    uv_thread_t work_thread;
} worker;

static worker g_work;

static int square(void *user)
{
    worker *w = user;
    w->work_thread = uv_thread_self();
    w->output = w->input * w->input;
    return 7;
}

static void squared(void *user, int result)
{
    worker *w = user;
    uv_thread_t self = uv_thread_self();
    w->ran_off_loop = !uv_thread_equal(&self, &w->work_thread);
    w->done_result = result;
    __atomic_add_fetch(&w->done_calls, 1, __ATOMIC_SEQ_CST);
}

static int worker_added(void *ctx, sw_plugin_session *s)
{
    return sw_plugin_queue_work(s, square, squared, ctx);
}

static const sw_session_hooks worker_session = {
    .struct_size = sizeof(sw_session_hooks),
    .added = worker_added,
};

SW_PLUGIN_ENTRY(worker)
{
    SW_PLUGIN_INIT2(host, errmsg);
    SW_PLUGIN_DESC_INIT(out, "worker", "1.0");
    out->ctx = &g_work;
    out->session_hooks = &worker_session;
    return SW_OK;
}

static void test_queue_work(void **state)
{
    (void)state;
    memset(&g_work, 0, sizeof g_work);
    g_work.input = 12;
    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ALL);
    sw_error_detail err;
    assert_int_equal(sw_session_add_extension(ses, sw_plugin_worker_init, &err), 0);
    uint64_t deadline = sfx_now_ms() + SFX_WAIT_MS;
    while (__atomic_load_n(&g_work.done_calls, __ATOMIC_SEQ_CST) == 0 && sfx_now_ms() < deadline)
        usleep(5000);
    sw_session_free(ses);
    assert_int_equal(g_work.done_calls, 1);
    assert_int_equal(g_work.output, 144);
    assert_int_equal(g_work.done_result, 7);
    assert_true(g_work.ran_off_loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_modules_refused),
        cmocka_unit_test(test_search_path),
        cmocka_unit_test(test_entry_point_checks_host),
        cmocka_unit_test(test_builtin_registry_and_defaults),
        cmocka_unit_test(test_failing_hook_disables_plugin),
        cmocka_unit_test(test_queue_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
