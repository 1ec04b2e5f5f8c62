/* core/torrent: metainfo (sw_torrent_info), file layout, path sanitising.
 * This is the module's one face inside core/; the public API is in
 * <cswarm/torrent_info.h>. Not for embedders or plugins.
 *
 * Threading: everything here is either a pure function or works on an
 * object owned by one thread; a loaded sw_torrent_info is immutable and may
 * be read from any thread. */
#ifndef SW_CORE_TORRENT_H
#define SW_CORE_TORRENT_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/torrent/torrent.h is internal to cswarm"
#endif
#endif

#include <cswarm/torrent_info.h>

/* Byte layout of a torrent (files end to end, cut into pieces):
 * sw__layout_init, sw__layout_map_block, sw__layout_file_at, ... */
#include "file_layout.h"
/* Making untrusted path components safe: sw__path_sanitize_component,
 * sw__path_is_safe, sw__path_is_windows_reserved. */
#include "path_sanitize.h"
/* Renaming colliding file paths: sw__paths_dedupe. */
#include "path_dedupe.h"
/* UTF-8 checks: sw__utf8_decode, sw__utf8_is_valid, sw__utf8_floor. */
#include "utf8.h"
/* A bump allocator for the strings of one object: sw__arena_*. */
#include "str_arena.h"

/* The layout of a loaded torrent, for code in core/ that maps pieces to files
 * many times (storage): the same arithmetic as the public accessors, without
 * a call through the API per lookup. Borrowed from ti. */
const sw__file_layout *sw__torrent_info_layout(const sw_torrent_info *ti);

#endif
