/*
 * aligned.c
 *		cadence.require_aligned(): the column arrays of a set function line up.
 *
 * start_enrolments() and raise_alerts() take a batch as aligned arrays, one
 * per column, and check their lengths before anything else.  Written in
 * PL/pgSQL the check was a query of its own, run for every move and alert;
 * here it is a loop over a few integers.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(cadence_require_aligned);

/*
 * cadence.require_aligned(fields text, VARIADIC lengths integer[]): an
 * ERROR naming the fields unless every length equals the first.
 */
Datum
cadence_require_aligned(PG_FUNCTION_ARGS)
{
	ArrayType  *lengths;
	Datum	   *values;
	bool	   *nulls;
	int			n;
	int			i;

	/* no lengths, nothing to compare */
	if (PG_ARGISNULL(1))
		PG_RETURN_VOID();
	lengths = PG_GETARG_ARRAYTYPE_P(1);
	deconstruct_array(lengths, INT4OID, sizeof(int32), true, TYPALIGN_INT, &values, &nulls, &n);
	for (i = 1; i < n; i++)
	{
		/* a NULL length differs from any other, as IS DISTINCT FROM has it */
		if (nulls[i] != nulls[0] || (!nulls[i] && DatumGetInt32(values[i]) != DatumGetInt32(values[0])))
			break;
	}
	if (i < n)
	{
		StringInfoData all;

		/* the lengths as an array literal, {1,2,1} */
		initStringInfo(&all);
		for (i = 0; i < n; i++)
		{
			appendStringInfoString(&all, i == 0 ? "{" : ",");
			if (nulls[i])
				appendStringInfoString(&all, "NULL");
			else
				appendStringInfo(&all, "%d", DatumGetInt32(values[i]));
		}
		appendStringInfoChar(&all, '}');
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fields %s must hold arrays of the same length, not %s",
						PG_ARGISNULL(0) ? "<NULL>" : text_to_cstring(PG_GETARG_TEXT_PP(0)),
						all.data)));
	}
	PG_RETURN_VOID();
}
