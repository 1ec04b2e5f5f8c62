/* Torrent creation: the public entry points. Checks the parameters, then
 * walks, pads, hashes and encodes (see create_internal.h). */
#include "create_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cswarm/create.h>

/* Big torrents get between 1025 and 2048 pieces. */
#define AUTO_MAX_PIECES 2048

void sw_create_params_init(sw_create_params *p)
{
    memset(p, 0, sizeof *p);
    p->struct_size = (uint32_t)sizeof *p;
}

int64_t sw_create_auto_piece_size(int64_t total_size)
{
    int64_t piece = SW_CREATE_MIN_PIECE_SIZE;
    while (piece < SW_CREATE_MAX_AUTO_PIECE_SIZE && total_size > piece * AUTO_MAX_PIECES)
        piece *= 2;
    return piece;
}

static bool valid_piece_size(int64_t n)
{
    return n >= SW_CREATE_MIN_PIECE_SIZE && n <= SW_CREATE_MAX_PIECE_SIZE && (n & (n - 1)) == 0;
}

static int check_params(const sw_create_params *p, sw_error_detail *err)
{
    if (!p || p->struct_size != sizeof *p)
        return sw__create_fail(err, SW_ERR_INVALID_ARG,
                               "create: parameters not set up with sw_create_params_init");
    if (!p->path || !p->path[0])
        return sw__create_fail(err, SW_ERR_INVALID_ARG, "create: no path given");
    if (p->piece_size != 0 && !valid_piece_size(p->piece_size))
        return sw__create_fail(err, SW_ERR_CREATE_BAD_PIECE_SIZE,
                               "create: piece size %lld is not a power of two between %d and %d",
                               (long long)p->piece_size, SW_CREATE_MIN_PIECE_SIZE,
                               SW_CREATE_MAX_PIECE_SIZE);
    if (p->num_trackers < 0 || (p->num_trackers > 0 && !p->trackers))
        return sw__create_fail(err, SW_ERR_INVALID_ARG, "create: bad tracker list");
    for (int i = 0; i < p->num_trackers; i++)
        if (!p->trackers[i].url || !p->trackers[i].url[0] || p->trackers[i].tier < 0)
            return sw__create_fail(err, SW_ERR_INVALID_ARG,
                                   "create: tracker %d has no URL or a negative tier", i);
    if (p->num_web_seeds < 0 || (p->num_web_seeds > 0 && !p->web_seeds))
        return sw__create_fail(err, SW_ERR_INVALID_ARG, "create: bad web seed list");
    for (int i = 0; i < p->num_web_seeds; i++)
        if (!p->web_seeds[i] || !p->web_seeds[i][0])
            return sw__create_fail(err, SW_ERR_INVALID_ARG, "create: web seed %d is empty", i);
    if (p->creation_date < 0 && p->creation_date != SW_CREATE_DATE_NOW)
        return sw__create_fail(err, SW_ERR_INVALID_ARG, "create: negative creation date");
    if (p->name &&
        (!p->name[0] || strchr(p->name, '/') || !strcmp(p->name, ".") || !strcmp(p->name, "..")))
        return sw__create_fail(err, SW_ERR_INVALID_ARG, "create: bad torrent name '%s'", p->name);
    return 0;
}

/* The torrent's name: the path's last component ("dir/" counts as "dir"),
 * resolved through realpath() for "." and "..". Caller frees. */
static int default_name(const char *path, char **name_out, sw_error_detail *err)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    char *name = strndup(path + start, len - start);
    if (!name)
        return sw__create_fail(err, SW_ERR_NOMEM, "create: out of memory");
    if (!name[0] || !strcmp(name, ".") || !strcmp(name, "..")) {
        free(name);
        char *real = realpath(path, NULL);
        if (!real) {
            int rc = -errno;
            return sw__create_fail(err, rc, "create: cannot resolve '%s': %s", path,
                                   sw_strerror(rc));
        }
        const char *slash = strrchr(real, '/');
        name = strdup(slash ? slash + 1 : real);
        free(real);
        if (!name)
            return sw__create_fail(err, SW_ERR_NOMEM, "create: out of memory");
        if (!name[0]) {
            free(name);
            return sw__create_fail(err, SW_ERR_INVALID_ARG,
                                   "create: '%s' has no name to give the torrent", path);
        }
    }
    *name_out = name;
    return 0;
}

int sw_create_torrent(const sw_create_params *params, uint8_t **buf_out, size_t *len_out,
                      sw_error_detail *err)
{
    if (err)
        memset(err, 0, sizeof *err);
    if (!buf_out || !len_out)
        return sw__create_fail(err, SW_ERR_INVALID_ARG, "create: no output buffer");
    int rc = check_params(params, err);
    if (rc)
        return rc;

    char *name = NULL;
    if (params->name) {
        name = strdup(params->name);
        if (!name)
            return sw__create_fail(err, SW_ERR_NOMEM, "create: out of memory");
    } else {
        rc = default_name(params->path, &name, err);
        if (rc)
            return rc;
    }

    sw__create_layout layout = {0};
    uint8_t *pieces = NULL;
    rc = sw__create_walk(params->path, params->pad_files, &layout, err);
    if (rc)
        goto out;
    if (layout.total_size == 0) {
        rc =
            sw__create_fail(err, SW_ERR_CREATE_NO_FILES,
                            "create: nothing to share in '%s' (every file is empty)", params->path);
        goto out;
    }

    int64_t piece_size = params->piece_size;
    if (piece_size == 0)
        piece_size = sw_create_auto_piece_size(layout.total_size);
    if (params->pad_files && layout.multi_file) {
        rc = sw__create_add_pads(&layout, piece_size, err);
        if (rc)
            goto out;
    }
    int64_t num_pieces = (layout.total_size + piece_size - 1) / piece_size;
    if (num_pieces > INT_MAX / SW_SHA1_LEN) {
        rc = sw__create_fail(err, SW_ERR_LIMIT,
                             "create: %lld pieces are too many; choose a larger piece size",
                             (long long)num_pieces);
        goto out;
    }
    pieces = malloc((size_t)num_pieces * SW_SHA1_LEN);
    if (!pieces) {
        rc = sw__create_fail(err, SW_ERR_NOMEM, "create: out of memory");
        goto out;
    }
    rc = sw__create_hash(&layout, piece_size, params->num_threads, params->progress,
                         params->progress_user, pieces, err);
    if (rc)
        goto out;
    rc = sw__create_encode(params, &layout, name, piece_size, pieces, (size_t)num_pieces, buf_out,
                           len_out, err);
out:
    free(pieces);
    sw__create_layout_free(&layout);
    free(name);
    return rc;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int sw_create_torrent_file(const sw_create_params *params, const char *out_path,
                           sw_error_detail *err)
{
    static atomic_uint tmp_counter;
    if (!out_path || !out_path[0])
        return sw__create_fail(err, SW_ERR_INVALID_ARG, "create: no output file given");
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = sw_create_torrent(params, &buf, &len, err);
    if (rc)
        return rc;

    size_t tmp_len = strlen(out_path) + 64;
    char *tmp = malloc(tmp_len);
    if (!tmp) {
        free(buf);
        return sw__create_fail(err, SW_ERR_NOMEM, "create: out of memory");
    }
    snprintf(tmp, tmp_len, "%s.%ld.%u.part", out_path, (long)getpid(),
             atomic_fetch_add(&tmp_counter, 1u));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = -errno;
        sw__create_fail(err, rc, "create: cannot create '%s': %s", tmp, sw_strerror(rc));
        goto out;
    }
    rc = write_all(fd, buf, len);
    if (close(fd) != 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, out_path) != 0)
        rc = -errno;
    if (rc) {
        sw__create_fail(err, rc, "create: cannot write '%s': %s", out_path, sw_strerror(rc));
        unlink(tmp);
    }
out:
    free(tmp);
    free(buf);
    return rc;
}
