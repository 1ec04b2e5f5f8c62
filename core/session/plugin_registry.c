/* A session's plugins: registering a descriptor (ABI and signature checks,
 * copies of the hook tables, per-hook dispatch lists, extension ids),
 * disabling a failing plugin, and the end of every plugin's life. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_int.h"

sw_plugin_registry *sw__plugin_registry(sw_session *ses)
{
    if (!ses->plugins)
        ses->plugins = calloc(1, sizeof *ses->plugins);
    return ses->plugins;
}

/* ---- alerts ---- */

static void post_plugin_alert(sw_session *ses, sw_alert_type type, int error, const char *name,
                              const char *path, const char *fmt, const char *detail)
{
    sw_alert *a = sw__session_torrent_alert(ses, NULL, type, false);
    if (!a)
        return;
    a->error = error;
    sw__alert_set_str(a, &a->payload.plugin.name, name);
    sw__alert_set_str(a, &a->payload.plugin.path, path);
    sw__alert_set_message(a, fmt, name ? name : (path ? path : "plugin"), detail);
    sw__session_post_alert(ses, a);
}

/* ---- dispatch lists ---- */

static int list_push(sw_plugin_list *l, int index)
{
    int *v = realloc(l->v, (size_t)(l->n + 1) * sizeof *v);
    if (!v)
        return SW_ERR_NOMEM;
    v[l->n++] = index;
    l->v = v;
    return 0;
}

/* Files the slot's implemented hooks into the lists. */
static int add_to_lists(sw_plugin_registry *reg, const sw_plugin_session *ps)
{
    int rc = 0;
#define SW_FILE_HOOK_(table, id, name)                                                             \
    if (rc == 0 && ps->table.name)                                                                 \
        rc = list_push(&reg->table[id], ps->index);
#define SW_FILE_SH_(name) SW_FILE_HOOK_(sh, SW_SH_##name, name)
#define SW_FILE_TH_(name) SW_FILE_HOOK_(th, SW_TH_##name, name)
#define SW_FILE_PH_(name) SW_FILE_HOOK_(ph, SW_PH_##name, name)
    SW_PLUGIN_SESSION_HOOK_LIST(SW_FILE_SH_)
    SW_PLUGIN_TORRENT_HOOK_LIST(SW_FILE_TH_)
    SW_PLUGIN_PEER_HOOK_LIST(SW_FILE_PH_)
#undef SW_FILE_SH_
#undef SW_FILE_TH_
#undef SW_FILE_PH_
#undef SW_FILE_HOOK_
    return rc;
}

static void clear_lists(sw_plugin_registry *reg)
{
    for (int i = 0; i < SW_SH_COUNT; i++) {
        free(reg->sh[i].v);
        reg->sh[i] = (sw_plugin_list){0};
    }
    for (int i = 0; i < SW_TH_COUNT; i++) {
        free(reg->th[i].v);
        reg->th[i] = (sw_plugin_list){0};
    }
    for (int i = 0; i < SW_PH_COUNT; i++) {
        free(reg->ph[i].v);
        reg->ph[i] = (sw_plugin_list){0};
    }
}

static void rebuild_lists(sw_plugin_registry *reg)
{
    clear_lists(reg);
    for (int i = 0; i < reg->count; i++) {
        if (!reg->slots[i]->disabled && add_to_lists(reg, reg->slots[i]) < 0) {
            /* Out of memory: a plugin missing from a list only misses
             * events; say so rather than dispatch from a broken list. */
            reg->slots[i]->disabled = true;
        }
    }
}

/* ---- checks ---- */

static void copy_table(void *dst, size_t dst_size, const void *src)
{
    memset(dst, 0, dst_size);
    if (!src)
        return;
    uint32_t n;
    memcpy(&n, src, sizeof n);
    /* A table from a newer minor version may be longer: its extra members
     * are hooks this engine does not know, and stay unused. */
    if (n > dst_size)
        n = (uint32_t)dst_size;
    memcpy(dst, src, n);
    uint32_t size = (uint32_t)dst_size;
    memcpy(dst, &size, sizeof size);
}

static bool table_size_ok(const void *table)
{
    if (!table)
        return true;
    uint32_t n;
    memcpy(&n, table, sizeof n);
    return n >= sizeof(uint32_t) + sizeof(void *);
}

static bool valid_name(const char *name)
{
    if (!name || !*name || strlen(name) > 64)
        return false;
    for (const char *c = name; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static sw_plugin_session *find_by_name(const sw_plugin_registry *reg, const char *name)
{
    for (int i = 0; i < reg->count; i++)
        if (!reg->slots[i]->disabled && strcmp(reg->slots[i]->name, name) == 0)
            return reg->slots[i];
    return NULL;
}

static int ext_id_of(const sw_plugin_registry *reg, const char *name)
{
    for (int i = 0; i < reg->num_ext; i++)
        if (strcmp(reg->ext_names[i], name) == 0)
            return i + 1;
    return 0;
}

/* Checks what init filled. Returns 0 or a code with err set. */
static int check_desc(const sw_plugin_registry *reg, const sw_plugin_desc *d, char *err,
                      size_t err_len)
{
    if (d->abi_major != SW_PLUGIN_ABI_MAJOR) {
        snprintf(err, err_len, "plugin ABI %u.%u, engine ABI %u.%u", d->abi_major, d->abi_minor,
                 SW_PLUGIN_ABI_MAJOR, SW_PLUGIN_ABI_MINOR);
        return SW_ERR_PLUGIN_ABI;
    }
    if (!d->signature || strcmp(d->signature, SW_PLUGIN_SIGNATURE) != 0) {
        snprintf(err, err_len, "plugin build signature \"%s\", engine \"%s\"",
                 d->signature ? d->signature : "(none)", SW_PLUGIN_SIGNATURE);
        return SW_ERR_PLUGIN_ABI;
    }
    if (d->struct_size < sizeof(sw_plugin_desc)) {
        snprintf(err, err_len, "descriptor of %u bytes, expected at least %zu", d->struct_size,
                 sizeof(sw_plugin_desc));
        return SW_ERR_PLUGIN_ABI;
    }
    if (!table_size_ok(d->session_hooks) || !table_size_ok(d->torrent_hooks) ||
        !table_size_ok(d->peer_hooks)) {
        snprintf(err, err_len, "a hook table without its struct_size");
        return SW_ERR_PLUGIN_ABI;
    }
    if (!valid_name(d->name)) {
        snprintf(err, err_len, "invalid plugin name");
        return SW_ERR_INVALID_ARG;
    }
    if (find_by_name(reg, d->name)) {
        snprintf(err, err_len, "a plugin named %s is already in the session", d->name);
        return SW_ERR_EXISTS;
    }
    int n = 0;
    for (const char *const *e = d->extensions; e && *e; e++, n++) {
        if (!valid_name(*e) || n >= SW_PLUGIN_MAX_EXTENSIONS) {
            snprintf(err, err_len, "invalid or too many extension names");
            return SW_ERR_INVALID_ARG;
        }
        if (ext_id_of(reg, *e)) {
            snprintf(err, err_len, "extension %s is already provided by another plugin", *e);
            return SW_ERR_EXISTS;
        }
    }
    if (reg->num_ext + n > SW_PLUGIN_MAX_EXTENSIONS) {
        snprintf(err, err_len, "too many extensions in the session");
        return SW_ERR_LIMIT;
    }
    return 0;
}

/* ---- registration ---- */

static void free_slot(sw_plugin_session *ps)
{
    free(ps->name);
    free(ps->path);
    free(ps);
}

static void close_module(void *module, unsigned flags)
{
    if (module && !(flags & SW_PLUGIN_KEEP_LOADED))
        dlclose(module);
}

static int refuse(sw_session *ses, int code, const char *name, const char *path, void *module,
                  const char *detail, char *err, size_t err_len)
{
    if (err && err != detail)
        snprintf(err, err_len, "%s", detail);
    post_plugin_alert(ses, SW_ALERT_PLUGIN_ERROR, code, name, path, "%s refused: %s", detail);
    close_module(module, 0);
    return code;
}

int sw__plugin_register(sw_session *ses, sw_plugin_init_fn init, const char *path, void *module,
                        char *err, size_t err_len)
{
    char msg[256];
    sw_plugin_registry *reg = sw__plugin_registry(ses);
    if (!reg)
        return refuse(ses, SW_ERR_NOMEM, NULL, path, module, "out of memory", err, err_len);
    if (ses->shutting_down)
        return refuse(ses, SW_ERR_ABORTED, NULL, path, module, "the session is shutting down", err,
                      err_len);
    sw_plugin_desc d;
    memset(&d, 0, sizeof d);
    char *errmsg = NULL;
    int rc = init(&sw__plugin_host, &d, &errmsg);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "init failed: %s", errmsg ? errmsg : sw_strerror(rc));
        free(errmsg);
        /* A plugin that refuses a host of another ABI says so with
         * SW_ERR_NOT_SUPPORTED from SW_PLUGIN_INIT2. */
        return refuse(ses, rc == SW_ERR_NOT_SUPPORTED ? SW_ERR_PLUGIN_ABI : SW_ERR_PLUGIN_INIT,
                      d.abi_major == SW_PLUGIN_ABI_MAJOR ? d.name : NULL, path, module, msg, err,
                      err_len);
    }
    free(errmsg);
    rc = check_desc(reg, &d, msg, sizeof msg);
    if (rc < 0) {
        bool abi_ok = rc != SW_ERR_PLUGIN_ABI;
        /* The name may live in the context destroyed below. */
        char name[72];
        snprintf(name, sizeof name, "%s", abi_ok && d.name ? d.name : "");
        /* With a compatible layout the plugin's own context can be freed. */
        if (abi_ok && d.session_hooks) {
            sw_session_hooks sh;
            copy_table(&sh, sizeof sh, d.session_hooks);
            if (sh.destroy)
                sh.destroy(d.ctx);
        }
        return refuse(ses, rc, name[0] ? name : NULL, path, module, msg, err, err_len);
    }
    sw_plugin_session *ps = calloc(1, sizeof *ps);
    sw_plugin_session **slots = NULL;
    if (ps && reg->count == reg->cap) {
        int cap = reg->cap ? reg->cap * 2 : 8;
        slots = realloc(reg->slots, (size_t)cap * sizeof *slots);
        if (slots) {
            reg->slots = slots;
            reg->cap = cap;
        }
    } else if (ps) {
        slots = reg->slots;
    }
    if (ps) {
        ps->name = strdup(d.name);
        ps->path = path ? strdup(path) : NULL;
    }
    if (!ps || !slots || !ps->name || (path && !ps->path)) {
        if (ps)
            free_slot(ps);
        return refuse(ses, SW_ERR_NOMEM, d.name, path, module, "out of memory", err, err_len);
    }
    ps->ses = ses;
    ps->index = reg->count;
    ps->desc = d;
    ps->module = module;
    copy_table(&ps->sh, sizeof ps->sh, d.session_hooks);
    copy_table(&ps->th, sizeof ps->th, d.torrent_hooks);
    copy_table(&ps->ph, sizeof ps->ph, d.peer_hooks);
    for (const char *const *e = d.extensions; e && *e; e++) {
        reg->ext_names[reg->num_ext++] = *e;
        ps->ext_ids[ps->num_ext++] = (uint8_t)reg->num_ext;
    }
    reg->slots[reg->count++] = ps;
    if (add_to_lists(reg, ps) < 0) {
        ps->disabled = true;
        rebuild_lists(reg);
        sw__plugin_fail(ps, SW_ERR_NOMEM, "registration");
        if (err)
            snprintf(err, err_len, "out of memory");
        return SW_ERR_NOMEM;
    }
    post_plugin_alert(ses, SW_ALERT_PLUGIN_LOADED, 0, ps->name, ps->path, "%s loaded%s",
                      ps->path ? "" : " (built in)");
    if (ps->sh.added) {
        rc = ps->sh.added(ps->desc.ctx, ps);
        if (rc < 0) {
            sw__plugin_fail(ps, rc, "added");
            if (err)
                snprintf(err, err_len, "its added hook failed: %s", sw_strerror(rc));
            return SW_ERR_PLUGIN_INIT;
        }
    }
    /* Torrents already in the session meet the plugin now. */
    for (sw_torrent *t = ses->torrents; t && !ps->disabled; t = t->next)
        sw__plugin_torrent_added(t);
    return 0;
}

/* ---- failures and the end ---- */

void sw__plugin_fail(sw_plugin_session *ps, int error, const char *what)
{
    char detail[160];
    snprintf(detail, sizeof detail, "%s: %s", what, sw_strerror(error));
    sw__plugin_fail_detail(ps, error, detail);
}

void sw__plugin_fail_detail(sw_plugin_session *ps, int error, const char *detail)
{
    if (ps->disabled)
        return;
    ps->disabled = true;
    sw_plugin_registry *reg = ps->ses->plugins;
    reg->pending_teardown = true;
    post_plugin_alert(ps->ses, SW_ALERT_PLUGIN_ERROR, error ? error : SW_ERR_PLUGIN_FAILED,
                      ps->name, ps->path, "%s disabled: %s", detail);
}

static void destroy_peer_ctx(sw_plugin_session *ps, sw_peer_conn *pc)
{
    sw_plugin_attach *pa = sw__peer_conn_plugins(pc);
    if (!pa || ps->index >= pa->n || !pa->ctx[ps->index])
        return;
    void *ctx = pa->ctx[ps->index];
    pa->ctx[ps->index] = NULL;
    if (ps->ph.destroy)
        ps->ph.destroy(ctx);
}

/* Destroys the torrent and peer contexts of a disabled plugin. Its session
 * context waits for the session's end, so that it outlives the contexts of
 * connections still closing. */
static void tear_down(sw_session *ses, sw_plugin_session *ps)
{
    for (sw_torrent *t = ses->torrents; t; t = t->next) {
        size_t n = t->swarm_ready ? sw__swarm_active_conns(&t->swarm, NULL, 0) : 0;
        sw_peer_conn **conns = n ? malloc(n * sizeof *conns) : NULL;
        if (conns) {
            n = sw__swarm_active_conns(&t->swarm, conns, n);
            for (size_t i = 0; i < n; i++)
                destroy_peer_ctx(ps, conns[i]);
            free(conns);
        }
        /* Without memory the connections' contexts end when they close. */
        sw_plugin_attach *ta = t->plugins;
        if (ta && ps->index < ta->n && ta->ctx[ps->index]) {
            void *ctx = ta->ctx[ps->index];
            ta->ctx[ps->index] = NULL;
            if (ps->th.destroy)
                ps->th.destroy(ctx);
        }
    }
    ps->torn_down = true;
}

void sw__plugin_teardown_disabled(sw_session *ses)
{
    sw_plugin_registry *reg = ses->plugins;
    if (!reg || !reg->pending_teardown)
        return;
    reg->pending_teardown = false;
    for (int i = 0; i < reg->count; i++) {
        sw_plugin_session *ps = reg->slots[i];
        if (ps->disabled && !ps->torn_down)
            tear_down(ses, ps);
    }
    rebuild_lists(reg);
}

void sw__plugin_session_close(sw_session *ses)
{
    sw_plugin_registry *reg = ses->plugins;
    if (!reg || reg->closed)
        return;
    reg->closed = true;
    /* Reverse order of addition, as contexts are created in order. */
    for (int i = reg->count - 1; i >= 0; i--) {
        sw_plugin_session *ps = reg->slots[i];
        if (!ps->session_destroyed && ps->sh.destroy)
            ps->sh.destroy(ps->desc.ctx);
        ps->session_destroyed = true;
    }
}

void sw__plugin_registry_free(sw_session *ses)
{
    sw_plugin_registry *reg = ses->plugins;
    if (!reg)
        return;
    /* A session that never shut down its loop normally still ends its
     * plugins' contexts before their code goes away. */
    sw__plugin_session_close(ses);
    for (int i = reg->count - 1; i >= 0; i--) {
        sw_plugin_session *ps = reg->slots[i];
        close_module(ps->module, ps->desc.flags);
        free_slot(ps);
    }
    clear_lists(reg);
    free(reg->slots);
    free(reg);
    ses->plugins = NULL;
}
