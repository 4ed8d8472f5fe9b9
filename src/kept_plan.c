/*
 * kept_plan.c
 *		Statements the extension's C code prepares once per backend.
 *
 * Each caller holds its plan in a static pointer; the first call prepares
 * the statement and keeps the plan for the backend's lifetime (PostgreSQL
 * replans it by itself when a table or function it uses changes).
 */
#include "postgres.h"

#include "executor/spi.h"

#include "cadence.h"

/*
 * The plan in *cache, prepared and kept on first use.  cursor_options as
 * for SPI_prepare_cursor() (0 for none).  The caller has connected SPI.
 */
SPIPlanPtr
KeptPlan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	if (*cache == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);

		if (plan == NULL)
			elog(ERROR, "could not prepare a cadence statement: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "could not keep the plan of a cadence statement");
		*cache = plan;
	}
	return *cache;
}
