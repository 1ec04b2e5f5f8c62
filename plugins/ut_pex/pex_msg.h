/* BEP 11 ut_pex messages: parsing what a peer sent and building ours (pure
 * functions over bytes). Shared by ut_pex.c and the fuzz target. */
#ifndef SW_PLUGIN_UT_PEX_MSG_H
#define SW_PLUGIN_UT_PEX_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/plugin.h>

/* Flags per added peer (BEP 11). */
enum {
    UT_PEX_ENCRYPTION = 0x01,
    UT_PEX_SEED = 0x02,
    UT_PEX_UTP = 0x04,
    UT_PEX_HOLEPUNCH = 0x08,
    UT_PEX_REACHABLE = 0x10,
};

/* Most contacts taken from one message, per list. */
#define UT_PEX_MAX_PARSED 200

typedef struct ut_pex_contact {
    sw_plugin_endpoint ep;
    uint8_t flags;
} ut_pex_contact;

typedef struct ut_pex_msg {
    ut_pex_contact added[UT_PEX_MAX_PARSED];
    int num_added;
    sw_plugin_endpoint dropped[UT_PEX_MAX_PARSED];
    int num_dropped;
} ut_pex_msg;

/* Parses a ut_pex payload: "added"/"added6" compact contacts (6 or 18 bytes
 * each) with optional "added.f"/"added6.f" flags (one byte per contact; a
 * flags string of the wrong length is ignored), "dropped"/"dropped6".
 * Contacts with port 0 are skipped. Returns 0 or SW_ERR_PROTOCOL (not a
 * dictionary, a contact string not a multiple of its size) or
 * SW_ERR_NOMEM. */
int ut_pex_msg_parse(const uint8_t *payload, size_t len, ut_pex_msg *out);

/* Builds a payload from added and dropped contacts (IPv4 and IPv6 mixed;
 * empty lists are left out). *buf_out is freed with sw_plugin_free. */
int ut_pex_msg_build(const ut_pex_contact *added, int num_added, const sw_plugin_endpoint *dropped,
                     int num_dropped, uint8_t **buf_out, size_t *len_out);

bool ut_pex_same_endpoint(const sw_plugin_endpoint *a, const sw_plugin_endpoint *b);

#endif
