/* Engine-side access to settings (the public API is <cswarm/settings.h>).
 *
 * Engine code knows each setting's type at compile time, so these getters
 * return the value directly instead of a status; asking for the wrong type is
 * a programming error caught by an assertion in debug builds (release builds
 * return 0 / false / ""). Same threading rule as the public object: one
 * thread at a time (the session's copy lives on the network thread). */
#ifndef SW_CORE_BASE_SETTINGS_INTERNAL_H
#define SW_CORE_BASE_SETTINGS_INTERNAL_H

#include <stdbool.h>

#include <cswarm/settings.h>

int sw__settings_int(const sw_settings *s, sw_setting_id id);
bool sw__settings_bool(const sw_settings *s, sw_setting_id id);
/* Borrowed; valid until the setting changes or the object is freed. */
const char *sw__settings_str(const sw_settings *s, sw_setting_id id);

/* Whether setting id holds the same value in a and b (e.g. to act only on
 * settings that an apply_settings call changed). */
bool sw__settings_same(const sw_settings *a, const sw_settings *b, sw_setting_id id);

/* Exchanges the contents of a and b (used to commit a fully prepared copy). */
void sw__settings_swap(sw_settings *a, sw_settings *b);

#endif
