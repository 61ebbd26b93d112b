/*
 * A tiny unit-test framework for ungebro, after nng's NUTS and LMDB's E():
 * each test binary lists named cases with TEST_LIST and gets a main() that
 * runs them, one line per case, and exits non-zero if any case failed.
 *
 *   #include "tests/unit/check.h"
 *   static void test_round_trip(void) { CHECK_OK(ug_crypto_init()); ... }
 *   TEST_LIST = { {"round trip", test_round_trip}, {NULL, NULL} };
 *
 * A failing check prints the expression, expected against actual and
 * file:line, then ends its case (the remaining checks of that case would
 * only cascade); the other cases still run. Each case runs in its own
 * forked process, so a crash, an abort or a leak (under ASan) fails that
 * case alone and names it. UT_NOFORK=1 runs cases in-process (debuggers).
 *
 * Temp dirs made with ut_tmpdir() are removed when the case passes and kept
 * (and printed) when it fails, or always with UT_KEEP=1.
 * Arguments: names of cases to run (default: all); --list prints them.
 * This header defines main(): include it in one file per test binary.
 */
#ifndef UG_CHECK_H
#define UG_CHECK_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"

typedef struct {
	const char *name;
	void (*fn)(void);
} ut_case;

#define UT_MAX_TMPDIRS 16

static jmp_buf ut_jump;
static int ut_failures; /* failed checks in this case */
static char ut_tmpdirs[UT_MAX_TMPDIRS][PATH_MAX];
static int ut_ntmpdirs;

static inline void ut_fail_here(const char *file, int line, const char *fmt,
				...)
    __attribute__((format(printf, 3, 4), noreturn));

static inline void
ut_fail_here(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	ut_failures++;
	longjmp(ut_jump, 1);
}

/* Hex dump of at most 48 bytes, for CHECK_EQ_MEM messages. */
static inline void
ut_hexdump(const void *p, size_t n, char *out, size_t cap)
{
	const uint8_t *b = p;
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && i < 48 && used + 3 < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%02x", b[i]);
	if (n > 48 && used + 4 < cap)
		snprintf(out + used, cap - used, "...");
}

#define CHECK(expr)                                                           \
	do {                                                                  \
		if (!(expr))                                                  \
			ut_fail_here(__FILE__, __LINE__, "CHECK(%s) failed",  \
				     #expr);                                  \
	} while (0)

#define CHECK_OK(expr)                                                        \
	do {                                                                  \
		ug_err ut_err_ = (expr);                                      \
		if (ut_err_ != UG_OK)                                         \
			ut_fail_here(__FILE__, __LINE__,                      \
				     "%s: expected ok, got %s (%d)", #expr,   \
				     ug_strerror(ut_err_), (int)ut_err_);     \
	} while (0)

/* An ug_err call that must fail with exactly `want`. */
#define CHECK_ERR(expr, want)                                                 \
	do {                                                                  \
		ug_err ut_err_ = (expr);                                      \
		ug_err ut_want_ = (want);                                     \
		if (ut_err_ != ut_want_)                                      \
			ut_fail_here(__FILE__, __LINE__,                      \
				     "%s: expected %s (%d), got %s (%d)",     \
				     #expr, ug_strerror(ut_want_),            \
				     (int)ut_want_, ug_strerror(ut_err_),     \
				     (int)ut_err_);                           \
	} while (0)

#define CHECK_EQ_INT(actual, expected)                                        \
	do {                                                                  \
		long long ut_a_ = (long long)(actual);                        \
		long long ut_e_ = (long long)(expected);                      \
		if (ut_a_ != ut_e_)                                           \
			ut_fail_here(__FILE__, __LINE__,                      \
				     "%s == %s: expected %lld, got %lld",     \
				     #actual, #expected, ut_e_, ut_a_);       \
	} while (0)

#define CHECK_EQ_STR(actual, expected)                                        \
	do {                                                                  \
		const char *ut_a_ = (actual);                                 \
		const char *ut_e_ = (expected);                               \
		if (!ut_a_ || !ut_e_ || strcmp(ut_a_, ut_e_) != 0)            \
			ut_fail_here(__FILE__, __LINE__,                      \
				     "%s == %s: expected \"%s\", got \"%s\"", \
				     #actual, #expected,                      \
				     ut_e_ ? ut_e_ : "(null)",                \
				     ut_a_ ? ut_a_ : "(null)");               \
	} while (0)

#define CHECK_EQ_MEM(actual, expected, n)                                     \
	do {                                                                  \
		const void *ut_a_ = (actual);                                 \
		const void *ut_e_ = (expected);                               \
		size_t ut_n_ = (n);                                           \
		if (memcmp(ut_a_, ut_e_, ut_n_) != 0) {                       \
			char ut_ha_[128], ut_he_[128];                        \
			ut_hexdump(ut_a_, ut_n_, ut_ha_, sizeof ut_ha_);      \
			ut_hexdump(ut_e_, ut_n_, ut_he_, sizeof ut_he_);      \
			ut_fail_here(__FILE__, __LINE__,                      \
				     "%s == %s (%zu bytes): expected %s, "    \
				     "got %s",                                \
				     #actual, #expected, ut_n_, ut_he_,       \
				     ut_ha_);                                 \
		}                                                             \
	} while (0)

/* Fail the case with a message (for branches that must not be reached). */
#define FAIL(...) ut_fail_here(__FILE__, __LINE__, __VA_ARGS__)

/*
 * Make a fresh directory under $TMPDIR (or /tmp) and return its path,
 * valid for the rest of the case. Fails the case if it cannot.
 */
static inline const char *
ut_tmpdir(void)
{
	if (ut_ntmpdirs >= UT_MAX_TMPDIRS)
		FAIL("ut_tmpdir: more than %d temp dirs in one case",
		     UT_MAX_TMPDIRS);
	const char *base = getenv("TMPDIR");
	if (!base || !base[0])
		base = "/tmp";
	char *path = ut_tmpdirs[ut_ntmpdirs];
	snprintf(path, PATH_MAX, "%s/ugtest-XXXXXX", base);
	if (!mkdtemp(path))
		FAIL("mkdtemp(%s): %s", path, strerror(errno));
	ut_ntmpdirs++;
	return path;
}

/*
 * Visit every entry under path depth-first (children before their dir), not
 * following symlinks. nftw would do, but the build's strict POSIX mode
 * hides it; opendir/readdir is all this needs.
 */
typedef int (*ut_walk_fn)(const char *path, bool is_dir, void *ctx);

static inline int
ut_walk(const char *path, ut_walk_fn fn, void *ctx)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (!d)
			return -1;
		struct dirent *e;
		int rc = 0;
		while (rc == 0 && (e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			char child[PATH_MAX];
			size_t plen = strlen(path), nlen = strlen(e->d_name);
			if (plen + 1 + nlen >= sizeof child) {
				rc = -1;
				break;
			}
			memcpy(child, path, plen);
			child[plen] = '/';
			memcpy(child + plen + 1, e->d_name, nlen + 1);
			rc = ut_walk(child, fn, ctx);
		}
		closedir(d);
		if (rc != 0)
			return rc;
		return fn(path, true, ctx);
	}
	return fn(path, false, ctx);
}

static inline int
ut_rm_one(const char *path, bool is_dir, void *ctx)
{
	(void)is_dir, (void)ctx;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Remove a directory tree (does not follow symlinks). 0 on success. */
static inline int
ut_rmtree(const char *path)
{
	return ut_walk(path, ut_rm_one, NULL);
}

/* Read a whole file into a malloc'd buffer; NULL on error. */
static inline uint8_t *
ut_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, used = 0;
	uint8_t *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + used, 1, cap - used, f)) > 0) {
		used += n;
		if (used == cap) {
			uint8_t *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	fclose(f);
	*len = used;
	return buf;
}

/* memmem is a GNU extension; the build is strict POSIX. */
static inline bool
ut_contains(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	if (n == 0)
		return true;
	const uint8_t first = *(const uint8_t *)needle;
	for (size_t i = 0; i + n <= len; i++)
		if (hay[i] == first && memcmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

struct ut_grep {
	const void *needle;
	size_t len;
	int hits, files;
};

/* Path of the first file the last ut_dir_contains() found the bytes in. */
static char ut_last_hit[PATH_MAX];

static inline int
ut_grep_one(const char *path, bool is_dir, void *ctx)
{
	struct ut_grep *g = ctx;
	if (is_dir)
		return 0;
	g->files++;
	size_t len;
	uint8_t *buf = ut_read_file(path, &len);
	if (!buf)
		return -1;
	if (ut_contains(buf, len, g->needle, g->len)) {
		if (g->hits++ == 0)
			snprintf(ut_last_hit, sizeof ut_last_hit, "%s", path);
	}
	free(buf);
	return 0;
}

/*
 * How many regular files under dir contain the bytes (raw, as on disk).
 * *files (optional) gets the number of files read, so a check can show it
 * looked at something. Returns -1 if the walk failed.
 */
static inline int
ut_dir_contains(const char *dir, const void *bytes, size_t n, int *files)
{
	struct ut_grep g = {bytes, n, 0, 0};
	ut_last_hit[0] = '\0';
	int rc = ut_walk(dir, ut_grep_one, &g);
	if (files)
		*files = g.files;
	return rc == 0 ? g.hits : -1;
}

/*
 * End a helper process a case forked (a second store user, a writer to
 * kill) with this exit code. It execs a shell to exit rather than calling
 * _exit, so that under valgrind the helper's inherited, never-freed state
 * (the parent's open handles) is not reported as the helper's leaks.
 */
static inline void __attribute__((noreturn)) ut_child_exit(int code)
{
	fflush(stdout);
	fflush(stderr);
	char cmd[32];
	snprintf(cmd, sizeof cmd, "exit %d", code & 255);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(code);
}

/* Run one case in this process; returns true if it passed. */
static inline bool
ut_run_case(const ut_case *c)
{
	ut_failures = 0;
	ut_ntmpdirs = 0;
	if (setjmp(ut_jump) == 0)
		c->fn();
	bool passed = ut_failures == 0;
	const char *keep = getenv("UT_KEEP");
	for (int i = 0; i < ut_ntmpdirs; i++) {
		if (passed && !(keep && keep[0] == '1'))
			ut_rmtree(ut_tmpdirs[i]);
		else
			fprintf(stderr, "  kept temp dir %s\n", ut_tmpdirs[i]);
	}
	return passed;
}

static inline bool
ut_selected(const char *name, int argc, char **argv)
{
	if (argc <= 1)
		return true;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

static inline int
ut_run(const ut_case *cases, int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/');
	prog = prog ? prog + 1 : argv[0];
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (const ut_case *c = cases; c->name; c++)
			printf("%s\n", c->name);
		return 0;
	}
	const char *nofork = getenv("UT_NOFORK");
	bool forking = !(nofork && nofork[0] == '1');
	int passed = 0, failed = 0;
	for (const ut_case *c = cases; c->name; c++) {
		if (!ut_selected(c->name, argc, argv))
			continue;
		fflush(stdout);
		fflush(stderr);
		bool ok;
		char why[64] = "";
		if (!forking) {
			ok = ut_run_case(c);
		} else {
			pid_t pid = fork();
			if (pid < 0) {
				perror("fork");
				return 2;
			}
			if (pid == 0) {
				/* A hang should fail the case, not the run. */
				alarm(600);
				exit(ut_run_case(c) ? 0 : 1);
			}
			int status;
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
			if (WIFSIGNALED(status))
				snprintf(why, sizeof why,
					 " (killed by signal %d)",
					 WTERMSIG(status));
			else if (WIFEXITED(status) && WEXITSTATUS(status) > 1)
				snprintf(why, sizeof why, " (exit %d)",
					 WEXITSTATUS(status));
		}
		fflush(stderr);
		printf("%-4s %s: %s%s\n", ok ? "ok" : "FAIL", prog, c->name,
		       why);
		fflush(stdout);
		if (ok)
			passed++;
		else
			failed++;
	}
	if (passed + failed == 0) {
		fprintf(stderr, "%s: no case matched\n", prog);
		return 2;
	}
	printf("%s: %d passed, %d failed\n", prog, passed, failed);
	return failed ? 1 : 0;
}

/* The cases of this binary, defined by the test file after TEST_LIST. */
extern const ut_case ut_tests[];
#define TEST_LIST const ut_case ut_tests[]

#ifndef UT_NO_MAIN
int
main(int argc, char **argv)
{
	return ut_run(ut_tests, argc, argv);
}
#endif

#endif
