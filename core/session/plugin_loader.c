/* Adding plugins to a session: from a descriptor compiled into the program,
 * from the built-in registry, or from a file (a shared object found directly
 * or through the plugin_search_path setting; Lua files are refused until
 * scripting is built in). The module is opened on the caller's thread; its
 * entry point runs on the network thread. */
#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin_int.h"

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
} register_arg;

static int register_fn(sw_session *ses, void *arg)
{
    register_arg *a = arg;
    a->ran = true;
    return sw__plugin_register(ses, a->init, a->path, a->module, a->msg, sizeof a->msg);
}

/* Runs the registration on the network thread; the module is the
 * registry's from here on (closed on failure). */
static int register_on_loop(sw_session *ses, sw_plugin_init_fn init, const char *path, void *module,
                            sw_error_detail *err)
{
    register_arg a = {.init = init, .path = path, .module = module};
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

int sw_session_load_plugin(sw_session *ses, const char *path, sw_error_detail *err_out)
{
    if (!ses || !path || !*path) {
        set_err(err_out, SW_ERR_INVALID_ARG, "no plugin path%s%s", "", NULL);
        return SW_ERR_INVALID_ARG;
    }
    if (ends_with(path, ".lua")) {
        set_err(err_out, SW_ERR_NOT_SUPPORTED,
                "%s: Lua plugins are not supported yet (this build has no Lua plugin "
                "adapter)%s",
                path, NULL);
        return SW_ERR_NOT_SUPPORTED;
    }
    char *found = NULL;
    if (!strchr(path, '/')) {
        int rc = find_in_path(ses, path, &found);
        if (rc < 0) {
            set_err(err_out, rc, "%s: not found in the plugin_search_path folders%s", path, NULL);
            return rc;
        }
        path = found;
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
