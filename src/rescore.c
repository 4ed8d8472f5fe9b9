/*
 * rescore.c
 *		Scoring the leads of a batch of events again, from the event trigger.
 *
 * A small batch (record_event, a webhook's few rows) concerns a few leads.
 * Kept statements list them and read each one's row, its events and its
 * tenant's model; the score and tier are computed here with the code of
 * score.c, and only a lead whose score or tier changed costs an UPDATE, and
 * only one with routing to do a call of cadence.route_lead().  This is the
 * work cadence.rescore_leads() does set-based for a bulk load (event.c picks
 * which), without its PL/pgSQL call and planning per batch.
 *
 * As there, each lead is scored as of its newest event, so that an old
 * event arriving late cannot rewind its score, and leads are routed in lead
 * order, so that the same input enrols them in the same order.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cadence.h"

/*
 * The leads of new_events, in order; then, for one lead at a time, what
 * scoring it needs.  The lead is looked up by its key in a statement of its
 * own rather than joined to new_events: a kept plan joining the transition
 * table is costed for the first batch's size, and a plan that scans the
 * leads is slow for every later batch.  The model is picked as
 * cadence.scoring_model_for() picks it (the tenant's newest version, else
 * the default), written out so that it is planned with the rest.
 */
static const char *const batch_leads_sql =
"SELECT DISTINCT n.tenant_id, n.lead_id FROM new_events n ORDER BY n.tenant_id, n.lead_id";

static const char *const lead_sql =
"SELECT l, l.score, l.tier, l.segment, ev.at, ev.kinds, ev.times,"
"       coalesce((SELECT m.compiled FROM cadence.scoring_model m"
"                  WHERE m.tenant_id = l.tenant_id ORDER BY m.version DESC LIMIT 1),"
"                (SELECT d.compiled FROM cadence.scoring_default d LIMIT 1))"
"  FROM cadence.lead l"
" CROSS JOIN LATERAL (SELECT max(e.occurred_at) AS at, array_agg(e.kind) AS kinds,"
"                            array_agg(e.occurred_at) AS times"
"                       FROM cadence.event e"
"                      WHERE e.tenant_id = l.tenant_id AND e.lead_id = l.lead_id) ev"
" WHERE l.tenant_id = $1 AND l.lead_id = $2";

enum
{
	LEAD_ROW = 1,
	LEAD_SCORE,
	LEAD_TIER,
	LEAD_SEGMENT,
	LEAD_AT,
	LEAD_KINDS,
	LEAD_TIMES,
	LEAD_MODEL
};

static const char *const store_sql =
"UPDATE cadence.lead l SET score = $3, tier = $4, scored_at = $5"
" WHERE l.tenant_id = $1 AND l.lead_id = $2";

/*
 * Routing has work for a lead on a cadence whose score fell under the exit
 * line, or for a new tier that a route sends somewhere (as in
 * cadence.rescore_leads()); other leads skip the call.
 */
static const char *const route_sql =
"SELECT cadence.route_lead($1, $2, $3, $4, $5, $6)"
" WHERE ($7 AND EXISTS (SELECT FROM cadence.enrolment e"
"                        WHERE e.tenant_id = $1 AND e.lead_id = $2 AND e.status = 'active'))"
"    OR ($3 IS DISTINCT FROM $4 AND NOT $7"
"        AND EXISTS (SELECT FROM cadence.route r"
"                     WHERE r.tenant_id = $1 AND r.tier = $4 AND r.segment IN (coalesce($8, '*'), '*')))";

static SPIPlanPtr batch_leads_plan = NULL;
static SPIPlanPtr lead_plan = NULL;
static SPIPlanPtr store_plan = NULL;
static SPIPlanPtr route_plan = NULL;

static void
StoreScore(Datum tenant, Datum lead, int score, const char *tier, Datum at)
{
	Oid			argtypes[5] = {INT8OID, INT8OID, INT4OID, TEXTOID, TIMESTAMPTZOID};
	Datum		args[5];
	int			rc;

	args[0] = tenant;
	args[1] = lead;
	args[2] = Int32GetDatum(score);
	args[3] = CStringGetTextDatum(tier);
	args[4] = at;
	rc = SPI_execute_plan(KeptPlan(&store_plan, store_sql, 5, argtypes, 0), args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "storing a score failed: %s", SPI_result_code_string(rc));
}

static void
RouteLead(Datum tenant, Datum lead, const char *old_tier, const char *tier, int score, Datum at,
		  bool below_exit, Datum segment, bool segment_null)
{
	Oid			argtypes[8] = {INT8OID, INT8OID, TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, BOOLOID, TEXTOID};
	Datum		args[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;

	args[0] = tenant;
	args[1] = lead;
	if (old_tier == NULL)
	{
		args[2] = (Datum) 0;
		nulls[2] = 'n';
	}
	else
		args[2] = CStringGetTextDatum(old_tier);
	args[3] = CStringGetTextDatum(tier);
	args[4] = Int32GetDatum(score);
	args[5] = at;
	args[6] = BoolGetDatum(below_exit);
	args[7] = segment;
	if (segment_null)
		nulls[7] = 'n';
	rc = SPI_execute_plan(KeptPlan(&route_plan, route_sql, 8, argtypes, 0), args, nulls, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "routing a rescored lead failed: %s", SPI_result_code_string(rc));
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Score one lead again; returns whether its score or tier changed.
 */
static bool
RescoreLead(Datum tenant, Datum lead)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2];
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;
	bool		score_null;
	bool		segment_null;
	bool		kinds_null;
	Datum		lead_row;
	Datum		old_score;
	Datum		segment;
	Datum		at;
	Datum		kinds;
	Datum		times;
	Datum		model;
	char	   *old_tier;
	LeadScore	scored;
	SPITupleTable *lead_table;
	bool		changed;
	int			rc;

	args[0] = tenant;
	args[1] = lead;
	rc = SPI_execute_plan(KeptPlan(&lead_plan, lead_sql, 2, argtypes, 0), args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading a lead to rescore failed: %s", SPI_result_code_string(rc));
	/* the events' foreign key holds the lead; a lead gone meanwhile has no score to keep */
	lead_table = SPI_tuptable;
	if (SPI_processed == 0)
	{
		SPI_freetuptable(lead_table);
		return false;
	}
	row = lead_table->vals[0];
	desc = lead_table->tupdesc;
	lead_row = SPI_getbinval(row, desc, LEAD_ROW, &isnull);
	old_score = SPI_getbinval(row, desc, LEAD_SCORE, &score_null);
	segment = SPI_getbinval(row, desc, LEAD_SEGMENT, &segment_null);
	at = SPI_getbinval(row, desc, LEAD_AT, &isnull);
	kinds = SPI_getbinval(row, desc, LEAD_KINDS, &kinds_null);
	times = SPI_getbinval(row, desc, LEAD_TIMES, &isnull);
	model = SPI_getbinval(row, desc, LEAD_MODEL, &isnull);
	if (isnull)
		elog(ERROR, "no scoring model for tenant %lld", (long long) DatumGetInt64(tenant));
	old_tier = SPI_getvalue(row, desc, LEAD_TIER);

	/* the lead has at least the batch's events, so at is never NULL */
	scored = ScoreLead(DatumGetJsonbP(model), DatumGetHeapTupleHeader(lead_row),
					   kinds_null ? NULL : DatumGetArrayTypeP(kinds),
					   kinds_null ? NULL : DatumGetArrayTypeP(times),
					   DatumGetTimestampTz(at), old_tier);

	changed = score_null || DatumGetInt32(old_score) != scored.score ||
		old_tier == NULL || strcmp(old_tier, scored.tier) != 0;
	if (changed)
	{
		StoreScore(tenant, lead, scored.score, scored.tier, at);
		if (scored.below_exit || old_tier == NULL || strcmp(old_tier, scored.tier) != 0)
			RouteLead(tenant, lead, old_tier, scored.tier, scored.score, at,
					  scored.below_exit, segment, segment_null);
	}
	/* the values read above point into the lead's tuple table */
	SPI_freetuptable(lead_table);
	return changed;
}

/*
 * Score again each lead of new_events (the caller has connected SPI and
 * registered the trigger's transition table).  Returns the leads changed.
 */
uint64
RescoreLeadsOfNewEvents(void)
{
	SPITupleTable *leads;
	uint64		nleads;
	uint64		changed = 0;
	uint64		i;
	MemoryContext per_lead;
	MemoryContext old;
	int			rc;

	rc = SPI_execute_plan(KeptPlan(&batch_leads_plan, batch_leads_sql, 0, NULL, 0), NULL, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading the leads to rescore failed: %s", SPI_result_code_string(rc));
	/* later statements replace SPI_tuptable; this one stays until SPI_finish */
	leads = SPI_tuptable;
	nleads = SPI_processed;

	/* what one lead's scoring allocates is freed before the next lead */
	per_lead = AllocSetContextCreate(CurrentMemoryContext, "cadence rescore lead", ALLOCSET_SMALL_SIZES);
	for (i = 0; i < nleads; i++)
	{
		bool		isnull;
		Datum		tenant = SPI_getbinval(leads->vals[i], leads->tupdesc, 1, &isnull);
		Datum		lead = SPI_getbinval(leads->vals[i], leads->tupdesc, 2, &isnull);

		old = MemoryContextSwitchTo(per_lead);
		if (RescoreLead(tenant, lead))
			changed++;
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_lead);
	}
	MemoryContextDelete(per_lead);
	return changed;
}
