/* shop-replay: a tool for people who test the shop's MQTT bus. It records
 * the bus, replays recordings (duplicated, reversed, shuffled), throws
 * garbage at every topic, and checks the invariants of docs/protocol.md over HTTP.
 * This file is the table of contents: one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "http_client.h"
#include "log.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "record", record_main,
	  "--out FILE [--duration S] [--count N] [--all]: write every message on <prefix># to FILE, one JSON line each" },
	{ "replay", replay_main,
	  "FILE [FILE...] [--dup N] [--shuffle] [--reverse] [--delay-ms MS] [--interleave] [--seed S]: publish recordings back at QoS 1" },
	{ "garbage", garbage_main,
	  "[--topics all|LIST] [--list] [--random SEED [--count N] [RECORDING...]]: publish a corpus of bad payloads, or mutants of recorded messages, to every shop topic" },
	{ "check", check_main,
	  "[--front-url URL] [--admin-token T | --direct [--internal-token T] [--inventory-url URL] [--order-url URL]] [--timeout S]: check the invariants of docs/protocol.md through the front's admin API" },
};

#define N_COMMANDS (sizeof commands / sizeof *commands)

static void usage(FILE *out)
{
	struct cli_common c;
	const struct setting common_rows[] = { CLI_COMMON_ROWS(c) };

	fprintf(out, "Usage: %s COMMAND [options]\n"
		"Records, replays, garbles and checks the webshop's MQTT bus.\n\nCommands:\n",
		CLI_PROGRAM);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nOptions of every command (each also from its environment variable; the flag wins):\n");
	cli_print_settings(out, common_rows, CLI_COMMON_COUNT);
	fprintf(out, "  %-22s %-26s %s\n", "--help", "", "show help (of a command: COMMAND --help)");
	fprintf(out, "  %-22s %-26s %s\n", "--version", "", "print the version and exit");
	fprintf(out, "\nExit status: 0 ok, 1 failed (broker unreachable, publish without PUBACK,\n"
		"invariant broken), 2 bad flag or value.\n");
}

int main(int argc, char **argv)
{
	/* Only warnings: common/http_client.c logs its details at debug. */
	log_init(CLI_PROGRAM, LOG_LEVEL_WARN);
	if (http_client_init() != 0) {
		fprintf(stderr, "%s: cannot set up libcurl\n", CLI_PROGRAM);
		return 1;
	}
	if (argc < 2) {
		fprintf(stderr, "%s: a command is needed: record, replay, garbage or check (see --help)\n",
			CLI_PROGRAM);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", CLI_PROGRAM, SHOP_VERSION);
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "%s: unknown command '%s': expected record, replay, garbage or check (see --help)\n",
		CLI_PROGRAM, argv[1]);
	return 2;
}
