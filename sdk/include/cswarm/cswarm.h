/* Umbrella header: everything an embedder needs. */
#ifndef CSWARM_H
#define CSWARM_H

#include "version.h"
#include "error.h"
#include "bencode.h"
#include "torrent_info.h"
#include "settings.h"
#include "alert.h"
#include "magnet.h"
#include "create.h"
#include "torrent.h"
#include "session.h"
#include "ip_filter.h"

#endif
