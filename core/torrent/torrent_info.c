/* Loading a torrent: the three entry points, reference counting, and the
 * order of the parsing steps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha.h"
#include "torrent_info_int.h"

/* A minimal file entry ("d6:lengthi0e4:pathl1:aee") decodes to 6 nodes;
 * allow some more per file for optional keys, so the bencode node limit
 * follows max_files rather than refusing big but honest torrents. */
#define NODES_PER_FILE 10
#define NODES_BASE 65536

static void error_clear(sw_error_detail *err)
{
    if (err) {
        err->code = 0;
        err->offset = -1;
        err->message[0] = '\0';
    }
}

static void torrent_info_free(sw_torrent_info *ti)
{
    if (!ti)
        return;
    sw__arena_free(&ti->arena);
    free(ti->buf);
    free(ti);
}

static int decode(const sw_torrent_info *ti, const sw__load_limits *limits, sw_bdoc **doc_out,
                  sw_error_detail *err)
{
    sw_bdecode_opts dopts = {0};
    int64_t nodes = (int64_t)limits->max_files * NODES_PER_FILE + NODES_BASE;
    int64_t bound = (int64_t)(ti->buf_len / 2) + 2; /* every node takes >= 2 bytes */
    dopts.max_nodes = nodes < bound ? nodes : bound;
    sw_bdecode_error berr;
    int rc = sw_bdecode(ti->buf, ti->buf_len, &dopts, doc_out, &berr);
    if (rc == SW_ERR_NOMEM)
        return rc;
    if (rc)
        return sw__metainfo_error(err, rc, (int64_t)berr.offset,
                                  "not valid bencoding: %s at byte %zu", sw_strerror(rc),
                                  berr.offset);
    return 0;
}

/* Loads from buf[0..len), which it takes over (freed on failure). */
static int load_owned(uint8_t *buf, size_t len, bool whole, const sw_sha1 *expected,
                      const sw__load_limits *limits, sw_torrent_info **ti_out, sw_error_detail *err)
{
    sw_torrent_info *ti = calloc(1, sizeof *ti);
    if (!ti) {
        free(buf);
        return sw__metainfo_error(err, SW_ERR_NOMEM, -1, "out of memory");
    }
    atomic_init(&ti->refs, 1);
    ti->buf = buf;
    ti->buf_len = len;
    ti->has_metainfo = whole;

    sw_bdoc *doc = NULL;
    int rc = decode(ti, limits, &doc, err);
    sw_bnode root = doc ? sw_bdoc_root(doc) : (sw_bnode){NULL, -1};
    sw_bnode info = root;
    if (rc == 0 && !sw_bnode_is(root, SW_BNODE_DICT))
        rc = sw__metainfo_error(err, SW_ERR_METAINFO_NOT_DICT, 0, "%s is not a dictionary",
                                whole ? "the torrent" : "the info section");
    if (rc == 0 && whole) {
        info = sw_bnode_dict_get(root, "info");
        if (sw_bnode_is(info, SW_BNODE_NONE))
            rc = sw__metainfo_error(err, SW_ERR_METAINFO_NO_INFO, 0, "no 'info' dictionary");
        else if (!sw_bnode_is(info, SW_BNODE_DICT))
            rc = sw__metainfo_error(err, SW_ERR_METAINFO_NO_INFO, (int64_t)sw_bnode_offset(info),
                                    "'info' is not a dictionary");
    }
    if (rc == 0) {
        sw_bnode_raw(info, &ti->info, &ti->info_len);
        rc = sw__sha1(ti->info, ti->info_len, &ti->hashes.v1);
        ti->hashes.has_v1 = rc == 0;
    }
    if (rc == 0 && expected && memcmp(expected->v, ti->hashes.v1.v, SW_SHA1_LEN) != 0) {
        char want[2 * SW_SHA1_LEN + 1], got[2 * SW_SHA1_LEN + 1];
        sw_hex_encode(expected->v, SW_SHA1_LEN, want);
        sw_hex_encode(ti->hashes.v1.v, SW_SHA1_LEN, got);
        rc = sw__metainfo_error(err, SW_ERR_METAINFO_HASH_MISMATCH, 0,
                                "info dictionary hashes to %s, expected %s", got, want);
    }
    if (rc == 0)
        rc = sw__info_parse(ti, info, limits, err);
    if (rc == 0 && whole)
        rc = sw__metainfo_parse_extras(ti, root, err);
    sw_bdoc_free(doc);

    if (rc) {
        /* Steps report their own details; allocation failures do not. */
        if (err && err->code == 0)
            sw__metainfo_error(err, rc, -1, "%s", sw_strerror(rc));
        torrent_info_free(ti);
        return rc;
    }
    *ti_out = ti;
    return 0;
}

static int load(const void *buf, size_t len, bool whole, const sw_sha1 *expected,
                const sw_load_opts *opts, sw_torrent_info **ti_out, sw_error_detail *err)
{
    error_clear(err);
    if (!ti_out || (!buf && len))
        return sw__metainfo_error(err, SW_ERR_INVALID_ARG, -1, "invalid argument");
    sw__load_limits limits;
    sw__load_limits_from_opts(opts, &limits);
    if ((uint64_t)len > (uint64_t)limits.max_size)
        return sw__metainfo_error(err, SW_ERR_METAINFO_TOO_LARGE, -1,
                                  "%zu bytes of metadata, more than the limit of %lld", len,
                                  (long long)limits.max_size);
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return sw__metainfo_error(err, SW_ERR_NOMEM, -1, "out of memory");
    if (len)
        memcpy(copy, buf, len);
    return load_owned(copy, len, whole, expected, &limits, ti_out, err);
}

int sw_torrent_info_load(const void *buf, size_t len, const sw_load_opts *opts,
                         sw_torrent_info **ti_out, sw_error_detail *err)
{
    return load(buf, len, true, NULL, opts, ti_out, err);
}

int sw_torrent_info_from_info_dict(const void *info, size_t len, const sw_sha1 *expected,
                                   const sw_load_opts *opts, sw_torrent_info **ti_out,
                                   sw_error_detail *err)
{
    return load(info, len, false, expected, opts, ti_out, err);
}

/* Prefixes err's message with the file name: "FILE: message". */
static int file_error(sw_error_detail *err, const char *path, int code, int64_t offset,
                      const char *what)
{
    if (!err)
        return code;
    char msg[sizeof err->message];
    snprintf(msg, sizeof msg, "%s", what);
    return sw__metainfo_error(err, code, offset, "%s: %s", path, msg);
}

int sw_torrent_info_load_file(const char *path, const sw_load_opts *opts, sw_torrent_info **ti_out,
                              sw_error_detail *err)
{
    error_clear(err);
    if (!path || !ti_out)
        return sw__metainfo_error(err, SW_ERR_INVALID_ARG, -1, "invalid argument");
    sw__load_limits limits;
    sw__load_limits_from_opts(opts, &limits);

    FILE *f = fopen(path, "rb");
    if (!f)
        return file_error(err, path, SW_ERR_IO, -1, strerror(errno));
    /* Read at most one byte more than the limit: enough to know it is
     * exceeded without trusting the file's reported size. */
    size_t limit = (uint64_t)limits.max_size < SIZE_MAX ? (size_t)limits.max_size + 1 : SIZE_MAX;
    size_t cap = 64 * 1024, len = 0;
    uint8_t *buf = malloc(cap);
    int rc = buf ? 0 : SW_ERR_NOMEM;
    while (rc == 0 && len < limit) {
        if (len == cap) {
            size_t grow = cap > limit / 2 ? limit : cap * 2;
            uint8_t *bigger = realloc(buf, grow);
            if (!bigger) {
                rc = SW_ERR_NOMEM;
                break;
            }
            buf = bigger;
            cap = grow;
        }
        size_t want = (cap < limit ? cap : limit) - len;
        size_t n = fread(buf + len, 1, want, f);
        len += n;
        if (n < want) {
            if (ferror(f))
                rc = SW_ERR_IO;
            break;
        }
    }
    int saved_errno = errno;
    fclose(f);
    if (rc == 0 && (int64_t)len > limits.max_size)
        rc = SW_ERR_METAINFO_TOO_LARGE;
    if (rc) {
        free(buf);
        if (rc == SW_ERR_IO)
            return file_error(err, path, rc, -1, strerror(saved_errno));
        if (rc == SW_ERR_METAINFO_TOO_LARGE) {
            char what[128];
            snprintf(what, sizeof what, "larger than the limit of %lld bytes",
                     (long long)limits.max_size);
            return file_error(err, path, rc, -1, what);
        }
        return file_error(err, path, rc, -1, sw_strerror(rc));
    }
    /* The loaded torrent keeps this buffer: give back the unused tail. */
    uint8_t *fitted = realloc(buf, len ? len : 1);
    if (fitted)
        buf = fitted;
    rc = load_owned(buf, len, true, NULL, &limits, ti_out, err);
    if (rc && err)
        file_error(err, path, err->code, err->offset, err->message);
    return rc;
}

sw_torrent_info *sw_torrent_info_ref(sw_torrent_info *ti)
{
    if (ti)
        atomic_fetch_add_explicit(&ti->refs, 1, memory_order_relaxed);
    return ti;
}

void sw_torrent_info_unref(sw_torrent_info *ti)
{
    if (!ti)
        return;
    /* Release on every drop, acquire on the last, so the freeing thread
     * sees every other thread's last use. */
    if (atomic_fetch_sub_explicit(&ti->refs, 1, memory_order_acq_rel) == 1)
        torrent_info_free(ti);
}
