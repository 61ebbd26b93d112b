/* Error names and the diag helper. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *
ug_strerror(ug_err err)
{
	switch (err) {
	case UG_OK:
		return "ok";
	case UG_ENOMEM:
		return "out of memory";
	case UG_EINVAL:
		return "invalid argument";
	case UG_EIO:
		return "input/output error";
	case UG_ENOTFOUND:
		return "not found";
	case UG_EEXISTS:
		return "already exists";
	case UG_EMALFORMED:
		return "malformed input";
	case UG_EDENIED:
		return "denied";
	case UG_EFULL:
		return "full";
	case UG_EAGAIN:
		return "try again";
	case UG_ECLOSED:
		return "closed";
	case UG_ETIMEDOUT:
		return "timed out";
	}
	return "unknown error";
}

void
ug_diag_set(ug_diag *diag, const char *field, const char *fmt, ...)
{
	if (diag == NULL)
		return;
	snprintf(diag->field, sizeof diag->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(diag->reason, sizeof diag->reason, fmt, ap);
	va_end(ap);
}
