/* Write tokens: a hash of the asker's address and a secret that rotates
 * every five minutes, so a token proves the asker received our reply at
 * that address recently (BEP 5). */
#include <string.h>

#include <sys/socket.h>

#include "base/base.h"
#include "dht/dht_id.h"
#include "dht/store.h"

void sw__dht_tokens_init(sw_dht_tokens *t, uint64_t now_ms)
{
    sw__dht_random_bytes(t->current, sizeof t->current);
    sw__dht_random_bytes(t->previous, sizeof t->previous);
    t->rotated_ms = now_ms;
}

void sw__dht_tokens_rotate(sw_dht_tokens *t, uint64_t now_ms)
{
    memcpy(t->previous, t->current, sizeof t->current);
    sw__dht_random_bytes(t->current, sizeof t->current);
    t->rotated_ms = now_ms;
}

void sw__dht_tokens_tick(sw_dht_tokens *t, uint64_t now_ms)
{
    if (now_ms - t->rotated_ms >= SW_DHT_TOKEN_ROTATE_MS)
        sw__dht_tokens_rotate(t, now_ms);
}

/* False only if hashing failed (then out holds zeros). */
static bool token_for(const uint8_t secret[16], const sw_endpoint *from,
                      uint8_t out[SW_DHT_TOKEN_LEN])
{
    uint8_t buf[16 + 16];
    size_t alen = from->family == AF_INET6 ? 16 : 4;
    memcpy(buf, secret, 16);
    memcpy(buf + 16, from->addr, alen);
    sw_sha1 h;
    bool ok = sw__sha1(buf, 16 + alen, &h) == 0;
    if (!ok)
        memset(&h, 0, sizeof h);
    memcpy(out, h.v, SW_DHT_TOKEN_LEN);
    return ok;
}

void sw__dht_token_make(const sw_dht_tokens *t, const sw_endpoint *from,
                        uint8_t out[SW_DHT_TOKEN_LEN])
{
    token_for(t->current, from, out);
}

bool sw__dht_token_check(const sw_dht_tokens *t, const sw_endpoint *from, const uint8_t *token,
                         size_t len)
{
    if (len != SW_DHT_TOKEN_LEN)
        return false;
    uint8_t want[SW_DHT_TOKEN_LEN];
    if (token_for(t->current, from, want) && memcmp(want, token, len) == 0)
        return true;
    return token_for(t->previous, from, want) && memcmp(want, token, len) == 0;
}
