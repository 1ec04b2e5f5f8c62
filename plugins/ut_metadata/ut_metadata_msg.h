/* BEP 9 messages: parsing what a peer sent (pure: no connection state).
 * Shared by ut_metadata.c and the fuzz target. */
#ifndef SW_PLUGIN_UT_METADATA_MSG_H
#define SW_PLUGIN_UT_METADATA_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <cswarm/plugin.h>

/* Metadata travels in pieces of this size (the last may be shorter). */
#define UT_METADATA_PIECE 16384

enum { UT_METADATA_REQUEST = 0, UT_METADATA_DATA = 1, UT_METADATA_REJECT = 2 };

typedef struct ut_metadata_msg {
    int64_t type;        /* UT_METADATA_*, or another value to ignore */
    int piece;           /* >= 0 */
    int64_t total_size;  /* data: "total_size", -1 if absent */
    const uint8_t *data; /* data: the piece after the dictionary (points into the input) */
    size_t data_len;
} ut_metadata_msg;

/* Parses an extended message payload: a bencoded dictionary with integer
 * "msg_type" and "piece" (0..INT32_MAX), followed (for data) by the piece.
 * Returns 0 or SW_ERR_PROTOCOL (SW_ERR_NOMEM). */
int ut_metadata_msg_parse(const uint8_t *payload, size_t len, ut_metadata_msg *out);

/* The byte count of piece `piece` of metadata of `size` bytes (0 if out of
 * range). */
int ut_metadata_piece_len(int64_t size, int piece);

#endif
