/*
 * libFuzzer target: any bytes as an agency's file, through the adapter's
 * own first pass over it (adapter__plan), as import and watch run it:
 * the encoding scan and decision, the format guess, the header read with
 * the columns ignore_columns leaves out (a rejects file's leading line,
 * column, reason and file columns, a repeated name, an alias) and the
 * choice of kind, or the keys of a JSON Lines file. csv_fuzz.c and
 * jsonl_fuzz.c read the rows; this reaches what they do not: the import's
 * header planning. None may crash, read or write out of bounds, or leak;
 * a bad file is an error code.
 *
 * The first byte is not file content: bits 0-2 pick the agency, bits 3-4
 * the ignore_columns setting, bits 5-6 the format setting.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "adapters/adapter_int.h"
#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct adapter_ops *const agencies[] = {
    &school_ops, &college_ops, &addiction_ops, &jobcenter_ops, &youthunit_ops,
};

/* The lists an operator writes: none, a rejects file's own columns, any
 * column, and an export's alias of its reason. */
static const char *const ignore[] = {
    "",
    "line, column, reason, file",
    "*",
    "Ophørsårsag,reason",
};

static const ug_setting settings[] = {
    {"ignore_columns", "", ""},
    {"kind", "", ""},
    {NULL, NULL, NULL},
};

static char dir[64];
static char file[128];
static struct runtime rt;

static void
cleanup(void)
{
	unlink(file);
	rmdir(dir);
}

static void
setup(void)
{
	if (dir[0])
		return;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/ugplanXXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(file, sizeof file, "%s/export.csv", dir);
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	setup();
	uint8_t how = data[0];
	data++, size--;
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return 0;
	bool ok = write(fd, data, size) == (ssize_t)size;
	close(fd);
	if (!ok)
		return 0;

	char *argv[] = {"adapter", "--ignore_columns",
			(char *)ignore[(how >> 3) & 3], NULL};
	char **rest;
	int nrest;
	bool help = false;
	ug_diag diag = {0};
	ug_config *cfg = NULL;
	if (ug_config_load(&cfg, settings, "", 3, argv, &rest, &nrest, &help,
			   &diag) != UG_OK)
		abort();
	memset(&rt, 0, sizeof rt);
	rt.ops = agencies[(how & 7) % 5];
	snprintf(rt.program, sizeof rt.program, "adapter-%s", rt.ops->name);
	rt.cfg = cfg;
	rt.agency = rt.ops->name;
	rt.encoding = ENC_AUTO;
	rt.format = (adapter_format)(((how >> 5) & 3) % 3);

	adapter_plan plan;
	diag = (ug_diag){0};
	if (adapter__plan(&rt, file, &plan, &diag) == UG_OK) {
		(void)strlen(plan.unknown);
		if (plan.header)
			(void)strlen(plan.header);
		adapter__plan_fini(&plan);
	}
	ug_config_destroy(&cfg);
	return 0;
}
