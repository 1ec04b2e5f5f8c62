/* Web seeds (BEP 19, GetRight style "url-list"): the pure parts that turn a
 * piece request into HTTP range requests and check what a server answers.
 *
 *   - sw__web_seed_file_url: the URL of one file of a torrent on a web seed
 *     (single-file: the URL is the file, or URL + name when it ends in '/';
 *     multi-file: URL + name + "/" + path, each component percent-encoded);
 *   - sw__web_seed_plan: a byte run of a piece as per-file ranges, pad
 *     files left out (their bytes are zeros and no server holds them);
 *   - sw__http_parse_content_range: a Content-Range header value, bounded.
 *
 * Threading: pure functions, callable from any thread. Nothing here
 * allocates; callers own every buffer. */
#ifndef SW_CORE_PEER_WEB_SEED_H
#define SW_CORE_PEER_WEB_SEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/torrent_info.h>

/* One HTTP range request: size bytes at file_offset of file file_index,
 * landing at piece_offset of the requested run (relative to its start). */
typedef struct sw_web_seed_range {
    int file_index;
    int64_t file_offset;
    int64_t size;
    int64_t run_offset;
} sw_web_seed_range;

/* Writes the NUL-terminated URL of file file_index on the web seed base
 * into out (cap bytes) and its length to *len_out (may be NULL).
 * SW_ERR_INVALID_ARG for a bad index, an empty base or a pad file;
 * SW_ERR_LIMIT when out is too small (out is then left as an empty string
 * when cap > 0). */
int sw__web_seed_file_url(const sw_torrent_info *ti, const char *base, int file_index, char *out,
                          size_t cap, size_t *len_out);

/* Splits size bytes at (piece, offset) into range requests, one per file
 * crossed, pad files skipped. Writes at most max ranges and returns the
 * number needed (which may exceed max), or SW_ERR_INVALID_ARG for a range
 * outside the piece. */
int sw__web_seed_plan(const sw_torrent_info *ti, int piece, int64_t offset, int64_t size,
                      sw_web_seed_range *out, int max);

/* Parses a Content-Range value of a 206 answer: "bytes FIRST-LAST/TOTAL"
 * or "bytes FIRST-LAST/" followed by "*" (then *total_out is -1), white space around the
 * value allowed. Numbers are decimal, at most 18 digits, with
 * FIRST <= LAST < TOTAL. Reads at most len bytes of value (no NUL needed).
 * SW_ERR_INVALID_ARG for anything else (including "bytes * /TOTAL"). */
int sw__http_parse_content_range(const char *value, size_t len, int64_t *first_out,
                                 int64_t *last_out, int64_t *total_out);

/* ---- a web seed as a source of blocks for a swarm (web_seed_swarm.c) ----
 * A web seed has every piece and is never choked; it stands in the picker
 * under a sw_peer_entry its owner keeps (not in the peer list), so hash
 * failures count against it in entry->hashfails like for any peer.
 * Network thread only. */

struct sw_swarm;
struct sw_peer_entry;

/* True when the swarm wants blocks now (active, not checking or closing,
 * not finished, not in upload mode). */
bool sw__swarm_web_wants(const struct sw_swarm *sw);
/* Picks up to max_blocks consecutive free blocks of one piece (whole
 * pieces preferred) and marks them requested by peer. *n_out = 0 when
 * there is nothing to ask for. */
int sw__swarm_web_pick(struct sw_swarm *sw, struct sw_peer_entry *peer, int max_blocks,
                       int *piece_out, int *first_block_out, int *n_out);
/* Gives back the requests of a run that will not be delivered. */
void sw__swarm_web_abort(struct sw_swarm *sw, struct sw_peer_entry *peer, int piece,
                         int first_block, int n);
/* The data of a run (len bytes from block first_block of piece) arrived:
 * the blocks still wanted are written through the disk pool and hashed
 * when their piece completes, as for a peer's blocks. buf is only read. */
void sw__swarm_web_deliver(struct sw_swarm *sw, struct sw_peer_entry *peer, int piece,
                           int first_block, const uint8_t *buf, size_t len);
/* Drops every request and sender mark of peer before its entry is freed. */
void sw__swarm_web_forget(struct sw_swarm *sw, struct sw_peer_entry *peer);

#endif
