/* cswarm version numbers and the export marker for the public API.
 * Same major version = ABI compatible. */
#ifndef CSWARM_VERSION_H
#define CSWARM_VERSION_H

#define SW_VERSION_MAJOR 0
#define SW_VERSION_MINOR 1
#define SW_VERSION_PATCH 0
#define SW_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define SW_API __attribute__((visibility("default")))
#else
#define SW_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library actually linked, e.g. "0.1.0". Static string. */
SW_API const char *sw_version(void);

#ifdef __cplusplus
}
#endif
#endif
