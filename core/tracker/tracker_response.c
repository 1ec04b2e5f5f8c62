/* HTTP tracker responses: announce (BEP 3, compact peers BEP 23, peers6
 * BEP 7, external ip BEP 24) and scrape (BEP 48). Pure functions. */
#include "tracker_proto.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Tracker replies are small; the node limit bounds work on hostile input
 * beyond what the response size limit already does. */
#define RESPONSE_MAX_NODES 1000000
#define RESPONSE_MAX_DEPTH 16

static int fail(char *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, SW_TRACKER_ERRLEN, fmt, ap);
        va_end(ap);
    }
    return SW_ERR_TRACKER_BAD_RESPONSE;
}

static int nomem(char *err)
{
    if (err)
        snprintf(err, SW_TRACKER_ERRLEN, "out of memory");
    return SW_ERR_NOMEM;
}

const char *sw__tracker_event_name(sw_tracker_event e)
{
    switch (e) {
    case SW_TRACKER_EVENT_COMPLETED:
        return "completed";
    case SW_TRACKER_EVENT_STARTED:
        return "started";
    case SW_TRACKER_EVENT_STOPPED:
        return "stopped";
    case SW_TRACKER_EVENT_NONE:
        break;
    }
    return "";
}

char *sw__tracker_text_copy(const void *s, size_t len)
{
    if (len > SW_TRACKER_MAX_MESSAGE)
        len = SW_TRACKER_MAX_MESSAGE;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    const uint8_t *p = s;
    for (size_t i = 0; i < len; i++)
        out[i] = (p[i] < 0x20 || p[i] == 0x7f) ? '?' : (char)p[i];
    out[len] = '\0';
    return out;
}

size_t sw__tracker_decode_compact(const uint8_t *p, size_t len, int family, sw_tracker_peer *out)
{
    size_t alen = family == AF_INET6 ? 16 : 4;
    size_t stride = alen + 2;
    size_t n = 0;
    for (size_t off = 0; off + stride <= len; off += stride) {
        uint16_t port = sw__load_be16(p + off + alen);
        if (port == 0)
            continue;
        memset(&out[n], 0, sizeof out[n]);
        out[n].family = (uint8_t)family;
        memcpy(out[n].addr, p + off, alen);
        out[n].port = port;
        n++;
    }
    return n;
}

/* Reads an optional integer key: absent leaves *v at -1, a negative value
 * reads as absent, a value above max is clamped; another type is an error. */
static int get_count(sw_bnode dict, const char *key, int64_t max, int64_t *v, char *err)
{
    *v = -1;
    sw_bnode n = sw_bnode_dict_get(dict, key);
    if (sw_bnode_type_of(n) == SW_BNODE_NONE)
        return 0;
    if (!sw_bnode_is(n, SW_BNODE_INT))
        return fail(err, "'%s' is not an integer", key);
    int64_t x = sw_bnode_int(n);
    if (x >= 0)
        *v = x > max ? max : x;
    return 0;
}

/* Reads an optional string key into a display copy. */
static int get_text(sw_bnode dict, const char *key, char **out, char *err)
{
    sw_bnode n = sw_bnode_dict_get(dict, key);
    if (sw_bnode_type_of(n) == SW_BNODE_NONE)
        return 0;
    size_t len;
    const char *s = sw_bnode_str(n, &len);
    if (!s)
        return fail(err, "'%s' is not a string", key);
    *out = sw__tracker_text_copy(s, len);
    return *out ? 0 : nomem(err);
}

/* A peer of the dictionary form: {"ip": text, "port": int, "peer id": ...}.
 * Only numeric addresses are kept: resolving host names a tracker hands out
 * would let it aim our DNS lookups anywhere. */
static bool dict_peer(sw_bnode d, sw_tracker_peer *out)
{
    size_t ip_len;
    const char *ip = sw_bnode_str(sw_bnode_dict_get(d, "ip"), &ip_len);
    int64_t port;
    if (!ip || ip_len == 0 || ip_len >= 64 || !sw_bnode_dict_get_int(d, "port", &port) ||
        port <= 0 || port > 65535)
        return false;
    char text[64];
    memcpy(text, ip, ip_len);
    text[ip_len] = '\0';
    if (memchr(text, '\0', ip_len))
        return false;
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text, out->addr) == 1) {
        out->family = AF_INET;
    } else if (inet_pton(AF_INET6, text, out->addr) == 1) {
        out->family = AF_INET6;
        /* An IPv4-mapped address is an IPv4 peer. */
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(out->addr, mapped, 12) == 0) {
            memmove(out->addr, out->addr + 12, 4);
            memset(out->addr + 4, 0, 12);
            out->family = AF_INET;
        }
    } else {
        return false;
    }
    out->port = (uint16_t)port;
    return true;
}

static int parse_peers(sw_bnode root, sw_announce_response *r, char *err)
{
    sw_bnode peers = sw_bnode_dict_get(root, "peers");
    sw_bnode peers6 = sw_bnode_dict_get(root, "peers6");
    sw_bnode_type t4 = sw_bnode_type_of(peers), t6 = sw_bnode_type_of(peers6);
    if (t4 != SW_BNODE_NONE && t4 != SW_BNODE_STR && t4 != SW_BNODE_LIST)
        return fail(err, "'peers' is neither a string nor a list");
    if (t6 != SW_BNODE_NONE && t6 != SW_BNODE_STR)
        return fail(err, "'peers6' is not a string");

    size_t len4 = 0, len6 = 0;
    const uint8_t *p4 = NULL, *p6 = NULL;
    size_t cap = 0;
    if (t4 == SW_BNODE_STR) {
        p4 = (const uint8_t *)sw_bnode_str(peers, &len4);
        cap += len4 / 6;
    } else if (t4 == SW_BNODE_LIST) {
        cap += sw_bnode_len(peers);
    }
    if (t6 == SW_BNODE_STR) {
        p6 = (const uint8_t *)sw_bnode_str(peers6, &len6);
        cap += len6 / 18;
    }
    if (cap == 0) {
        r->num_ignored = (len4 % 6 ? 1 : 0) + (len6 % 18 ? 1 : 0);
        return 0;
    }
    r->peers = calloc(cap, sizeof *r->peers);
    if (!r->peers)
        return nomem(err);

    size_t n = 0;
    if (p4) {
        n += sw__tracker_decode_compact(p4, len4, AF_INET, r->peers + n);
        r->num_ignored += len4 / 6 - n + (len4 % 6 ? 1 : 0);
    } else if (t4 == SW_BNODE_LIST) {
        size_t count = sw_bnode_len(peers);
        for (size_t i = 0; i < count; i++) {
            sw_bnode e = sw_bnode_list_at(peers, i);
            if (sw_bnode_is(e, SW_BNODE_DICT) && dict_peer(e, &r->peers[n]))
                n++;
            else
                r->num_ignored++;
        }
    }
    if (p6) {
        size_t got = sw__tracker_decode_compact(p6, len6, AF_INET6, r->peers + n);
        r->num_ignored += len6 / 18 - got + (len6 % 18 ? 1 : 0);
        n += got;
    }
    r->num_peers = n;
    return 0;
}

static int decode_dict(const uint8_t *buf, size_t len, sw_bdoc **doc, sw_bnode *root, char *err)
{
    sw_bdecode_opts opts = {0, RESPONSE_MAX_DEPTH, RESPONSE_MAX_NODES};
    sw_bdecode_error berr;
    int rc = sw_bdecode(buf, len, &opts, doc, &berr);
    if (rc == SW_ERR_NOMEM)
        return nomem(err);
    if (rc != 0)
        return fail(err, "not bencoded: %s at byte %zu", sw_strerror(rc), berr.offset);
    *root = sw_bdoc_root(*doc);
    if (!sw_bnode_is(*root, SW_BNODE_DICT)) {
        sw_bdoc_free(*doc);
        *doc = NULL;
        return fail(err, "not a dictionary");
    }
    return 0;
}

static int parse_announce_dict(sw_bnode root, sw_announce_response *r, char *err)
{
    int rc = get_text(root, "failure reason", &r->failure_reason, err);
    if (rc != 0)
        return rc;
    if (r->failure_reason) {
        /* A refusal carries nothing else we act on except a retry hint,
         * which some trackers send as "min interval"; keep it if sane. */
        (void)get_count(root, "min interval", SW_TRACKER_MAX_INTERVAL, &r->min_interval, NULL);
        (void)get_count(root, "interval", SW_TRACKER_MAX_INTERVAL, &r->interval, NULL);
        return 0;
    }
    if ((rc = get_text(root, "warning message", &r->warning_message, err)) != 0 ||
        (rc = get_count(root, "interval", SW_TRACKER_MAX_INTERVAL, &r->interval, err)) != 0 ||
        (rc = get_count(root, "min interval", SW_TRACKER_MAX_INTERVAL, &r->min_interval, err)) !=
            0 ||
        (rc = get_count(root, "complete", INT32_MAX, &r->complete, err)) != 0 ||
        (rc = get_count(root, "incomplete", INT32_MAX, &r->incomplete, err)) != 0 ||
        (rc = get_count(root, "downloaded", INT32_MAX, &r->downloaded, err)) != 0)
        return rc;

    sw_bnode tid = sw_bnode_dict_get(root, "tracker id");
    if (sw_bnode_type_of(tid) != SW_BNODE_NONE) {
        size_t len;
        const char *s = sw_bnode_str(tid, &len);
        if (!s)
            return fail(err, "'tracker id' is not a string");
        if (len > 0 && len <= SW_TRACKER_MAX_TRACKER_ID) {
            r->tracker_id = malloc(len + 1);
            if (!r->tracker_id)
                return nomem(err);
            memcpy(r->tracker_id, s, len);
            r->tracker_id[len] = '\0';
            r->tracker_id_len = len;
        }
    }

    sw_bnode ext = sw_bnode_dict_get(root, "external ip");
    if (sw_bnode_type_of(ext) != SW_BNODE_NONE) {
        size_t len;
        const char *s = sw_bnode_str(ext, &len);
        if (!s)
            return fail(err, "'external ip' is not a string");
        if (len == 4 || len == 16) {
            r->external_ip.family = len == 4 ? AF_INET : AF_INET6;
            memcpy(r->external_ip.addr, s, len);
        }
    }
    return parse_peers(root, r, err);
}

static void announce_init(sw_announce_response *r)
{
    memset(r, 0, sizeof *r);
    r->interval = r->min_interval = -1;
    r->complete = r->incomplete = r->downloaded = -1;
}

int sw__tracker_parse_announce(const uint8_t *buf, size_t len, sw_announce_response *out,
                               char err[SW_TRACKER_ERRLEN])
{
    announce_init(out);
    if (err)
        err[0] = '\0';
    sw_bdoc *doc = NULL;
    sw_bnode root;
    int rc = decode_dict(buf, len, &doc, &root, err);
    if (rc != 0)
        return rc;
    rc = parse_announce_dict(root, out, err);
    sw_bdoc_free(doc);
    if (rc != 0) {
        sw__announce_response_free(out);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

void sw__announce_response_free(sw_announce_response *r)
{
    if (!r)
        return;
    free(r->failure_reason);
    free(r->warning_message);
    free(r->tracker_id);
    free(r->peers);
    announce_init(r);
}

int sw__tracker_parse_scrape(const uint8_t *buf, size_t len,
                             const uint8_t info_hash[SW_TRACKER_HASH_LEN], sw_scrape_response *out,
                             char err[SW_TRACKER_ERRLEN])
{
    memset(out, 0, sizeof *out);
    if (err)
        err[0] = '\0';
    sw_bdoc *doc = NULL;
    sw_bnode root;
    int rc = decode_dict(buf, len, &doc, &root, err);
    if (rc != 0)
        return rc;

    sw_scrape_response r = {-1, -1, -1, NULL};
    rc = get_text(root, "failure reason", &r.failure_reason, err);
    if (rc == 0 && !r.failure_reason) {
        sw_bnode files = sw_bnode_dict_get(root, "files");
        sw_bnode entry = sw_bnode_dict_find(files, info_hash, SW_TRACKER_HASH_LEN);
        if (!sw_bnode_is(files, SW_BNODE_DICT))
            rc = fail(err, "'files' is missing or not a dictionary");
        else if (!sw_bnode_is(entry, SW_BNODE_DICT))
            rc = fail(err, "no entry for the info-hash");
        else if ((rc = get_count(entry, "complete", INT32_MAX, &r.complete, err)) == 0 &&
                 (rc = get_count(entry, "incomplete", INT32_MAX, &r.incomplete, err)) == 0)
            rc = get_count(entry, "downloaded", INT32_MAX, &r.downloaded, err);
    }
    sw_bdoc_free(doc);
    if (rc != 0) {
        free(r.failure_reason);
        return rc;
    }
    *out = r;
    return 0;
}

void sw__scrape_response_free(sw_scrape_response *r)
{
    if (!r)
        return;
    free(r->failure_reason);
    r->failure_reason = NULL;
}
