/* Settings from file and command line; see config.h. */
#include "common/config.h"

#include "common/log.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct ug_config {
	const ug_setting *settings;
	size_t count;
	char **values; /* heap copies; NULL = default */
	bool *given;   /* set on the command line, not (only) in a file */
	char **where; /* "PATH:LINE: " of the file line that set it, or NULL */
	char **rest;
	/* Per rest word, the yes/no setting whose "--name" stands right
	 * before it, or NULL: "--json maybe" is a bad value to its user. */
	const char **rest_flag;
	int options; /* how many of rest came before a "--" */
};

static long
find(const ug_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->count; i++)
		if (strcmp(cfg->settings[i].name, name) == 0)
			return (long)i;
	return -1;
}

static long
find_setting(const ug_setting *settings, const char *name)
{
	for (long i = 0; settings[i].name; i++)
		if (strcmp(settings[i].name, name) == 0)
			return i;
	return -1;
}

/* A setting whose default is "false" is a yes/no flag. */
static bool
is_flag(const ug_setting *s)
{
	return s->fallback && strcmp(s->fallback, "false") == 0;
}

static ug_err
set(ug_config *cfg, const char *name, const char *value, ug_diag *diag)
{
	long i = find(cfg, name);
	if (i < 0) {
		ug_diag_set(diag, name, "unknown setting '%s' (see --help)",
			    name);
		return UG_EINVAL;
	}
	char *copy = strdup(value);
	if (!copy)
		return UG_ENOMEM;
	/* A directory given as `keys/` names the same one as `keys`; without
	 * the slash, the paths made from it read `keys/x.key`, not
	 * `keys//x.key`. */
	size_t len = strlen(copy), suffix = strlen("_dir");
	if (strlen(name) > suffix &&
	    strcmp(name + strlen(name) - suffix, "_dir") == 0)
		while (len > 1 && copy[len - 1] == '/')
			copy[--len] = '\0';
	free(cfg->values[i]);
	cfg->values[i] = copy;
	/* Set again (a later line, the command line): the old place no
	 * longer holds the value in force. */
	free(cfg->where[i]);
	cfg->where[i] = NULL;
	return UG_OK;
}

/* A no-break space (U+00A0) is trimmed as a space is: a word processor
 * puts one beside a name, and `unknown setting 'batch_max '` would show
 * it as the plain space that cannot be the cause. */
static bool
nbsp_at(const char *p)
{
	return (unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0;
}

static char *
trim(char *text)
{
	for (;;) {
		if (isspace((unsigned char)*text))
			text++;
		else if (nbsp_at(text))
			text += 2;
		else
			break;
	}
	char *end = text + strlen(text);
	for (;;) {
		if (end > text && isspace((unsigned char)end[-1]))
			*--end = '\0';
		else if (end - text >= 2 && nbsp_at(end - 2))
			*(end -= 2) = '\0';
		else
			break;
	}
	return text;
}

/* Name the file and line in a diag whose reason is already set. */
static void
locate(ug_diag *diag, const char *path, long lineno)
{
	if (!diag)
		return;
	char reason[sizeof diag->reason + 300];
	snprintf(reason, sizeof reason, "%s:%ld: %s", path, lineno,
		 diag->reason);
	ug_strlcpy(diag->reason, reason, sizeof diag->reason);
	ug_strlcpy(diag->file, path, sizeof diag->file);
	diag->line = lineno;
}

/* Room for a byte order mark, the longest line, "\r\n" and the NUL. */
#define KV_BUF (3 + UG_KV_LINE_MAX + 3)

/* A CR ends a line as LF and CRLF do: an editor that saves CR alone
 * (classic Mac) shows lines, and reading them as one would make a file
 * whose first line is a comment all comment, silently. */
static int
end_of_line(FILE *f, int c)
{
	if (c != '\r')
		return c;
	int next = getc(f);
	if (next != '\n' && next != EOF)
		ungetc(next, f);
	return '\n';
}

/* Read one line into buf without its line break: 1 a line, 0 end of
 * file, -1 a line over UG_KV_LINE_MAX, -2 an I/O error, -3 a line
 * holding a NUL byte. Byte by byte rather than fgets, which cannot tell
 * a NUL from the end of the line: a file a crash left full of zeros
 * would be called too long, or its zeros an empty line. A bad line ends
 * the reading, so it stops at the first bad byte: its tail is never
 * read as a line of its own, and a device that never ends a line
 * (/dev/zero given as --config) is not read forever. */
static int
read_line(FILE *f, char *buf, bool first)
{
	size_t len = 0;
	int c;
	while ((c = end_of_line(f, getc(f))) != EOF && c != '\n') {
		if (c == '\0')
			return -3;
		if (len == KV_BUF - 1)
			return -1;
		buf[len++] = (char)c;
	}
	if (ferror(f))
		return -2;
	if (c == EOF && len == 0)
		return 0;
	buf[len] = '\0';
	/* A byte order mark is an editor's, no part of the first line. */
	if (first && len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		len -= 3;
	return len > UG_KV_LINE_MAX ? -1 : 1;
}

/* Pass over the lines before line from, whatever their length: false
 * when the file ends there, or holds a NUL byte (the line holding it was
 * reported when it was read, and nothing after it is text). A line of
 * more than a mebibyte ends it too: no device is read forever. */
static bool
pass_over(FILE *f, long from, long *lineno)
{
	while (*lineno + 1 < from) {
		long n = 0;
		int c;
		while ((c = end_of_line(f, getc(f))) != EOF && c != '\n' &&
		       c != '\0')
			if (++n > (1L << 20))
				return false;
		if (c != '\n')
			return false;
		++*lineno;
	}
	return true;
}

ug_err
ug_kv_read(const char *path, unsigned flags, ug_kv_fn fn, void *ctx,
	   ug_diag *diag)
{
	return ug_kv_read_from(path, flags, 1, fn, ctx, diag);
}

ug_err
ug_kv_read_from(const char *path, unsigned flags, long from, ug_kv_fn fn,
		void *ctx, ug_diag *diag)
{
	bool secret = flags & UG_KV_SECRET;
	FILE *f = fopen(path, "r");
	struct stat st;
	/* fopen takes a directory and only the first read fails: it is no
	 * file to read, and said so as one that cannot be opened. */
	if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		f = NULL;
		errno = EISDIR;
	}
	if (!f) {
		int e = errno;
		ug_diag_set(diag, "", "cannot open %s: %s", path, strerror(e));
		if (diag) {
			ug_strlcpy(diag->file, path, sizeof diag->file);
			diag->line = 0;
		}
		return e == ENOENT ? UG_ENOTFOUND : UG_EIO;
	}
	/* A secret must not linger in ordinary heap or stack memory: both
	 * stdio's buffer and the line live in guarded memory, wiped below. */
	char stack_line[KV_BUF];
	char *line = stack_line, *iobuf = NULL;
	ug_err err = UG_OK;
	if (secret) {
		line = sodium_malloc(KV_BUF);
		iobuf = sodium_malloc(BUFSIZ);
		if (!line || !iobuf || setvbuf(f, iobuf, _IOFBF, BUFSIZ) != 0)
			err = UG_ENOMEM;
	}
	/* The line is lent to fn in diag; a read that succeeds leaves the
	 * caller's diag as it was. */
	ug_diag before = {0};
	if (diag)
		before = *diag;
	long lineno = 0;
	bool more = pass_over(f, from, &lineno);
	while (err == UG_OK && more) {
		int got = read_line(f, line, lineno == 0);
		if (got == 0)
			break;
		lineno++;
		if (got == -2) {
			ug_diag_set(diag, "", "read error: %s",
				    strerror(errno));
			err = UG_EIO;
		} else if (got == -1) {
			ug_diag_set(diag, "", "line longer than %d bytes",
				    UG_KV_LINE_MAX);
			err = UG_EMALFORMED;
		} else if (got == -3) {
			ug_diag_set(diag, "", "a NUL byte: not a text file");
			err = UG_EMALFORMED;
		} else {
			char *p = line;
			/* Windows editors start a UTF-8 file with a byte order
			 * mark; it is no part of the first name. */
			if (lineno == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
				p += 3;
			p = trim(p);
			if (*p == '#' || *p == '\0')
				continue;
			/* So that fn can tell where a value it keeps came
			 * from (config.c names it when the value is bad). */
			if (diag) {
				ug_strlcpy(diag->file, path,
					   sizeof diag->file);
				diag->line = lineno;
			}
			char *eq = strchr(p, '=');
			*(eq ? eq : p) = '\0';
			char *name = trim(p);
			if (!eq)
				ug_diag_set(diag, "", "expected name = value");
			else if (!name[0])
				ug_diag_set(diag, "",
					    "expected a name before '='");
			err = !eq || !name[0]
				  ? UG_EMALFORMED
				  : fn(ctx, name, trim(eq + 1), diag);
		}
		if (err != UG_OK)
			locate(diag, path, lineno);
	}
	fclose(f);
	if (secret) {
		if (line)
			sodium_memzero(line, KV_BUF);
		if (iobuf)
			sodium_memzero(iobuf, BUFSIZ);
		sodium_free(line);
		sodium_free(iobuf);
	}
	if (err == UG_OK && diag) {
		ug_strlcpy(diag->file, before.file, sizeof diag->file);
		diag->line = before.line;
	}
	return err;
}

/* diag's file and line from a place config_pair wrote ("PATH:LINE: "). */
static void
place_diag(ug_diag *diag, const char *where)
{
	size_t n = strlen(where);
	if (!diag || n < 2)
		return;
	/* The line is the number after the last colon before ": ". */
	const char *colon = where + n - 2;
	while (colon > where && colon[-1] != ':')
		colon--;
	if (colon == where)
		return;
	diag->line = strtol(colon, NULL, 10);
	size_t len = (size_t)(colon - 1 - where);
	if (len >= sizeof diag->file)
		len = sizeof diag->file - 1;
	memcpy(diag->file, where, len);
	diag->file[len] = '\0';
}

typedef struct {
	ug_config *cfg;
	const char *path;
} file_ctx;

static ug_err
config_pair(void *ctx, const char *name, const char *value, ug_diag *diag)
{
	file_ctx *f = ctx;
	ug_config *cfg = f->cfg;
	ug_err err = set(cfg, name, value, diag);
	long i = find(cfg, name);
	if (err != UG_OK || i < 0)
		return err;
	/* From the path as given: diag->file holds 255 bytes, and a longer
	 * name cut there would name a directory instead of the file in
	 * every message about this value. */
	size_t size = strlen(f->path) + 32;
	cfg->where[i] = malloc(size);
	if (!cfg->where[i])
		return UG_ENOMEM;
	snprintf(cfg->where[i], size, "%s:%ld: ", f->path, diag->line);
	return UG_OK;
}

static ug_err
load_file(ug_config *cfg, const char *path, ug_diag *diag)
{
	ug_diag local = {0};
	file_ctx f = {cfg, path};
	ug_err err = ug_kv_read(path, 0, config_pair, &f, &local);
	if (err != UG_OK && diag)
		*diag = local;
	return err == UG_ENOTFOUND ? UG_EIO : err;
}

void
ug_config_usage(const ug_setting *settings, const char *usage)
{
	/* A reader gone before the text is all written (| head) must not
	 * kill the program with SIGPIPE: the write then fails with EPIPE,
	 * which is no error below. The disposition is given back after, as
	 * inbox's live output relies on SIGPIPE to end it. */
	void (*was)(int) = signal(SIGPIPE, SIG_IGN);
	printf("%s\n\nOptions (each may also be a line \"name = value\" in "
	       "the --config file):\n  --config FILE\n      read settings "
	       "from FILE\n  -h, --help\n      show this text\n",
	       usage);
	for (const ug_setting *s = settings; s->name; s++)
		printf("  --%s %s\n      %s%s%s%s\n", s->name,
		       is_flag(s) ? "[true|false]" : "VALUE", s->help,
		       s->fallback ? " (default: " : " (required)",
		       s->fallback ? (s->fallback[0] ? s->fallback : "empty")
				   : "",
		       s->fallback ? ")" : "");
	/* A text that could not be written (a full disk, a closed stdout)
	 * must not pass for shown. A reader that went away (| head, where
	 * SIGPIPE is ignored) took what it wanted: no error. The program's
	 * name is the usage text's second word ("usage: hubd ..."). */
	if ((fflush(stdout) != 0 || ferror(stdout)) && errno != EPIPE) {
		int why = errno ? errno : EIO;
		const char *name = strchr(usage, ' ');
		name = name ? name + 1 : usage;
		ug_eprintf("%.*s: cannot write standard output: %s\n",
			   (int)strcspn(name, " \n"), name, strerror(why));
		exit(1);
	}
	signal(SIGPIPE, was);
}

/* The next argument from i on that the first pass of ug_config_load acts
 * on (--help, -h, --config FILE, --config=FILE), or argc. An option's
 * value is skipped as the second pass takes it (--note --config is a
 * note), so both passes agree on what is an option; after "--"
 * everything is an argument, "--config" too. */
static int
first_pass_next(const ug_setting *settings, int argc, char **argv, int i)
{
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return argc;
		long known =
		    strncmp(argv[i], "--", 2) == 0 && !strchr(argv[i], '=')
			? find_setting(settings, argv[i] + 2)
			: -1;
		bool word;
		if (known >= 0 && !is_flag(&settings[known])) {
			i++;
			continue;
		}
		if (known >= 0 && i + 1 < argc &&
		    ug_parse_bool(argv[i + 1], &word) == UG_OK) {
			i++;
			continue;
		}
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--config") == 0 ||
		    strncmp(argv[i], "--config=", 9) == 0)
			return i;
	}
	return argc;
}

const char *
ug_config_next_file(const ug_setting *settings, int argc, char **argv,
		    int *pos)
{
	for (int i =
		 first_pass_next(settings, argc, argv, *pos < 1 ? 1 : *pos);
	     i < argc; i = first_pass_next(settings, argc, argv, i + 1)) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			*pos = i + 2;
			return argv[i + 1];
		}
		if (strncmp(argv[i], "--config=", 9) == 0 && argv[i][9]) {
			*pos = i + 1;
			return argv[i] + 9;
		}
		/* --help ends the reading; a --config without a file name
		 * is ug_config_load's to refuse. */
		if (strncmp(argv[i], "--config", 8) != 0)
			break;
	}
	*pos = argc;
	return NULL;
}

const char *
ug_config_arg(const ug_setting *settings, int argc, char **argv,
	      const char *name)
{
	const char *value = NULL;
	size_t len = strlen(name);
	/* As the second pass of ug_config_load takes the command line. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			i++;
			continue;
		}
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strncmp(argv[i], "--", 2) != 0)
			continue;
		const char *opt = argv[i] + 2;
		const char *eq = strchr(opt, '=');
		if (eq) {
			if ((size_t)(eq - opt) == len &&
			    strncmp(opt, name, len) == 0)
				value = eq + 1;
			continue;
		}
		long idx = find_setting(settings, opt);
		if (idx < 0)
			break;
		bool yes;
		const char *v = "true";
		if (!is_flag(&settings[idx]) ||
		    (i + 1 < argc &&
		     ug_parse_bool(argv[i + 1], &yes) == UG_OK))
			v = i + 1 < argc ? argv[++i] : NULL;
		if (strcmp(opt, name) == 0 && v)
			value = v;
	}
	return value;
}

ug_err
ug_config_load(ug_config **out, const ug_setting *settings, const char *usage,
	       int argc, char **argv, char ***rest, int *nrest, bool *help,
	       ug_diag *diag)
{
	*help = false;
	ug_config *cfg = calloc(1, sizeof *cfg);
	if (!cfg)
		return UG_ENOMEM;
	cfg->settings = settings;
	while (settings[cfg->count].name)
		cfg->count++;
	cfg->values = calloc(cfg->count + 1, sizeof *cfg->values);
	cfg->given = calloc(cfg->count + 1, sizeof *cfg->given);
	cfg->where = calloc(cfg->count + 1, sizeof *cfg->where);
	cfg->rest = calloc((size_t)argc + 1, sizeof *cfg->rest);
	cfg->rest_flag = calloc((size_t)argc + 1, sizeof *cfg->rest_flag);
	ug_err err = cfg->values && cfg->given && cfg->where && cfg->rest &&
			     cfg->rest_flag
			 ? UG_OK
			 : UG_ENOMEM;
	int n = 0;
	cfg->options = -1;
	/* Help wherever it stands: a --config that cannot be read must not
	 * keep it from the one asking how to write one. */
	for (int i = first_pass_next(settings, argc, argv, 1);
	     err == UG_OK && i < argc;
	     i = first_pass_next(settings, argc, argv, i + 1))
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			ug_config_usage(settings, usage);
			*help = true;
			break;
		}
	/* The file first, so command-line options override it. */
	for (int i = first_pass_next(settings, argc, argv, 1);
	     err == UG_OK && !*help && i < argc;
	     i = first_pass_next(settings, argc, argv, i + 1)) {
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc) {
				ug_diag_set(diag, "config",
					    "--config needs a "
					    "file name");
				err = UG_EINVAL;
				break;
			}
			err = load_file(cfg, argv[++i], diag);
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			/* As every other option may be written --name=value.
			 */
			if (!argv[i][9]) {
				ug_diag_set(diag, "config",
					    "--config needs a "
					    "file name");
				err = UG_EINVAL;
				break;
			}
			err = load_file(cfg, argv[i] + 9, diag);
		}
	}
	for (int i = 1; err == UG_OK && !*help && i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			i++;
			continue;
		}
		if (strncmp(argv[i], "--config=", 9) == 0)
			continue;
		/* "--" ends the options, so an argument may start with "-"
		 * (a file named --x.csv, an address "-"). */
		if (strcmp(argv[i], "--") == 0) {
			cfg->options = n;
			while (++i < argc)
				cfg->rest[n++] = argv[i];
			break;
		}
		if (strncmp(argv[i], "--", 2) != 0) {
			cfg->rest[n++] = argv[i];
			continue;
		}
		const char *name = argv[i] + 2;
		const char *eq = strchr(name, '=');
		char namebuf[128];
		if (eq) {
			snprintf(namebuf, sizeof namebuf, "%.*s",
				 (int)(eq - name), name);
			err = set(cfg, namebuf, eq + 1, diag);
			if (err == UG_OK)
				cfg->given[find(cfg, namebuf)] = true;
			continue;
		}
		long idx = find(cfg, name);
		if (idx < 0) {
			ug_diag_set(diag, name,
				    "unknown option --%s (see "
				    "--help)",
				    name);
			err = UG_EINVAL;
			break;
		}
		/* A flag alone means true; a yes/no word right after it is
		 * its value, so "--json" and "--json false" both work. */
		bool yes;
		if (is_flag(&settings[idx])) {
			bool valued =
			    i + 1 < argc &&
			    ug_parse_bool(argv[i + 1], &yes) == UG_OK;
			err =
			    set(cfg, name, valued ? argv[++i] : "true", diag);
			if (!valued && i + 1 < argc &&
			    strncmp(argv[i + 1], "--", 2) != 0)
				cfg->rest_flag[n] = settings[idx].name;
		} else if (i + 1 >= argc) {
			ug_diag_set(diag, name, "--%s needs a value", name);
			err = UG_EINVAL;
		} else {
			err = set(cfg, name, argv[++i], diag);
		}
		if (err == UG_OK)
			cfg->given[idx] = true;
	}
	/* A yes/no value is checked once every file and option is read, as
	 * the value in force: a later line or option may set it again
	 * (--json=ja --json=no runs). Read as false, a typo (json = ja) would
	 * quietly be a no, so one that stays is refused. */
	for (size_t i = 0; err == UG_OK && !*help && i < cfg->count; i++) {
		bool yes;
		if (cfg->values[i] && is_flag(&settings[i]) &&
		    ug_parse_bool(cfg->values[i], &yes) != UG_OK) {
			ug_diag_set(diag, settings[i].name,
				    "%s%s must be true or false (or yes/no, "
				    "on/off, 1/0), not '%.40s'",
				    cfg->where[i] ? cfg->where[i] : "",
				    settings[i].name, cfg->values[i]);
			if (cfg->where[i])
				place_diag(diag, cfg->where[i]);
			err = UG_EINVAL;
		}
	}
	for (size_t i = 0; err == UG_OK && !*help && i < cfg->count; i++)
		if (!cfg->values[i] && !settings[i].fallback) {
			ug_diag_set(diag, settings[i].name,
				    "--%s is required "
				    "(see --help)",
				    settings[i].name);
			err = UG_EINVAL;
		}
	if (err != UG_OK) {
		ug_config_destroy(&cfg);
		return err;
	}
	if (cfg->options < 0)
		cfg->options = n;
	*rest = cfg->rest;
	*nrest = n;
	*out = cfg;
	return UG_OK;
}

void
ug_config_destroy(ug_config **cfgp)
{
	if (!cfgp || !*cfgp)
		return;
	ug_config *cfg = *cfgp;
	for (size_t i = 0; cfg->values && i < cfg->count; i++)
		free(cfg->values[i]);
	for (size_t i = 0; cfg->where && i < cfg->count; i++)
		free(cfg->where[i]);
	free(cfg->where);
	free(cfg->values);
	free(cfg->given);
	free(cfg->rest);
	free(cfg->rest_flag);
	free(cfg);
	*cfgp = NULL;
}

int
ug_config_rest_options(const ug_config *cfg)
{
	return cfg->options;
}

bool
ug_config_stray_word(const ug_config *cfg, const char *program, int i)
{
	/* The word refused, or else one taken before it as an argument:
	 * "audit --json maybe show" refuses "show", yet its user meant
	 * "maybe" for --json, as in "stats --json maybe". */
	int at = i;
	for (int j = 0; j < cfg->options && !cfg->rest_flag[at]; j++)
		at = j;
	const char *flag = cfg->rest_flag[at];
	if (flag)
		ug_eprintf("%s: %s must be true or false (or yes/no, on/off, "
			   "1/0), not '%.40s'\n",
			   program, flag, cfg->rest[at]);
	return flag != NULL;
}

bool
ug_config_after_flag(const ug_config *cfg, int i)
{
	return i >= 0 && i < cfg->options && cfg->rest_flag[i];
}

const char *
ug_config_get(const ug_config *cfg, const char *name)
{
	long i = find(cfg, name);
	if (i < 0)
		return NULL;
	return cfg->values[i] ? cfg->values[i] : cfg->settings[i].fallback;
}

const char *
ug_config_where(const ug_config *cfg, const char *name)
{
	long i = find(cfg, name);
	return i >= 0 && cfg->where[i] ? cfg->where[i] : "";
}

bool
ug_config_given(const ug_config *cfg, const char *name)
{
	long i = find(cfg, name);
	return i >= 0 && cfg->given[i];
}

ug_err
ug_config_int(const ug_config *cfg, const char *name, long min, long max,
	      long *value, ug_diag *diag)
{
	const char *text = ug_config_get(cfg, name);
	long v = 0;
	if (!text || ug_parse_long(text, strlen(text), &v) != UG_OK ||
	    v < min || v > max) {
		ug_diag_set(diag, name,
			    "%s%s must be a whole number from %ld "
			    "to %ld",
			    ug_config_where(cfg, name), name, min, max);
		return UG_EMALFORMED;
	}
	*value = v;
	return UG_OK;
}

bool
ug_config_bool(const ug_config *cfg, const char *name)
{
	bool value = false;
	/* set() let no other value in. */
	ug_parse_bool(ug_config_get(cfg, name), &value);
	return value;
}

bool
ug_config_dir_too_long(const ug_config *cfg, const char *program,
		       const char *name)
{
	if (strlen(ug_config_get(cfg, name)) <= UG_DIR_SETTING_MAX)
		return false;
	ug_eprintf("%s: %s%s is longer than %d bytes\n", program,
		   ug_config_where(cfg, name), name, UG_DIR_SETTING_MAX);
	return true;
}
