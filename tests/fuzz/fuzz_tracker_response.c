/* Fuzzes core/tracker's parsers of untrusted input. The first byte picks
 * the target (modulo 5), the rest is its input:
 *   0  HTTP announce response
 *   1  HTTP scrape response (the info-hash looked up is the first 20 bytes
 *      of the input, so entries can be found)
 *   2  UDP tracker reply: byte 1 picks the sender family and expected
 *      action, the rest is the datagram (its own transaction id is used, so
 *      the parser gets past the id check)
 *   3  tracker URLs: kind, host/port, scrape URL and announce URL building
 *   4  the announce-list state machine driven by the bytes as operations
 * Every result is checked for the invariants the callers rely on. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tracker/tracker.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_tracker_response: check failed: %s (line %d)\n", #cond,          \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_text(const char *s)
{
    if (!s)
        return;
    size_t n = strlen(s);
    CHECK(n <= SW_TRACKER_MAX_MESSAGE);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static void check_peer(const sw_tracker_peer *p)
{
    CHECK(p->family == AF_INET || p->family == AF_INET6);
    CHECK(p->port != 0);
    if (p->family == AF_INET)
        for (int i = 4; i < 16; i++)
            CHECK(p->addr[i] == 0);
}

static void fuzz_announce(const uint8_t *data, size_t size)
{
    sw_announce_response r;
    char err[SW_TRACKER_ERRLEN];
    int rc = sw__tracker_parse_announce(data, size, &r, err);
    if (rc != 0) {
        CHECK(rc == SW_ERR_TRACKER_BAD_RESPONSE || rc == SW_ERR_NOMEM);
        CHECK(strlen(err) > 0 && strlen(err) < SW_TRACKER_ERRLEN);
        CHECK(r.peers == NULL && r.num_peers == 0 && r.failure_reason == NULL);
        return;
    }
    CHECK(r.interval >= -1 && r.interval <= SW_TRACKER_MAX_INTERVAL);
    CHECK(r.min_interval >= -1 && r.min_interval <= SW_TRACKER_MAX_INTERVAL);
    CHECK(r.complete >= -1 && r.complete <= INT32_MAX);
    CHECK(r.incomplete >= -1 && r.downloaded >= -1);
    check_text(r.failure_reason);
    check_text(r.warning_message);
    CHECK(r.tracker_id_len <= SW_TRACKER_MAX_TRACKER_ID);
    CHECK((r.tracker_id == NULL) == (r.tracker_id_len == 0));
    CHECK(r.num_peers <= size / 6 + 1);
    for (size_t i = 0; i < r.num_peers; i++)
        check_peer(&r.peers[i]);
    CHECK(r.external_ip.family == 0 || r.external_ip.family == AF_INET ||
          r.external_ip.family == AF_INET6);
    sw__announce_response_free(&r);
}

static void fuzz_scrape(const uint8_t *data, size_t size)
{
    uint8_t hash[20] = {0};
    memcpy(hash, data, size < 20 ? size : 20);
    sw_scrape_response s;
    char err[SW_TRACKER_ERRLEN];
    int rc = sw__tracker_parse_scrape(data, size, hash, &s, err);
    if (rc != 0) {
        CHECK(rc == SW_ERR_TRACKER_BAD_RESPONSE || rc == SW_ERR_NOMEM);
        CHECK(s.failure_reason == NULL);
        return;
    }
    check_text(s.failure_reason);
    CHECK(s.complete >= -1 && s.incomplete >= -1 && s.downloaded >= -1);
    sw__scrape_response_free(&s);
}

static void fuzz_udp(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    int family = data[0] & 1 ? AF_INET6 : AF_INET;
    uint32_t expected = (data[0] >> 1) & 3;
    data++;
    size--;
    uint32_t action = 0, tid = 0;
    bool routable = sw__udp_tracker_peek(data, size, &action, &tid);
    CHECK(!routable || (size >= 8 && action <= 3));
    sw_udp_tracker_reply r;
    char err[SW_TRACKER_ERRLEN];
    int rc = sw__udp_tracker_parse(data, size, family, tid, expected, &r, err);
    if (rc == SW_ERR_TRACKER_FAILURE) {
        CHECK(r.message + r.message_len == data + size);
        char *text = sw__tracker_text_copy(r.message, r.message_len);
        check_text(text);
        free(text);
        return;
    }
    if (rc != 0) {
        CHECK(rc == SW_ERR_TRACKER_BAD_RESPONSE);
        return;
    }
    CHECK(r.action == expected && r.transaction_id == tid);
    if (expected == SW_UDP_ACTION_ANNOUNCE) {
        size_t stride = family == AF_INET6 ? 18 : 6;
        CHECK(r.peer_family == family);
        CHECK(r.peers_len % stride == 0 && r.peers_trailing < stride);
        CHECK(20 + r.peers_len + r.peers_trailing == size);
        size_t n = r.peers_len / stride;
        sw_tracker_peer *peers = malloc((n ? n : 1) * sizeof *peers);
        size_t got = sw__tracker_decode_compact(r.peers, r.peers_len, r.peer_family, peers);
        CHECK(got <= n);
        for (size_t i = 0; i < got; i++)
            check_peer(&peers[i]);
        free(peers);
    } else if (expected == SW_UDP_ACTION_SCRAPE) {
        CHECK(8 + 12 * r.num_scrape <= size);
    }
}

static void fuzz_urls(const uint8_t *data, size_t size)
{
    if (size > 2048)
        return;
    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = '\0';
    sw_tracker_url_kind kind;
    int rc = sw__tracker_url_kind(url, &kind);
    if (rc == 0) {
        CHECK(kind == SW_TRACKER_URL_HTTP || kind == SW_TRACKER_URL_HTTPS ||
              kind == SW_TRACKER_URL_UDP);
        char host[256];
        uint16_t port;
        CHECK(sw__tracker_url_host_port(url, 80, host, sizeof host, &port) == 0);
        CHECK(port != 0 && strlen(host) > 0);
    }
    uint8_t hash[20];
    memset(hash, 0xab, sizeof hash);
    char *out = NULL;
    rc = sw__tracker_scrape_url(url, hash, &out);
    CHECK(rc == 0 || rc == SW_ERR_TRACKER_NO_SCRAPE || rc == SW_ERR_NOMEM);
    if (rc == 0) {
        CHECK(strstr(out, "scrape") != NULL);
        CHECK(strstr(out, "info_hash=%AB%AB") != NULL);
        free(out);
    }
    if (strlen(url) > 0) {
        sw_announce_params p;
        memset(&p, 0, sizeof p);
        p.tracker_id = url;
        p.tracker_id_len = strlen(url);
        p.event = SW_TRACKER_EVENT_STARTED;
        p.num_want = 5;
        CHECK(sw__tracker_announce_url(url, &p, &out) == 0);
        /* The base (without its fragment) is kept as it is, and every byte
         * added after it is URL-safe. */
        size_t blen = strcspn(url, "#");
        CHECK(strncmp(out, url, blen) == 0);
        CHECK(strstr(out + blen, "info_hash=") != NULL);
        for (const char *c = out + blen; *c; c++)
            CHECK(*c > 0x20 && *c < 0x7f && *c != '#');
        free(out);
    }
    free(url);
}

/* Invariants of the list: sorted by tier, ids unique and non-zero. */
static void check_list(const sw_announce_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        CHECK(l->v[i].id != 0);
        if (i > 0)
            CHECK(l->v[i - 1].tier <= l->v[i].tier);
        for (size_t j = i + 1; j < l->n; j++)
            CHECK(l->v[i].id != l->v[j].id);
    }
}

static void fuzz_list(const uint8_t *data, size_t size)
{
    static const char *urls[] = {"http://a/announce", "udp://a:1",         "https://b/announce",
                                 "udp://c:2",         "http://d/announce", "udp://[::1]:3"};
    sw_announce_list l;
    sw__announce_list_init(&l, size);
    int64_t now = 0;
    size_t out[8];
    for (size_t k = 0; k + 1 < size; k += 2) {
        uint8_t op = data[k], arg = data[k + 1];
        size_t i = l.n ? arg % l.n : 0;
        switch (op % 10) {
        case 0:
            sw__announce_list_add(&l, urls[arg % 6], (arg >> 3) % 3, 1, op & 0x80, NULL);
            break;
        case 1: {
            sw_announce_policy p = {op & 0x40, op & 0x80};
            int64_t wake;
            size_t n = sw__announce_list_plan(&l, &p, now, out, &wake);
            CHECK(n <= l.n);
            CHECK(wake == INT64_MAX || wake > now);
            for (size_t j = 0; j < n; j++) {
                CHECK(out[j] < l.n);
                CHECK(sw__tracker_entry_can_announce(&l.v[out[j]], now));
                sw__announce_list_sent(&l, out[j], sw__tracker_entry_next_event(&l.v[out[j]]));
            }
            break;
        }
        case 2:
            if (l.n && l.v[i].updating)
                CHECK(sw__announce_list_succeeded(&l, i, now, arg * 7, arg % 5) < l.n);
            break;
        case 3:
            if (l.n && l.v[i].updating)
                CHECK(sw__announce_list_failed(&l, i, now, arg - 100, 250) < l.n);
            break;
        case 4:
            if (l.n && l.v[i].updating)
                sw__announce_list_abandoned(&l, i);
            break;
        case 5:
            sw__announce_list_start(&l);
            break;
        case 6:
            sw__announce_list_completed(&l, now);
            break;
        case 7:
            sw__announce_list_force(&l, (arg & 1) ? -1 : (ptrdiff_t)i, now);
            break;
        case 8:
            now += (int64_t)arg * 1000;
            break;
        case 9:
            if (l.n && !l.v[i].updating)
                sw__announce_list_remove(&l, i);
            break;
        }
        check_list(&l);
        if (l.n > 8)
            break;
    }
    sw__announce_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 5) {
    case 0:
        fuzz_announce(data + 1, size - 1);
        break;
    case 1:
        fuzz_scrape(data + 1, size - 1);
        break;
    case 2:
        fuzz_udp(data + 1, size - 1);
        break;
    case 3:
        fuzz_urls(data + 1, size - 1);
        break;
    case 4:
        fuzz_list(data + 1, size - 1);
        break;
    }
    return 0;
}
