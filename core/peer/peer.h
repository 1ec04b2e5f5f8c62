/* core/peer: peer connections and the wire protocol. This is the module's one
 * public face inside core/; other modules include only this header. Not for
 * embedders or plugins. */
#ifndef SW_CORE_PEER_H
#define SW_CORE_PEER_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/peer/peer.h is internal to cswarm"
#endif
#endif

#include "wire.h"
#include "picker.h"
#include "swarm.h"

#endif
