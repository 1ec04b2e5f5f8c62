/* Resume data: which pieces were verified, plus the size and mtime of every
 * file, so a restart can skip hashing when the files are as they were. The
 * record is read from untrusted bytes (a file on disk), so every field is
 * type- and range-checked; unknown keys are left for the engine. */
#include "disk_internal.h"

#include <stdlib.h>
#include <string.h>

#define FORMAT_NAME "cswarm resume"
#define FORMAT_VERSION 1

void sw__disk_resume_free(sw_disk_resume *r)
{
    if (!r)
        return;
    free(r->pieces);
    free(r->save_path);
    free(r->file_sizes);
    free(r->file_mtimes);
    free(r);
}

/* ---- encoding ---- */

int sw__disk_resume_write(sw_bencoder *enc, const sw_disk_resume *r)
{
    if (!enc || !r || r->num_files < 0 || (r->pieces_len && !r->pieces))
        return SW_ERR_INVALID_ARG;
    int rc = 0;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if (rc == 0)                                                                               \
            rc = (call);                                                                           \
    } while (0)
    TRY(sw_benc_ckey(enc, "file-format"));
    TRY(sw_benc_cstr(enc, FORMAT_NAME));
    TRY(sw_benc_ckey(enc, "file-version"));
    TRY(sw_benc_int(enc, FORMAT_VERSION));
    TRY(sw_benc_ckey(enc, "info-hash"));
    TRY(sw_benc_str(enc, r->info_hash.v, SW_SHA1_LEN));
    TRY(sw_benc_ckey(enc, "pieces"));
    TRY(sw_benc_str(enc, r->pieces ? r->pieces : (const uint8_t *)"", r->pieces_len));
    if (r->save_path) {
        TRY(sw_benc_ckey(enc, "save_path"));
        TRY(sw_benc_cstr(enc, r->save_path));
    }
    TRY(sw_benc_ckey(enc, "file sizes"));
    TRY(sw_benc_list_begin(enc));
    for (int i = 0; rc == 0 && i < r->num_files; i++) {
        TRY(sw_benc_list_begin(enc));
        TRY(sw_benc_int(enc, r->file_sizes[i]));
        TRY(sw_benc_int(enc, r->file_mtimes[i]));
        TRY(sw_benc_end(enc));
    }
    TRY(sw_benc_end(enc));
#undef TRY
    return rc;
}

int sw__disk_resume_encode(const sw_disk_resume *r, uint8_t **buf_out, size_t *len_out)
{
    sw_bencoder *enc = NULL;
    int rc = sw_benc_new(&enc);
    if (rc)
        return rc;
    rc = sw_benc_dict_begin(enc);
    if (rc == 0)
        rc = sw__disk_resume_write(enc, r);
    if (rc == 0)
        rc = sw_benc_end(enc);
    if (rc == 0)
        rc = sw_benc_finish(enc, buf_out, len_out);
    sw_benc_free(enc);
    return rc;
}

/* ---- decoding ---- */

int sw__disk_resume_read(sw_bnode dict, sw_disk_resume **r_out)
{
    if (!sw_bnode_is(dict, SW_BNODE_DICT))
        return SW_ERR_RESUME_DATA;
    const char *s;
    size_t n;
    int64_t v;
    if (!sw_bnode_dict_get_str(dict, "file-format", &s, &n) || n != strlen(FORMAT_NAME) ||
        memcmp(s, FORMAT_NAME, n) != 0)
        return SW_ERR_RESUME_DATA;
    if (!sw_bnode_dict_get_int(dict, "file-version", &v) || v != FORMAT_VERSION)
        return SW_ERR_RESUME_DATA;

    const char *hash, *pieces;
    size_t hash_len, pieces_len;
    if (!sw_bnode_dict_get_str(dict, "info-hash", &hash, &hash_len) || hash_len != SW_SHA1_LEN)
        return SW_ERR_RESUME_DATA;
    if (!sw_bnode_dict_get_str(dict, "pieces", &pieces, &pieces_len) ||
        pieces_len > sw__disk_bitfield_len(SW_DISK_RESUME_MAX_PIECES))
        return SW_ERR_RESUME_DATA;

    const char *save = NULL;
    size_t save_len = 0;
    sw_bnode sp = sw_bnode_dict_get(dict, "save_path");
    if (sw_bnode_type_of(sp) != SW_BNODE_NONE) {
        save = sw_bnode_str(sp, &save_len);
        if (!save || save_len == 0 || save_len > SW_DISK_RESUME_MAX_PATH ||
            memchr(save, '\0', save_len))
            return SW_ERR_RESUME_DATA;
    }

    sw_bnode files = sw_bnode_dict_get(dict, "file sizes");
    if (!sw_bnode_is(files, SW_BNODE_LIST))
        return SW_ERR_RESUME_DATA;
    size_t nfiles = sw_bnode_len(files);
    if (nfiles == 0 || nfiles > SW_DISK_RESUME_MAX_FILES)
        return SW_ERR_RESUME_DATA;

    sw_disk_resume *r = calloc(1, sizeof *r);
    if (!r)
        return SW_ERR_NOMEM;
    memcpy(r->info_hash.v, hash, SW_SHA1_LEN);
    r->num_files = (int)nfiles;
    r->pieces_len = pieces_len;
    r->pieces = malloc(pieces_len ? pieces_len : 1);
    r->file_sizes = calloc(nfiles, sizeof *r->file_sizes);
    r->file_mtimes = calloc(nfiles, sizeof *r->file_mtimes);
    if (save) {
        /* The string points into the bencoded buffer, which is not
         * NUL-terminated: copy exactly save_len bytes. */
        r->save_path = malloc(save_len + 1);
        if (r->save_path) {
            memcpy(r->save_path, save, save_len);
            r->save_path[save_len] = '\0';
        }
    }
    int rc =
        r->pieces && r->file_sizes && r->file_mtimes && (!save || r->save_path) ? 0 : SW_ERR_NOMEM;
    if (rc == 0 && pieces_len)
        memcpy(r->pieces, pieces, pieces_len);
    for (size_t i = 0; rc == 0 && i < nfiles; i++) {
        sw_bnode e = sw_bnode_list_at(files, i);
        sw_bnode size = sw_bnode_list_at(e, 0);
        sw_bnode mtime = sw_bnode_list_at(e, 1);
        if (!sw_bnode_is(e, SW_BNODE_LIST) || sw_bnode_len(e) != 2 ||
            !sw_bnode_is(size, SW_BNODE_INT) || !sw_bnode_is(mtime, SW_BNODE_INT) ||
            sw_bnode_int(size) < 0) {
            rc = SW_ERR_RESUME_DATA;
            break;
        }
        r->file_sizes[i] = sw_bnode_int(size);
        r->file_mtimes[i] = sw_bnode_int(mtime);
    }
    if (rc) {
        sw__disk_resume_free(r);
        return rc;
    }
    *r_out = r;
    return 0;
}

int sw__disk_resume_decode(const void *buf, size_t len, sw_disk_resume **r_out)
{
    if (!buf && len)
        return SW_ERR_INVALID_ARG;
    sw_bdecode_opts opts = {
        .flags = 0,
        .max_depth = 32,
        /* a [size, mtime] pair is three nodes per file, plus room for the
           engine's own keys */
        .max_nodes = 3 * (int64_t)SW_DISK_RESUME_MAX_FILES + 1000000,
    };
    sw_bdoc *doc = NULL;
    int rc = sw_bdecode(buf, len, &opts, &doc, NULL);
    if (rc)
        return rc == SW_ERR_NOMEM ? rc : SW_ERR_RESUME_DATA;
    rc = sw__disk_resume_read(sw_bdoc_root(doc), r_out);
    sw_bdoc_free(doc);
    return rc;
}

/* ---- jobs ---- */

void sw__disk_do_save_resume(sw_disk_job *job)
{
    sw_storage *st = job->st;
    const sw_info_hashes *ih = sw_torrent_info_hashes(st->ti);
    int n = sw_torrent_info_num_files(st->ti);
    sw_disk_resume *r = calloc(1, sizeof *r);
    if (r) {
        r->num_files = n;
        r->file_sizes = calloc((size_t)n, sizeof *r->file_sizes);
        r->file_mtimes = calloc((size_t)n, sizeof *r->file_mtimes);
        r->save_path = sw__disk_storage_save_path(st);
    }
    if (!r || !r->file_sizes || !r->file_mtimes || !r->save_path) {
        sw__disk_resume_free(r);
        job->res.error = SW_ERR_NOMEM;
        return;
    }
    if (ih && ih->has_v1)
        r->info_hash = ih->v1;
    r->pieces = job->blob;
    r->pieces_len = job->blob_len;
    job->blob = NULL;
    for (int i = 0; i < n; i++) {
        const sw_file_entry *fe = sw_torrent_info_file(st->ti, i);
        if (fe->flags & (SW_FILE_PAD | SW_FILE_SYMLINK))
            continue; /* never on disk: recorded as 0, 0 */
        bool exists = false;
        sw_disk_error e = {0};
        int rc = sw__disk_stat_file(st, i, &exists, &r->file_sizes[i], &r->file_mtimes[i], &e);
        if (rc) {
            sw__disk_resume_free(r);
            job->res.error = e.code;
            job->res.op = e.op;
            job->res.file_index = e.file;
            return;
        }
        if (!exists)
            r->file_sizes[i] = r->file_mtimes[i] = 0;
    }
    job->res.resume = r;
}

static bool any_claimed(const sw_torrent_info *ti, const uint8_t *have, int index)
{
    int first, last;
    if (!sw_torrent_info_file_pieces(ti, index, &first, &last))
        return false;
    for (int p = first; p <= last; p++)
        if (sw__disk_bit_get(have, p))
            return true;
    return false;
}

int sw__disk_resume_validate(sw_storage *st, const uint8_t *buf, size_t len, uint8_t **have_out)
{
    sw_disk_resume *r = NULL;
    int rc = sw__disk_resume_decode(buf, len, &r);
    if (rc)
        return rc;
    const sw_info_hashes *ih = sw_torrent_info_hashes(st->ti);
    int npieces = sw_torrent_info_num_pieces(st->ti);
    int nfiles = sw_torrent_info_num_files(st->ti);
    size_t bflen = sw__disk_bitfield_len(npieces);
    rc = SW_ERR_RESUME_DATA;
    if (!ih || !ih->has_v1 || memcmp(ih->v1.v, r->info_hash.v, SW_SHA1_LEN) != 0)
        goto out;
    if (r->pieces_len != bflen || r->num_files != nfiles)
        goto out;
    if ((npieces & 7) && (r->pieces[bflen - 1] & (0xFFu >> (npieces & 7))))
        goto out; /* spare bits must be clear */
    for (int i = 0; i < nfiles; i++) {
        const sw_file_entry *fe = sw_torrent_info_file(st->ti, i);
        if ((fe->flags & (SW_FILE_PAD | SW_FILE_SYMLINK)) || fe->size == 0 ||
            !any_claimed(st->ti, r->pieces, i))
            continue;
        bool exists = false;
        int64_t size = 0, mtime = 0;
        sw_disk_error e = {0};
        if (sw__disk_stat_file(st, i, &exists, &size, &mtime, &e) != 0 || !exists)
            goto out;
        if (size != r->file_sizes[i] || mtime != r->file_mtimes[i] || size < fe->size)
            goto out;
    }
    *have_out = r->pieces;
    r->pieces = NULL;
    rc = 0;
out:
    sw__disk_resume_free(r);
    return rc;
}
