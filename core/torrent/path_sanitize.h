/* Turning untrusted path components from a .torrent into names that are safe
 * to create under a save path, on Linux, macOS and Windows alike.
 *
 * The policy (each rule neutralises rather than rejects, so a torrent with an
 * odd name still loads; what a rule does is the same on every platform, so a
 * torrent always maps to the same files):
 *   - "", "." and ".." components are dropped;
 *   - '/', '\\', and control characters (U+0000-U+001F, U+007F) become '_',
 *     so a component can never hold a separator or a NUL;
 *   - bytes that are not well-formed UTF-8 become '_', one per byte;
 *   - Unicode direction overrides and marks (U+200E, U+200F, U+202A-U+202E,
 *     U+2066-U+2069), which can disguise an extension, are removed;
 *   - a name reserved on Windows (CON, PRN, AUX, NUL, CONIN$, CONOUT$,
 *     COM0-COM9, LPT0-LPT9, and COM/LPT with a superscript digit; any case;
 *     also when followed by an extension or by spaces) gets a '_' after the
 *     reserved part: "con.txt" -> "con_.txt";
 *   - trailing dots and spaces, which Windows silently strips, become '_';
 *   - a component longer than SW_PATH_COMPONENT_MAX bytes is cut at a UTF-8
 *     character boundary, keeping its extension (the part from the last '.'
 *     when it is at most SW_PATH_EXTENSION_MAX bytes long).
 * Duplicate paths are handled separately (path_dedupe.h). */
#ifndef SW_CORE_TORRENT_PATH_SANITIZE_H
#define SW_CORE_TORRENT_PATH_SANITIZE_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/torrent/path_sanitize.h is internal to cswarm"
#endif
#endif

#include <stdbool.h>
#include <stddef.h>

/* Longest component most file systems accept (bytes). */
#define SW_PATH_COMPONENT_MAX 255
/* Longest extension (with its dot) kept when a component is shortened. */
#define SW_PATH_EXTENSION_MAX 32

/* Sanitises the component in[0..len) into out, which must hold
 * SW_PATH_COMPONENT_MAX + 1 bytes; the result is NUL-terminated. Returns the
 * result's length, 0 when the component is to be dropped, or SW_ERR_NOMEM. */
int sw__path_sanitize_component(const char *in, size_t len, char *out);

/* True if name (len bytes) is reserved on Windows per the rules above. */
bool sw__path_is_windows_reserved(const char *name, size_t len);

/* Where the extension of component c[0..len) starts: the index of its last
 * '.', or len if it has none. A leading dot (".profile") is not an
 * extension, nor is a dot followed by more than SW_PATH_EXTENSION_MAX - 1
 * bytes. */
size_t sw__path_extension_start(const char *c, size_t len);

/* True if path ('/'-separated) is safe to join to a save path: not empty, not
 * absolute, well-formed UTF-8, and every component is non-empty, not "." or "..", has no '\\',
 * NUL or control character, and is at most SW_PATH_COMPONENT_MAX bytes. A
 * check for tests and assertions; the loader builds paths that pass it. */
bool sw__path_is_safe(const char *path);

#endif
