/* BEP 44 lookups: get (immutable: the first value whose SHA-1 is the
 * target; mutable: the highest valid seq among the closest nodes) and put
 * (a get to collect write tokens, then put to the k closest nodes). Every
 * value received is checked here; nothing unverified reaches the user. */
#include <stdlib.h>
#include <string.h>

#include "dht/dht_internal.h"

static bool keep_value(sw_dht_traversal *t, const sw_krpc_msg *r)
{
    uint8_t *copy = malloc(r->v.len);
    if (!copy)
        return false;
    memcpy(copy, r->v.p, r->v.len);
    free(t->v);
    t->v = copy;
    t->v_len = r->v.len;
    t->found = true;
    return true;
}

static bool immutable_reply(sw_dht_traversal *t, sw_dht_trav_node *n, const sw_krpc_msg *r)
{
    (void)n;
    if (!(r->has & SW_KRPC_HAS_V) || r->v.len > SW_DHT_ITEM_MAX)
        return false;
    sw_sha1 h;
    sw__dht_item_target_immutable(r->v.p, r->v.len, &h);
    if (memcmp(h.v, t->target.v, SW_DHT_ID_LEN) != 0)
        return false;
    /* A get ends at the first good copy; a put only needs the tokens. */
    return keep_value(t, r) && !t->put;
}

static bool mutable_reply(sw_dht_traversal *t, sw_dht_trav_node *n, const sw_krpc_msg *r)
{
    (void)n;
    const uint32_t need = SW_KRPC_HAS_V | SW_KRPC_HAS_K | SW_KRPC_HAS_SIG | SW_KRPC_HAS_SEQ;
    if ((r->has & need) != need || r->v.len > SW_DHT_ITEM_MAX)
        return false;
    if (memcmp(r->k.p, t->pk, SW_DHT_PK_LEN) != 0 || (t->found && r->seq <= t->seq))
        return false;
    if (!sw__dht_item_verify(r->k.p, r->sig.p, t->salt, t->salt_len, r->seq, r->v.p, r->v.len))
        return false;
    if (keep_value(t, r)) {
        memcpy(t->sig, r->sig.p, SW_DHT_SIG_LEN);
        t->seq = r->seq;
    }
    return false;
}

static void deliver_item(sw_dht_traversal *t)
{
    sw_dht_item item;
    memset(&item, 0, sizeof item);
    if (t->found) {
        item.v = t->v;
        item.v_len = t->v_len;
        item.is_mutable = t->want_mutable;
        if (t->want_mutable) {
            item.k = t->pk;
            item.sig = t->sig;
            item.seq = t->seq;
            item.salt = t->salt;
            item.salt_len = t->salt_len;
        }
    }
    if (t->item_cb)
        t->item_cb(t->user, t->status, t->found ? &item : NULL, &t->stats);
}

static void deliver_put(sw_dht_traversal *t)
{
    if (t->done)
        t->done(t->user, t->status, &t->stats);
}

static void fill_put(sw_dht_traversal *t, sw_dht_trav_node *n, sw_krpc_msg *q)
{
    (void)n;
    q->method = SW_KRPC_PUT;
    q->v = (sw_krpc_bytes){t->put_v, t->put_v_len};
    q->has |= SW_KRPC_HAS_V;
    if (t->put_mutable) {
        q->k = (sw_krpc_bytes){t->pk, SW_DHT_PK_LEN};
        q->sig = (sw_krpc_bytes){t->put_sig, SW_DHT_SIG_LEN};
        q->seq = t->put_seq;
        q->has |= SW_KRPC_HAS_K | SW_KRPC_HAS_SIG | SW_KRPC_HAS_SEQ;
        if (t->salt_len) {
            q->salt = (sw_krpc_bytes){t->salt, t->salt_len};
            q->has |= SW_KRPC_HAS_SALT;
        }
    }
}

static void put_lookup_done(sw_dht_traversal *t)
{
    if (t->put_mutable) {
        if (t->put_seq < 0)
            t->put_seq = t->found ? t->seq + 1 : 1;
        t->stats.seq = t->put_seq;
        if (sw__dht_item_sign(t->seed, t->salt, t->salt_len, t->put_seq, t->put_v, t->put_v_len,
                              t->put_sig) != 0) {
            sw__dht_trav_finish(t, SW_ERR_CRYPTO);
            return;
        }
    }
    sw__dht_trav_store(t, fill_put);
}

static const sw_dht_trav_ops get_immutable_ops = {
    .method = SW_KRPC_GET,
    .on_reply = immutable_reply,
    .deliver = deliver_item,
};

static const sw_dht_trav_ops get_mutable_ops = {
    .method = SW_KRPC_GET,
    .on_reply = mutable_reply,
    .deliver = deliver_item,
};

static const sw_dht_trav_ops put_immutable_ops = {
    .method = SW_KRPC_GET,
    .on_reply = immutable_reply,
    .on_lookup_done = put_lookup_done,
    .deliver = deliver_put,
};

static const sw_dht_trav_ops put_mutable_ops = {
    .method = SW_KRPC_GET,
    .on_reply = mutable_reply,
    .on_lookup_done = put_lookup_done,
    .deliver = deliver_put,
};

int sw__dht_get_immutable(sw_dht *dht, const sw_sha1 *target, sw_dht_item_cb cb, void *user)
{
    if (!target || !cb)
        return SW_ERR_INVALID_ARG;
    if (dht->closing)
        return SW_ERR_ABORTED;
    sw_dht_traversal *t = sw__dht_trav_new(dht, &get_immutable_ops, target, user);
    if (!t)
        return SW_ERR_NOMEM;
    t->item_cb = cb;
    sw__dht_trav_start(t);
    return 0;
}

static int set_key(sw_dht_traversal *t, const uint8_t *pk, const uint8_t *salt, size_t salt_len)
{
    if (salt_len > SW_DHT_SALT_MAX)
        return SW_ERR_DHT_SALT_TOO_LARGE;
    memcpy(t->pk, pk, SW_DHT_PK_LEN);
    if (salt_len)
        memcpy(t->salt, salt, salt_len);
    t->salt_len = salt_len;
    t->want_mutable = true;
    sw__dht_item_target_mutable(pk, salt, salt_len, &t->target);
    return 0;
}

int sw__dht_get_mutable(sw_dht *dht, const uint8_t pk[32], const uint8_t *salt, size_t salt_len,
                        sw_dht_item_cb cb, void *user)
{
    if (!pk || !cb || (salt_len && !salt))
        return SW_ERR_INVALID_ARG;
    if (dht->closing)
        return SW_ERR_ABORTED;
    sw_sha1 none = {{0}};
    sw_dht_traversal *t = sw__dht_trav_new(dht, &get_mutable_ops, &none, user);
    if (!t)
        return SW_ERR_NOMEM;
    int rc = set_key(t, pk, salt, salt_len);
    if (rc != 0) {
        sw__dht_trav_free(t);
        return rc;
    }
    t->item_cb = cb;
    sw__dht_trav_start(t);
    return 0;
}

/* The value must be one canonical bencoded value within BEP 44's size. */
static int check_value(const uint8_t *v, size_t v_len)
{
    if (!v || v_len == 0)
        return SW_ERR_INVALID_ARG;
    if (v_len > SW_DHT_ITEM_MAX)
        return SW_ERR_DHT_ITEM_TOO_LARGE;
    sw_bdecode_opts opts = {SW_BDECODE_STRICT, SW_KRPC_MAX_DEPTH, SW_KRPC_MAX_NODES};
    sw_bdoc *doc;
    if (sw_bdecode(v, v_len, &opts, &doc, NULL) != 0)
        return SW_ERR_INVALID_ARG;
    sw_bdoc_free(doc);
    return 0;
}

static int copy_put_value(sw_dht_traversal *t, const uint8_t *v, size_t v_len)
{
    t->put_v = malloc(v_len);
    if (!t->put_v)
        return SW_ERR_NOMEM;
    memcpy(t->put_v, v, v_len);
    t->put_v_len = v_len;
    t->put = true;
    return 0;
}

int sw__dht_put_immutable(sw_dht *dht, const uint8_t *v, size_t v_len, sw_sha1 *target_out,
                          sw_dht_done_cb done, void *user)
{
    int rc = check_value(v, v_len);
    if (rc != 0)
        return rc;
    if (dht->closing)
        return SW_ERR_ABORTED;
    sw_sha1 target;
    sw__dht_item_target_immutable(v, v_len, &target);
    sw_dht_traversal *t = sw__dht_trav_new(dht, &put_immutable_ops, &target, user);
    if (!t)
        return SW_ERR_NOMEM;
    rc = copy_put_value(t, v, v_len);
    if (rc != 0) {
        sw__dht_trav_free(t);
        return rc;
    }
    t->done = done;
    if (target_out)
        *target_out = target;
    sw__dht_trav_start(t);
    return 0;
}

int sw__dht_put_mutable(sw_dht *dht, const uint8_t seed[32], const uint8_t *salt, size_t salt_len,
                        const uint8_t *v, size_t v_len, int64_t seq, sw_dht_done_cb done,
                        void *user)
{
    if (!seed || (salt_len && !salt))
        return SW_ERR_INVALID_ARG;
    int rc = check_value(v, v_len);
    if (rc != 0)
        return rc;
    if (dht->closing)
        return SW_ERR_ABORTED;
    uint8_t pk[SW_DHT_PK_LEN];
    rc = sw__dht_item_public_key(seed, pk);
    if (rc != 0)
        return rc;
    sw_sha1 none = {{0}};
    sw_dht_traversal *t = sw__dht_trav_new(dht, &put_mutable_ops, &none, user);
    if (!t)
        return SW_ERR_NOMEM;
    rc = set_key(t, pk, salt, salt_len);
    if (rc == 0)
        rc = copy_put_value(t, v, v_len);
    if (rc != 0) {
        sw__dht_trav_free(t);
        return rc;
    }
    memcpy(t->seed, seed, sizeof t->seed);
    t->put_mutable = true;
    t->put_seq = seq;
    t->done = done;
    sw__dht_trav_start(t);
    return 0;
}
