/*
 * cli: the tegata command and its subcommands. Each returns the process
 * exit status: 0 success, 1 failure at run time, 2 usage error.
 */
#ifndef TG_CLI_H
#define TG_CLI_H

int tg_cli_main(int argc, char **argv);
int tg_cli_serve(int argc, char **argv);
int tg_cli_keys(int argc, char **argv);
int tg_cli_policy(int argc, char **argv);

#endif
