/* shop-replay's subcommands: each takes its own argv (argv[0] is its name)
 * and returns the process's exit status (0 ok, 1 failed, 2 bad usage). */
#ifndef SHOP_REPLAY_COMMANDS_H
#define SHOP_REPLAY_COMMANDS_H

int record_main(int argc, char **argv);
int replay_main(int argc, char **argv);
int garbage_main(int argc, char **argv);
int check_main(int argc, char **argv);

#endif
