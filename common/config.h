/*
 * Configuration shared by every program: "name = value" lines in a file,
 * overridden by "--name value" options on the command line. Unknown names
 * are an error naming the line, so a typo never silently means a default.
 *
 * ug_kv_read is the one reader of "name = value" files: this config, the
 * rules file (hub/rules_config.c) and the key files (common/keys.c) all
 * go through it, so they share one syntax, one line limit and one way of
 * naming a bad line.
 */
#ifndef UG_CONFIG_H
#define UG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef struct ug_config ug_config;

/* One setting a program understands. */
typedef struct {
	const char *name;
	const char *fallback; /* default value, NULL = required */
	const char *help;
} ug_setting;

/*
 * Build a config from a NULL-name-terminated settings table, the file named
 * by a --config option (if any), then the --name value options. Arguments
 * that are not options are left in *rest / *nrest (borrowed from argv),
 * and so is everything after a "--" argument, which ends the options.
 * --help prints usage (with `usage` as the first lines) and sets *help.
 */
ug_err ug_config_load(ug_config **out, const ug_setting *settings,
		      const char *usage, int argc, char **argv, char ***rest,
		      int *nrest, bool *help, ug_diag *diag);
void ug_config_destroy(ug_config **cfg);
/*
 * How many of the leading *rest words came before a "--": only those may
 * be a mistyped option ("-x"); a word after "--" is taken as it is.
 */
int ug_config_rest_options(const ug_config *cfg);
/*
 * For a rest word i that is refused as stray (or any usage refused over
 * its words, i = 0): if it, or else the first rest word before a "--"
 * that does, stands right after a yes/no option --NAME ("--json maybe",
 * "audit --json maybe show"), its user meant that word as the option's
 * value, so this says "PROGRAM: NAME must be true or false (or
 * yes/no, on/off, 1/0), not 'WORD'" on stderr and returns true; else it
 * says nothing and returns false (the caller's "unexpected argument").
 */
bool ug_config_stray_word(const ug_config *cfg, const char *program, int i);
/*
 * Whether rest word i stands right after a yes/no option ("--json maybe"):
 * a word a command would take as its argument (a file to import, an audit
 * verb) that its user may have meant as the option's value.
 */
bool ug_config_after_flag(const ug_config *cfg, int i);
/*
 * The --config files of argv, in the order ug_config_load reads them
 * ("--config FILE" or "--config=FILE"; not the value of another option,
 * nothing after "--" or "--help"): start with *pos = 0; each call returns
 * the next file and moves *pos past it, or NULL when there is none.
 */
const char *ug_config_next_file(const ug_setting *settings, int argc,
				char **argv, int *pos);
/*
 * The value the command line gives the setting name (the last one, as
 * ug_config_load takes it: "--name value" or "--name=value", before any
 * "--"), or NULL when the command line does not set it: what wins over
 * every file, found without reading them.
 */
const char *ug_config_arg(const ug_setting *settings, int argc, char **argv,
			  const char *name);

/* Value of a setting (its default when unset); never NULL for a known name. */
const char *ug_config_get(const ug_config *cfg, const char *name);
/*
 * Whether the setting was given on the command line ("--name value"),
 * as opposed to a --config file or its default: what a command refuses
 * as not its own is what its user typed for it.
 */
bool ug_config_given(const ug_config *cfg, const char *name);
/*
 * "PATH:LINE: " of the --config file line whose value is in force, or ""
 * when it came from the command line or is the default: put before a
 * message about a bad value, so the operator finds the line.
 */
const char *ug_config_where(const ug_config *cfg, const char *name);
/* Integer value; UG_EMALFORMED (with diag) if not a number in [min, max],
 * the reason led by ug_config_where. */
ug_err ug_config_int(const ug_config *cfg, const char *name, long min,
		     long max, long *value, ug_diag *diag);
/*
 * A yes/no setting: one whose default is "false". Its value is checked as
 * it is set (ug_parse_bool: true/false, yes/no, on/off, 1/0, any case;
 * anything else is an error naming the setting, and the file line if it
 * came from one). On the command line "--name" alone means true, and a
 * yes/no word right after it is its value ("--json false"); --help shows
 * it as "--name [true|false]".
 */
bool ug_config_bool(const ug_config *cfg, const char *name);

/* Longest data_dir and keys_dir hubd, hubctl, inbox and webd take: every
 * file under them (keys_dir/ID.key_secret, data_dir/derived/data.mdb)
 * must fit their 512-byte path buffers, or its name would be cut short. */
#define UG_DIR_SETTING_MAX 400

/* Whether the directory setting `name` is longer than UG_DIR_SETTING_MAX;
 * if so, says `PROGRAM: [where]name is longer than 400 bytes` on stderr. */
bool ug_config_dir_too_long(const ug_config *cfg, const char *program,
			    const char *name);

/* Longest line ug_kv_read accepts, in bytes, without its line break. */
#define UG_KV_LINE_MAX 510

/* ug_kv_read flags. */
enum {
	/* The file holds secrets: its lines are read through libsodium's
	 * guarded memory and wiped after use (call ug_crypto_init first). */
	UG_KV_SECRET = 1u << 0,
};

/*
 * Called for each setting, in file order, with name and value trimmed
 * (borrowed: valid during the call only), and with diag->file and
 * diag->line naming the line (when a diag is given; a read that succeeds
 * puts back what they held before). A non-UG_OK return
 * stops the read; the callback's diag reason is then prefixed with
 * "PATH:LINE: ".
 */
typedef ug_err (*ug_kv_fn)(void *ctx, const char *name, const char *value,
			   ug_diag *diag);

/*
 * Read the "name = value" lines of path. A UTF-8 byte order mark at its
 * start is skipped. Blanks (space, tab, CR) around
 * names and values are dropped; empty lines and lines whose first
 * non-blank byte is '#' are skipped; a line ends at "\n" or "\r\n". The
 * first '=' splits name from value, so a value may hold '='.
 * Errors, each naming the file and line in the reason ("PATH:LINE: ...")
 * and in diag->file and diag->line:
 *   UG_ENOTFOUND   path does not exist ("cannot open PATH: ...", line 0)
 *   UG_EIO         it cannot be opened or read
 *   UG_EMALFORMED  a line longer than UG_KV_LINE_MAX bytes ("line longer
 *                  than 510 bytes"; its tail is never read as a line of
 *                  its own), a line holding a NUL byte ("a NUL byte: not
 *                  a text file"), a line without '=' ("expected name =
 *                  value"), or an empty name ("expected a name before
 *                  '='")
 *   otherwise      whatever fn returned, with fn's diag.
 */
ug_err ug_kv_read(const char *path, unsigned flags, ug_kv_fn fn, void *ctx,
		  ug_diag *diag);

/*
 * As ug_kv_read, from line `from` on (counted from 1): the lines before
 * it are passed over unread, whatever their length, so that a check can
 * go on after a bad line with the line after it. A NUL byte in a line
 * passed over ends the read there (UG_OK: the line was reported when it
 * was read, and what follows is no text).
 */
ug_err ug_kv_read_from(const char *path, unsigned flags, long from,
		       ug_kv_fn fn, void *ctx, ug_diag *diag);

/* Print the usage text ("usage: PROGRAM ...") and every setting with its
 * default and help; exits 1, saying so on stderr, when standard output
 * cannot be written (a reader gone away, EPIPE, aside). */
void ug_config_usage(const ug_setting *settings, const char *usage);

#endif
