/* The session's DHT in Lua: starting and stopping the node, nodes and
 * routers, BEP 44 items (results come as dht_* alerts, see lalert.c), the
 * routing table and running lookups. Keys and targets are hex strings, as
 * info-hashes are elsewhere in the module; item values are bencoded
 * strings. */
#include <stdlib.h>
#include <string.h>

#include "module_int.h"

static int s_start_dht(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    int rc = sw_session_start_dht(ls->ses);
    if (rc < 0)
        return sw__lua_push_failure(L, rc, NULL);
    lua_pushboolean(L, 1);
    return 1;
}

static int s_stop_dht(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    int rc = sw_session_stop_dht(ls->ses);
    if (rc < 0)
        return sw__lua_fail(L, rc, "stop_dht");
    return 0;
}

static int s_is_dht_running(lua_State *L)
{
    lua_pushboolean(L, sw_session_is_dht_running(sw__lua_check_session(L, 1)->ses));
    return 1;
}

/* "host:port", "[v6]:port" or host, port: a name or a numeric address. */
static void check_endpoint(lua_State *L, char host[256], int *port)
{
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    if (!lua_isnoneornil(L, 3)) {
        lua_Integer p = luaL_checkinteger(L, 3);
        luaL_argcheck(L, p > 0 && p <= 65535, 3, "port out of range");
        luaL_argcheck(L, len > 0 && len < 256, 2, "bad host");
        memcpy(host, text, len + 1);
        *port = (int)p;
        return;
    }
    const char *colon = strrchr(text, ':');
    const char *start = text, *end = colon;
    if (colon && text[0] == '[' && colon > text && colon[-1] == ']') {
        start = text + 1;
        end = colon - 1;
    }
    char *e = NULL;
    long p = colon ? strtol(colon + 1, &e, 10) : 0;
    if (!colon || end <= start || (size_t)(end - start) >= 256 || colon[1] == '\0' || *e ||
        p <= 0 || p > 65535)
        luaL_argerror(L, 2, "expected \"host:port\"");
    memcpy(host, start, (size_t)(end - start));
    host[end - start] = '\0';
    *port = (int)p;
}

static int add_endpoint(lua_State *L, int (*fn)(sw_session *, const char *, int), const char *what)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    char host[256];
    int port = 0;
    check_endpoint(L, host, &port);
    int rc = fn(ls->ses, host, port);
    if (rc < 0)
        return sw__lua_fail(L, rc, what);
    return 0;
}

static int s_add_dht_node(lua_State *L)
{
    return add_endpoint(L, sw_session_add_dht_node, "add_dht_node");
}

static int s_add_dht_router(lua_State *L)
{
    return add_endpoint(L, sw_session_add_dht_router, "add_dht_router");
}

/* n bytes from a string of 2n hex digits or of n raw bytes; raises
 * otherwise. */
static void check_bytes(lua_State *L, int idx, uint8_t *out, size_t n, const char *what)
{
    size_t len = 0;
    const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &len) : NULL;
    if (s && len == n)
        memcpy(out, s, n);
    else if (!s || len != 2 * n || !sw_hex_decode(s, len, out, n))
        luaL_error(L, "%s wants %d hex digits or %d bytes", what, (int)(2 * n), (int)n);
}

/* Private keys are not left on the stack (a plain memset before return
 * may be optimised away). */
static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

static int s_dht_put_immutable(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    size_t len;
    const char *value = luaL_checklstring(L, 2, &len);
    sw_sha1 target;
    int rc = sw_session_dht_put_immutable_item(ls->ses, value, len, &target);
    if (rc < 0)
        return sw__lua_push_failure(L, rc, NULL);
    char hex[2 * SW_SHA1_LEN + 1];
    sw_hex_encode(target.v, SW_SHA1_LEN, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int s_dht_get_immutable(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    sw_sha1 target;
    check_bytes(L, 2, target.v, SW_SHA1_LEN, "target");
    int rc = sw_session_dht_get_immutable_item(ls->ses, &target);
    if (rc < 0)
        return sw__lua_push_failure(L, rc, NULL);
    lua_pushboolean(L, 1);
    return 1;
}

/* ses:dht_scrape(info_hash) -> true; a dht_scrape alert follows (BEP 33). */
static int s_dht_scrape(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    sw_sha1 ih;
    check_bytes(L, 2, ih.v, SW_SHA1_LEN, "info_hash");
    int rc = sw_session_dht_scrape(ls->ses, &ih);
    if (rc < 0)
        return sw__lua_push_failure(L, rc, NULL);
    lua_pushboolean(L, 1);
    return 1;
}

static int s_dht_get_mutable(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    uint8_t pk[32];
    check_bytes(L, 2, pk, sizeof pk, "public key");
    size_t salt_len = 0;
    const char *salt = luaL_optlstring(L, 3, NULL, &salt_len);
    int rc = sw_session_dht_get_mutable_item(ls->ses, pk, salt, salt_len);
    if (rc < 0)
        return sw__lua_push_failure(L, rc, NULL);
    lua_pushboolean(L, 1);
    return 1;
}

/* ses:dht_put_mutable{ private_key =, value =, salt =, seq = } */
static int s_dht_put_mutable(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    sw_dht_mutable_put p;
    sw_dht_mutable_put_init(&p);
    lua_getfield(L, 2, "private_key"); /* 3 */
    check_bytes(L, 3, p.private_key, sizeof p.private_key, "private_key");
    if (lua_getfield(L, 2, "value") != LUA_TSTRING) /* 4 */
        return luaL_error(L, "dht_put_mutable: 'value' wants a bencoded string");
    p.value = lua_tolstring(L, 4, &p.value_len);
    if (lua_getfield(L, 2, "salt") != LUA_TNIL) { /* 5 */
        if (!lua_isstring(L, 5))
            return luaL_error(L, "dht_put_mutable: 'salt' wants a string");
        p.salt = lua_tolstring(L, 5, &p.salt_len);
    }
    if (lua_getfield(L, 2, "seq") != LUA_TNIL) { /* 6 */
        int ok = 0;
        p.seq = (int64_t)lua_tointegerx(L, 6, &ok);
        if (!ok)
            return luaL_error(L, "dht_put_mutable: 'seq' wants an integer");
    }
    int rc = sw_session_dht_put_mutable_item(ls->ses, &p);
    wipe(p.private_key, sizeof p.private_key);
    if (rc < 0)
        return sw__lua_push_failure(L, rc, NULL);
    lua_pushboolean(L, 1);
    return 1;
}

/* cswarm.dht_public_key(private_key): the hex public key of a 32-byte
 * Ed25519 seed (given as 64 hex digits or 32 bytes). */
static int l_dht_public_key(lua_State *L)
{
    uint8_t sk[32], pk[32];
    check_bytes(L, 1, sk, sizeof sk, "private key");
    int rc = sw_dht_public_key(sk, pk);
    wipe(sk, sizeof sk);
    if (rc < 0)
        return sw__lua_fail(L, rc, "dht_public_key");
    char hex[65];
    sw_hex_encode(pk, sizeof pk, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int s_dht_routing_table(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    sw_dht_routing_bucket *b = NULL;
    size_t n = 0;
    int rc = sw_session_dht_routing_table(ls->ses, &b, &n);
    if (rc < 0)
        return sw__lua_fail(L, rc, "dht_routing_table");
    /* Copied before anything that may raise, so b cannot leak. */
    sw_dht_routing_bucket *copy = lua_newuserdatauv(L, n * sizeof *b + 1, 0);
    if (n)
        memcpy(copy, b, n * sizeof *b);
    free(b);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, copy[i].num_nodes);
        lua_setfield(L, -2, "num_nodes");
        lua_pushinteger(L, copy[i].num_replacements);
        lua_setfield(L, -2, "num_replacements");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int s_dht_lookups(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    sw_dht_lookup *lk = NULL;
    size_t n = 0;
    int rc = sw_session_dht_lookups(ls->ses, &lk, &n);
    if (rc < 0)
        return sw__lua_fail(L, rc, "dht_lookups");
    sw_dht_lookup *copy = lua_newuserdatauv(L, n * sizeof *lk + 1, 0);
    if (n)
        memcpy(copy, lk, n * sizeof *lk);
    free(lk);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 7);
        lua_pushstring(L, copy[i].type ? copy[i].type : "");
        lua_setfield(L, -2, "type");
        lua_pushinteger(L, copy[i].outstanding_requests);
        lua_setfield(L, -2, "outstanding_requests");
        lua_pushinteger(L, copy[i].timeouts);
        lua_setfield(L, -2, "timeouts");
        lua_pushinteger(L, copy[i].responses);
        lua_setfield(L, -2, "responses");
        lua_pushinteger(L, copy[i].branch_factor);
        lua_setfield(L, -2, "branch_factor");
        lua_pushinteger(L, copy[i].nodes_left);
        lua_setfield(L, -2, "nodes_left");
        lua_pushinteger(L, copy[i].first_timeout);
        lua_setfield(L, -2, "first_timeout");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

const luaL_Reg sw__lua_session_dht_methods[] = {
    {"start_dht", s_start_dht},
    {"stop_dht", s_stop_dht},
    {"is_dht_running", s_is_dht_running},
    {"add_dht_node", s_add_dht_node},
    {"add_dht_router", s_add_dht_router},
    {"dht_put_immutable", s_dht_put_immutable},
    {"dht_get_immutable", s_dht_get_immutable},
    {"dht_put_mutable", s_dht_put_mutable},
    {"dht_get_mutable", s_dht_get_mutable},
    {"dht_scrape", s_dht_scrape},
    {"dht_routing_table", s_dht_routing_table},
    {"dht_lookups", s_dht_lookups},
    {NULL, NULL},
};

void sw__lua_dht_register(lua_State *L)
{
    lua_pushcfunction(L, l_dht_public_key);
    lua_setfield(L, -2, "dht_public_key");
}
