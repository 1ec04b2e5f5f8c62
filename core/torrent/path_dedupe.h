/* Making every file path of a torrent unique, so that no two files (and no
 * file and folder) of a torrent land on the same name on disk.
 *
 * Paths are compared ignoring ASCII case, because the save path may be on a
 * case-insensitive file system (Windows, macOS defaults): "Readme" and
 * "README" collide. Non-ASCII case and Unicode normalisation are not folded.
 *
 * Files are taken in torrent order; the first one keeps its path. A later
 * file whose path equals an earlier file's, or a folder some file lives in,
 * is renamed by inserting a counter before its extension, the way libtorrent
 * does: "a/b.txt" becomes "a/b.1.txt" (then "a/b.2.txt", ...), keeping the
 * last component within SW_PATH_COMPONENT_MAX bytes. Folders are never
 * renamed. Pad files are skipped: they are never written to disk and may
 * share a path (BEP 47 suggests ".pad/N" for all of them). */
#ifndef SW_CORE_TORRENT_PATH_DEDUPE_H
#define SW_CORE_TORRENT_PATH_DEDUPE_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/torrent/path_dedupe.h is internal to cswarm"
#endif
#endif

#include <cswarm/torrent_info.h>

#include "str_arena.h"

/* Renames colliding files in place (new paths are allocated from arena).
 * files[i].path must be sanitised ('/'-separated, no empty component).
 * Returns 0 or SW_ERR_NOMEM. */
int sw__paths_dedupe(sw_file_entry *files, int num_files, sw__arena *arena);

#endif
