/* UTF-8 checks for names and text read from .torrent files. Pure functions,
 * no state. */
#ifndef SW_CORE_TORRENT_UTF8_H
#define SW_CORE_TORRENT_UTF8_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/torrent/utf8.h is internal to cswarm"
#endif
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length (1-4) of the well-formed UTF-8 sequence at s[0..len), writing
 * its code point to *cp_out (may be NULL); 0 if the bytes there are not one
 * (a stray continuation byte, a truncated sequence, an overlong form, a
 * surrogate, or a code point above U+10FFFF). len must be > 0. */
int sw__utf8_decode(const uint8_t *s, size_t len, uint32_t *cp_out);

/* True if s[0..len) is well-formed UTF-8 with no NUL byte. */
bool sw__utf8_is_valid(const char *s, size_t len);

/* Copies text as well-formed UTF-8 without NUL bytes: every byte that does
 * not begin a well-formed sequence becomes U+FFFD, NULs are dropped. out must
 * hold 3 * len + 1 bytes; returns the length written (NUL-terminated). */
size_t sw__utf8_sanitize_text(const char *s, size_t len, char *out);

/* The largest n <= max (and <= len) such that s[0..n) does not end inside
 * a UTF-8 sequence; meant for well-formed input, where cutting there keeps it
 * well-formed. */
size_t sw__utf8_floor(const char *s, size_t len, size_t max);

#endif
