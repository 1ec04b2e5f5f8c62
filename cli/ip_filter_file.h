/* The --ip-filter option of `cswarm download` and `cswarm seed`. */
#ifndef SW_CLI_IP_FILTER_FILE_H
#define SW_CLI_IP_FILTER_FILE_H

#include <stdbool.h>

#include <cswarm/session.h>

/* Loads the range file at path into the session's IP filter. Returns 0, or
 * the process exit status after printing why (2: the file cannot be read). */
int sw_cli_load_ip_filter(sw_session *ses, const char *path, const char *command, bool quiet);

#endif
