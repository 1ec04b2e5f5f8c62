/* ut_metadata (BEP 9): serves a torrent's info dictionary to peers in 16 KiB
 * pieces, and fetches it for a torrent added from a magnet link.
 *
 * Fetching: the size comes from a peer's extension handshake
 * ("metadata_size", at most the max_metadata_size setting); pieces are
 * requested from every peer that speaks ut_metadata (a few at a time each,
 * re-requested elsewhere after a timeout or a reject) and checked for the
 * exact length. The assembled dictionary goes to the engine, which checks it
 * against the info-hash; if it does not match, the fetch starts over: a
 * peer that sent every piece of the bad dictionary is never asked again,
 * and when several peers took part, the next attempts take every piece from
 * a single peer (the one with the fewest failed attempts), so the culprit is
 * found.
 *
 * Serving: a request is answered with the piece, or rejected when we have no
 * metadata, the piece does not exist, or the peer asked for too much
 * (flood protection). Nothing is exchanged for private torrents. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/plugin.h>

#include "ut_metadata_msg.h"

SW_PLUGIN_INIT1

#define UT_BLOCK UT_METADATA_PIECE
#define UT_MAX_OUTSTANDING 4        /* requests in flight per peer */
#define UT_REQUEST_TIMEOUT_MS 15000 /* a request unanswered this long goes elsewhere */
#define UT_REJECT_BACKOFF_MS 10000  /* a peer that rejected is left alone this long */
#define UT_SERVE_FACTOR 4           /* each piece at most this many times per peer... */
#define UT_SERVE_EXTRA 16           /* ...plus this many */

enum {
    MSG_REQUEST = UT_METADATA_REQUEST,
    MSG_DATA = UT_METADATA_DATA,
    MSG_REJECT = UT_METADATA_REJECT
};

typedef struct ut_session {
    sw_plugin_session *s;
    uint8_t our_id; /* the id peers use to send us ut_metadata messages */
} ut_session;

typedef struct ut_peer ut_peer;

typedef struct ut_blame {
    /* Keys (address hashes) of peers that sent metadata failing the hash. */
    uint64_t bad[32];
    int num_bad;
    /* Peers that took part in a failed attempt with others, and how often. */
    uint64_t strike_keys[32];
    int strikes[32];
    int num_strikes;
} ut_blame;

typedef struct ut_torrent {
    ut_session *us;
    sw_plugin_torrent *t;
    ut_peer *peers; /* attached connections */
    /* fetching (no metadata yet) */
    int64_t size; /* 0: unknown */
    uint8_t *buf;
    int npieces;
    int received;
    uint8_t *got;          /* per piece: received */
    ut_peer **asked;       /* per piece: who was asked (NULL if nobody) */
    uint64_t *asked_at;    /* per piece: when */
    ut_peer **sent_by;     /* per piece: who sent it */
    uint64_t *sender_keys; /* per piece: the sender's key, to mark it bad later */
    /* Who sent metadata that failed its hash; made on the first failure
     * (most torrents never see one, and a session may hold many). */
    struct ut_blame *blame;
    bool single_source; /* after a shared failure: one peer at a time */
    ut_peer *source;
} ut_torrent;

struct ut_peer {
    ut_torrent *ut;
    sw_plugin_peer *p;
    ut_peer *next;
    uint64_t key;      /* hash of its address */
    uint8_t remote_id; /* its id for ut_metadata; 0 if it does not speak it */
    int64_t size;      /* its metadata_size, 0 if not given */
    int outstanding;
    int served;
    uint64_t quiet_until;
};

/* ---- helpers ---- */

static uint64_t peer_key(sw_plugin_peer *p)
{
    sw_plugin_endpoint ep;
    sw_plugin_peer_endpoint(p, &ep);
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ ep.addr[i]) * 1099511628211ull;
    h = (h ^ ep.family) * 1099511628211ull;
    return (h ^ ep.port) * 1099511628211ull;
}

static bool is_bad(const ut_torrent *ut, uint64_t key)
{
    const ut_blame *b = ut->blame;
    for (int i = 0; b && i < b->num_bad; i++)
        if (b->bad[i] == key)
            return true;
    return false;
}

/* NULL when out of memory: the failure then goes unrecorded. */
static ut_blame *blame_of(ut_torrent *ut)
{
    if (!ut->blame) {
        ut->blame = sw_plugin_malloc(sizeof *ut->blame);
        if (ut->blame)
            memset(ut->blame, 0, sizeof *ut->blame);
    }
    return ut->blame;
}

static void mark_bad(ut_torrent *ut, uint64_t key)
{
    if (is_bad(ut, key))
        return;
    ut_blame *b = blame_of(ut);
    if (b && b->num_bad < (int)(sizeof b->bad / sizeof b->bad[0]))
        b->bad[b->num_bad++] = key;
}

static int strikes_of(const ut_torrent *ut, uint64_t key)
{
    const ut_blame *b = ut->blame;
    for (int i = 0; b && i < b->num_strikes; i++)
        if (b->strike_keys[i] == key)
            return b->strikes[i];
    return 0;
}

static void strike(ut_torrent *ut, uint64_t key)
{
    ut_blame *b = blame_of(ut);
    if (!b)
        return;
    for (int i = 0; i < b->num_strikes; i++) {
        if (b->strike_keys[i] == key) {
            b->strikes[i]++;
            return;
        }
    }
    if (b->num_strikes < (int)(sizeof b->strikes / sizeof b->strikes[0])) {
        b->strike_keys[b->num_strikes] = key;
        b->strikes[b->num_strikes++] = 1;
    }
}

static int piece_len(int64_t size, int piece)
{
    return ut_metadata_piece_len(size, piece);
}

static void fetch_free(ut_torrent *ut)
{
    sw_plugin_free(ut->buf);
    sw_plugin_free(ut->got);
    sw_plugin_free(ut->asked);
    sw_plugin_free(ut->asked_at);
    sw_plugin_free(ut->sent_by);
    sw_plugin_free(ut->sender_keys);
    ut->buf = NULL;
    ut->got = NULL;
    ut->asked = NULL;
    ut->asked_at = NULL;
    ut->sent_by = NULL;
    ut->sender_keys = NULL;
    ut->size = 0;
    ut->npieces = 0;
    ut->received = 0;
    for (ut_peer *pp = ut->peers; pp; pp = pp->next)
        pp->outstanding = 0;
}

static int fetch_start(ut_torrent *ut, int64_t size)
{
    int n = (int)((size + UT_BLOCK - 1) / UT_BLOCK);
    ut->buf = sw_plugin_malloc((size_t)size);
    ut->got = sw_plugin_malloc((size_t)n);
    ut->asked = sw_plugin_malloc((size_t)n * sizeof *ut->asked);
    ut->asked_at = sw_plugin_malloc((size_t)n * sizeof *ut->asked_at);
    ut->sent_by = sw_plugin_malloc((size_t)n * sizeof *ut->sent_by);
    ut->sender_keys = sw_plugin_malloc((size_t)n * sizeof *ut->sender_keys);
    if (!ut->buf || !ut->got || !ut->asked || !ut->asked_at || !ut->sent_by || !ut->sender_keys) {
        fetch_free(ut);
        return SW_ERR_NOMEM;
    }
    memset(ut->got, 0, (size_t)n);
    memset(ut->asked, 0, (size_t)n * sizeof *ut->asked);
    memset(ut->asked_at, 0, (size_t)n * sizeof *ut->asked_at);
    memset(ut->sent_by, 0, (size_t)n * sizeof *ut->sent_by);
    memset(ut->sender_keys, 0, (size_t)n * sizeof *ut->sender_keys);
    ut->size = size;
    ut->npieces = n;
    ut->received = 0;
    for (ut_peer *pp = ut->peers; pp; pp = pp->next)
        pp->outstanding = 0;
    return 0;
}

/* Sends {msg_type, piece[, total_size]} followed by data. */
static int send_msg(ut_peer *pp, int type, int piece, int64_t total, const uint8_t *data,
                    size_t data_len)
{
    sw_bencoder *enc;
    int rc = sw_benc_new(&enc);
    if (rc < 0)
        return rc;
    rc = sw_benc_dict_begin(enc);
    if (rc == 0)
        rc = sw_benc_ckey(enc, "msg_type");
    if (rc == 0)
        rc = sw_benc_int(enc, type);
    if (rc == 0)
        rc = sw_benc_ckey(enc, "piece");
    if (rc == 0)
        rc = sw_benc_int(enc, piece);
    if (rc == 0 && type == MSG_DATA) {
        rc = sw_benc_ckey(enc, "total_size");
        if (rc == 0)
            rc = sw_benc_int(enc, total);
    }
    if (rc == 0)
        rc = sw_benc_end(enc);
    uint8_t *head = NULL;
    size_t head_len = 0;
    if (rc == 0)
        rc = sw_benc_finish(enc, &head, &head_len);
    sw_benc_free(enc);
    if (rc < 0)
        return rc;
    uint8_t *msg = sw_plugin_malloc(head_len + data_len);
    if (!msg) {
        sw_plugin_free(head);
        return SW_ERR_NOMEM;
    }
    memcpy(msg, head, head_len);
    if (data_len)
        memcpy(msg + head_len, data, data_len);
    sw_plugin_free(head);
    rc = sw_plugin_peer_send_extended(pp->p, pp->remote_id, msg, head_len + data_len);
    sw_plugin_free(msg);
    return rc;
}

static bool eligible(const ut_torrent *ut, const ut_peer *pp, uint64_t now)
{
    return pp->remote_id && pp->size == ut->size && pp->quiet_until <= now && !is_bad(ut, pp->key);
}

/* After a failure shared by several peers: the peer every piece comes from
 * until this attempt ends (the eligible one with the fewest strikes). */
static ut_peer *pick_source(ut_torrent *ut, uint64_t now)
{
    if (ut->source && eligible(ut, ut->source, now))
        return ut->source;
    ut_peer *best = NULL;
    for (ut_peer *pp = ut->peers; pp; pp = pp->next)
        if (eligible(ut, pp, now) && (!best || strikes_of(ut, pp->key) < strikes_of(ut, best->key)))
            best = pp;
    ut->source = best;
    return best;
}

/* Asks peers for pieces nobody is fetching. */
static void request_more(ut_torrent *ut)
{
    if (!ut->buf || sw_plugin_torrent_has_metadata(ut->t))
        return;
    uint64_t now = sw_plugin_now_ms();
    ut_peer *only = ut->single_source ? pick_source(ut, now) : NULL;
    for (ut_peer *pp = ut->peers; pp; pp = pp->next) {
        if (!eligible(ut, pp, now) || (ut->single_source && pp != only))
            continue;
        for (int i = 0; i < ut->npieces && pp->outstanding < UT_MAX_OUTSTANDING; i++) {
            if (ut->got[i] || ut->asked[i])
                continue;
            if (send_msg(pp, MSG_REQUEST, i, 0, NULL, 0) < 0)
                break;
            ut->asked[i] = pp;
            ut->asked_at[i] = now;
            pp->outstanding++;
        }
    }
}

/* Forgets requests to pp (it left, rejected, or timed out). */
static void drop_requests(ut_torrent *ut, ut_peer *pp)
{
    for (int i = 0; ut->asked && i < ut->npieces; i++) {
        if (ut->asked[i] == pp) {
            ut->asked[i] = NULL;
            ut->asked_at[i] = 0;
        }
        if (ut->sent_by && ut->sent_by[i] == pp)
            ut->sent_by[i] = NULL; /* its key stays in sender_keys */
    }
    pp->outstanding = 0;
}

/* Every piece is in: the engine checks it against the info-hash. */
static void complete(ut_torrent *ut)
{
    uint8_t *buf = ut->buf;
    int64_t size = ut->size;
    int rc = sw_plugin_torrent_set_metadata(ut->t, buf, (size_t)size);
    if (rc == 0) {
        sw_plugin_log(ut->us->s, ut->t, "metadata received (%lld bytes)", (long long)size);
        fetch_free(ut);
        return;
    }
    sw_plugin_log(ut->us->s, ut->t, "metadata refused (%s); fetching it again", sw_strerror(rc));
    uint64_t first = ut->sender_keys[0];
    bool alone = true;
    for (int i = 1; i < ut->npieces; i++)
        alone = alone && ut->sender_keys[i] == first;
    if (alone) {
        mark_bad(ut, first); /* it sent all of it: it is the culprit */
    } else {
        for (int i = 0; i < ut->npieces; i++) {
            bool seen = false;
            for (int k = 0; k < i && !seen; k++)
                seen = ut->sender_keys[k] == ut->sender_keys[i];
            if (!seen)
                strike(ut, ut->sender_keys[i]);
        }
        ut->single_source = true;
    }
    ut->source = NULL;
    fetch_free(ut);
    /* Start over with the size a peer not yet distrusted gave. */
    for (ut_peer *pp = ut->peers; pp; pp = pp->next) {
        if (pp->size > 0 && pp->remote_id && !is_bad(ut, pp->key) && fetch_start(ut, pp->size) == 0)
            break;
    }
    request_more(ut);
}

/* ---- messages ---- */

static int on_request(ut_peer *pp, int piece)
{
    ut_torrent *ut = pp->ut;
    const uint8_t *md;
    size_t len;
    if (sw_plugin_torrent_metadata(ut->t, &md, &len) < 0)
        return send_msg(pp, MSG_REJECT, piece, 0, NULL, 0);
    int n = (int)((len + UT_BLOCK - 1) / UT_BLOCK);
    if (piece < 0 || piece >= n || pp->served >= n * UT_SERVE_FACTOR + UT_SERVE_EXTRA)
        return send_msg(pp, MSG_REJECT, piece, 0, NULL, 0);
    pp->served++;
    return send_msg(pp, MSG_DATA, piece, (int64_t)len, md + (size_t)piece * UT_BLOCK,
                    (size_t)piece_len((int64_t)len, piece));
}

static void on_data(ut_peer *pp, int piece, int64_t total, const uint8_t *data, size_t len)
{
    ut_torrent *ut = pp->ut;
    if (!ut->buf || total != ut->size || piece < 0 || piece >= ut->npieces)
        return; /* not fetching, or another size: not ours to use */
    if (ut->asked[piece] == pp) {
        ut->asked[piece] = NULL;
        if (pp->outstanding > 0)
            pp->outstanding--;
    }
    if (ut->got[piece])
        return;
    if (len != (size_t)piece_len(ut->size, piece)) {
        /* A piece of the wrong length is refused; the peer is not asked
         * again. */
        mark_bad(ut, pp->key);
        drop_requests(ut, pp);
        return;
    }
    memcpy(ut->buf + (size_t)piece * UT_BLOCK, data, len);
    ut->got[piece] = 1;
    ut->sent_by[piece] = pp;
    ut->sender_keys[piece] = pp->key;
    ut->received++;
    if (ut->received == ut->npieces)
        complete(ut);
}

static void on_reject(ut_peer *pp, int piece)
{
    ut_torrent *ut = pp->ut;
    if (ut->asked && piece >= 0 && piece < ut->npieces && ut->asked[piece] == pp) {
        ut->asked[piece] = NULL;
        if (pp->outstanding > 0)
            pp->outstanding--;
    }
    pp->quiet_until = sw_plugin_now_ms() + UT_REJECT_BACKOFF_MS;
}

static int ut_on_extended(void *ctx, sw_plugin_peer *p, uint8_t msg_id, const uint8_t *data,
                          size_t len)
{
    (void)p;
    ut_peer *pp = ctx;
    ut_torrent *ut = pp->ut;
    if (msg_id != ut->us->our_id)
        return SW_OK;
    ut_metadata_msg m;
    int rc = ut_metadata_msg_parse(data, len, &m);
    if (rc < 0)
        return rc; /* garbage: the connection closes */
    if (m.type == MSG_REQUEST) {
        rc = on_request(pp, m.piece);
        if (rc < 0 && rc != SW_ERR_INVALID_HANDLE)
            return rc;
    } else if (m.type == MSG_DATA) {
        on_data(pp, m.piece, m.total_size, m.data, m.data_len);
    } else if (m.type == MSG_REJECT) {
        on_reject(pp, m.piece);
    }
    /* Unknown message types are ignored, as BEP 9 asks. */
    request_more(ut);
    return SW_HANDLED;
}

/* ---- handshake ---- */

static int ut_add_handshake(void *ctx, sw_plugin_peer *p, sw_bencoder *enc)
{
    (void)p;
    ut_peer *pp = ctx;
    const uint8_t *md;
    size_t len;
    if (sw_plugin_torrent_metadata(pp->ut->t, &md, &len) < 0)
        return SW_OK;
    int rc = sw_benc_ckey(enc, "metadata_size");
    if (rc == 0)
        rc = sw_benc_int(enc, (int64_t)len);
    return rc;
}

static int ut_on_extension_handshake(void *ctx, sw_plugin_peer *p, sw_bnode dict)
{
    (void)p;
    ut_peer *pp = ctx;
    ut_torrent *ut = pp->ut;
    int64_t id = 0, size = 0;
    if (sw_bnode_dict_get_int(sw_bnode_dict_get(dict, "m"), "ut_metadata", &id) && id > 0 &&
        id <= 255)
        pp->remote_id = (uint8_t)id;
    else
        pp->remote_id = 0;
    int max = 0;
    if (sw_plugin_setting_int(ut->us->s, "max_metadata_size", &max) < 0 || max <= 0)
        max = 4 * 1024 * 1024;
    if (sw_bnode_dict_get_int(dict, "metadata_size", &size) && size > 0 && size <= max)
        pp->size = size;
    if (!sw_plugin_torrent_has_metadata(ut->t) && !ut->buf && pp->remote_id && pp->size > 0 &&
        !is_bad(ut, pp->key)) {
        int rc = fetch_start(ut, pp->size);
        if (rc < 0)
            return rc;
    }
    request_more(ut);
    return SW_OK;
}

/* ---- lifetimes ---- */

static int ut_on_tick(void *ctx, sw_plugin_torrent *t)
{
    (void)t;
    ut_torrent *ut = ctx;
    if (!ut->buf)
        return SW_OK;
    uint64_t now = sw_plugin_now_ms();
    for (int i = 0; i < ut->npieces; i++) {
        ut_peer *pp = ut->asked[i];
        if (pp && now - ut->asked_at[i] > UT_REQUEST_TIMEOUT_MS) {
            ut->asked[i] = NULL;
            if (pp->outstanding > 0)
                pp->outstanding--;
            pp->quiet_until = now + UT_REJECT_BACKOFF_MS;
        }
    }
    request_more(ut);
    return SW_OK;
}

static int ut_on_metadata(void *ctx, sw_plugin_torrent *t)
{
    (void)t;
    fetch_free(ctx);
    return SW_OK;
}

static int ut_new_connection(void *ctx, sw_plugin_torrent *t, sw_plugin_peer *p, void **out)
{
    ut_torrent *ut = ctx;
    if (sw_plugin_torrent_is_private(t))
        return SW_OK; /* metadata of private torrents is not shared */
    ut_peer *pp = sw_plugin_malloc(sizeof *pp);
    if (!pp)
        return SW_ERR_NOMEM;
    memset(pp, 0, sizeof *pp);
    pp->ut = ut;
    pp->p = p;
    pp->key = peer_key(p);
    pp->next = ut->peers;
    ut->peers = pp;
    *out = pp;
    return SW_OK;
}

static void ut_peer_destroy(void *ctx)
{
    ut_peer *pp = ctx;
    ut_torrent *ut = pp->ut;
    drop_requests(ut, pp);
    if (ut->source == pp)
        ut->source = NULL;
    for (ut_peer **link = &ut->peers; *link; link = &(*link)->next) {
        if (*link == pp) {
            *link = pp->next;
            break;
        }
    }
    sw_plugin_free(pp);
}

static int ut_new_torrent(void *ctx, sw_plugin_torrent *t, void **out)
{
    ut_torrent *ut = sw_plugin_malloc(sizeof *ut);
    if (!ut)
        return SW_ERR_NOMEM;
    memset(ut, 0, sizeof *ut);
    ut->us = ctx;
    ut->t = t;
    *out = ut;
    return SW_OK;
}

static void ut_torrent_destroy(void *ctx)
{
    ut_torrent *ut = ctx;
    fetch_free(ut);
    sw_plugin_free(ut->blame);
    sw_plugin_free(ut);
}

static int ut_added(void *ctx, sw_plugin_session *s)
{
    ut_session *us = ctx;
    us->s = s;
    int id = sw_plugin_extension_id(s, "ut_metadata");
    if (id <= 0 || id > 255)
        return SW_ERR_NOT_FOUND;
    us->our_id = (uint8_t)id;
    return SW_OK;
}

static void ut_session_destroy(void *ctx)
{
    sw_plugin_free(ctx);
}

static const sw_session_hooks session_hooks = {
    .struct_size = sizeof(sw_session_hooks),
    .added = ut_added,
    .destroy = ut_session_destroy,
    .new_torrent = ut_new_torrent,
};

static const sw_torrent_hooks torrent_hooks = {
    .struct_size = sizeof(sw_torrent_hooks),
    .destroy = ut_torrent_destroy,
    .new_connection = ut_new_connection,
    .on_tick = ut_on_tick,
    .on_metadata = ut_on_metadata,
};

static const sw_peer_hooks peer_hooks = {
    .struct_size = sizeof(sw_peer_hooks),
    .destroy = ut_peer_destroy,
    .add_handshake = ut_add_handshake,
    .on_extension_handshake = ut_on_extension_handshake,
    .on_extended = ut_on_extended,
};

static const char *const extensions[] = {"ut_metadata", NULL};

SW_PLUGIN_ENTRY(ut_metadata)
{
    SW_PLUGIN_INIT2(host, errmsg);
    ut_session *us = sw_plugin_malloc(sizeof *us);
    if (!us)
        return SW_ERR_NOMEM;
    memset(us, 0, sizeof *us);
    SW_PLUGIN_DESC_INIT(out, "ut_metadata", "1.0");
    out->extensions = extensions;
    out->ctx = us;
    out->session_hooks = &session_hooks;
    out->torrent_hooks = &torrent_hooks;
    out->peer_hooks = &peer_hooks;
    return SW_OK;
}
