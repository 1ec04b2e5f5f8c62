/* The Lua plugin adapter's entry point and its session level: creating a
 * script's lua_State (capped allocator, narrowed libraries), running the
 * script, reading the table it returns into a plugin descriptor, calling
 * hooks under the instruction limit, and disabling the plugin on a Lua
 * error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lua_plugin.h"

SW_PLUGIN_INIT1

/* ---- memory ---- */

/* The lua_State's allocator: plain malloc with a cap on the total. */
static void *lp_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    lp_state *st = ud;
    size_t old = ptr ? osize : 0; /* without ptr, osize is a type tag */
    if (nsize == 0) {
        free(ptr);
        st->memory_used -= old;
        return NULL;
    }
    if (st->memory_limit && nsize > old && st->memory_used - old + nsize > st->memory_limit)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        st->memory_used = st->memory_used - old + nsize;
    return p;
}

/* ---- calls under limits ---- */

/* The count hook fires every LP_COUNT_STEP instructions of a thread and
 * charges them to the call's budget. Coroutines inherit the hook from the
 * thread that created them, so instructions run in any coroutine count
 * against the same budget (a per-thread count would give each coroutine a
 * budget of its own). */
#define LP_COUNT_STEP 1000

static int count_step(const lp_state *st)
{
    return st->instruction_limit < LP_COUNT_STEP ? (int)st->instruction_limit : LP_COUNT_STEP;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lp_state *st = lp_state_of(L);
    if (!st->exceeded) {
        st->instructions_used += count_step(st);
        if (st->instructions_used < st->instruction_limit)
            return;
        st->exceeded = true;
        /* From now on every instruction fails, in this thread and the main
         * one (others within a step), so a pcall in the script cannot
         * swallow the stop and carry on. */
        lua_sethook(st->L, count_hook, LUA_MASKCOUNT, 1);
        if (L != st->L)
            lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    }
    /* Inside a count hook, level 0 is the Lua function that was running:
     * its line is where the script was stopped. */
    lua_Debug here;
    if (lua_getstack(L, 0, &here) && lua_getinfo(L, "Sl", &here) && here.currentline > 0)
        luaL_error(L, "%s:%d: instruction limit exceeded (lua_instruction_limit %I)",
                   here.short_src, here.currentline, (lua_Integer)st->instruction_limit);
    luaL_error(L, "instruction limit exceeded (lua_instruction_limit %I)",
               (lua_Integer)st->instruction_limit);
}

static void arm_limit(lp_state *st)
{
    st->exceeded = false;
    st->instructions_used = 0;
    if (st->instruction_limit > 0)
        lua_sethook(st->L, count_hook, LUA_MASKCOUNT, count_step(st));
}

static void disarm_limit(lp_state *st)
{
    /* Coroutines keep their hook (it charges the next call's budget). */
    lua_sethook(st->L, NULL, 0, 0);
    st->exceeded = false;
}

void lp_fail(lp_state *st, const char *msg)
{
    if (st->dead)
        return;
    st->dead = true;
    snprintf(st->last_error, sizeof st->last_error, "%s", msg);
    if (st->s && sw_plugin_host_->abi_minor >= 1 && sw_plugin_host_->disable)
        sw_plugin_disable(st->s, SW_ERR_PLUGIN_FAILED, msg);
    else if (st->s)
        sw_plugin_log(st->s, NULL, "disabled: %s", msg);
}

/* Calls what is on the stack (a function and nargs arguments). */
static int call_limited(lp_state *st, int nargs, int nresults)
{
    lua_State *L = st->L;
    if (st->depth++ == 0)
        arm_limit(st);
    int rc = lua_pcall(L, nargs, nresults, 0);
    if (--st->depth == 0)
        disarm_limit(st);
    if (rc == LUA_OK)
        return 0;
    const char *msg = lua_tostring(L, -1);
    char buf[400];
    if (rc == LUA_ERRMEM)
        snprintf(buf, sizeof buf, "%s: out of memory (lua_memory_limit %zu bytes)", st->path,
                 st->memory_limit);
    else if (msg)
        snprintf(buf, sizeof buf, "%s", msg);
    else /* error(value) with a table or nil: no location either */
        snprintf(buf, sizeof buf, "%s: a hook raised a %s value (no message)", st->path,
                 luaL_typename(L, -1));
    lua_pop(L, 1);
    lp_fail(st, buf);
    return -1;
}

int lp_invoke_ints(lp_state *st, int ref, lp_obj *self, int n, const lua_Integer *v, int nresults)
{
    if (st->dead || ref == LUA_NOREF)
        return 1;
    lua_State *L = st->L;
    if (!lua_checkstack(L, n + nresults + 4)) {
        lp_fail(st, "out of memory (Lua stack)");
        return -1;
    }
    /* None of these pushes allocates (the stack has room, the function
     * and view are in the registry), so no protected trampoline is
     * needed: the hot message hooks take this path. */
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lp_obj_push(self);
    for (int i = 0; i < n; i++)
        lua_pushinteger(L, v[i]);
    return call_limited(st, n + 1, nresults);
}

int lp_protected(lp_state *st, lua_CFunction fn, void *data, int nresults)
{
    if (st->dead)
        return 1;
    /* Growing the stack may fail; lua_checkstack says so instead of
     * raising outside a protected call. */
    if (!lua_checkstack(st->L, nresults + 4)) {
        lp_fail(st, "out of memory (Lua stack)");
        return -1;
    }
    lua_pushcfunction(st->L, fn);
    lua_pushlightuserdata(st->L, data);
    return call_limited(st, 1, nresults);
}

typedef struct invoke_arg {
    int ref;
    lp_obj *self;
    lp_push_fn push;
    void *data;
    int nresults;
} invoke_arg;

static int invoke_protected(lua_State *L)
{
    invoke_arg *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);
    int n = 0;
    if (a->self) {
        lp_obj_push(a->self);
        n++;
    }
    if (a->push)
        n += a->push(L, a->data);
    lua_call(L, n, a->nresults);
    return a->nresults;
}

int lp_invoke(lp_state *st, int ref, lp_obj *self, lp_push_fn push, void *data, int nresults)
{
    if (st->dead || ref == LUA_NOREF)
        return 1;
    invoke_arg a = {.ref = ref, .self = self, .push = push, .data = data, .nresults = nresults};
    return lp_protected(st, invoke_protected, &a, nresults);
}

/* ---- the session level ---- */

static int s_added(void *ctx, sw_plugin_session *s)
{
    lp_state *st = ctx;
    st->s = s;
    /* A failing added hook fails the load itself (the plugin_error alert,
     * posted first, has the script's file:line). */
    return lp_invoke(st, st->sref[LP_S_added], NULL, NULL, NULL, 0) < 0 ? SW_ERR_PLUGIN_FAILED
                                                                        : SW_OK;
}

static void state_free(lp_state *st)
{
    if (st->L) {
        /* Finalizers the script set run now, still under a limit. */
        st->dead = true;
        arm_limit(st);
        lua_close(st->L);
    }
    free(st->path);
    free(st->name);
    free(st->version);
    for (int i = 0; i < LP_MAX_EXTENSIONS; i++)
        free(st->ext_names[i]);
    free(st);
}

static void s_destroy(void *ctx)
{
    lp_state *st = ctx;
    lp_invoke(st, st->sref[LP_S_destroy], NULL, NULL, NULL, 0);
    state_free(st);
}

static int s_new_torrent(void *ctx, sw_plugin_torrent *t, void **out)
{
    lp_state *st = ctx;
    if (st->dead)
        return SW_OK;
    lp_obj *o = lp_obj_new(st, t, NULL, false);
    if (!o)
        return SW_OK; /* no memory (or a dead state): the plugin ignores this torrent */
    bool attach = true;
    int rc = lp_invoke(st, st->sref[LP_S_new_torrent], o, NULL, NULL, 1);
    if (rc < 0) {
        attach = false;
    } else if (rc == 0) {
        attach = lua_toboolean(st->L, -1);
        lua_pop(st->L, 1);
    }
    if (!attach) {
        lp_obj_free(o);
        return SW_OK;
    }
    *out = o;
    return SW_OK;
}

static int s_on_tick(void *ctx)
{
    lp_state *st = ctx;
    lp_invoke(st, st->sref[LP_S_on_tick], NULL, NULL, NULL, 0);
    return SW_OK;
}

/* Alert type names from the public table (alert.h), so a newer engine's
 * types, unknown here, still arrive (as their number). */
static const char *alert_name(int type)
{
    static const char *const names[] = {"none",
#define LP_ALERT_NAME_(NAME, name, cat) #name,
                                        SW_ALERT_TYPE_MAP(LP_ALERT_NAME_)
#undef LP_ALERT_NAME_
    };
    return type >= 0 && type < (int)(sizeof names / sizeof names[0]) ? names[type] : NULL;
}

static int push_alert(lua_State *L, void *data)
{
    const sw_alert *a = data;
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, a->type);
    lua_setfield(L, -2, "type");
    const char *name = alert_name(a->type);
    if (name) {
        lua_pushstring(L, name);
        lua_setfield(L, -2, "name");
    }
    lua_pushinteger(L, a->category);
    lua_setfield(L, -2, "category");
    lua_pushinteger(L, a->error);
    lua_setfield(L, -2, "error");
    lua_pushinteger(L, (lua_Integer)a->torrent_id);
    lua_setfield(L, -2, "torrent_id");
    lua_pushstring(L, a->message ? a->message : "");
    lua_setfield(L, -2, "message");
    return 1;
}

static int s_on_alert(void *ctx, const sw_alert *a)
{
    lp_state *st = ctx;
    lp_invoke(st, st->sref[LP_S_on_alert], NULL, push_alert, (void *)a, 0);
    return SW_OK;
}

typedef struct save_arg {
    sw_bencoder *enc;
} save_arg;

static int save_protected(lua_State *L)
{
    save_arg *a = lua_touserdata(L, 1);
    lp_state *st = lp_state_of(L);
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->sref[LP_S_save_state]);
    lua_call(L, 0, 1);
    if (lua_isnil(L, 1))
        return 0;
    if (!lua_istable(L, 1))
        return luaL_error(L, "%s: save_state must return a table or nil", st->path);
    if (lp_encode_dict_items(L, 1, a->enc, 0) < 0)
        return lua_error(L);
    return 0;
}

static int s_save_state(void *ctx, sw_bencoder *enc)
{
    lp_state *st = ctx;
    save_arg a = {enc};
    if (st->sref[LP_S_save_state] != LUA_NOREF)
        lp_protected(st, save_protected, &a, 0);
    return SW_OK;
}

static int push_bnode_arg(lua_State *L, void *data)
{
    lp_push_bnode(L, *(sw_bnode *)data, 0);
    return 1;
}

static int s_load_state(void *ctx, sw_bnode dict)
{
    lp_state *st = ctx;
    lp_invoke(st, st->sref[LP_S_load_state], NULL, push_bnode_arg, &dict, 0);
    return SW_OK;
}

/* ---- reading the script's table ---- */

static const char *const session_names[] = {
#define LP_NAME_(n) #n,
    LP_SESSION_HOOKS(LP_NAME_) "destroy"};
static const char *const torrent_names[] = {LP_TORRENT_HOOKS(LP_NAME_) "destroy"};
static const char *const peer_names[] = {LP_PEER_HOOKS(LP_NAME_) "destroy"};
#undef LP_NAME_

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

/* The plugin's name when the table has none: the file name without ".lua"
 * (and without a "_plugin" suffix), other characters as '_'. */
static char *name_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".lua") == 0)
        n -= 4;
    if (n > 7 && strncmp(base + n - 7, "_plugin", 7) == 0)
        n -= 7;
    if (n > 64)
        n = 64;
    if (n == 0)
        return strdup("lua");
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = base[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        s[i] = ok ? c : '_';
    }
    s[n] = '\0';
    return s;
}

static char *dup_or_raise(lua_State *L, const char *s)
{
    char *d = strdup(s);
    if (!d)
        luaL_error(L, "out of memory");
    return d;
}

/* Reads one level's table (at the top of the stack, or nil) into refs. */
static void read_level(lp_state *st, const char *level, const char *const *names, int count,
                       int *refs)
{
    lua_State *L = st->L;
    if (lua_isnil(L, -1))
        return;
    if (!lua_istable(L, -1))
        luaL_error(L, "%s: \"%s\" must be a table of hook functions", st->path, level);
    for (int i = 0; i < count; i++) {
        int type = lua_getfield(L, -1, names[i]);
        if (type == LUA_TFUNCTION) {
            refs[i] = luaL_ref(L, LUA_REGISTRYINDEX);
            continue;
        }
        if (type != LUA_TNIL)
            luaL_error(L, "%s: %s.%s must be a function, not a %s", st->path, level, names[i],
                       luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    /* A misspelt hook would silently never run. */
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        bool ok = false;
        for (int i = 0; k && i < count && !ok; i++)
            ok = strcmp(k, names[i]) == 0;
        if (!ok)
            luaL_error(L, "%s: %s has no hook named \"%s\"", st->path, level, k ? k : "?");
    }
}

/* Reads the table the script returned (at index 1). */
static void read_plugin_table(lp_state *st)
{
    lua_State *L = st->L;
    int type = lua_getfield(L, 1, "name");
    if (type == LUA_TSTRING) {
        const char *name = lua_tostring(L, -1);
        if (!valid_name(name))
            luaL_error(L, "%s: name \"%s\" must be 1 to 64 letters, digits, '_' or '-'", st->path,
                       name);
        st->name = dup_or_raise(L, name);
    } else if (type != LUA_TNIL) {
        luaL_error(L, "%s: name must be a string", st->path);
    } else if (!(st->name = name_from_path(st->path))) {
        luaL_error(L, "out of memory");
    }
    lua_pop(L, 1);
    type = lua_getfield(L, 1, "version");
    if (type == LUA_TSTRING)
        st->version = dup_or_raise(L, lua_tostring(L, -1));
    else if (type != LUA_TNIL)
        luaL_error(L, "%s: version must be a string", st->path);
    lua_pop(L, 1);

    type = lua_getfield(L, 1, "extensions");
    if (type == LUA_TTABLE) {
        lua_Unsigned n = lua_rawlen(L, -1);
        if (n > LP_MAX_EXTENSIONS)
            luaL_error(L, "%s: more than %d extensions", st->path, LP_MAX_EXTENSIONS);
        for (lua_Unsigned i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, (lua_Integer)i);
            const char *e = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
            if (!e || !valid_name(e))
                luaL_error(L, "%s: extensions must be a list of names (letters, digits, '_', '-')",
                           st->path);
            st->ext_names[i - 1] = dup_or_raise(L, e);
            st->ext_ptrs[i - 1] = st->ext_names[i - 1];
            lua_pop(L, 1);
        }
    } else if (type != LUA_TNIL) {
        luaL_error(L, "%s: extensions must be a list of names", st->path);
    }
    lua_pop(L, 1);

    lua_getfield(L, 1, "session");
    read_level(st, "session", session_names, LP_S_COUNT, st->sref);
    lua_pop(L, 1);
    lua_getfield(L, 1, "torrent");
    read_level(st, "torrent", torrent_names, LP_T_COUNT, st->tref);
    lua_pop(L, 1);
    lua_getfield(L, 1, "peer");
    read_level(st, "peer", peer_names, LP_P_COUNT, st->pref);
    lua_pop(L, 1);

    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        static const char *const known[] = {"name",    "version", "extensions",
                                            "session", "torrent", "peer"};
        bool ok = false;
        for (size_t i = 0; k && i < sizeof known / sizeof known[0]; i++)
            ok = ok || strcmp(k, known[i]) == 0;
        if (!ok)
            luaL_error(L,
                       "%s: unknown field \"%s\" in the plugin table (expected name, version, "
                       "extensions, session, torrent, peer)",
                       st->path, k ? k : "?");
    }
}

/* ---- loading ---- */

static void open_libs(lua_State *L, bool sandbox)
{
    if (!sandbox) {
        luaL_openlibs(L);
        return;
    }
    static const luaL_Reg safe[] = {{LUA_GNAME, luaopen_base},
                                    {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8},
                                    {LUA_COLIBNAME, luaopen_coroutine},
                                    {NULL, NULL}};
    for (const luaL_Reg *lib = safe; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    /* The base library's ways to reach files or bytecode. */
    static const char *const unsafe[] = {"dofile", "loadfile", "load", "require"};
    for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, unsafe[i]);
    }
}

/* "@file.lua": Lua's messages then say "file.lua:12: ...". The base name
 * keeps them short; plugin alerts carry the full path as well. */
static void push_chunk_name(lua_State *L, const char *path)
{
    const char *base = strrchr(path, '/');
    lua_pushfstring(L, "@%s", base ? base + 1 : path);
}

static int load_protected(lua_State *L)
{
    const sw_lua_plugin_params *params = lua_touserdata(L, 1);
    lp_state *st = lp_state_of(L);
    lua_settop(L, 0);
    open_libs(L, params->sandbox);
    lp_views_open(st);
    push_chunk_name(L, st->path);
    /* Text only: precompiled chunks can break the VM's safety. */
    if (luaL_loadbufferx(L, params->source, params->source_len, lua_tostring(L, 1), "t") != LUA_OK)
        return lua_error(L);
    lua_remove(L, 1);
    lua_call(L, 0, 1);
    if (!lua_istable(L, 1))
        return luaL_error(L, "%s: the script must return a table of hooks (it returned %s)",
                          st->path, luaL_typename(L, 1));
    read_plugin_table(st);
    return 0;
}

static void refs_init(lp_state *st)
{
    for (int i = 0; i < LP_S_COUNT; i++)
        st->sref[i] = LUA_NOREF;
    for (int i = 0; i < LP_T_COUNT; i++)
        st->tref[i] = LUA_NOREF;
    for (int i = 0; i < LP_P_COUNT; i++)
        st->pref[i] = LUA_NOREF;
}

static void fill_session_hooks(lp_state *st)
{
    sw_session_hooks *h = &st->sh;
    h->struct_size = sizeof *h;
    h->added = s_added;
    h->destroy = s_destroy;
    /* Torrents are attached when the script has torrent or peer hooks. */
    bool want_torrents = st->sref[LP_S_new_torrent] != LUA_NOREF;
    for (int i = 0; i < LP_T_COUNT; i++)
        want_torrents = want_torrents || st->tref[i] != LUA_NOREF;
    for (int i = 0; i < LP_P_COUNT; i++)
        want_torrents = want_torrents || st->pref[i] != LUA_NOREF;
    if (want_torrents)
        h->new_torrent = s_new_torrent;
    if (st->sref[LP_S_on_tick] != LUA_NOREF)
        h->on_tick = s_on_tick;
    if (st->sref[LP_S_on_alert] != LUA_NOREF)
        h->on_alert = s_on_alert;
    if (st->sref[LP_S_save_state] != LUA_NOREF)
        h->save_state = s_save_state;
    if (st->sref[LP_S_load_state] != LUA_NOREF)
        h->load_state = s_load_state;
}

static char *dup_msg(const char *msg)
{
    size_t n = strlen(msg) + 1;
    char *m = sw_plugin_malloc(n);
    if (m)
        memcpy(m, msg, n);
    return m;
}

SW_PLUGIN_EXPORT int sw_lua_plugin_init(const sw_host *host, const sw_lua_plugin_params *params,
                                        sw_plugin_desc *out, char **errmsg);

SW_PLUGIN_EXPORT int sw_lua_plugin_init(const sw_host *host, const sw_lua_plugin_params *params,
                                        sw_plugin_desc *out, char **errmsg)
{
    SW_PLUGIN_INIT2(host, errmsg);
    if (!params || params->struct_size < sizeof(sw_lua_plugin_params) || !params->path ||
        (!params->source && params->source_len))
        return SW_ERR_INVALID_ARG;
    lp_state *st = calloc(1, sizeof *st);
    if (!st)
        return SW_ERR_NOMEM;
    refs_init(st);
    st->path = strdup(params->path);
    st->instruction_limit = params->instruction_limit;
    st->memory_limit = params->memory_limit > 0 ? (size_t)params->memory_limit : 0;
    st->L = st->path ? lua_newstate(lp_alloc, st) : NULL;
    if (!st->L) {
        state_free(st);
        return SW_ERR_NOMEM;
    }
    *(lp_state **)lua_getextraspace(st->L) = st;
    /* The whole load runs protected: a script (or a tiny memory limit) must
     * not be able to raise outside a pcall, which would abort. */
    int rc = lp_protected(st, load_protected, (void *)params, 0);
    if (rc != 0) {
        /* lp_fail kept the message only as an alert when there is a
         * session; at init there is none yet, so it is in last_error. */
        *errmsg = dup_msg(st->last_error[0] ? st->last_error : "cannot load the script");
        state_free(st);
        return SW_ERR_PLUGIN_INIT;
    }
    fill_session_hooks(st);
    lp_hooks_fill(st);
    SW_PLUGIN_DESC_INIT(out, st->name, st->version);
    out->ctx = st;
    out->extensions = st->ext_names[0] ? st->ext_ptrs : NULL;
    out->session_hooks = &st->sh;
    out->torrent_hooks = &st->th;
    out->peer_hooks = &st->ph;
    return SW_OK;
}
