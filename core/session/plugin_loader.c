/* Adding plugins to a session: from a descriptor compiled into the program,
 * from the built-in registry, or from a file (a shared object found directly
 * or through the plugin_search_path setting, or a .lua script run by the
 * Lua adapter module, see <cswarm/lua_plugin.h>). The module is opened and
 * a script read on the caller's thread; the entry point runs on the network
 * thread. */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin_int.h" /* first: it selects the built-in form of plugin.h */

#include <cswarm/lua_plugin.h>

static void set_err(sw_error_detail *err, int code, const char *fmt, const char *a, const char *b)
{
    if (!err)
        return;
    err->code = code;
    err->offset = -1;
    snprintf(err->message, sizeof err->message, fmt, a, b ? b : "");
}

typedef struct register_arg {
    sw_plugin_init_fn init;
    const char *path;
    void *module;
    bool ran;
    char msg[256];
    /* A Lua script: the adapter's entry and what it is given. */
    sw_lua_plugin_init_fn lua_init;
    const sw_lua_plugin_params *lua_params;
} register_arg;

/* The registry calls an init with no argument of its own; a script's entry
 * also needs the script. Registration runs init synchronously on the
 * network thread, so a thread-local carries the script across that call. */
static _Thread_local const register_arg *lua_registering;

static int lua_init_trampoline(const sw_host *host, sw_plugin_desc *out, char **errmsg)
{
    const register_arg *a = lua_registering;
    if (!a)
        return SW_ERR_INVALID_ARG;
    return a->lua_init(host, a->lua_params, out, errmsg);
}

static int register_fn(sw_session *ses, void *arg)
{
    register_arg *a = arg;
    a->ran = true;
    if (!a->lua_init)
        return sw__plugin_register(ses, a->init, a->path, a->module, a->msg, sizeof a->msg);
    lua_registering = a;
    int rc = sw__plugin_register(ses, lua_init_trampoline, a->path, a->module, a->msg,
                                 sizeof a->msg);
    lua_registering = NULL;
    return rc;
}

/* Runs the registration on the network thread; the module is the
 * registry's from here on (closed on failure). */
static int run_register(sw_session *ses, register_arg *ap, sw_error_detail *err)
{
    register_arg a = *ap;
    void *module = a.module;
    a.msg[0] = '\0';
    int rc = sw__session_run(ses, register_fn, &a);
    if (!a.ran) {
        /* The command never ran: the module is still ours to close. */
        if (module)
            dlclose(module);
        snprintf(a.msg, sizeof a.msg, "the session is shutting down");
    }
    if (rc < 0)
        set_err(err, rc, "%s%s", a.msg[0] ? a.msg : sw_strerror(rc), NULL);
    return rc;
}

static int register_on_loop(sw_session *ses, sw_plugin_init_fn init, const char *path, void *module,
                            sw_error_detail *err)
{
    register_arg a = {.init = init, .path = path, .module = module};
    return run_register(ses, &a, err);
}

int sw_session_add_extension(sw_session *ses, sw_session_plugin_init_fn init,
                             sw_error_detail *err_out)
{
    if (!ses || !init)
        return SW_ERR_INVALID_ARG;
    return register_on_loop(ses, (sw_plugin_init_fn)init, NULL, NULL, err_out);
}

/* ---- the built-in registry ---- */

const char *sw_builtin_plugin_name(size_t i)
{
    return i < sw__builtin_plugin_count ? sw__builtin_plugins[i].name : NULL;
}

static sw_plugin_init_fn builtin(const char *name)
{
    for (size_t i = 0; i < sw__builtin_plugin_count; i++)
        if (strcmp(sw__builtin_plugins[i].name, name) == 0)
            return sw__builtin_plugins[i].init;
    return NULL;
}

int sw_session_add_builtin_plugin(sw_session *ses, const char *name, sw_error_detail *err_out)
{
    if (!ses || !name)
        return SW_ERR_INVALID_ARG;
    sw_plugin_init_fn init = builtin(name);
    if (!init) {
        set_err(err_out, SW_ERR_NOT_FOUND, "no built-in plugin named %s%s", name, NULL);
        return SW_ERR_NOT_FOUND;
    }
    return register_on_loop(ses, init, NULL, NULL, err_out);
}

int sw__plugin_add_defaults(sw_session *ses)
{
    static const char *const defaults[] = {"ut_metadata", "ut_pex", "smart_ban", "lt_tex"};
    int first_error = 0;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        int rc = sw_session_add_builtin_plugin(ses, defaults[i], NULL);
        if (rc < 0 && !first_error)
            first_error = rc;
    }
    return first_error;
}

/* ---- files ---- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "dir/libfoo-bar.so.1" -> "sw_plugin_foo_bar_init". */
static void entry_name(const char *path, char *out, size_t out_len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncmp(base, "lib", 3) == 0 && base[3] && base[3] != '.')
        base += 3;
    char name[128];
    size_t n = 0;
    for (const char *c = base; *c && *c != '.' && n + 1 < sizeof name; c++)
        name[n++] = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : '_';
    name[n] = '\0';
    snprintf(out, out_len, "sw_plugin_%s_init", name);
}

/* A bare name is looked up in plugin_search_path as NAME, NAME.so and
 * libNAME.so; *found_out is malloc'd. */
static int find_in_path(sw_session *ses, const char *name, char **found_out)
{
    sw_settings *s;
    int rc = sw_session_get_settings(ses, &s);
    if (rc < 0)
        return rc;
    const char *search = NULL;
    sw_settings_get_str(s, SW_SET_PLUGIN_SEARCH_PATH, &search);
    char *dirs = strdup(search ? search : "");
    sw_settings_free(s);
    if (!dirs)
        return SW_ERR_NOMEM;
    static const char *const forms[] = {"%s/%s", "%s/%s.so", "%s/lib%s.so"};
    rc = SW_ERR_NOT_FOUND;
    char *save = NULL;
    for (char *dir = strtok_r(dirs, ":", &save); dir && rc == SW_ERR_NOT_FOUND;
         dir = strtok_r(NULL, ":", &save)) {
        for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
            size_t len = strlen(dir) + strlen(name) + 8;
            char *cand = malloc(len);
            if (!cand) {
                rc = SW_ERR_NOMEM;
                break;
            }
            snprintf(cand, len, forms[k], dir, name);
            if (access(cand, R_OK) == 0) {
                *found_out = cand;
                rc = 0;
                break;
            }
            free(cand);
        }
    }
    free(dirs);
    return rc;
}

/* ---- Lua scripts ---- */

/* The largest script accepted (a plugin, not a data file). */
#define SW_LUA_PLUGIN_MAX_SOURCE (4 << 20)

static int read_script(const char *path, char **buf_out, size_t *len_out, sw_error_detail *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, SW_ERR_PLUGIN_OPEN, "cannot open %s: %s", path, strerror(errno));
        return SW_ERR_PLUGIN_OPEN;
    }
    char *buf = malloc(SW_LUA_PLUGIN_MAX_SOURCE + 1);
    if (!buf) {
        fclose(f);
        return SW_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, SW_LUA_PLUGIN_MAX_SOURCE + 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed || n > SW_LUA_PLUGIN_MAX_SOURCE) {
        set_err(err, SW_ERR_PLUGIN_OPEN, "cannot read %s: %s", path,
                failed ? "read error" : "larger than 4 MiB");
        free(buf);
        return SW_ERR_PLUGIN_OPEN;
    }
    *buf_out = buf;
    *len_out = n;
    return 0;
}

/* The adapter module: in the plugin_search_path folders, else where it was
 * installed, else in the build tree (both paths come from the scripting
 * build; a build without it has neither). *found_out is malloc'd. */
static int find_lua_adapter(sw_session *ses, char **found_out)
{
    if (find_in_path(ses, SW_LUA_PLUGIN_MODULE, found_out) == 0)
        return 0;
    static const char *const fixed[] = {
#ifdef SW_LUA_PLUGIN_INSTALL_PATH
        SW_LUA_PLUGIN_INSTALL_PATH,
#endif
#ifdef SW_LUA_PLUGIN_BUILD_PATH
        SW_LUA_PLUGIN_BUILD_PATH,
#endif
        NULL};
    for (size_t i = 0; fixed[i]; i++) {
        if (access(fixed[i], R_OK) == 0) {
            *found_out = strdup(fixed[i]);
            return *found_out ? 0 : SW_ERR_NOMEM;
        }
    }
    return SW_ERR_NOT_FOUND;
}

static int load_lua(sw_session *ses, const char *path, sw_error_detail *err)
{
    sw_lua_plugin_params params = {.struct_size = sizeof params, .path = path};
    sw_settings *s;
    int rc = sw_session_get_settings(ses, &s);
    if (rc < 0)
        return rc;
    int ilimit = 0, mlimit = 0;
    bool sandbox = true;
    sw_settings_get_int(s, SW_SET_LUA_INSTRUCTION_LIMIT, &ilimit);
    sw_settings_get_int(s, SW_SET_LUA_MEMORY_LIMIT, &mlimit);
    sw_settings_get_bool(s, SW_SET_LUA_PLUGIN_SANDBOX, &sandbox);
    sw_settings_free(s);
    params.instruction_limit = ilimit > 0 ? ilimit : 0;
    params.memory_limit = mlimit > 0 ? mlimit : 0;
    params.sandbox = sandbox;

    char *adapter = NULL;
    rc = find_lua_adapter(ses, &adapter);
    if (rc < 0) {
        set_err(err, SW_ERR_NOT_SUPPORTED,
                "%s: no Lua plugin adapter (%s) in the plugin_search_path folders or where it "
                "was installed",
                path, SW_LUA_PLUGIN_MODULE);
        return SW_ERR_NOT_SUPPORTED;
    }
    char *source = NULL;
    rc = read_script(path, &source, &params.source_len, err);
    if (rc < 0) {
        free(adapter);
        return rc;
    }
    params.source = source;
    dlerror();
    void *module = dlopen(adapter, RTLD_NOW | RTLD_LOCAL);
    void *sym = module ? dlsym(module, SW_LUA_PLUGIN_ENTRY) : NULL;
    if (!sym) {
        const char *why = dlerror();
        set_err(err, module ? SW_ERR_PLUGIN_NO_ENTRY : SW_ERR_PLUGIN_OPEN,
                "cannot use the Lua plugin adapter %s: %s", adapter, why ? why : "?");
        rc = module ? SW_ERR_PLUGIN_NO_ENTRY : SW_ERR_PLUGIN_OPEN;
        if (module)
            dlclose(module);
        free(adapter);
        free(source);
        return rc;
    }
    free(adapter);
    register_arg a = {.path = path, .module = module, .lua_params = &params};
    memcpy(&a.lua_init, &sym, sizeof a.lua_init); /* see sw_session_load_plugin */
    rc = run_register(ses, &a, err);
    free(source);
    return rc;
}

int sw_session_load_plugin(sw_session *ses, const char *path, sw_error_detail *err_out)
{
    if (!ses || !path || !*path) {
        set_err(err_out, SW_ERR_INVALID_ARG, "no plugin path%s%s", "", NULL);
        return SW_ERR_INVALID_ARG;
    }
    char *found = NULL;
    if (!strchr(path, '/')) {
        int rc = find_in_path(ses, path, &found);
        /* A script is a plain file: a bare name may also be in the
         * current folder (a module's bare name would mean dlopen's own
         * search, hence the rule for those). */
        if (rc < 0 && !(rc == SW_ERR_NOT_FOUND && ends_with(path, ".lua"))) {
            set_err(err_out, rc, "%s: not found in the plugin_search_path folders%s", path, NULL);
            return rc;
        }
        if (found)
            path = found;
    }
    if (ends_with(path, ".lua")) {
        int rc = load_lua(ses, path, err_out);
        free(found);
        return rc;
    }
    dlerror();
    void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!module) {
        const char *why = dlerror();
        set_err(err_out, SW_ERR_PLUGIN_OPEN, "cannot open %s: %s", path, why ? why : "?");
        free(found);
        return SW_ERR_PLUGIN_OPEN;
    }
    char entry[160];
    entry_name(path, entry, sizeof entry);
    void *sym = dlsym(module, entry);
    if (!sym)
        sym = dlsym(module, "sw_plugin_init");
    if (!sym) {
        set_err(err_out, SW_ERR_PLUGIN_NO_ENTRY, "%s: no entry point (%s or sw_plugin_init)", path,
                entry);
        dlclose(module);
        free(found);
        return SW_ERR_PLUGIN_NO_ENTRY;
    }
    sw_plugin_init_fn init;
    /* POSIX guarantees a data pointer from dlsym converts to a function
     * pointer; memcpy keeps ISO C compilers quiet about it. */
    memcpy(&init, &sym, sizeof init);
    int rc = register_on_loop(ses, init, path, module, err_out);
    free(found);
    return rc;
}

/* ---- listing ---- */

static int names_fn(sw_session *ses, void *arg)
{
    char **out = arg;
    sw_plugin_registry *reg = ses->plugins;
    size_t len = 1;
    for (int i = 0; reg && i < reg->count; i++)
        if (!reg->slots[i]->disabled)
            len += strlen(reg->slots[i]->name) + 1;
    char *s = malloc(len);
    if (!s)
        return SW_ERR_NOMEM;
    s[0] = '\0';
    for (int i = 0; reg && i < reg->count; i++) {
        if (reg->slots[i]->disabled)
            continue;
        if (s[0])
            strcat(s, ",");
        strcat(s, reg->slots[i]->name);
    }
    *out = s;
    return 0;
}

int sw_session_plugin_names(sw_session *ses, char **names_out)
{
    if (!ses || !names_out)
        return SW_ERR_INVALID_ARG;
    return sw__session_run(ses, names_fn, names_out);
}
