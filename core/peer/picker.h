/* The piece picker: decides which 16 KiB blocks to request from a peer and
 * tracks the state of every piece and block we do not have yet.
 *
 * Model
 *   A torrent of N pieces; every piece is split into blocks of
 *   SW_PICKER_BLOCK_SIZE bytes (the last block of a piece, and the last piece,
 *   may be shorter; the piece length need not be a multiple of 16 KiB).
 *
 *   Piece states (sw_picker_piece_state):
 *     NONE          nothing requested or received
 *     DOWNLOADING   some blocks requested, received or written ("partial")
 *     HASH_PENDING  every block written; waiting for the SHA-1 check
 *     FAILED        the hash check failed; blocks remember who sent them until
 *                   sw__picker_restore_piece() makes the piece pickable again
 *     HAVE          verified
 *   Block states (sw_picker_block_state):
 *     NONE -> REQUESTED (1..SW_PICKER_MAX_REQUESTERS peers) -> WRITING
 *     (received, being written; the sending peer is remembered) -> FINISHED
 *     (written). A REQUESTED block whose last request is aborted goes back to
 *     NONE; a failed write sends WRITING back to NONE.
 *
 * Picking order
 *   1. Higher priority first (1..7; 0 = do not download).
 *   2. Within a priority, with SW_PICK_PRIORITIZE_PARTIALS (the default set
 *      by sw__pick_params_init), pieces already downloading come first:
 *      pieces started by a peer of the same speed class, then the ones with
 *      the most blocks in flight or done, then the rarest (in sequential
 *      mode: lowest index). Without the flag, partial pieces take their
 *      place in the rarity order (libtorrent's prioritize_partial_pieces =
 *      false; the caller may switch it on when partials pile up).
 *   3. Then new pieces, rarest first (fewest peers have them), ties broken
 *      at random from the picker's seeded generator; or, with
 *      SW_PICK_SEQUENTIAL, lowest index first. SW_PICK_REVERSE turns either
 *      order around (most common first / highest index first), which keeps
 *      slow ("snubbed") peers on pieces nobody else is waiting for.
 *   4. End-game: once no wanted block is free (every block of every wanted
 *      piece is requested, received or written), blocks already requested
 *      from other peers may be requested again, up to max_requesters
 *      requesters per block. When one copy arrives, sw__picker_mark_received
 *      returns the other requesters so the caller can CANCEL them.
 *   Pieces and blocks are looked up through bucketed rarity order kept up to
 *   date in O(1) per HAVE; bulk changes (a peer's bitfield, a peer leaving,
 *   setting all priorities) mark the order dirty and it is rebuilt once, in
 *   O(pieces), on the next pick. A pick costs O(partial pieces + pieces
 *   skipped because the peer lacks them + blocks returned).
 *
 * Availability
 *   The caller reports what connected peers have: sw__picker_inc_have() for a
 *   HAVE, sw__picker_inc_bitfield() for a BITFIELD, sw__picker_inc_have_all()
 *   for HAVE ALL or a peer that is a seed (O(1): a seed counter). HAVE NONE
 *   adds nothing. When a peer leaves, undo exactly what was added for it
 *   (sw__picker_dec_bitfield() with its current bitfield, or
 *   sw__picker_dec_have_all()). A peer that completes its set may be moved to
 *   the seed counter with sw__picker_dec_bitfield() + sw__picker_inc_have_all().
 *
 * Typical flow for one peer connection
 *   BITFIELD / HAVE / HAVE ALL     -> sw__picker_inc_bitfield/_have/_have_all
 *   unchoked, room in the queue    -> sw__picker_pick, send REQUESTs,
 *                                     sw__picker_mark_requested for each
 *   PIECE                          -> sw__picker_block_from_wire,
 *                                     sw__picker_mark_received (CANCEL the
 *                                     others it returns), queue the write
 *   write done                     -> sw__picker_mark_finished; when the piece
 *                                     is complete, hash it, then
 *                                     sw__picker_piece_passed or
 *                                     sw__picker_piece_failed (and later
 *                                     sw__picker_restore_piece)
 *   CHOKE / REJECT / timeout       -> sw__picker_abort_request
 *   disconnect                     -> sw__picker_abort_peer, then
 *                                     sw__picker_dec_bitfield/_dec_have_all
 *
 * Peers
 *   A `peer` is an opaque, non-NULL pointer used only as an identity: the
 *   picker never dereferences it. It is remembered as a block's requester and
 *   as the sender of received blocks, and returned later (cancel lists,
 *   sw__picker_get_downloaders, sw__picker_piece_failed). Use an object that
 *   outlives the connection (the peer-list entry) or call
 *   sw__picker_forget_peer() before its address can be reused.
 *
 * Bytes and padding
 *   Byte counts (sw__picker_progress) count every byte of the pieces,
 *   including BEP 47 pad files; subtracting padding is the caller's business.
 *   Pieces that hold only padding get priority 0 from
 *   sw__picker_file_priorities(); the caller may sw__picker_we_have() them.
 *
 * Errors
 *   Functions return 0 or a negative SW_ERR_*; out-of-range piece or block
 *   indices (which may come from the network) give SW_ERR_INVALID_ARG, never
 *   undefined behaviour. Results go to *_out parameters, written on success.
 *
 * Ownership: sw__picker_new() allocates the picker, sw__picker_free()
 * releases it. Peer pointers are borrowed identities.
 *
 * Threading: a picker belongs to one torrent and is used only on the network
 * thread. It does no I/O, takes no locks and keeps no global state. */
#ifndef SW_CORE_PEER_PICKER_H
#define SW_CORE_PEER_PICKER_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/peer/picker.h is internal to cswarm"
#endif
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/error.h>

#define SW_PICKER_BLOCK_SIZE 16384
#define SW_PICKER_PRIORITY_MAX 7
#define SW_PICKER_PRIORITY_DEFAULT 1
/* Hard cap on simultaneous requesters of one block (end-game duplicates). */
#define SW_PICKER_MAX_REQUESTERS 3
/* Default cap used by sw__pick_params_init: one duplicate per block. */
#define SW_PICKER_DEFAULT_MAX_REQUESTERS 2

typedef struct sw_picker sw_picker;

/* One block: piece index and block index within the piece (byte offset
 * block * SW_PICKER_BLOCK_SIZE). */
typedef struct sw_picker_block {
    int piece;
    int block;
} sw_picker_block;

typedef enum sw_picker_piece_state {
    SW_PICKER_PIECE_NONE = 0,
    SW_PICKER_PIECE_DOWNLOADING = 1,
    SW_PICKER_PIECE_HASH_PENDING = 2,
    SW_PICKER_PIECE_FAILED = 3,
    SW_PICKER_PIECE_HAVE = 4,
} sw_picker_piece_state;

typedef enum sw_picker_block_state {
    SW_PICKER_BLOCK_NONE = 0,
    SW_PICKER_BLOCK_REQUESTED = 1,
    SW_PICKER_BLOCK_WRITING = 2,
    SW_PICKER_BLOCK_FINISHED = 3,
} sw_picker_block_state;

/* Speed classes for piece affinity: a piece started by a peer of one class is
 * preferred by other peers of the same class, so fast peers do not wait on
 * pieces half-held by slow ones. */
typedef enum sw_picker_speed {
    SW_PICKER_SPEED_NONE = 0, /* unknown / no preference */
    SW_PICKER_SPEED_SLOW = 1,
    SW_PICKER_SPEED_MEDIUM = 2,
    SW_PICKER_SPEED_FAST = 3,
} sw_picker_speed;

/* ---- lifetime and geometry ---------------------------------------------- */

/* A picker for num_pieces pieces of piece_length bytes (the last piece holds
 * the rest of total_size). All pieces start with priority 1, not had, with
 * zero availability. seed feeds the tie-break generator (any value; tests
 * pass a fixed one). Returns 0, SW_ERR_INVALID_ARG for an inconsistent
 * geometry, or SW_ERR_NOMEM. */
int sw__picker_new(int num_pieces, int piece_length, int64_t total_size, uint64_t seed,
                   sw_picker **picker_out);
void sw__picker_free(sw_picker *p);

int sw__picker_num_pieces(const sw_picker *p);
/* Bytes in piece; 0 for an out-of-range index. */
int sw__picker_piece_size(const sw_picker *p, int piece);
/* Blocks in piece; 0 for an out-of-range index. */
int sw__picker_blocks_in_piece(const sw_picker *p, int piece);
/* Bytes in one block; 0 if out of range. */
int sw__picker_block_size(const sw_picker *p, sw_picker_block b);
/* Maps a wire (piece, begin, length) to a block. The range must be exactly
 * one block: begin a multiple of 16 KiB and length that block's size.
 * Returns 0 or SW_ERR_INVALID_ARG. */
int sw__picker_block_from_wire(const sw_picker *p, int piece, int64_t begin, int64_t length,
                               sw_picker_block *block_out);

/* ---- availability -------------------------------------------------------- */

/* A peer announced HAVE piece. */
int sw__picker_inc_have(sw_picker *p, int piece);
/* Undoes one sw__picker_inc_have. SW_ERR_INVALID_ARG if the count is 0. */
int sw__picker_dec_have(sw_picker *p, int piece);
/* A peer's whole set: bits holds ceil(num_pieces / 8) bytes in wire order
 * (piece 0 is the high bit of byte 0); spare bits are ignored. */
int sw__picker_inc_bitfield(sw_picker *p, const uint8_t *bits);
/* Undoes sw__picker_inc_bitfield for the same bits. Fails with
 * SW_ERR_INVALID_ARG, changing nothing, if any count would drop below 0. */
int sw__picker_dec_bitfield(sw_picker *p, const uint8_t *bits);
/* A seed (HAVE ALL): O(1). */
void sw__picker_inc_have_all(sw_picker *p);
/* A seed left. SW_ERR_INVALID_ARG if there was none. */
int sw__picker_dec_have_all(sw_picker *p);
/* Peers that have piece, seeds included; 0 for an out-of-range index. */
uint32_t sw__picker_availability(const sw_picker *p, int piece);
uint32_t sw__picker_num_seeds(const sw_picker *p);

/* ---- priorities ---------------------------------------------------------- */

/* priority 0..7; 0 = do not download. A piece already downloading keeps its
 * requests; it is just no longer picked. */
int sw__picker_set_piece_priority(sw_picker *p, int piece, int priority);
/* Priority of piece, or -1 for an out-of-range index. */
int sw__picker_piece_priority(const sw_picker *p, int piece);
/* All pieces at once: prio holds num_pieces values 0..7. Validates everything
 * before changing anything. */
int sw__picker_set_priorities(sw_picker *p, const uint8_t *prio);
/* Copies all num_pieces priorities to prio_out. */
void sw__picker_get_priorities(const sw_picker *p, uint8_t *prio_out);

/* A file's byte range in the torrent and its priority, for
 * sw__picker_file_priorities. */
typedef struct sw_picker_file_range {
    int64_t offset; /* first byte of the file in the torrent */
    int64_t size;
    int priority; /* 0..7 */
    bool pad;     /* BEP 47 pad file: does not make a piece wanted */
} sw_picker_file_range;

/* Maps file priorities to piece priorities: a piece gets the highest
 * priority of the non-pad files that share bytes with it, or 0 if none
 * (empty files touch no piece). Pure function: fill piece_prio_out
 * (num_pieces bytes), then pass it to sw__picker_set_priorities, adjusting
 * single pieces first if wanted. Returns 0 or SW_ERR_INVALID_ARG (bad
 * priority, negative size, or a range outside the torrent). */
int sw__picker_file_priorities(const sw_picker_file_range *files, int num_files, int piece_length,
                               int num_pieces, uint8_t *piece_prio_out);

/* ---- picking ------------------------------------------------------------- */

enum sw_pick_flags {
    /* Lowest index first instead of rarest first (within a priority). */
    SW_PICK_SEQUENTIAL = 1u << 0,
    /* Finish pieces already downloading before starting new ones. */
    SW_PICK_PRIORITIZE_PARTIALS = 1u << 1,
    /* Whole pieces for this peer: only pieces no other peer has requested
     * or sent blocks of (so no end-game duplicates either), and every free
     * block of a piece once it is started (may return more than num_blocks,
     * never more than max_out). For web seeds, fast peers and peers on
     * parole after a hash failure. */
    SW_PICK_WHOLE_PIECES = 1u << 2,
    /* Most common / highest index first (snubbed peers). */
    SW_PICK_REVERSE = 1u << 3,
    /* Allow duplicate requests whenever this pick finds no free block for
     * this peer, not only when no wanted block is free at all (libtorrent's
     * strict_end_game_mode = false). */
    SW_PICK_NONSTRICT_END_GAME = 1u << 4,
};

/* What the peer has: a predicate, or a raw bitfield, or everything. */
typedef bool (*sw_picker_has_fn)(const void *ctx, int piece);

typedef struct sw_pick_params {
    void *peer;              /* identity of the peer we will request from */
    const uint8_t *bits;     /* peer's pieces in wire order, or NULL */
    sw_picker_has_fn has_fn; /* used instead of bits when non-NULL */
    const void *has_ctx;     /* passed to has_fn */
    bool has_all;            /* the peer is a seed: bits and has_fn ignored */
    int num_blocks;          /* blocks wanted */
    unsigned flags;          /* SW_PICK_* */
    int speed;               /* sw_picker_speed of the peer */
    int max_requesters;      /* end-game cap per block, 1..SW_PICKER_MAX_REQUESTERS */
} sw_pick_params;

/* Defaults: no peer set, num_blocks 0, flags SW_PICK_PRIORITIZE_PARTIALS,
 * speed NONE, max_requesters SW_PICKER_DEFAULT_MAX_REQUESTERS. */
void sw__pick_params_init(sw_pick_params *params);

/* Chooses up to num_blocks blocks (at most max_out) to request from the
 * peer, best first, into out; *n_out = how many. Never returns a block the
 * peer already requested, a block already received, a block of a piece we
 * have, of priority 0, hash pending or failed, or (outside end-game) a
 * block requested by anyone. Does not change block states: call
 * sw__picker_mark_requested for each block actually sent. Returns 0,
 * SW_ERR_INVALID_ARG (no peer, no have-set, bad cap) or SW_ERR_NOMEM. */
int sw__picker_pick(sw_picker *p, const sw_pick_params *params, sw_picker_block *out, int max_out,
                    int *n_out);
/* True when no wanted block is free: every block of every piece we want and
 * do not have is requested, received or written. */
bool sw__picker_in_end_game(const sw_picker *p);

/* ---- block and piece events --------------------------------------------- */

/* A REQUEST for b was sent to peer. speed (sw_picker_speed) tags the piece
 * if this starts it. Returns 0; SW_ERR_EXISTS if peer already requested b or
 * b is already received/written; SW_ERR_LIMIT if b has
 * SW_PICKER_MAX_REQUESTERS requesters; SW_ERR_INVALID_ARG for a bad block or
 * a piece that is had, hash pending or failed; SW_ERR_NOMEM. */
int sw__picker_mark_requested(sw_picker *p, sw_picker_block b, void *peer, int speed);
/* The request of b to peer is gone (choked, rejected, timed out and given
 * up, peer disconnected). With no requester left the block is free again.
 * Returns 0 or SW_ERR_NOT_FOUND if peer had no request for b. */
int sw__picker_abort_request(sw_picker *p, sw_picker_block b, void *peer);
/* Aborts every request of peer; *n_out (may be NULL) = how many. */
void sw__picker_abort_peer(sw_picker *p, void *peer, int *n_out);
/* sw__picker_abort_peer, and also clears peer as sender of received blocks,
 * so the pointer may be reused for another peer. */
void sw__picker_forget_peer(sw_picker *p, void *peer);

/* peer sent the data of b: the block becomes WRITING with peer as its
 * sender. Every requester of b is dropped; the ones other than peer are
 * written to others_out (*n_others_out of them) so the caller can CANCEL
 * those requests (no sw__picker_abort_request is needed for them). Data for
 * a free block that was never requested (or whose request was aborted) is
 * accepted. Returns 0; SW_ERR_EXISTS if the data is already here (b
 * received or written, or its piece had, hash pending or failed): a
 * duplicate, drop it (*n_others_out is 0); SW_ERR_INVALID_ARG for a bad
 * block; SW_ERR_NOMEM. */
int sw__picker_mark_received(sw_picker *p, sw_picker_block b, void *peer,
                             void *others_out[SW_PICKER_MAX_REQUESTERS], int *n_others_out);
/* Writing b failed: back to free (sender forgotten). Requires WRITING. */
int sw__picker_mark_write_failed(sw_picker *p, sw_picker_block b);
/* b is written. Normally from WRITING; from NONE too, to restore finished
 * blocks of a partial piece from resume data. *piece_complete_out (may be
 * NULL) is set true when this was the piece's last block: the piece is now
 * HASH_PENDING and the caller should hash it, then call
 * sw__picker_piece_passed or sw__picker_piece_failed. Returns 0,
 * SW_ERR_EXISTS (already finished), SW_ERR_INVALID_ARG (REQUESTED: receive
 * it first; or a piece had / hash pending / failed), or SW_ERR_NOMEM. */
int sw__picker_mark_finished(sw_picker *p, sw_picker_block b, bool *piece_complete_out);

/* The hash check of a HASH_PENDING piece passed: the piece becomes HAVE and
 * its block records are released (query sw__picker_get_downloaders first if
 * the senders matter, e.g. to end parole). */
int sw__picker_piece_passed(sw_picker *p, int piece);
/* The hash check of a HASH_PENDING piece failed: the piece becomes FAILED
 * and is not picked; blocks keep their senders (sw__picker_get_downloaders)
 * so the caller and smart_ban can act. The distinct senders are written to
 * peers_out (at most max); *n_out (may be NULL) is the number of distinct
 * senders, which may exceed max. Call sw__picker_restore_piece once the
 * stored data may be overwritten. */
int sw__picker_piece_failed(sw_picker *p, int piece, void **peers_out, int max, int *n_out);
/* A FAILED piece becomes NONE: all blocks free, senders forgotten. */
int sw__picker_restore_piece(sw_picker *p, int piece);
/* Hash failures seen for piece (saturates at 255); 0 if out of range. */
int sw__picker_piece_fail_count(const sw_picker *p, int piece);

/* Marks piece as had whatever its state (resume data, a finished check),
 * dropping its block records and any requests on it. */
int sw__picker_we_have(sw_picker *p, int piece);
/* Marks piece as not had (a recheck found it bad, a file went missing). */
int sw__picker_we_dont_have(sw_picker *p, int piece);

/* ---- queries ------------------------------------------------------------- */

/* State of piece; SW_PICKER_PIECE_NONE for an out-of-range index. */
sw_picker_piece_state sw__picker_piece_state(const sw_picker *p, int piece);
bool sw__picker_have(const sw_picker *p, int piece);
/* Priority > 0 and not had: a peer having it makes the peer interesting. */
bool sw__picker_is_wanted(const sw_picker *p, int piece);
/* State of one block and its number of requesters. Blocks of a had piece
 * read as FINISHED. */
int sw__picker_block_state(const sw_picker *p, sw_picker_block b, sw_picker_block_state *state_out,
                           int *num_requesters_out);
/* Requesters of b into out (room for SW_PICKER_MAX_REQUESTERS); *n_out. */
int sw__picker_requesters(const sw_picker *p, sw_picker_block b,
                          void *out[SW_PICKER_MAX_REQUESTERS], int *n_out);
/* Per block of piece, the peer that sent it (NULL if none yet): writes
 * min(max, blocks) pointers. For DOWNLOADING, HASH_PENDING and FAILED
 * pieces; NONE and HAVE pieces give all NULL. */
int sw__picker_get_downloaders(const sw_picker *p, int piece, void **out, int max);

int sw__picker_num_have(const sw_picker *p);
/* Pieces with priority > 0 (had or not). */
int sw__picker_num_wanted(const sw_picker *p);
/* Every piece with priority > 0 is had. */
bool sw__picker_is_finished(const sw_picker *p);
/* Every piece is had. */
bool sw__picker_is_seed(const sw_picker *p);

/* Pieces with block records (DOWNLOADING, HASH_PENDING or FAILED). */
int sw__picker_num_partial(const sw_picker *p);
typedef struct sw_picker_partial_info {
    int piece;
    sw_picker_piece_state state;
    int speed; /* sw_picker_speed of the peer that started it */
    int blocks;
    int requested, writing, finished; /* blocks in each state */
} sw_picker_partial_info;
/* The index-th partial piece, 0 <= index < sw__picker_num_partial; the
 * order is unspecified and changes as pieces start and end. */
int sw__picker_partial_info(const sw_picker *p, int index, sw_picker_partial_info *info_out);

typedef struct sw_picker_progress {
    int64_t total_bytes;       /* the whole torrent */
    int64_t have_bytes;        /* verified pieces */
    int64_t done_bytes;        /* verified pieces + written blocks of others */
    int64_t wanted_bytes;      /* pieces with priority > 0 */
    int64_t wanted_have_bytes; /* ... that are verified */
    int64_t wanted_done_bytes; /* ... verified, plus their written blocks */
} sw_picker_progress;
/* O(partial pieces). Pad bytes are included (see above). */
void sw__picker_progress(const sw_picker *p, sw_picker_progress *out);

/* Debug aid for tests: checks every internal invariant (counters, rarity
 * order, block records) in O(pieces + blocks). Returns 0, or
 * SW_ERR_INVALID_ARG with a static description of the broken invariant in
 * *what_out (may be NULL); a failure is a picker bug. */
int sw__picker_check_invariants(const sw_picker *p, const char **what_out);

#endif
