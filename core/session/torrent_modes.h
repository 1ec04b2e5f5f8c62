/* Private to core/session: the torrent modes that change what a torrent asks
 * of its swarm — share mode (fetch only pieces worth passing on), super
 * seeding (BEP 16) and upload mode entered on a full disk.
 *
 * Threading: network thread only. */
#ifndef SW_CORE_SESSION_TORRENT_MODES_H
#define SW_CORE_SESSION_TORRENT_MODES_H

#include <stdbool.h>
#include <stdint.h>

#include <cswarm/session.h>
#include <cswarm/torrent.h>

#include "disk/disk.h"

typedef struct sw_torrent sw_torrent;

typedef struct sw_torrent_modes {
    bool share_mode;
    int share_piece;               /* the piece share mode fetches now, -1 if none */
    uint64_t share_next_ms;        /* when share mode looks for a piece again */
    bool super_seeding;            /* wanted: applies whenever the torrent is a seed */
    bool super_seed_applied;       /* the swarm super seeded since it was wanted */
    bool upload_mode_by_disk;      /* upload mode came from a write error */
    uint64_t upload_mode_since_ms; /* 0 when not in upload mode */
    uint32_t rand;                 /* share mode's tie-breaks */
    /* From resume data: 0 not given, 1 off, 2 on. */
    uint8_t resume_share, resume_super;
} sw_torrent_modes;

/* Modes saved in resume data (1 on, 0 off, -1 not saved); they win over
 * the add flags unless override. */
void sw__torrent_modes_load_resume(sw_torrent *t, int share_mode, int super_seeding, bool override);
/* From the add parameters, once the swarm exists (before the first check). */
void sw__torrent_modes_init(sw_torrent *t, const sw_add_torrent_params *p);
/* A torrent added by info-hash got its metadata (priorities are set, the
 * check comes next): share mode wants nothing. */
void sw__torrent_modes_metadata(sw_torrent *t);
/* Makes the swarm match the wanted modes (call when the torrent may have
 * become a seed, or stopped being one). */
void sw__torrent_modes_update(sw_torrent *t);
/* Once a tick: share mode's next piece, leaving upload mode after
 * optimistic_disk_retry. */
void sw__torrent_modes_tick(sw_torrent *t);
/* A disk error: true when it was a full disk on a write, which puts the
 * torrent in upload mode (with a file_error alert) instead of stopping it. */
bool sw__torrent_modes_disk_error(sw_torrent *t, int error, sw_disk_op op, int file);
/* Fills the mode fields of a status. */
void sw__torrent_modes_status(const sw_torrent *t, sw_torrent_status *st);

#endif
