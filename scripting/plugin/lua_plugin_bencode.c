/* Bencoding between Lua values and the host's bencode functions: decoded
 * nodes become tables (dictionaries with string keys, lists as sequences),
 * integers and strings; Lua values encode back the same way (a table whose
 * keys are exactly 1..n is a list, any other table a dictionary with
 * string keys, sorted by the encoder; booleans encode as 0 and 1). Depth is limited both ways. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_plugin.h"

#define LP_MAX_DEPTH 64

void lp_push_bnode(lua_State *L, sw_bnode n, int depth)
{
    luaL_checkstack(L, 4, "bencoded value too deep");
    if (depth > LP_MAX_DEPTH) {
        lua_pushnil(L);
        return;
    }
    switch (sw_bnode_type_of(n)) {
    case SW_BNODE_INT:
        lua_pushinteger(L, (lua_Integer)sw_bnode_int(n));
        return;
    case SW_BNODE_STR: {
        size_t len = 0;
        const char *s = sw_bnode_str(n, &len);
        lua_pushlstring(L, s ? s : "", s ? len : 0);
        return;
    }
    case SW_BNODE_LIST: {
        size_t count = sw_bnode_len(n);
        lua_createtable(L, count < 1024 ? (int)count : 1024, 0);
        for (size_t i = 0; i < count; i++) {
            lp_push_bnode(L, sw_bnode_list_at(n, i), depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        return;
    }
    case SW_BNODE_DICT: {
        size_t count = sw_bnode_len(n);
        lua_createtable(L, 0, count < 1024 ? (int)count : 1024);
        for (size_t i = 0; i < count; i++) {
            sw_bnode k, v;
            if (!sw_bnode_dict_at(n, i, &k, &v))
                break;
            size_t klen = 0;
            const char *ks = sw_bnode_str(k, &klen);
            if (!ks)
                continue;
            lua_pushlstring(L, ks, klen);
            lp_push_bnode(L, v, depth + 1);
            lua_rawset(L, -3);
        }
        return;
    }
    default:
        lua_pushnil(L);
        return;
    }
}

/* ---- encoding ---- */

static int fail(lua_State *L, const char *msg)
{
    lua_pushstring(L, msg);
    return SW_ERR_INVALID_ARG;
}

/* Whether the table at idx is a sequence 1..n (n >= 1). */
static bool is_list(lua_State *L, int idx)
{
    lua_Unsigned n = lua_rawlen(L, idx);
    if (n == 0)
        return false;
    lua_Unsigned count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return false;
        }
        count++;
    }
    return count == n;
}

int lp_encode_dict_items(lua_State *L, int idx, sw_bencoder *enc, int depth)
{
    if (depth > LP_MAX_DEPTH)
        return fail(L, "value too deep to bencode");
    idx = lua_absindex(L, idx);
    /* The encoder sorts each dictionary as it closes it. */
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return fail(L, "dictionary keys must be strings");
        }
        size_t klen;
        const char *k = lua_tolstring(L, -2, &klen);
        if (sw_benc_key(enc, k, klen) < 0) {
            lua_pop(L, 2);
            return fail(L, "bencoding failed");
        }
        int rc = lp_encode_value(L, -1, enc, depth + 1);
        if (rc < 0) {
            lua_replace(L, -3); /* keep the message, drop key and value */
            lua_pop(L, 1);
            return rc;
        }
        lua_pop(L, 1);
    }
    return 0;
}

int lp_encode_value(lua_State *L, int idx, sw_bencoder *enc, int depth)
{
    if (depth > LP_MAX_DEPTH)
        return fail(L, "value too deep to bencode");
    if (!lua_checkstack(L, 8))
        return fail(L, "value too deep to bencode");
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (!lua_isinteger(L, idx))
            return fail(L, "bencoding has integers only");
        return sw_benc_int(enc, (int64_t)lua_tointeger(L, idx)) < 0 ? fail(L, "bencoding failed")
                                                                    : 0;
    case LUA_TBOOLEAN:
        return sw_benc_int(enc, lua_toboolean(L, idx)) < 0 ? fail(L, "bencoding failed") : 0;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        return sw_benc_str(enc, s, len) < 0 ? fail(L, "bencoding failed") : 0;
    }
    case LUA_TTABLE:
        if (is_list(L, idx)) {
            if (sw_benc_list_begin(enc) < 0)
                return fail(L, "bencoding failed");
            lua_Unsigned n = lua_rawlen(L, idx);
            for (lua_Unsigned i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, (lua_Integer)i);
                int rc = lp_encode_value(L, -1, enc, depth + 1);
                if (rc < 0) {
                    lua_remove(L, -2); /* keep the message, drop the item */
                    return rc;
                }
                lua_pop(L, 1);
            }
        } else {
            if (sw_benc_dict_begin(enc) < 0)
                return fail(L, "bencoding failed");
            int rc = lp_encode_dict_items(L, idx, enc, depth);
            if (rc < 0)
                return rc;
        }
        return sw_benc_end(enc) < 0 ? fail(L, "bencoding failed") : 0;
    default:
        lua_pushfstring(L, "cannot bencode a %s", luaL_typename(L, idx));
        return SW_ERR_INVALID_ARG;
    }
}

/* A guard userdata whose finalizer frees an encoder or a document, so an
 * error (out of memory) unwinding past sw.bencode / sw.bdecode leaks
 * nothing. */
typedef struct guard {
    sw_bencoder *enc;
    sw_bdoc *doc;
    uint8_t *buf;
} guard;

static void guard_gc_fields(guard *g)
{
    if (g->enc)
        sw_benc_free(g->enc);
    if (g->doc)
        sw_bdoc_free(g->doc);
    if (g->buf)
        sw_plugin_free(g->buf);
    g->enc = NULL;
    g->doc = NULL;
    g->buf = NULL;
}

static int guard_gc(lua_State *L)
{
    guard_gc_fields(lua_touserdata(L, 1));
    return 0;
}

static guard *push_guard(lua_State *L)
{
    guard *g = lua_newuserdatauv(L, sizeof *g, 0);
    g->enc = NULL;
    g->doc = NULL;
    g->buf = NULL;
    if (luaL_newmetatable(L, "cswarm.guard")) {
        lua_pushcfunction(L, guard_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return g;
}

/* sw.bencode(value) -> string. */
int lp_lua_bencode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    guard *g = push_guard(L);
    if (sw_benc_new(&g->enc) < 0)
        return luaL_error(L, "out of memory");
    if (lp_encode_value(L, 1, g->enc, 0) < 0)
        return lua_error(L);
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = sw_benc_finish(g->enc, &buf, &len);
    if (rc < 0)
        return luaL_error(L, "bencoding failed: %s", sw_strerror(rc));
    g->buf = buf;
    lua_pushlstring(L, (const char *)buf, len);
    guard_gc_fields(g);
    return 1;
}

/* sw.bdecode(string) -> value, or nil and a message. */
int lp_lua_bdecode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_settop(L, 1);
    guard *g = push_guard(L);
    sw_bdecode_error err;
    memset(&err, 0, sizeof err);
    int rc = sw_bdecode(s, len, NULL, &g->doc, &err);
    if (rc < 0) {
        lua_pushnil(L);
        lua_pushstring(L, sw_strerror(rc));
        return 2;
    }
    lp_push_bnode(L, sw_bdoc_root(g->doc), 0);
    guard_gc_fields(g);
    return 1;
}
