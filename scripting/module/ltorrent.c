/* Torrent handles in Lua: a weak id plus a reference to the session object
 * (which keeps that object, not the torrent, alive). Every method asks the
 * engine, so a removed torrent's handle raises "invalid or expired handle"
 * rather than touching freed memory. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "module_int.h"

void sw__lua_push_torrent(lua_State *L, int ses_idx, uint64_t id)
{
    ses_idx = lua_absindex(L, ses_idx);
    sw_lua_session *ls = sw__lua_to_session(L, ses_idx);
    sw_lua_torrent *t = lua_newuserdatauv(L, sizeof *t, 1);
    t->h.session = ls->ses;
    t->h.id = id;
    luaL_setmetatable(L, SW_LUA_TORRENT_MT);
    lua_pushvalue(L, ses_idx);
    lua_setiuservalue(L, -2, 1);
}

static sw_lua_torrent *to_torrent(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, SW_LUA_TORRENT_MT);
}

sw_torrent_handle sw__lua_check_torrent(lua_State *L, int idx)
{
    sw_lua_torrent *t = to_torrent(L, idx);
    lua_getiuservalue(L, idx, 1);
    sw_lua_session *ls = sw__lua_to_session(L, -1);
    lua_pop(L, 1);
    if (!ls->ses)
        luaL_error(L, "torrent handle of a closed session");
    return t->h;
}

static int check(lua_State *L, int rc)
{
    if (rc < 0)
        return luaL_error(L, "%s", sw_strerror(rc));
    return 0;
}

#define SETI(key, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, key))
#define SETB(key, v) (lua_pushboolean(L, (v)), lua_setfield(L, -2, key))
#define SETS(key, v) (lua_pushstring(L, (v)), lua_setfield(L, -2, key))
#define SETN(key, v) (lua_pushnumber(L, (lua_Number)(v)), lua_setfield(L, -2, key))

void sw__lua_push_torrent_status(lua_State *L, const sw_torrent_status *st)
{
    char hex[2 * SW_SHA1_LEN + 1];
    sw_hex_encode(st->info_hash.v, SW_SHA1_LEN, hex);
    lua_createtable(L, 0, 64);
    SETS("info_hash", hex);
    SETI("id", st->handle.id); /* as t:id(); state_update entries also have `torrent` */
    SETS("name", st->name);
    SETS("state", sw_torrent_state_name(st->state));
    SETB("paused", st->paused);
    SETB("auto_managed", st->auto_managed);
    SETB("sequential_download", st->sequential_download);
    SETB("upload_mode", st->upload_mode);
    SETB("seed_mode", st->seed_mode);
    SETB("share_mode", st->share_mode);
    SETB("super_seeding", st->super_seeding);
    SETB("is_finished", st->is_finished);
    SETB("is_seeding", st->is_seeding);
    SETB("has_metadata", st->has_metadata);
    SETB("need_save_resume", st->need_save_resume);
    SETB("has_incoming", st->has_incoming);
    if (st->error) {
        SETI("error", st->error);
        SETS("error_message", st->error_message[0] ? st->error_message : sw_strerror(st->error));
        SETI("error_file", st->error_file);
    }
    SETN("progress", st->progress);
    SETI("progress_ppm", st->progress_ppm);
    SETI("total_size", st->total_size);
    SETI("total_done", st->total_done);
    SETI("total_wanted", st->total_wanted);
    SETI("total_wanted_done", st->total_wanted_done);
    SETI("total_download", st->total_download);
    SETI("total_upload", st->total_upload);
    SETI("total_payload_download", st->total_payload_download);
    SETI("total_payload_upload", st->total_payload_upload);
    SETI("total_redundant_bytes", st->total_redundant_bytes);
    SETI("total_failed_bytes", st->total_failed_bytes);
    SETI("all_time_download", st->all_time_download);
    SETI("all_time_upload", st->all_time_upload);
    SETI("download_rate", st->download_rate);
    SETI("upload_rate", st->upload_rate);
    SETI("download_payload_rate", st->download_payload_rate);
    SETI("upload_payload_rate", st->upload_payload_rate);
    SETI("num_peers", st->num_peers);
    SETI("num_seeds", st->num_seeds);
    SETI("num_uploads", st->num_uploads);
    SETI("list_peers", st->list_peers);
    SETI("connect_candidates", st->connect_candidates);
    SETI("num_pieces", st->num_pieces);
    SETI("num_pieces_total", st->num_pieces_total);
    SETI("checking_progress_ppm", st->checking_progress_ppm);
    SETI("max_uploads", st->max_uploads);
    SETI("max_connections", st->max_connections);
    SETI("upload_limit", st->upload_limit);
    SETI("download_limit", st->download_limit);
    SETI("added_time", st->added_time);
    SETI("completed_time", st->completed_time);
    SETI("active_seconds", st->active_seconds);
    SETI("seeding_seconds", st->seeding_seconds);
    SETI("finished_seconds", st->finished_seconds);
    SETI("queue_position", st->queue_position);
    SETI("seed_rank", st->seed_rank);
}

static int t_status(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    sw_torrent_status st;
    check(L, sw_torrent_get_status(h, &st));
    sw__lua_push_torrent_status(L, &st);
    return 1;
}

static int t_is_valid(lua_State *L)
{
    sw_lua_torrent *t = to_torrent(L, 1);
    lua_getiuservalue(L, 1, 1);
    sw_lua_session *ls = sw__lua_to_session(L, -1);
    lua_pushboolean(L, ls->ses && sw_torrent_is_valid(t->h));
    return 1;
}

static int t_id(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)to_torrent(L, 1)->h.id);
    return 1;
}

static int t_session(lua_State *L)
{
    to_torrent(L, 1);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

/* Methods without arguments that return nothing. */
#define SIMPLE(name, call)                                                                         \
    static int name(lua_State *L)                                                                  \
    {                                                                                              \
        sw_torrent_handle h = sw__lua_check_torrent(L, 1);                                         \
        check(L, call(h));                                                                         \
        lua_settop(L, 1);                                                                          \
        return 1;                                                                                  \
    }
SIMPLE(t_pause, sw_torrent_pause)
SIMPLE(t_resume, sw_torrent_resume)
SIMPLE(t_force_recheck, sw_torrent_force_recheck)
SIMPLE(t_queue_position_up, sw_torrent_queue_position_up)
SIMPLE(t_queue_position_down, sw_torrent_queue_position_down)
SIMPLE(t_queue_position_top, sw_torrent_queue_position_top)
SIMPLE(t_queue_position_bottom, sw_torrent_queue_position_bottom)
#undef SIMPLE

/* Getters of one integer. */
#define GETTER(name, call)                                                                         \
    static int name(lua_State *L)                                                                  \
    {                                                                                              \
        sw_torrent_handle h = sw__lua_check_torrent(L, 1);                                         \
        int v = 0;                                                                                 \
        check(L, call(h, &v));                                                                     \
        lua_pushinteger(L, v);                                                                     \
        return 1;                                                                                  \
    }
GETTER(t_queue_position, sw_torrent_queue_position_get)
GETTER(t_upload_limit, sw_torrent_upload_limit)
GETTER(t_download_limit, sw_torrent_download_limit)
GETTER(t_max_uploads, sw_torrent_max_uploads)
GETTER(t_max_connections, sw_torrent_max_connections)
#undef GETTER

/* Switches taking one boolean. */
#define SWITCH(name, call)                                                                         \
    static int name(lua_State *L)                                                                  \
    {                                                                                              \
        sw_torrent_handle h = sw__lua_check_torrent(L, 1);                                         \
        luaL_checktype(L, 2, LUA_TBOOLEAN);                                                        \
        check(L, call(h, lua_toboolean(L, 2)));                                                    \
        lua_settop(L, 1);                                                                          \
        return 1;                                                                                  \
    }
SWITCH(t_set_auto_managed, sw_torrent_auto_managed)
#undef SWITCH

static int t_scrape_tracker(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    check(L, sw_torrent_scrape_tracker(h, (int)luaL_optinteger(L, 2, -1)));
    lua_settop(L, 1);
    return 1;
}

/* Setters taking one integer. */
#define SETTER(name, call)                                                                         \
    static int name(lua_State *L)                                                                  \
    {                                                                                              \
        sw_torrent_handle h = sw__lua_check_torrent(L, 1);                                         \
        lua_Integer v = luaL_checkinteger(L, 2);                                                   \
        luaL_argcheck(L, v >= -1 && v <= 2147483647, 2, "out of range");                           \
        check(L, call(h, (int)v));                                                                 \
        lua_settop(L, 1);                                                                          \
        return 1;                                                                                  \
    }
SETTER(t_set_upload_limit, sw_torrent_set_upload_limit)
SETTER(t_set_download_limit, sw_torrent_set_download_limit)
SETTER(t_set_max_uploads, sw_torrent_set_max_uploads)
SETTER(t_set_max_connections, sw_torrent_set_max_connections)
#undef SETTER

static int t_set_sequential_download(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    check(L, sw_torrent_set_sequential_download(h, lua_toboolean(L, 2)));
    lua_settop(L, 1);
    return 1;
}

static int t_set_upload_mode(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    check(L, sw_torrent_set_upload_mode(h, lua_toboolean(L, 2)));
    lua_settop(L, 1);
    return 1;
}

static int t_super_seeding(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    check(L, sw_torrent_super_seeding(h, lua_toboolean(L, 2)));
    lua_settop(L, 1);
    return 1;
}

static int t_set_share_mode(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    check(L, sw_torrent_set_share_mode(h, lua_toboolean(L, 2)));
    lua_settop(L, 1);
    return 1;
}

static int t_save_resume_data(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    check(L, sw_torrent_save_resume_data(h, 0));
    lua_settop(L, 1);
    return 1;
}

static int t_save_path(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    char *path = NULL;
    check(L, sw_torrent_get_save_path(h, &path));
    lua_pushstring(L, path);
    free(path);
    return 1;
}

bool sw__lua_parse_peer(const char *text, char ip[64], uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    if (!colon)
        return false;
    const char *start = text, *end = colon;
    if (text[0] == '[' && colon > text && colon[-1] == ']') {
        start = text + 1;
        end = colon - 1;
    }
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= 64)
        return false;
    memcpy(ip, start, n);
    ip[n] = '\0';
    unsigned char addr[16];
    if (inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1)
        return false;
    char *e;
    long p = strtol(colon + 1, &e, 10);
    if (colon[1] == '\0' || *e || p <= 0 || p > 65535)
        return false;
    *port = (uint16_t)p;
    return true;
}

/* "ip:port", "[v6]:port", or ip and port as two arguments; numeric
 * addresses only. */
static int t_connect_peer(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    const char *text = luaL_checkstring(L, 2);
    char ip[64];
    uint16_t port = 0;
    if (lua_isnoneornil(L, 3)) {
        if (!sw__lua_parse_peer(text, ip, &port))
            return luaL_argerror(L, 2, "expected \"ip:port\" with a numeric address");
    } else {
        lua_Integer p = luaL_checkinteger(L, 3);
        luaL_argcheck(L, p > 0 && p <= 65535, 3, "port out of range");
        snprintf(ip, sizeof ip, "%s", text);
        port = (uint16_t)p;
    }
    check(L, sw_torrent_connect_peer(h, ip, port));
    lua_settop(L, 1);
    return 1;
}

static int t_peers(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    sw_peer_info *peers = NULL;
    size_t n = 0;
    check(L, sw_torrent_get_peer_info(h, &peers, &n));
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        const sw_peer_info *p = &peers[i];
        lua_createtable(L, 0, 12);
        SETS("ip", p->ip);
        SETI("port", p->port);
        SETS("client", p->client);
        SETI("flags", p->flags);
        SETI("source", p->source);
        SETB("seed", (p->flags & SW_PEER_SEED) != 0);
        SETI("download_rate", p->download_rate);
        SETI("upload_rate", p->upload_rate);
        SETI("total_download", p->total_download);
        SETI("total_upload", p->total_upload);
        SETN("progress", p->progress);
        SETI("num_pieces", p->num_pieces);
        char id_hex[41];
        sw_hex_encode(p->peer_id, sizeof p->peer_id, id_hex);
        SETS("peer_id", id_hex);
        SETS("connection_type", p->connection_type == SW_SOCKET_UTP ? "utp" : "tcp");
        SETI("download_queue_length", p->download_queue_length);
        SETI("upload_queue_length", p->upload_queue_length);
        SETI("target_queue", p->target_queue);
        SETI("connected_seconds", p->connected_seconds);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free(peers);
    return 1;
}

static int t_file_progress(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    int64_t *bytes = NULL;
    size_t n = 0;
    check(L, sw_torrent_get_file_progress(h, &bytes, &n));
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushinteger(L, bytes[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free(bytes);
    return 1;
}

static int t_file_priorities(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    if (lua_isnoneornil(L, 2)) {
        uint8_t *prio = NULL;
        size_t n = 0;
        check(L, sw_torrent_get_file_priorities(h, &prio, &n));
        lua_createtable(L, (int)n, 0);
        for (size_t i = 0; i < n; i++) {
            lua_pushinteger(L, prio[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        free(prio);
        return 1;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 2);
    luaL_argcheck(L, n >= 0 && n < 1000000, 2, "too many entries");
    uint8_t *prio = lua_newuserdatauv(L, (size_t)n + 1, 0); /* freed by the GC, even on error */
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 2, i);
        lua_Integer v = luaL_checkinteger(L, -1);
        luaL_argcheck(L, v >= 0 && v <= 7, 2, "priorities are 0 to 7");
        prio[i - 1] = (uint8_t)v;
        lua_pop(L, 1);
    }
    check(L, sw_torrent_prioritize_files(h, prio, (size_t)n));
    lua_settop(L, 1);
    return 1;
}

static int t_move_storage(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    check(L, sw_torrent_move_storage(h, luaL_checkstring(L, 2), (int)luaL_optinteger(L, 3, 0)));
    lua_settop(L, 1);
    return 1;
}

static int t_add_tracker(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    check(L, sw_torrent_add_tracker(h, luaL_checkstring(L, 2), (int)luaL_optinteger(L, 3, 0)));
    lua_settop(L, 1);
    return 1;
}

static int t_force_reannounce(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    check(L, sw_torrent_force_reannounce(h, (int)luaL_optinteger(L, 2, -1)));
    lua_settop(L, 1);
    return 1;
}

static int t_trackers(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    sw_tracker_status *tr = NULL;
    size_t n = 0;
    check(L, sw_torrent_get_trackers(h, &tr, &n));
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 8);
        SETS("url", tr[i].url);
        SETI("tier", tr[i].tier);
        SETB("verified", tr[i].verified);
        SETB("updating", tr[i].updating);
        SETI("fails", tr[i].fails);
        if (tr[i].message)
            SETS("message", tr[i].message);
        SETI("complete", tr[i].complete);
        SETI("incomplete", tr[i].incomplete);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free(tr);
    return 1;
}

/* Facts from the metainfo (nil while a magnet link waits for it). */
static int t_torrent_file(lua_State *L)
{
    sw_torrent_handle h = sw__lua_check_torrent(L, 1);
    sw_torrent_info *ti = NULL;
    int rc = sw_torrent_get_info(h, &ti);
    if (rc < 0 || !ti) {
        if (rc == SW_ERR_INVALID_HANDLE)
            check(L, rc);
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 6);
    char hex[2 * SW_SHA1_LEN + 1];
    sw_hex_encode(sw_torrent_info_hashes(ti)->v1.v, SW_SHA1_LEN, hex);
    SETS("info_hash", hex);
    SETS("name", sw_torrent_info_name(ti));
    SETI("total_size", sw_torrent_info_total_size(ti));
    SETI("piece_length", sw_torrent_info_piece_length(ti));
    SETI("num_pieces", sw_torrent_info_num_pieces(ti));
    int nf = sw_torrent_info_num_files(ti);
    lua_createtable(L, nf, 0);
    for (int i = 0; i < nf; i++) {
        const sw_file_entry *fe = sw_torrent_info_file(ti, i);
        lua_createtable(L, 0, 2);
        SETS("path", fe->path);
        SETI("size", fe->size);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "files");
    sw_torrent_info_unref(ti);
    return 1;
}

static int t_eq(lua_State *L)
{
    sw_lua_torrent *a = luaL_testudata(L, 1, SW_LUA_TORRENT_MT);
    sw_lua_torrent *b = luaL_testudata(L, 2, SW_LUA_TORRENT_MT);
    lua_pushboolean(L, a && b && a->h.session == b->h.session && a->h.id == b->h.id);
    return 1;
}

static int t_tostring(lua_State *L)
{
    lua_pushfstring(L, "cswarm.torrent(%I)", (lua_Integer)to_torrent(L, 1)->h.id);
    return 1;
}

static const luaL_Reg methods[] = {
    {"status", t_status},
    {"is_valid", t_is_valid},
    {"id", t_id},
    {"session", t_session},
    {"pause", t_pause},
    {"resume", t_resume},
    {"force_recheck", t_force_recheck},
    {"save_resume_data", t_save_resume_data},
    {"set_upload_limit", t_set_upload_limit},
    {"set_download_limit", t_set_download_limit},
    {"set_max_uploads", t_set_max_uploads},
    {"set_max_connections", t_set_max_connections},
    {"set_sequential_download", t_set_sequential_download},
    {"set_upload_mode", t_set_upload_mode},
    {"upload_limit", t_upload_limit},
    {"download_limit", t_download_limit},
    {"max_uploads", t_max_uploads},
    {"max_connections", t_max_connections},
    {"queue_position", t_queue_position},
    {"queue_position_up", t_queue_position_up},
    {"queue_position_down", t_queue_position_down},
    {"queue_position_top", t_queue_position_top},
    {"queue_position_bottom", t_queue_position_bottom},
    {"set_auto_managed", t_set_auto_managed},
    {"scrape_tracker", t_scrape_tracker},
    {"super_seeding", t_super_seeding},
    {"set_share_mode", t_set_share_mode},
    {"save_path", t_save_path},
    {"connect_peer", t_connect_peer},
    {"peers", t_peers},
    {"file_progress", t_file_progress},
    {"file_priorities", t_file_priorities},
    {"move_storage", t_move_storage},
    {"add_tracker", t_add_tracker},
    {"force_reannounce", t_force_reannounce},
    {"trackers", t_trackers},
    {"torrent_file", t_torrent_file},
    {NULL, NULL},
};

void sw__lua_torrent_register(lua_State *L)
{
    if (luaL_newmetatable(L, SW_LUA_TORRENT_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, t_eq);
        lua_setfield(L, -2, "__eq");
        lua_pushcfunction(L, t_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
}
