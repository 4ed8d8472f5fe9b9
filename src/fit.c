/*
 * fit.c
 *		Learning fit-rule weights from past outcomes: logistic regression.
 *
 * cadence_fit_logistic() reads, for every lead of the current tenant, the
 * values of the chosen fields and whether the lead reached an outcome
 * (appointment_set or sold by default), encodes each (field, value) seen at
 * least min_count times as a 0/1 feature (each field's most common value is
 * the reference, weight 0), splits leads into a training and
 * a held-out part by a seeded hash of the lead id, and fits the weights by
 * Newton's method with a small ridge penalty.  It reports the weights (in
 * log-odds), the AUC and a calibration table on the held-out part; the SQL
 * wrapper turns the weights into scoring points and can save them.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "catalog/pg_collation.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cadence.h"

PG_FUNCTION_INFO_V1(cadence_fit_logistic);

#define MAX_FEATURES 400
#define MAX_ITERATIONS 50
#define RIDGE 1.0

/* A (field, value) feature. */
typedef struct Feature
{
	int			field;
	char	   *value;
	int64		count;
} Feature;

/* A lead as the fit sees it: its active features and outcome. */
typedef struct Example
{
	int		   *active;			/* feature indexes, -1 where none */
	bool		label;
	bool		holdout;
	double		predicted;
} Example;

static const char *const text_columns[] = {
	"external_id", "first_name", "last_name", "email", "phone", "time_zone",
	"segment", "source", "preferred_channel",
};

/*
 * The SQL expression for a field, after checking it is one we allow.
 */
static char *
FieldExpression(const char *field)
{
	int			i;

	if (strncmp(field, "attr.", 5) == 0 && field[5] != '\0' && strchr(field + 5, '.') == NULL)
		return psprintf("(l.attributes ->> %s)", quote_literal_cstr(field + 5));
	for (i = 0; i < lengthof(text_columns); i++)
		if (strcmp(field, text_columns[i]) == 0)
			return psprintf("l.%s", quote_identifier(field));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown field \"%s\" in field \"features\"", field),
			 errhint("Use attr.<key> for a lead attribute, or one of the lead's text fields.")));
	return NULL;
}

static double
Sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	return exp(z) / (1.0 + exp(z));
}

/*
 * Solve A x = b for a symmetric positive definite A (n x n, row-major) by
 * Cholesky decomposition; A is overwritten.  Returns false when A is not
 * positive definite.
 */
static bool
SolveCholesky(double *A, double *b, double *x, int n)
{
	int			i,
				j,
				k;

	for (j = 0; j < n; j++)
	{
		double		d = A[j * n + j];

		for (k = 0; k < j; k++)
			d -= A[j * n + k] * A[j * n + k];
		if (d <= 0)
			return false;
		A[j * n + j] = sqrt(d);
		for (i = j + 1; i < n; i++)
		{
			double		s = A[i * n + j];

			for (k = 0; k < j; k++)
				s -= A[i * n + k] * A[j * n + k];
			A[i * n + j] = s / A[j * n + j];
		}
	}
	for (i = 0; i < n; i++)
	{
		double		s = b[i];

		for (k = 0; k < i; k++)
			s -= A[i * n + k] * x[k];
		x[i] = s / A[i * n + i];
	}
	for (i = n - 1; i >= 0; i--)
	{
		double		s = x[i];

		for (k = i + 1; k < n; k++)
			s -= A[k * n + i] * x[k];
		x[i] = s / A[i * n + i];
	}
	return true;
}

static double
Predict(const Example *ex, int nfields, const double *w)
{
	double		z = w[0];
	int			f;

	for (f = 0; f < nfields; f++)
		if (ex->active[f] >= 0)
			z += w[1 + ex->active[f]];
	return Sigmoid(z);
}

static int
ComparePredicted(const void *a, const void *b)
{
	double		x = (*(Example *const *) a)->predicted;
	double		y = (*(Example *const *) b)->predicted;

	return (x > y) - (x < y);
}

/*
 * AUC (Mann-Whitney, ties counted half) of the held-out examples.
 */
static double
HoldoutAuc(Example **held, int nheld)
{
	double		rank_sum = 0;
	int64		positives = 0,
				negatives = 0;
	int			i = 0;

	qsort(held, nheld, sizeof(Example *), ComparePredicted);
	while (i < nheld)
	{
		int			j = i;
		double		mid;

		while (j + 1 < nheld && held[j + 1]->predicted == held[i]->predicted)
			j++;
		mid = (i + j) / 2.0 + 1;
		for (; i <= j; i++)
		{
			if (held[i]->label)
			{
				rank_sum += mid;
				positives++;
			}
			else
				negatives++;
		}
	}
	if (positives == 0 || negatives == 0)
		return NAN;
	return (rank_sum - positives * (positives + 1) / 2.0) / ((double) positives * negatives);
}

/*
 * cadence.fit_logistic(features text[], outcome_kinds text[], holdout float8,
 *                      seed integer, min_count integer, as_of timestamptz)
 *		returns jsonb
 */
Datum
cadence_fit_logistic(PG_FUNCTION_ARGS)
{
	ArrayType  *fields_array = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *kinds_array = PG_GETARG_ARRAYTYPE_P(1);
	double		holdout = PG_GETARG_FLOAT8(2);
	int32		seed = PG_GETARG_INT32(3);
	int32		min_count = PG_GETARG_INT32(4);
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(5);
	Datum	   *field_datums;
	bool	   *field_nulls;
	int			nfields;
	char	  **fields;
	StringInfoData sql;
	Oid			argtypes[2] = {TEXTARRAYOID, TIMESTAMPTZOID};
	Datum		args[2];
	Feature    *features;
	int			nfeatures = 0;
	Example    *examples;
	Example   **held;
	int64		nexamples;
	int			nheld = 0,
				ntrain = 0;
	int			p;
	double	   *w,
			   *grad,
			   *hess,
			   *step;
	int			iteration;
	bool		converged = false;
	double		auc;
	StringInfoData out;
	int		   *reference;
	MemoryContext fit_context,
				old;
	int64		i;
	int			f,
				k;

	if (holdout <= 0 || holdout >= 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holdout must be between 0 and 1, not %g (field \"holdout\")", holdout)));
	if (min_count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_count must be at least 1 (field \"min_count\")")));

	deconstruct_array(fields_array, TEXTOID, -1, false, TYPALIGN_INT, &field_datums, &field_nulls, &nfields);
	if (nfields == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no fields given in field \"features\"")));
	fields = palloc(sizeof(char *) * nfields);
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT l.lead_id, EXISTS (SELECT FROM cadence.event e"
						   " WHERE e.tenant_id = l.tenant_id AND e.lead_id = l.lead_id"
						   " AND e.applied_kind = ANY ($1) AND e.occurred_at <= $2)");
	for (f = 0; f < nfields; f++)
	{
		if (field_nulls[f])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("NULL in field \"features\"")));
		fields[f] = TextDatumGetCString(field_datums[f]);
		appendStringInfo(&sql, ", %s", FieldExpression(fields[f]));
	}
	appendStringInfoString(&sql, " FROM cadence.lead l WHERE l.tenant_id = cadence.current_tenant()"
						   " ORDER BY l.lead_id");

	fit_context = AllocSetContextCreate(CurrentMemoryContext, "cadence fit", ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = PointerGetDatum(kinds_array);
	args[1] = TimestampTzGetDatum(as_of);
	if (SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the training data");
	nexamples = SPI_processed;

	old = MemoryContextSwitchTo(fit_context);
	features = palloc0(sizeof(Feature) * MAX_FEATURES);
	examples = palloc0(sizeof(Example) * Max(nexamples, 1));

	/* First pass: the (field, value) pairs and how often each occurs. */
	for (i = 0; i < nexamples; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		bool		isnull;
		int64		lead_id = DatumGetInt64(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 1, &isnull));
		Example    *ex = &examples[i];
		uint32		h;

		ex->label = DatumGetBool(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 2, &isnull));
		h = hash_bytes_uint32_extended((uint32) lead_id ^ (uint32) (lead_id >> 32), (uint64) seed);
		ex->holdout = ((double) h / 4294967296.0) < holdout;
		ex->active = palloc(sizeof(int) * nfields);
		for (f = 0; f < nfields; f++)
		{
			char	   *value = SPI_getvalue(tuple, SPI_tuptable->tupdesc, 3 + f);

			ex->active[f] = -1;
			if (value == NULL || value[0] == '\0')
				continue;
			/* scoring rules match case-insensitively, so the fit does too */
			value = str_tolower(value, strlen(value), DEFAULT_COLLATION_OID);
			for (k = 0; k < nfeatures; k++)
				if (features[k].field == f && strcmp(features[k].value, value) == 0)
					break;
			if (k == nfeatures)
			{
				if (nfeatures == MAX_FEATURES)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("too many distinct values to fit (more than %d)", MAX_FEATURES),
							 errhint("Choose fields with fewer distinct values.")));
				features[nfeatures].field = f;
				features[nfeatures].value = pstrdup(value);
				nfeatures++;
			}
			features[k].count++;
			ex->active[f] = k;
		}
		if (ex->holdout)
			nheld++;
		else
			ntrain++;
	}
	MemoryContextSwitchTo(old);
	SPI_finish();

	/*
	 * Each field's most common value is its reference (weight 0), so that
	 * the other weights are the log-odds against it and the model has one
	 * solution; rare values are left out, as their weights could not be
	 * estimated.
	 */
	reference = palloc(sizeof(int) * nfields);
	for (f = 0; f < nfields; f++)
	{
		reference[f] = -1;
		for (k = 0; k < nfeatures; k++)
			if (features[k].field == f &&
				(reference[f] < 0 || features[k].count > features[reference[f]].count))
				reference[f] = k;
	}
	for (i = 0; i < nexamples; i++)
		for (f = 0; f < nfields; f++)
		{
			int			a = examples[i].active[f];

			if (a >= 0 && (features[a].count < min_count || a == reference[f]))
				examples[i].active[f] = -1;
		}

	if (ntrain < 10 || nheld < 10)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("not enough leads to fit a model (%d to train on, %d held out)", ntrain, nheld),
				 errhint("At least 10 leads are needed in each part.")));

	/* Newton's method on the ridge-penalised log-likelihood. */
	p = 1 + nfeatures;
	old = MemoryContextSwitchTo(fit_context);
	w = palloc0(sizeof(double) * p);
	grad = palloc(sizeof(double) * p);
	hess = palloc(sizeof(double) * p * p);
	step = palloc(sizeof(double) * p);
	MemoryContextSwitchTo(old);

	for (iteration = 0; iteration < MAX_ITERATIONS && !converged; iteration++)
	{
		double		largest = 0;

		memset(grad, 0, sizeof(double) * p);
		memset(hess, 0, sizeof(double) * p * p);
		for (k = 1; k < p; k++)
		{
			grad[k] = -RIDGE * w[k];
			hess[k * p + k] = RIDGE;
		}
		for (i = 0; i < nexamples; i++)
		{
			Example    *ex = &examples[i];
			double		mu,
						r,
						v;
			int			idx[64];
			int			n = 0,
						a,
						b;

			if (ex->holdout)
				continue;
			CHECK_FOR_INTERRUPTS();
			mu = Predict(ex, nfields, w);
			r = (ex->label ? 1.0 : 0.0) - mu;
			v = mu * (1 - mu);
			idx[n++] = 0;
			for (f = 0; f < nfields && n < 64; f++)
				if (ex->active[f] >= 0)
					idx[n++] = 1 + ex->active[f];
			for (a = 0; a < n; a++)
			{
				grad[idx[a]] += r;
				for (b = 0; b < n; b++)
					hess[idx[a] * p + idx[b]] += v;
			}
		}
		/* features never active in training keep a zero weight */
		for (k = 0; k < p; k++)
			if (hess[k * p + k] == 0)
				hess[k * p + k] = 1;
		if (!SolveCholesky(hess, grad, step, p))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the model could not be fitted (the problem is not positive definite)")));
		for (k = 0; k < p; k++)
		{
			w[k] += step[k];
			largest = Max(largest, fabs(step[k]));
		}
		converged = largest < 1e-8;
	}

	/* Held-out evaluation: AUC and a calibration table by deciles. */
	held = palloc(sizeof(Example *) * Max(nheld, 1));
	nheld = 0;
	for (i = 0; i < nexamples; i++)
		if (examples[i].holdout)
		{
			examples[i].predicted = Predict(&examples[i], nfields, w);
			held[nheld++] = &examples[i];
		}
	auc = HoldoutAuc(held, nheld);

	initStringInfo(&out);
	appendStringInfo(&out, "{\"intercept\": %.6f, \"weights\": [", w[0]);
	for (k = 0; k < nfeatures; k++)
	{
		appendStringInfo(&out, "%s{\"field\": ", k ? ", " : "");
		escape_json(&out, fields[features[k].field]);
		appendStringInfoString(&out, ", \"value\": ");
		escape_json(&out, features[k].value);
		appendStringInfo(&out, ", \"leads\": " INT64_FORMAT ", \"weight\": %.6f, \"used\": %s, \"reference\": %s}",
						 features[k].count,
						 (features[k].count >= min_count && k != reference[features[k].field]) ? w[1 + k] : 0.0,
						 (features[k].count >= min_count && k != reference[features[k].field]) ? "true" : "false",
						 k == reference[features[k].field] ? "true" : "false");
	}
	appendStringInfo(&out, "], \"training_leads\": %d, \"held_out_leads\": %d, \"iterations\": %d, \"converged\": %s, ",
					 ntrain, nheld, iteration, converged ? "true" : "false");
	if (isnan(auc))
		appendStringInfoString(&out, "\"auc\": null, \"calibration\": [");
	else
		appendStringInfo(&out, "\"auc\": %.4f, \"calibration\": [", auc);
	/* held is sorted by prediction now: ten groups of (nearly) equal size */
	for (k = 0; k < 10; k++)
	{
		int			from = (int) ((int64) nheld * k / 10);
		int			to = (int) ((int64) nheld * (k + 1) / 10);
		double		predicted = 0;
		int			outcomes = 0;
		int			j;

		if (to <= from)
			continue;
		for (j = from; j < to; j++)
		{
			predicted += held[j]->predicted;
			outcomes += held[j]->label ? 1 : 0;
		}
		appendStringInfo(&out, "%s{\"decile\": %d, \"leads\": %d, \"predicted\": %.4f, \"observed\": %.4f}",
						 k ? ", " : "", k + 1, to - from, predicted / (to - from), (double) outcomes / (to - from));
	}
	appendStringInfoString(&out, "]}");

	MemoryContextDelete(fit_context);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}
