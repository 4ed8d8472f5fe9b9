/*
 * nightly.c
 *		The nightly rescore: every lead of a tenant scored again in one pass,
 *		so that engagement decays, and the leads whose score or tier changed
 *		written.  The same pass scores the leads of a large batch of events
 *		(given leads, each as of its own time).
 *
 * Two queries stream their rows into this file, and neither result is
 * materialised.  The tenant's events come first, in lead order, and are
 * summed per lead into engagement points.  Then each lead is scored from
 * its columns, and a lead whose score or tier changed is written at once,
 * through the executor's own steps for updating a row (lead_write.c):
 * constraints, index entries, foreign-key triggers.  One SQL statement
 * doing the same work (the one that cadence.rescore_leads() keeps) also
 * builds each lead as a composite value to score it, and joins the changed
 * leads back to the table to update them.  That costs twice as much again.
 *
 * The queries run with the caller's rights, so row-level security decides
 * which leads are read, and so written; the write checks UPDATE on the
 * score columns.  A lead table with more than the extension made is left
 * to that SQL statement, which applies everything: triggers of its own on
 * UPDATE, rules, child tables, stored generated columns, or row-level
 * security policies besides the tenant's.  The pass then returns NULL.
 *
 * A lead that another transaction changed after the pass read it is scored
 * again, when the pass is done, by cadence.rescore_leads() for those leads
 * alone; that statement reads the lead as it now is.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rowsecurity.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/relcache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "cadence.h"
#include "lead_write.h"

PG_FUNCTION_INFO_V1(cadence_rescore_tenant_leads);

/*
 * The tenant's events up to as_of, a lead's together, and within a lead in
 * the order of the event_lead index, so that the sums are the same at every
 * run.  (The SQL statement's aggregate sums them in the order its plan reads
 * them; the two sums can differ in the last bit, which changes a score only
 * at an exact half.)
 */
static const char *const events_sql =
"SELECT e.lead_id, e.applied_kind, e.occurred_at FROM cadence.event e"
" WHERE e.tenant_id = $1 AND e.occurred_at <= $2"
" ORDER BY e.lead_id, e.applied_kind, e.occurred_at";

/*
 * The tenant's leads: where each row is, the transaction that wrote it, and
 * its columns (l.* from LEAD_FIRST_COLUMN).
 */
static const char *const leads_sql =
"SELECT l.ctid, l.xmin, l.* FROM ONLY cadence.lead l WHERE l.tenant_id = $1";

/* The same two for some of the tenant's leads ($2), all of their events. */
static const char *const some_events_sql =
"SELECT e.lead_id, e.applied_kind, e.occurred_at FROM cadence.event e"
" WHERE e.tenant_id = $1 AND e.lead_id = ANY ($2)"
" ORDER BY e.lead_id, e.applied_kind, e.occurred_at";

static const char *const some_leads_sql =
"SELECT l.ctid, l.xmin, l.* FROM ONLY cadence.lead l WHERE l.tenant_id = $1 AND l.lead_id = ANY ($2)";

#define LEAD_CTID_COLUMN 0
#define LEAD_XMIN_COLUMN 1
#define LEAD_FIRST_COLUMN 2		/* 0-based: the column after ctid and xmin */

static const char *const retry_sql =
"SELECT cadence.rescore_leads(tenant_id => $1, lead_ids => $3, as_of => $2, lead_times => $4)";

static SPIPlanPtr events_plan = NULL;
static SPIPlanPtr leads_plan = NULL;
static SPIPlanPtr some_events_plan = NULL;
static SPIPlanPtr some_leads_plan = NULL;
static SPIPlanPtr retry_plan = NULL;

/*
 * The leads a pass scores, when not all of the tenant's: each with the
 * time to score it as of, unless a newer event says later; in lead order.
 */
typedef struct GivenLeads
{
	int64	   *leads;
	TimestampTz *times;
	int			count;
} GivenLeads;

/*
 * The engagement points of the leads, in lead order, with the time each
 * was scored as of: as_of for every lead of the tenant, or for given leads
 * their own time.
 */
typedef struct EngagementSums
{
	DestReceiver pub;
	const ScoringModel *model;
	TimestampTz as_of;
	const GivenLeads *given;	/* NULL: every lead of the tenant */
	/* the current lead's events of a kind that scores (rule, time) */
	bool		in_lead;
	int64		lead;
	TimestampTz newest;			/* and its newest event of any kind */
	int		   *event_rules;
	TimestampTz *event_times;
	int			nevents;
	int			events_size;
	double	   *decayed;		/* per engagement rule */
	/* the result */
	int64	   *leads;
	double	   *points;
	TimestampTz *ats;
	int			count;
	int			size;
} EngagementSums;

/* A lead whose new score or tier may move its enrolment, as cadence.rescored_lead holds it. */
typedef struct RescoredLead
{
	int64		lead;
	char	   *old_tier;
	const char *tier;
	int			score;
	char	   *segment;
	TimestampTz at;
} RescoredLead;

/* The pass over the leads, and what it wrote. */
typedef struct LeadPass
{
	DestReceiver pub;
	ScoringModel *model;
	EngagementSums *sums;
	MemoryContext pass_context; /* for the results */
	MemoryContext row_context;	/* reset after each lead */

	/* the lead table, and what writes it */
	Relation	rel;
	LeadWriter	writer;

	/* columns of the query's rows (0-based), resolved when it starts */
	int		   *query_column;	/* per table attribute: its column, -1 if dropped */
	int			lead_col;
	int			score_col;
	int			tier_col;
	int			segment_col;

	uint64		scored;
	uint64		changed;
	List	   *rescored;		/* RescoredLead *, in the order met */
	List	   *retry;			/* leads changed meanwhile by another transaction */
	List	   *retry_times;	/* and the times they were to be scored as of */
} LeadPass;

static void
SumsStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
SumsShutdown(DestReceiver *self)
{
}

static void
SumsDestroy(DestReceiver *self)
{
}

/* The time to score a lead as of, before its events have a say. */
static TimestampTz
GivenTime(const EngagementSums *sums, int64 lead)
{
	int			low = 0;
	int			high;

	if (sums->given == NULL)
		return sums->as_of;
	high = sums->given->count - 1;
	while (low <= high)
	{
		int			mid = low + (high - low) / 2;

		if (sums->given->leads[mid] == lead)
			return sums->given->times[mid];
		if (sums->given->leads[mid] < lead)
			low = mid + 1;
		else
			high = mid - 1;
	}
	return sums->as_of;
}

/*
 * Close the current lead: its events, decayed to the time it is scored as
 * of (for every lead of the tenant as_of, whose query leaves out later
 * events; for a given lead its own time or its newest event, whichever is
 * later, so that a late event cannot rewind a score), summed per rule,
 * capped and added up, become its points.
 */
static void
FinishLeadSums(EngagementSums *sums)
{
	int			nrules = EngagementRuleCount(sums->model);
	TimestampTz at;
	int			i;

	if (!sums->in_lead)
		return;
	at = sums->as_of;
	if (sums->given != NULL)
		at = Max(GivenTime(sums, sums->lead), sums->newest);
	memset(sums->decayed, 0, sizeof(double) * Max(nrules, 1));
	for (i = 0; i < sums->nevents; i++)
		AddEventPoints(sums->model, sums->decayed, sums->event_rules[i], sums->event_times[i], at);
	if (sums->count == sums->size)
	{
		sums->size = Max(1024, sums->size * 2);
		sums->leads = repalloc_huge(sums->leads, sizeof(int64) * sums->size);
		sums->points = repalloc_huge(sums->points, sizeof(double) * sums->size);
		sums->ats = repalloc_huge(sums->ats, sizeof(TimestampTz) * sums->size);
	}
	sums->leads[sums->count] = sums->lead;
	sums->points[sums->count] = EngagementTotal(sums->model, sums->decayed);
	sums->ats[sums->count] = at;
	sums->count++;
	sums->nevents = 0;
	sums->in_lead = false;
}

static bool
SumEvent(TupleTableSlot *slot, DestReceiver *self)
{
	EngagementSums *sums = (EngagementSums *) self;
	int64		lead;
	text	   *kind;
	TimestampTz at;
	int			rule;

	slot_getsomeattrs(slot, 3);
	/* the columns are NOT NULL */
	lead = DatumGetInt64(slot->tts_values[0]);
	at = DatumGetTimestampTz(slot->tts_values[2]);
	if (!sums->in_lead || lead != sums->lead)
	{
		if (sums->in_lead && lead < sums->lead)
			elog(ERROR, "the events of a rescore are not in lead order");
		FinishLeadSums(sums);
		sums->lead = lead;
		sums->newest = at;
		sums->in_lead = true;
	}
	sums->newest = Max(sums->newest, at);
	kind = DatumGetTextPP(slot->tts_values[1]);
	rule = EngagementRuleFor(sums->model, VARDATA_ANY(kind), VARSIZE_ANY_EXHDR(kind));
	if (rule < 0)
		return true;
	if (sums->nevents == sums->events_size)
	{
		sums->events_size *= 2;
		sums->event_rules = repalloc_huge(sums->event_rules, sizeof(int) * sums->events_size);
		sums->event_times = repalloc_huge(sums->event_times, sizeof(TimestampTz) * sums->events_size);
	}
	sums->event_rules[sums->nevents] = rule;
	sums->event_times[sums->nevents] = at;
	sums->nevents++;
	return true;
}

/*
 * A lead's engagement points, and (*at) the time it is scored as of: 0 and
 * its given time for a lead with no events.
 */
static double
EngagementOf(EngagementSums *sums, int64 lead, TimestampTz *at)
{
	int			low = 0;
	int			high = sums->count - 1;

	while (low <= high)
	{
		int			mid = low + (high - low) / 2;

		if (sums->leads[mid] == lead)
		{
			*at = sums->ats[mid];
			return sums->points[mid];
		}
		if (sums->leads[mid] < lead)
			low = mid + 1;
		else
			high = mid - 1;
	}
	*at = GivenTime(sums, lead);
	return 0;
}

/* Index of the column named name in desc (0-based), or an error. */
static int
QueryColumn(TupleDesc desc, const char *name)
{
	int			i;

	for (i = LEAD_FIRST_COLUMN; i < desc->natts; i++)
		if (strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0)
			return i;
	elog(ERROR, "the rescore's lead query has no column \"%s\"", name);
	return -1;					/* keep the compiler quiet */
}

static void
PassStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	LeadPass   *pass = (LeadPass *) self;
	TupleDesc	table = RelationGetDescr(pass->rel);
	MemoryContext old = MemoryContextSwitchTo(pass->pass_context);
	int			column = LEAD_FIRST_COLUMN;
	int			i;

	/* l.* lists the table's columns in order, without dropped ones */
	pass->query_column = palloc(sizeof(int) * table->natts);
	for (i = 0; i < table->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(table, i);

		if (att->attisdropped)
		{
			pass->query_column[i] = -1;
			continue;
		}
		if (column >= typeinfo->natts ||
			strcmp(NameStr(TupleDescAttr(typeinfo, column)->attname), NameStr(att->attname)) != 0)
			elog(ERROR, "the rescore's lead query does not list the columns of cadence.lead");
		pass->query_column[i] = column++;
	}
	pass->lead_col = QueryColumn(typeinfo, "lead_id");
	pass->score_col = QueryColumn(typeinfo, "score");
	pass->tier_col = QueryColumn(typeinfo, "tier");
	pass->segment_col = QueryColumn(typeinfo, "segment");
	ResolveLeadColumns(pass->model, typeinfo);
	MemoryContextSwitchTo(old);
}

static void
PassShutdown(DestReceiver *self)
{
}

static void
PassDestroy(DestReceiver *self)
{
}

/*
 * Write a lead's new score, tier and time over its row old (a row of the
 * lead query, at tid, written by transaction written_by), as an UPDATE of
 * those columns would (lead_write.c).  Returns how the update went:
 * TM_Updated or TM_Deleted when another transaction changed the lead after
 * this pass read it.
 */
static TM_Result
WriteScore(LeadPass *pass, TupleTableSlot *old, ItemPointer tid, TransactionId written_by, LeadScore scored,
		   TimestampTz at)
{
	TupleDesc	table = RelationGetDescr(pass->rel);
	LeadWriter *writer = &pass->writer;
	TupleTableSlot *row = writer->new_row;
	int			i;

	ExecClearTuple(row);
	for (i = 0; i < table->natts; i++)
	{
		int			column = pass->query_column[i];

		if (column < 0)
		{
			row->tts_values[i] = (Datum) 0;
			row->tts_isnull[i] = true;
		}
		else
		{
			row->tts_values[i] = old->tts_values[column];
			row->tts_isnull[i] = old->tts_isnull[column];
		}
	}
	row->tts_values[writer->column[LEAD_SCORE]] = Int32GetDatum(scored.score);
	row->tts_isnull[writer->column[LEAD_SCORE]] = false;
	row->tts_values[writer->column[LEAD_TIER]] = CStringGetTextDatum(scored.tier);
	row->tts_isnull[writer->column[LEAD_TIER]] = false;
	row->tts_values[writer->column[LEAD_SCORED_AT]] = TimestampTzGetDatum(at);
	row->tts_isnull[writer->column[LEAD_SCORED_AT]] = false;
	ExecStoreVirtualTuple(row);
	return WriteLeadRow(writer, tid, TransactionIdIsCurrentTransactionId(written_by));
}

static bool
ScoreLeadRow(TupleTableSlot *slot, DestReceiver *self)
{
	LeadPass   *pass = (LeadPass *) self;
	MemoryContext old = MemoryContextSwitchTo(pass->row_context);
	ItemPointerData tid;
	int64		lead;
	char	   *old_tier;
	LeadScore	scored;
	bool		tier_changed;
	double		engagement;
	TimestampTz at;

	slot_getallattrs(slot);
	pass->scored++;
	tid = *(ItemPointer) DatumGetPointer(slot->tts_values[LEAD_CTID_COLUMN]);
	lead = DatumGetInt64(slot->tts_values[pass->lead_col]);
	old_tier = slot->tts_isnull[pass->tier_col] ? NULL : TextDatumGetCString(slot->tts_values[pass->tier_col]);
	engagement = EngagementOf(pass->sums, lead, &at);
	scored = ScoreLeadSlot(pass->model, slot, engagement, old_tier);
	tier_changed = old_tier == NULL || strcmp(old_tier, scored.tier) != 0;

	if (tier_changed || slot->tts_isnull[pass->score_col] ||
		DatumGetInt32(slot->tts_values[pass->score_col]) != scored.score)
	{
		TM_Result	result = WriteScore(pass, slot, &tid,
										DatumGetTransactionId(slot->tts_values[LEAD_XMIN_COLUMN]), scored, at);

		MemoryContextSwitchTo(pass->pass_context);
		if (result == TM_Updated)
		{
			int64	   *id = palloc(sizeof(int64));
			TimestampTz *given = palloc(sizeof(TimestampTz));

			*id = lead;
			*given = GivenTime(pass->sums, lead);
			pass->retry = lappend(pass->retry, id);
			pass->retry_times = lappend(pass->retry_times, given);
		}
		else if (result == TM_Ok)
		{
			pass->changed++;
			/* routing has work for a new tier, or a score under the exit line */
			if (tier_changed || scored.below_exit)
			{
				RescoredLead *r = palloc(sizeof(RescoredLead));

				r->lead = lead;
				r->old_tier = old_tier == NULL ? NULL : pstrdup(old_tier);
				r->tier = pstrdup(scored.tier);
				r->score = scored.score;
				r->segment = slot->tts_isnull[pass->segment_col] ? NULL :
					TextDatumGetCString(slot->tts_values[pass->segment_col]);
				r->at = at;
				pass->rescored = lappend(pass->rescored, r);
			}
		}
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(pass->row_context);
	return true;
}

/* Run a kept statement under the active snapshot, with its rows going to dest. */
static void
RunInto(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes, Datum *args, DestReceiver *dest)
{
	SPIExecuteOptions options;
	ParamListInfo params = makeParamList(nargs);
	int			i;
	int			rc;

	for (i = 0; i < nargs; i++)
	{
		params->params[i].value = args[i];
		params->params[i].isnull = false;
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = argtypes[i];
	}
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.dest = dest;
	/* under the pass's snapshot, which it pushed: no new one, no new command */
	options.read_only = true;
	rc = SPI_execute_plan_extended(KeptPlan(plan, sql, nargs, argtypes, 0), &options);
	/* SPI reports a SELECT whose rows went elsewhere as SPI_OK_UTILITY */
	if (rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY)
		elog(ERROR, "a rescore query failed: %s", SPI_result_code_string(rc));
}

/* The pass's RescoredLead list as a cadence.rescored_lead[] (NULL when empty). */
static Datum
RescoredArray(List *rescored, Oid element_type, bool *isnull)
{
	TupleDesc	desc;
	Datum	   *elements;
	ListCell   *cell;
	int			n = 0;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	*isnull = rescored == NIL;
	if (*isnull)
		return (Datum) 0;
	desc = lookup_rowtype_tupdesc_copy(element_type, -1);
	if (desc->natts != 6)
		elog(ERROR, "cadence.rescored_lead has %d columns, not 6", desc->natts);
	elements = palloc(sizeof(Datum) * list_length(rescored));
	foreach(cell, rescored)
	{
		RescoredLead *r = (RescoredLead *) lfirst(cell);
		Datum		values[6];
		bool		nulls[6] = {false, r->old_tier == NULL, false, false, r->segment == NULL, false};

		values[0] = Int64GetDatum(r->lead);
		values[1] = r->old_tier == NULL ? (Datum) 0 : CStringGetTextDatum(r->old_tier);
		values[2] = CStringGetTextDatum(r->tier);
		values[3] = Int32GetDatum(r->score);
		values[4] = r->segment == NULL ? (Datum) 0 : CStringGetTextDatum(r->segment);
		values[5] = TimestampTzGetDatum(r->at);
		elements[n++] = HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
	}
	get_typlenbyvalalign(element_type, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_array(elements, n, element_type, typlen, typbyval, typalign));
}

/* Order given leads by lead; a lead given twice keeps its later time. */
static int
CompareGivenLead(const void *a, const void *b)
{
	int64		x = ((const int64 *) a)[0];
	int64		y = ((const int64 *) b)[0];

	return (x > y) - (x < y);
}

/*
 * The leads to score (lead_ids) and the times to score them as of
 * (lead_times, aligned; NULL or a NULL element: as_of), in lead order.
 */
static void
ReadGivenLeads(ArrayType *lead_ids, ArrayType *lead_times, TimestampTz as_of, GivenLeads *given)
{
	Datum	   *ids;
	bool	   *id_nulls;
	Datum	   *times = NULL;
	bool	   *time_nulls = NULL;
	int			nids;
	int			ntimes = 0;
	int64	   *pairs;
	int			i;
	int			n = 0;

	deconstruct_array(lead_ids, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE, &ids, &id_nulls, &nids);
	if (lead_times != NULL)
	{
		deconstruct_array(lead_times, TIMESTAMPTZOID, sizeof(TimestampTz), true, TYPALIGN_DOUBLE,
						  &times, &time_nulls, &ntimes);
		if (ntimes != nids)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("lead_times has %d elements and lead_ids %d (field \"lead_times\")", ntimes, nids)));
	}
	/* pairs of (lead, time), sorted together */
	pairs = palloc_extended(sizeof(int64) * 2 * Max(nids, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < nids; i++)
	{
		if (id_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("lead_ids holds a NULL (field \"lead_ids\")")));
		pairs[2 * i] = DatumGetInt64(ids[i]);
		pairs[2 * i + 1] = (times == NULL || time_nulls[i]) ? as_of : DatumGetTimestampTz(times[i]);
		if (TIMESTAMP_NOT_FINITE(pairs[2 * i + 1]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lead_times must hold finite times (field \"lead_times\")")));
	}
	qsort(pairs, nids, sizeof(int64) * 2, CompareGivenLead);
	given->leads = palloc_extended(sizeof(int64) * Max(nids, 1), MCXT_ALLOC_HUGE);
	given->times = palloc_extended(sizeof(TimestampTz) * Max(nids, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < nids; i++)
	{
		if (n > 0 && given->leads[n - 1] == pairs[2 * i])
		{
			given->times[n - 1] = Max(given->times[n - 1], pairs[2 * i + 1]);
			continue;
		}
		given->leads[n] = pairs[2 * i];
		given->times[n] = pairs[2 * i + 1];
		n++;
	}
	given->count = n;
}

/*
 * Score again, as they now are, the leads another transaction changed
 * after the pass read them (leads; times, the times they were given, or NIL
 * for as_of): cadence.rescore_leads() reads and writes them by the SQL
 * statement, and routes those it changes.  Returns the leads it changed.
 */
static uint64
RescoreChangedLeads(Datum tenant, TimestampTz as_of, List *leads, List *times)
{
	Oid			argtypes[4] = {INT8OID, TIMESTAMPTZOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	Datum	   *ids = palloc(sizeof(Datum) * list_length(leads));
	ListCell   *cell;
	int			n = 0;
	bool		isnull;
	int			rc;

	foreach(cell, leads)
		ids[n++] = Int64GetDatum(*(int64 *) lfirst(cell));
	args[0] = tenant;
	args[1] = TimestampTzGetDatum(as_of);
	args[2] = PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE));
	if (times == NIL)
		nulls[3] = 'n';
	else
	{
		Datum	   *given = palloc(sizeof(Datum) * n);

		n = 0;
		foreach(cell, times)
			given[n++] = TimestampTzGetDatum(*(TimestampTz *) lfirst(cell));
		args[3] = PointerGetDatum(construct_array(given, n, TIMESTAMPTZOID, sizeof(TimestampTz), true,
												  TYPALIGN_DOUBLE));
	}
	rc = SPI_execute_plan(KeptPlan(&retry_plan, retry_sql, 4, argtypes, 0), args, nulls, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "rescoring leads changed during the rescore failed: %s", SPI_result_code_string(rc));
	return (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * cadence.rescore_tenant_leads(tenant_id bigint, as_of timestamptz, model jsonb,
 *                              OUT scored bigint, OUT changed bigint,
 *                              OUT rescored cadence.rescored_lead[])
 *
 * Score every lead of the tenant at as_of under model (scored counts them),
 * and write the leads whose score or tier changed (scored_at = as_of).
 * changed counts those; rescored lists the ones that routing may move (a
 * new tier, or a score under the exit line).  All NULL when the lead table
 * is left to the SQL statement (see LeadTableIsPlain()).
 */
Datum
cadence_rescore_tenant_leads(PG_FUNCTION_ARGS)
{
	TupleDesc	result_desc;
	Datum		result[3];
	bool		result_null[3] = {true, true, true};
	MemoryContext caller = CurrentMemoryContext;
	TimestampTz as_of;
	Oid			lead_table;
	GivenLeads	given;
	EngagementSums sums;
	LeadPass	pass;
	Oid			argtypes[2] = {INT8OID, INT8ARRAYOID};
	Datum		args[2];

	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "cadence.rescore_tenant_leads() must return a row");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a tenant is needed to rescore its leads (field \"tenant_id\")")));
	if (PG_ARGISNULL(1) || TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(1)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite time (field \"as_of\")")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a scoring model is needed to rescore leads (field \"model\")")));
	as_of = PG_GETARG_TIMESTAMPTZ(1);
	if (!PG_ARGISNULL(3))
		ReadGivenLeads(PG_GETARG_ARRAYTYPE_P(3), PG_ARGISNULL(4) ? NULL : PG_GETARG_ARRAYTYPE_P(4), as_of, &given);
	else if (!PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lead_times needs the lead_ids it is for (field \"lead_times\")")));

	memset(&pass, 0, sizeof(pass));
	lead_table = get_relname_relid("lead", get_namespace_oid("cadence", false));
	pass.rel = table_open(lead_table, RowExclusiveLock);
	if (!LeadTableIsPlain(pass.rel))
	{
		table_close(pass.rel, NoLock);
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_desc, result, result_null)));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* the events, summed per lead */
	memset(&sums, 0, sizeof(sums));
	sums.pub.receiveSlot = SumEvent;
	sums.pub.rStartup = SumsStartup;
	sums.pub.rShutdown = SumsShutdown;
	sums.pub.rDestroy = SumsDestroy;
	sums.pub.mydest = DestNone;
	sums.model = pass.model = ParseScoringModel(PG_GETARG_JSONB_P(2));
	sums.as_of = as_of;
	sums.given = PG_ARGISNULL(3) ? NULL : &given;
	sums.decayed = palloc0(sizeof(double) * Max(EngagementRuleCount(sums.model), 1));
	sums.events_size = 64;
	sums.event_rules = palloc(sizeof(int) * sums.events_size);
	sums.event_times = palloc(sizeof(TimestampTz) * sums.events_size);
	sums.size = 1024;
	sums.leads = palloc_extended(sizeof(int64) * sums.size, MCXT_ALLOC_HUGE);
	sums.points = palloc_extended(sizeof(double) * sums.size, MCXT_ALLOC_HUGE);
	sums.ats = palloc_extended(sizeof(TimestampTz) * sums.size, MCXT_ALLOC_HUGE);

	/*
	 * Both queries read one snapshot, taken after the caller's earlier
	 * commands: a lead changed after it was taken (an event committed
	 * between the queries) is one the write finds changed, and scores again.
	 */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	args[0] = PG_GETARG_DATUM(0);
	if (sums.given == NULL)
	{
		Oid			events_argtypes[2] = {INT8OID, TIMESTAMPTZOID};

		args[1] = TimestampTzGetDatum(as_of);
		RunInto(&events_plan, events_sql, 2, events_argtypes, args, &sums.pub);
	}
	else
	{
		args[1] = PG_GETARG_DATUM(3);
		RunInto(&some_events_plan, some_events_sql, 2, argtypes, args, &sums.pub);
	}
	FinishLeadSums(&sums);

	/* the leads, each scored and written when it changed */
	pass.pub.receiveSlot = ScoreLeadRow;
	pass.pub.rStartup = PassStartup;
	pass.pub.rShutdown = PassShutdown;
	pass.pub.rDestroy = PassDestroy;
	pass.pub.mydest = DestNone;
	pass.sums = &sums;
	pass.pass_context = CurrentMemoryContext;
	pass.row_context = AllocSetContextCreate(CurrentMemoryContext, "cadence rescore lead", ALLOCSET_SMALL_SIZES);
	{
		static const LeadColumn scores[] = {LEAD_SCORE, LEAD_TIER, LEAD_SCORED_AT};

		OpenLeadWriter(&pass.writer, pass.rel, scores, lengthof(scores));
	}
	if (sums.given == NULL)
		RunInto(&leads_plan, leads_sql, 1, argtypes, args, &pass.pub);
	else
		RunInto(&some_leads_plan, some_leads_sql, 2, argtypes, args, &pass.pub);
	CloseLeadWriter(&pass.writer);
	PopActiveSnapshot();
	table_close(pass.rel, NoLock);

	if (pass.retry != NIL)
		pass.changed += RescoreChangedLeads(PG_GETARG_DATUM(0), as_of, pass.retry,
											sums.given == NULL ? NIL : pass.retry_times);

	/* the result, in the caller's memory */
	MemoryContextSwitchTo(caller);
	result[0] = Int64GetDatum((int64) pass.scored);
	result_null[0] = false;
	result[1] = Int64GetDatum((int64) pass.changed);
	result_null[1] = false;
	result[2] = RescoredArray(pass.rescored, get_element_type(TupleDescAttr(result_desc, 2)->atttypid),
							  &result_null[2]);
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_desc, result, result_null)));
}
