/* smart_ban: finds the peer that sent corrupt data.
 *
 * When a piece fails its hash check, every block of it is read back from
 * disk and its SHA-1 is remembered together with the peer that sent it (the
 * engine keeps the piece from being downloaded again until these reads are
 * done). While such a piece is downloaded again, the first copy of each of
 * its blocks that arrives is hashed as it comes in (the engine keeps the
 * first copy of a block). When the piece passes, those are the good blocks:
 * a peer whose remembered block differs sent bad data and is banned at once;
 * peers whose blocks were right are left alone, even though they took part
 * in a failed piece. A block whose good copy was not seen coming in is read
 * back from disk instead, and judged when the read completes.
 *
 * Records are kept per (piece, block, peer), at most SB_MAX_RECORDS per
 * torrent (the oldest go first), and dropped once their piece passed. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/plugin.h>

SW_PLUGIN_INIT1

#define SB_BLOCK 16384
#define SB_MAX_RECORDS 4096

typedef struct sb_record {
    int piece;
    int block;
    sw_plugin_endpoint peer;
    uint8_t digest[20];
} sb_record;

typedef struct sb_session {
    sw_plugin_session *s;
} sb_session;

/* The first copy of a block of a suspect piece seen arriving. */
typedef struct sb_incoming {
    int piece;
    int block;
    uint8_t digest[20];
} sb_incoming;

typedef struct sb_torrent {
    sb_session *ss;
    sw_plugin_torrent *t;
    sb_record *records;
    int num_records;
    sb_incoming *incoming;
    int num_incoming;
    int bans;
} sb_torrent;

/* One read in flight. */
typedef struct sb_read {
    sb_torrent *st;
    bool passed; /* reading good data of a passed piece (else bad data) */
    int piece;
    int block;
    sw_plugin_endpoint peer; /* the sender, for a failed piece */
} sb_read;

static bool same_peer(const sw_plugin_endpoint *a, const sw_plugin_endpoint *b)
{
    return a->family == b->family && a->port == b->port &&
           memcmp(a->addr, b->addr, a->family == SW_PLUGIN_IPV4 ? 4 : 16) == 0;
}

static void format_peer(const sw_plugin_endpoint *ep, char *out, size_t len)
{
    if (ep->family == SW_PLUGIN_IPV4) {
        snprintf(out, len, "%u.%u.%u.%u:%u", ep->addr[0], ep->addr[1], ep->addr[2], ep->addr[3],
                 ep->port);
        return;
    }
    size_t n = 0;
    n += (size_t)snprintf(out + n, len - n, "[");
    for (int i = 0; i < 16 && n < len; i += 2)
        n += (size_t)snprintf(out + n, len - n, "%s%x", i ? ":" : "",
                              (unsigned)(ep->addr[i] << 8 | ep->addr[i + 1]));
    if (n < len)
        snprintf(out + n, len - n, "]:%u", ep->port);
}

static bool suspect(const sb_torrent *st, int piece)
{
    for (int i = 0; i < st->num_records; i++)
        if (st->records[i].piece == piece)
            return true;
    return false;
}

static sb_incoming *find_incoming(sb_torrent *st, int piece, int block)
{
    for (int i = 0; i < st->num_incoming; i++)
        if (st->incoming[i].piece == piece && st->incoming[i].block == block)
            return &st->incoming[i];
    return NULL;
}

static void forget_incoming(sb_torrent *st, int piece)
{
    int kept = 0;
    for (int i = 0; i < st->num_incoming; i++)
        if (st->incoming[i].piece != piece)
            st->incoming[kept++] = st->incoming[i];
    st->num_incoming = kept;
}

static void remember(sb_torrent *st, const sb_read *r, const uint8_t digest[20])
{
    for (int i = 0; i < st->num_records; i++) {
        sb_record *rec = &st->records[i];
        if (rec->piece == r->piece && rec->block == r->block && same_peer(&rec->peer, &r->peer)) {
            memcpy(rec->digest, digest, 20);
            return;
        }
    }
    if (st->num_records == SB_MAX_RECORDS) {
        memmove(st->records, st->records + 1, (size_t)(SB_MAX_RECORDS - 1) * sizeof *st->records);
        st->num_records--;
    }
    if (!st->records) {
        st->records = sw_plugin_malloc(SB_MAX_RECORDS * sizeof *st->records);
        if (!st->records)
            return;
    }
    sb_record *rec = &st->records[st->num_records++];
    rec->piece = r->piece;
    rec->block = r->block;
    rec->peer = r->peer;
    memcpy(rec->digest, digest, 20);
}

/* The good data of a block is known: every record of it that differs names
 * a peer that sent bad data. */
static void judge(sb_torrent *st, int piece, int block, const uint8_t good[20])
{
    int kept = 0;
    for (int i = 0; i < st->num_records; i++) {
        sb_record rec = st->records[i];
        if (rec.piece != piece || rec.block != block) {
            st->records[kept++] = rec;
            continue;
        }
        if (memcmp(rec.digest, good, 20) == 0)
            continue;
        char who[64], why[96];
        format_peer(&rec.peer, who, sizeof who);
        snprintf(why, sizeof why, "smart_ban: bad data in block %d of piece %d", block, piece);
        sw_plugin_log(st->ss->s, st->t, "banning %s: it sent bad data in block %d of piece %d", who,
                      block, piece);
        if (sw_plugin_torrent_ban_peer(st->t, &rec.peer, why) == 0)
            st->bans++;
    }
    st->num_records = kept;
}

static void on_block_read(void *user, int error, const uint8_t *data, size_t len)
{
    sb_read *r = user;
    if (error == 0) {
        uint8_t digest[20];
        sw_plugin_sha1(data, len, digest);
        if (r->passed)
            judge(r->st, r->piece, r->block, digest);
        else
            remember(r->st, r, digest);
    }
    sw_plugin_free(r);
}

static int read_block(sb_torrent *st, int piece, int block, bool passed,
                      const sw_plugin_endpoint *peer)
{
    int size = sw_plugin_torrent_piece_size(st->t, piece);
    int off = block * SB_BLOCK;
    if (size <= 0 || off >= size)
        return SW_ERR_INVALID_ARG;
    int len = size - off < SB_BLOCK ? size - off : SB_BLOCK;
    sb_read *r = sw_plugin_malloc(sizeof *r);
    if (!r)
        return SW_ERR_NOMEM;
    memset(r, 0, sizeof *r);
    r->st = st;
    r->passed = passed;
    r->piece = piece;
    r->block = block;
    if (peer)
        r->peer = *peer;
    int rc = sw_plugin_torrent_read(st->t, piece, off, len, on_block_read, r);
    if (rc < 0)
        sw_plugin_free(r);
    return rc;
}

static int sb_on_piece_failed(void *ctx, sw_plugin_torrent *t, int piece)
{
    sb_torrent *st = ctx;
    forget_incoming(st, piece); /* what came in this time was not good */
    int nblocks = sw_plugin_torrent_block_senders(t, piece, NULL, 0);
    if (nblocks <= 0)
        return SW_OK;
    sw_plugin_endpoint *senders = sw_plugin_malloc((size_t)nblocks * sizeof *senders);
    if (!senders)
        return SW_OK; /* without memory this failure goes unexamined */
    int n = sw_plugin_torrent_block_senders(t, piece, senders, nblocks);
    for (int b = 0; b < n && b < nblocks; b++) {
        if (senders[b].family)
            read_block(st, piece, b, false, &senders[b]);
    }
    sw_plugin_free(senders);
    return SW_OK;
}

static int sb_on_piece_pass(void *ctx, sw_plugin_torrent *t, int piece)
{
    (void)t;
    sb_torrent *st = ctx;
    if (!suspect(st, piece))
        return SW_OK;
    /* The distinct blocks of the piece that have records: each is judged
     * now from its incoming copy, or once it is read back. */
    int *blocks = sw_plugin_malloc((size_t)st->num_records * sizeof *blocks);
    if (!blocks)
        return SW_OK;
    int n = 0;
    for (int i = 0; i < st->num_records; i++) {
        if (st->records[i].piece != piece)
            continue;
        bool seen = false;
        for (int k = 0; k < n && !seen; k++)
            seen = blocks[k] == st->records[i].block;
        if (!seen)
            blocks[n++] = st->records[i].block;
    }
    for (int k = 0; k < n; k++) {
        sb_incoming *in = find_incoming(st, piece, blocks[k]);
        if (in) {
            uint8_t good[20];
            memcpy(good, in->digest, 20);
            judge(st, piece, blocks[k], good);
        } else {
            read_block(st, piece, blocks[k], true, NULL);
        }
    }
    sw_plugin_free(blocks);
    forget_incoming(st, piece);
    return SW_OK;
}

/* A block of a suspect piece arrives: the first copy is what the engine
 * keeps, so its hash is the piece's if the piece passes. */
static int sb_on_piece(void *ctx, sw_plugin_peer *p, uint32_t index, uint32_t begin,
                       const uint8_t *data, size_t len)
{
    (void)p;
    sb_torrent *st = ctx; /* every peer shares the torrent's context */
    int piece = (int)index, block = (int)(begin / SB_BLOCK);
    if (!suspect(st, piece) || find_incoming(st, piece, block))
        return SW_OK;
    sb_incoming *v = sw_plugin_realloc(st->incoming, (size_t)(st->num_incoming + 1) * sizeof *v);
    if (!v)
        return SW_OK; /* it will be read back instead */
    st->incoming = v;
    sb_incoming *in = &st->incoming[st->num_incoming++];
    in->piece = piece;
    in->block = block;
    sw_plugin_sha1(data, len, in->digest);
    return SW_OK;
}

static int sb_new_connection(void *ctx, sw_plugin_torrent *t, sw_plugin_peer *p, void **out)
{
    (void)t;
    (void)p;
    *out = ctx;
    return SW_OK;
}

static int sb_new_torrent(void *ctx, sw_plugin_torrent *t, void **out)
{
    sb_torrent *st = sw_plugin_malloc(sizeof *st);
    if (!st)
        return SW_ERR_NOMEM;
    memset(st, 0, sizeof *st);
    st->ss = ctx;
    st->t = t;
    *out = st;
    return SW_OK;
}

static void sb_torrent_destroy(void *ctx)
{
    sb_torrent *st = ctx;
    sw_plugin_free(st->records);
    sw_plugin_free(st->incoming);
    sw_plugin_free(st);
}

static int sb_added(void *ctx, sw_plugin_session *s)
{
    ((sb_session *)ctx)->s = s;
    return SW_OK;
}

static void sb_destroy(void *ctx)
{
    sw_plugin_free(ctx);
}

static const sw_session_hooks session_hooks = {
    .struct_size = sizeof(sw_session_hooks),
    .added = sb_added,
    .destroy = sb_destroy,
    .new_torrent = sb_new_torrent,
};

static const sw_torrent_hooks torrent_hooks = {
    .struct_size = sizeof(sw_torrent_hooks),
    .destroy = sb_torrent_destroy,
    .new_connection = sb_new_connection,
    .on_piece_pass = sb_on_piece_pass,
    .on_piece_failed = sb_on_piece_failed,
};

static const sw_peer_hooks peer_hooks = {
    .struct_size = sizeof(sw_peer_hooks),
    .on_piece = sb_on_piece,
};

SW_PLUGIN_ENTRY(smart_ban)
{
    SW_PLUGIN_INIT2(host, errmsg);
    sb_session *ss = sw_plugin_malloc(sizeof *ss);
    if (!ss)
        return SW_ERR_NOMEM;
    memset(ss, 0, sizeof *ss);
    SW_PLUGIN_DESC_INIT(out, "smart_ban", "1.0");
    out->ctx = ss;
    out->session_hooks = &session_hooks;
    out->torrent_hooks = &torrent_hooks;
    out->peer_hooks = &peer_hooks;
    return SW_OK;
}
