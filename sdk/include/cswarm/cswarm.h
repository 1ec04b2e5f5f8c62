/* Umbrella header: everything an embedder needs. */
#ifndef CSWARM_H
#define CSWARM_H

#include "version.h"
#include "error.h"
#include "bencode.h"
#include "torrent_info.h"
#include "create.h"
/* magnet.h joins as it lands. */

#endif
