/* Minimal JSON writing for the CLI's machine-readable output. Strings are
 * escaped per RFC 8259; bytes that are not valid UTF-8 become U+FFFD so the
 * output always parses. */
#ifndef SW_CLI_JSON_OUT_H
#define SW_CLI_JSON_OUT_H

#include <stddef.h>
#include <stdio.h>

void sw_json_string(FILE *out, const char *s, size_t len);
void sw_json_cstring(FILE *out, const char *s); /* NULL prints null */

#endif
