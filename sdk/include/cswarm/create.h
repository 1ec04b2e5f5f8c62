/* Creating .torrent files (v1 metainfo, BEP 3/12/19/27/47) from a file or a
 * folder.
 *
 *     sw_create_params p;
 *     sw_create_params_init(&p);
 *     p.path = "/data/album";
 *     sw_announce_entry tr[] = {{"http://t1/announce", 0}, {"udp://t2:80", 1}};
 *     p.trackers = tr;
 *     p.num_trackers = 2;
 *     uint8_t *buf;
 *     size_t len;
 *     int rc = sw_create_torrent(&p, &buf, &len, &err);  // ... free(buf)
 *
 * What goes in. A regular file makes a single-file torrent named after it. A
 * folder makes a multi-file torrent named after the folder, holding every
 * regular file below it, hidden ones (".name") included; empty folders add
 * nothing. Symbolic links are followed, to files and to folders alike, and
 * the target's data is hashed under the link's own path; a dangling link, a
 * link cycle or an unreadable entry is an error that names the path. FIFOs,
 * sockets and device nodes are skipped: they have no content to share. A
 * folder with no regular file gives SW_ERR_CREATE_NO_FILES, and so does a set
 * of files whose sizes add up to zero. Zero-length files are listed.
 * This is what mktorrent 1.1 does, so the same content and options give the
 * same info-hash as mktorrent. One deliberate difference: a path of "." or
 * ".." is named after the folder it resolves to (mktorrent writes ".").
 * A trailing '/' is ignored.
 *
 * File order. Without pad files, files are sorted bytewise by their whole
 * relative path with '/' separators (strcmp order, mktorrent's order: "a-b/x"
 * sorts before "a.txt", which sorts before "a/x"). With pad_files, files are
 * sorted component by component ("a/x" < "a-b/x" < "a.txt"), the canonical
 * order of libtorrent 2.0's create_torrent with the v1_only and
 * canonical_files_no_tail_padding flags, whose layout pad mode reproduces.
 *
 * Pad files (BEP 47). With pad_files, a pad entry {"attr": "p", "length": N,
 * "path": [".pad", "N"]} is put before every non-empty file that would not
 * otherwise start on a piece boundary, so each non-empty file starts on one.
 * No pad follows the last file; zero-length files get none. Single-file
 * torrents never need pads.
 *
 * Automatic piece size (piece_size = 0): the smallest power of two that
 * yields at most 2048 pieces, clamped to 16 KiB .. 16 MiB, so big torrents get
 * between 1025 and 2048 pieces (see sw_create_auto_piece_size).
 *
 * The info dictionary holds exactly: "files" (or "length"), "name",
 * "piece length", "pieces", and "private" = 1 only when set. Outside it:
 * "announce" (the first tracker of the lowest tier), "announce-list" (only
 * when there is more than one tracker), "comment", "created by", "creation
 * date" and "url-list" (web seeds), each only when set.
 *
 * Hashing. Pieces are hashed by num_threads threads (the calling thread is
 * one of them) that each read their own run of pieces with large pread()s;
 * pieces span file boundaries. A file whose size differs from what the walk
 * saw, or that ends early, fails the call with SW_ERR_CREATE_FILE_CHANGED.
 *
 * Threading and ownership. sw_create_torrent blocks until done. The params
 * and everything they point to are borrowed for the call and not modified;
 * distinct calls may run concurrently. The progress callback runs on the
 * calling thread. On success the caller owns *buf_out (free with free()).
 * On failure nothing is written to the out-parameters, err (if not NULL)
 * gets the code and a one-line message naming the file involved, and the
 * return value is a negative SW_ERR_* or system/libuv code (UV_ENOENT, ...). */
#ifndef CSWARM_CREATE_H
#define CSWARM_CREATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "torrent_info.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SW_CREATE_MIN_PIECE_SIZE (16 * 1024)
/* The largest piece size accepted when given: the largest a loader takes. */
#define SW_CREATE_MAX_PIECE_SIZE SW_TORRENT_MAX_PIECE_LENGTH
#define SW_CREATE_MAX_AUTO_PIECE_SIZE (16 * 1024 * 1024)
/* creation_date value meaning "the time of the call". */
#define SW_CREATE_DATE_NOW ((int64_t)-1)

/* Called on the calling thread after runs of pieces are hashed and once with
 * pieces_done == pieces_total at the end. Returning non-zero cancels the
 * call, which then fails with SW_ERR_ABORTED. */
typedef int (*sw_create_progress_cb)(void *user, int pieces_done, int pieces_total);

typedef struct sw_create_params {
    uint32_t struct_size; /* set by sw_create_params_init */

    const char *path; /* file or folder to share (required) */
    const char *name; /* NULL = the last component of path */

    /* Bytes per piece: a power of two in [SW_CREATE_MIN_PIECE_SIZE,
     * SW_CREATE_MAX_PIECE_SIZE], or 0 to choose automatically. */
    int64_t piece_size;

    /* Trackers with their BEP 12 tier (0 = first). Any order: they are
     * grouped by tier, keeping the given order within a tier. */
    const sw_announce_entry *trackers;
    int num_trackers;

    /* BEP 19 web seeds ("url-list"). */
    const char *const *web_seeds;
    int num_web_seeds;

    const char *comment;    /* NULL = none */
    const char *created_by; /* NULL = "cswarm/<version>"; "" = leave out */
    /* Seconds since the epoch; 0 = leave out (the default, so the same
     * content gives the same file); SW_CREATE_DATE_NOW = the current time. */
    int64_t creation_date;

    bool is_private; /* BEP 27 "private": 1 in the info dictionary */
    bool pad_files;  /* BEP 47 pad files aligning each file to a piece */

    int num_threads; /* hashing threads, calling thread included; 0 = one per core */

    sw_create_progress_cb progress; /* may be NULL */
    void *progress_user;
} sw_create_params;

/* Fills p with the defaults above (everything empty, automatic piece size). */
SW_API void sw_create_params_init(sw_create_params *p);

/* The automatic piece size for total_size bytes of content. */
SW_API int64_t sw_create_auto_piece_size(int64_t total_size);

/* Walks params->path, hashes the content and writes the bencoded .torrent to
 * *buf_out / *len_out. err may be NULL. */
SW_API int sw_create_torrent(const sw_create_params *params, uint8_t **buf_out, size_t *len_out,
                             sw_error_detail *err);

/* Same, writing the .torrent to out_path (through a temporary file in the
 * same folder renamed into place, so a failure leaves no partial file). */
SW_API int sw_create_torrent_file(const sw_create_params *params, const char *out_path,
                                  sw_error_detail *err);

#ifdef __cplusplus
}
#endif
#endif
