/* Subcommands of the cswarm command. Each takes argv starting at its own
 * name and returns the process exit status. */
#ifndef SW_CLI_H
#define SW_CLI_H

int sw_cli_create(int argc, char **argv);
int sw_cli_info(int argc, char **argv);
int sw_cli_magnet(int argc, char **argv);
int sw_cli_download(int argc, char **argv);
int sw_cli_seed(int argc, char **argv);
int sw_cli_run(int argc, char **argv);

/* cswarm info on a magnet link (cmd_magnet.c). */
int sw_cli_info_magnet(const char *link, int json);

#endif
