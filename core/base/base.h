/* core/base: the building blocks every other core module uses. This is the
 * module's one public face inside core/. Not for embedders or plugins. */
#ifndef SW_CORE_BASE_H
#define SW_CORE_BASE_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/base/base.h is internal to cswarm"
#endif
#endif

#include <cswarm/error.h>
#include <cswarm/bencode.h>

#include "base32.h"
#include "sha.h"
#include "settings_internal.h"
#include "buffer.h"
#include "bitfield.h"

#endif
