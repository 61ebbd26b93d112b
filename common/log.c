/* stderr logger; see log.h for the rules on what may be logged. */
#include "common/log.h"
#include "common/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

int ug_log_level = UG_LOG_INFO;
static const char *log_program = "ungebro";
static int log_journal;

static const char *const level_names[] = {
    [UG_LOG_ERR] = "err",	[UG_LOG_WARN] = "warn",
    [UG_LOG_NOTICE] = "notice", [UG_LOG_INFO] = "info",
    [UG_LOG_DEBUG] = "debug",
};

int
ug_log_parse_level(const char *name)
{
	for (int i = UG_LOG_ERR; i <= UG_LOG_DEBUG; i++)
		/* Any case, as every other word setting (ug_parse_bool). */
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * gave the service; a child whose standard error a script sent to a file
 * (hubctl backup 2>>backup.log from a timer's unit) inherits the variable
 * but writes to no journal, and its lines need their time and program. */
static int
stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	char end;
	struct stat st;
	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void
ug_log_init(const char *program, int level)
{
	log_program = program;
	ug_log_level = level;
	const char *env = getenv("UG_LOG_LEVEL");
	if (env && ug_log_parse_level(env) > 0)
		ug_log_level = ug_log_parse_level(env);
	log_journal = stderr_is_journal();
}

/* Every control character of text[0..len) becomes one '?': the ASCII
 * ones and those of the C1 range, U+0080-U+009F in their two UTF-8 bytes
 * (U+0085 is a line break to many a reader). A final line feed stays
 * when keep_end_lf. Returns the new length; text is NUL-terminated. */
static size_t
one_line(char *text, size_t len, bool keep_end_lf)
{
	size_t w = 0;
	for (size_t r = 0; r < len; r++) {
		unsigned char c = (unsigned char)text[r];
		if (c == '\n' && keep_end_lf && r == len - 1)
			text[w++] = (char)c;
		else if (c < 0x20 || c == 0x7f)
			text[w++] = '?';
		else if (c == 0xc2 && r + 1 < len &&
			 (unsigned char)text[r + 1] >= 0x80 &&
			 (unsigned char)text[r + 1] <= 0x9f)
			text[w++] = '?', r++;
		else
			text[w++] = (char)c;
	}
	text[w] = '\0';
	return w;
}

void
ug_log_write(int level, const char *msgid, const char *fmt, ...)
{
	char line[2048];
	int used;
	/* The journal stamps time and program itself; the rest keeps the
	 * order of a plain line, so "MSGID text" as the docs quote it
	 * (journalctl -g 'STORE-AUDIT checkpoint signed') is found either
	 * way. */
	if (log_journal) {
		used = snprintf(line, sizeof line, "<%d>%s %s ", level,
				level_names[level], msgid);
	} else {
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		used = snprintf(
		    line, sizeof line,
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s %s ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000, log_program,
		    level_names[level], msgid);
	}
	va_list ap;
	va_start(ap, fmt);
	if (used > 0 && (size_t)used < sizeof line - 1) {
		/* The message is masked whole before the line cuts it: a CPR
		 * across the cut would otherwise keep its first digits. */
		char body[sizeof line + 64];
		vsnprintf(body, sizeof body, fmt, ap);
		/* Masked before it is read as Windows-1252 too: there a byte
		 * that is not UTF-8 between a CPR's halves stands in for the
		 * dash, and reads as a letter (0xFF, 'ÿ') once converted. */
		ug_cpr_mask(body);
		/* A journal shows a line that is not UTF-8 as a blob: a
		 * file name in Windows-1252 is read as such. */
		ug_utf8_from_cp1252(body, sizeof body);
		/* A message can quote what a client sent (a URL, a reason):
		 * it stays one line, and never carries a CPR whoever typed
		 * it. */
		one_line(body, strlen(body), false);
		ug_cpr_mask(body);
		/* Cut one byte short of the buffer's end, at a whole
		 * character: the line break goes after it, never over the
		 * last byte of an 'ø'. */
		ug_strlcpy(line + used, body, sizeof line - 1 - (size_t)used);
		ug_utf8_trim_tail(line + used);
	}
	va_end(ap);
	/* One write per record so lines from several processes never
	 * interleave. */
	size_t len = strlen(line);
	if (len > sizeof line - 2)
		len = sizeof line - 2; /* a prefix cut short: ASCII alone */
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
	fflush(stderr);
}

/* level < 0: a line without a priority (a command's output, or stderr
 * that is no journal). */
static void
masked_print(FILE *to, int level, const char *fmt, va_list ap)
{
	char small[2048], *text = small;
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	if (n < 0) {
		va_end(again);
		return;
	}
	if ((size_t)n >= sizeof small) {
		text = malloc((size_t)n + 1);
		if (!text) {
			/* Cut, but never unmasked. */
			text = small;
			n = (int)sizeof small - 1;
		} else {
			vsnprintf(text, (size_t)n + 1, fmt, again);
		}
	}
	va_end(again);
	/* What it echoes was typed (an id, an address, a file name): it
	 * must not add lines that look like others, so only the message's
	 * own final line break stays. */
	n = (int)one_line(text, (size_t)n, true);
	/* Masked before the conversion below as well, as in ug_log_write. */
	ug_cpr_mask(text);
	/* Read as a log line is (ug_log_write): a file name quoted from a
	 * share in another character set (fravær.csv in Windows-1252) must
	 * not make the line unreadable to a journal or a UTF-8 terminal. */
	if (to == stderr && !ug_utf8_valid(text, (size_t)n)) {
		size_t cap = (size_t)n * 3 + 1;
		char *wide = malloc(cap);
		if (wide) {
			memcpy(wide, text, (size_t)n + 1);
			if (text != small)
				free(text);
			text = wide;
		} else {
			cap = (size_t)n + 1; /* cut, but UTF-8 all the same */
		}
		ug_utf8_from_cp1252(text, cap);
		n = (int)strlen(text);
	}
	ug_cpr_mask(text);
	/* Under the journal the priority goes first, as ug_log_write puts
	 * it, so journalctl -p err shows why a run stopped; in the same
	 * write as the text, so lines of two processes never interleave. */
	if (level >= 0 && to == stderr && log_journal) {
		char *marked = malloc((size_t)n + 4);
		if (marked) {
			marked[0] = '<';
			marked[1] = (char)('0' + level);
			marked[2] = '>';
			memcpy(marked + 3, text, (size_t)n + 1);
			if (text != small)
				free(text);
			text = marked;
			n += 3;
		}
	}
	/* stdout stays buffered, in order with the command's other output. */
	if (to == stderr)
		fflush(stderr);
	fwrite(text, 1, (size_t)n, to);
	if (to == stderr)
		fflush(stderr);
	if (text != small)
		free(text);
}

void
ug_eprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	masked_print(stderr, -1, fmt, ap);
	va_end(ap);
}

void
ug_eprintf_at(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	masked_print(stderr, level, fmt, ap);
	va_end(ap);
}

void
ug_oprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	masked_print(stdout, -1, fmt, ap);
	va_end(ap);
}

void
ug_log_witness(const char *msgid, const char *fmt, ...)
{
	char text[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (UG_LOG_NOTICE <= ug_log_level) {
		ug_log_write(UG_LOG_NOTICE, msgid, "%s", text);
		return;
	}
	/* No LOG_CONS: without a syslog socket the line is not kept, and it
	 * must not land on a console. */
	openlog(log_program, LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s %s", msgid, text);
	closelog();
}
