/*
 * rescore.c
 *		Scoring the leads of a batch of events again, from the event trigger.
 *
 * A small batch (record_event, a webhook's few rows) concerns a few leads,
 * which the trigger has locked.  A kept statement lists them; each one's
 * row and events are read by key (key_read.c), or by a statement where a
 * table has a row-level security policy of its own (lead_sql), and its
 * tenant's model is taken as the backend keeps it (config_cache.c); with
 * the lead's decision
 * (what the batch changes on it: the last response and engagement, the
 * preferred channel, an escalation's bonus), the score and tier are
 * computed here with the code of score.c, on the row as those changes
 * leave it.  A lead with changes or a new score or tier costs one write of
 * both (lead_write.c: the executor's steps of an UPDATE), and only one with
 * routing to do a call of cadence.route_lead().  This is the work that the event trigger's lead
 * statement and cadence.rescore_leads() do set-based for a bulk load
 * (event.c picks which), in one write of the lead rather than two: a
 * second UPDATE of a row in the same transaction runs its foreign-key
 * checks again (tenant, owner, channel), each locking the row it finds.
 *
 * As there, each lead is scored as of its newest event, so that an old
 * event arriving late cannot rewind its score, and leads are routed in lead
 * order, so that the same input enrols them in the same order.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "cadence.h"
#include "lead_write.h"

/*
 * The leads of new_events, in order (the order of the batch's decisions);
 * each is then read by its key rather than joined to new_events: a kept
 * plan joining the transition table is costed for the first batch's size,
 * and a plan that scans the leads is slow for every later batch.  What the
 * decision changes on the lead is worked out here in C (ReadChanges).
 */
static const char *const batch_leads_sql =
"SELECT DISTINCT n.tenant_id, n.lead_id FROM new_events n ORDER BY n.tenant_id, n.lead_id";

/*
 * A lead as scoring reads it, by a statement, which applies every
 * row-level security policy: where a table has one besides the tenant's
 * (KeyReadsApply()), in the place of ReadLeadForScoring().  The same
 * columns, events in the same order.
 */
static const char *const lead_sql =
"SELECT l, l.score, l.tier, l.segment, ev.at, ev.kinds, ev.times, l.ctid, l.xmin"
"  FROM cadence.lead l"
" CROSS JOIN LATERAL (SELECT max(e.occurred_at) AS at,"
"                            array_agg(e.applied_kind ORDER BY e.applied_kind, e.occurred_at) AS kinds,"
"                            array_agg(e.occurred_at ORDER BY e.applied_kind, e.occurred_at) AS times"
"                       FROM cadence.event e"
"                      WHERE e.tenant_id = l.tenant_id AND e.lead_id = l.lead_id) ev"
" WHERE l.tenant_id = $1 AND l.lead_id = $2";

/* lead_sql's columns */
enum
{
	LEAD_SQL_ROW = 1,
	LEAD_SQL_SCORE,
	LEAD_SQL_TIER,
	LEAD_SQL_SEGMENT,
	LEAD_SQL_AT,
	LEAD_SQL_KINDS,
	LEAD_SQL_TIMES,
	LEAD_SQL_CTID,
	LEAD_SQL_XMIN
};

/*
 * The lead's columns that a decision changes, and what it changes them by:
 * the later response and engagement, the new channel, an escalation's
 * bonus (an addition).
 */
enum
{
	CHANGE_RESPONSE_AT,
	CHANGE_ENGAGEMENT_AT,
	CHANGE_CHANNEL,
	CHANGE_BONUS,
	NCHANGES
};

static const char *const changed_columns[NCHANGES] = {
	"last_response_at", "last_engagement_at", "preferred_channel", "score_bonus"
};

typedef struct LeadChanges
{
	bool		any;			/* the decision changes the lead's columns */
	Datum		change[NCHANGES];	/* as the UPDATE applies them */
	bool		change_null[NCHANGES];
	Datum		after[NCHANGES];	/* and the columns as they will read after it */
	bool		after_null[NCHANGES];
} LeadChanges;

/*
 * The one write of a lead: the decisions' changes and the new score, tier
 * and time.  It goes through the executor's steps for an UPDATE
 * (lead_write.c) over the row the trigger locked and read, which nothing
 * has changed since; a lead table with more than the extension made takes
 * this statement instead, which applies the changes to the row as it is
 * when it runs (NULL keeps the stored score, tier and time).
 */
static const char *const store_sql =
"UPDATE cadence.lead l"
"   SET last_response_at = greatest(l.last_response_at, $6),"
"       last_engagement_at = greatest(l.last_engagement_at, $7),"
"       preferred_channel = coalesce($8, l.preferred_channel),"
"       score_bonus = l.score_bonus + $9,"
"       score = coalesce($3, l.score), tier = coalesce($4, l.tier), scored_at = coalesce($5, l.scored_at)"
" WHERE l.tenant_id = $1 AND l.lead_id = $2";

/* the columns store_sql writes, as lead_write.c names them */
static const LeadColumn store_columns[] = {
	LEAD_LAST_RESPONSE_AT, LEAD_LAST_ENGAGEMENT_AT, LEAD_PREFERRED_CHANNEL, LEAD_SCORE_BONUS,
	LEAD_SCORE, LEAD_TIER, LEAD_SCORED_AT
};

/*
 * Routing has work for a lead on a cadence whose score fell under the exit
 * line, or for a new tier that a route sends somewhere (as in
 * cadence.rescore_leads()); other leads skip the call.  A new tier without
 * a route in the tenant's routes as the backend keeps them
 * (config_cache.c) skips the statement too.
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

/*
 * Write the lead by store_sql: the decision's changes and, when it
 * changed, the score (tier NULL: unchanged).
 */
static void
StoreLeadByStatement(Datum tenant, Datum lead, const LeadChanges *changes, int score, const char *tier, Datum at)
{
	Oid			argtypes[9] = {INT8OID, INT8OID, INT4OID, TEXTOID, TIMESTAMPTZOID,
							   TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, INT4OID};
	Datum		args[9];
	char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	MemoryContext caller = CurrentMemoryContext;
	int			i;
	int			rc;

	args[0] = tenant;
	args[1] = lead;
	if (tier != NULL)
	{
		args[2] = Int32GetDatum(score);
		args[3] = CStringGetTextDatum(tier);
		args[4] = at;
	}
	else
		nulls[2] = nulls[3] = nulls[4] = 'n';
	for (i = 0; i < NCHANGES; i++)
	{
		args[5 + i] = changes->change[i];
		if (changes->change_null[i])
			nulls[5 + i] = 'n';
	}
	rc = SPI_execute_plan(KeptPlan(&store_plan, store_sql, 9, argtypes, 0), args, nulls, false, 0);
	/* SPI returns to its own memory context; the caller's scratch goes on */
	MemoryContextSwitchTo(caller);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "storing a rescored lead failed: %s", SPI_result_code_string(rc));
}

/*
 * Whether the row version at tid is one the active snapshot sees: for a row
 * this transaction holds locked, whether it is still the row's newest.
 */
static bool
NewestVersion(Relation rel, ItemPointer tid)
{
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		newest = table_tuple_fetch_row_version(rel, tid, SnapshotAny, slot) &&
		table_tuple_satisfies_snapshot(rel, slot, GetActiveSnapshot());

	ExecDropSingleTupleTableSlot(slot);
	return newest;
}

/*
 * Write the lead read (locked, and not written since): row, its row with
 * the decision's changes, and when it changed, the score (tier NULL:
 * unchanged).
 */
static void
StoreLead(Datum tenant, Datum lead, const LeadRead *read, HeapTupleHeader row, const LeadChanges *changes,
		  int score, const char *tier, Datum at)
{
	Relation	rel = table_open(LeadTable(), RowExclusiveLock);
	LeadWriter	writer;
	TupleTableSlot *slot;
	HeapTupleData tuple;
	ItemPointerData tid = read->tid;

	if (!LeadTableIsPlain(rel))
	{
		table_close(rel, NoLock);
		StoreLeadByStatement(tenant, lead, changes, score, tier, at);
		return;
	}
	(void) StartRead();
	/*
	 * The trigger holds the lead's lock, so no other transaction has
	 * written it since it was read; a statement of this one may have (a
	 * trigger of the user's on another table, say).  Then the version read
	 * is no longer the newest, and the statement applies the changes to the
	 * row as it now is.
	 */
	if (!NewestVersion(rel, &tid))
	{
		EndRead();
		table_close(rel, NoLock);
		StoreLeadByStatement(tenant, lead, changes, score, tier, at);
		return;
	}
	OpenLeadWriter(&writer, rel, store_columns, lengthof(store_columns));
	slot = writer.new_row;
	ExecClearTuple(slot);
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	heap_deform_tuple(&tuple, RelationGetDescr(rel), slot->tts_values, slot->tts_isnull);
	if (tier != NULL)
	{
		slot->tts_values[writer.column[LEAD_SCORE]] = Int32GetDatum(score);
		slot->tts_isnull[writer.column[LEAD_SCORE]] = false;
		slot->tts_values[writer.column[LEAD_TIER]] = CStringGetTextDatum(tier);
		slot->tts_isnull[writer.column[LEAD_TIER]] = false;
		slot->tts_values[writer.column[LEAD_SCORED_AT]] = at;
		slot->tts_isnull[writer.column[LEAD_SCORED_AT]] = false;
	}
	ExecStoreVirtualTuple(slot);
	if (WriteLeadRow(&writer, &tid, read->written_here) != TM_Ok)
		elog(ERROR, "lead %lld changed after it was locked", (long long) DatumGetInt64(lead));
	CloseLeadWriter(&writer);
	EndRead();
	table_close(rel, NoLock);
}

/* the later of two timestamps, either NULL (as greatest() takes them) */
static void
Later(Datum a, bool a_null, Datum b, bool b_null, Datum *later, bool *later_null)
{
	*later_null = a_null && b_null;
	if (a_null)
		*later = b;
	else if (b_null)
		*later = a;
	else
		*later = DatumGetTimestampTz(a) >= DatumGetTimestampTz(b) ? a : b;
}

/*
 * What the decision (a cadence.event_decision) changes on the lead (its
 * row, lead), as store_sql applies it: the later response and engagement,
 * the new channel, an escalation's bonus.  A bulk load's leads get the
 * same changes from event.c's leads_sql.
 */
static void
ReadChanges(HeapTupleHeader decision, HeapTupleHeader lead, LeadChanges *changes)
{
	/* the decision's fields for the changes before CHANGE_BONUS, in their order */
	static const char *const decision_fields[CHANGE_BONUS] = {"response_at", "engaged_at", "preferred_channel"};
	bool		move_null;
	bool		old_null;
	Datum		old;
	int32		bonus;
	int			i;

	for (i = 0; i < CHANGE_BONUS; i++)
		changes->change[i] = GetAttributeByName(decision, decision_fields[i], &changes->change_null[i]);
	/* an escalation's bonus; nothing without one (a rule without a score adds 0) */
	changes->change[CHANGE_BONUS] = Int32GetDatum(0);
	changes->change_null[CHANGE_BONUS] = false;
	GetAttributeByName(decision, "move_to", &move_null);
	if (!move_null)
	{
		bool		score_null;
		Datum		score = GetAttributeByName(decision, "move_score", &score_null);

		if (!score_null)
			changes->change[CHANGE_BONUS] = score;
	}

	changes->any = !move_null;
	for (i = 0; i < CHANGE_BONUS; i++)
		changes->any |= !changes->change_null[i];
	if (!changes->any)
		return;

	/* the columns as they will read after store_sql, in the same order */
	for (i = CHANGE_RESPONSE_AT; i <= CHANGE_ENGAGEMENT_AT; i++)
	{
		old = GetAttributeByName(lead, changed_columns[i], &old_null);
		Later(old, old_null, changes->change[i], changes->change_null[i],
			  &changes->after[i], &changes->after_null[i]);
	}

	old = GetAttributeByName(lead, changed_columns[CHANGE_CHANNEL], &old_null);
	changes->after_null[CHANGE_CHANNEL] = changes->change_null[CHANGE_CHANNEL] && old_null;
	changes->after[CHANGE_CHANNEL] = changes->change_null[CHANGE_CHANNEL] ? old : changes->change[CHANGE_CHANNEL];

	/* score_bonus is NOT NULL; store_sql's addition would fail the same way */
	old = GetAttributeByName(lead, changed_columns[CHANGE_BONUS], &old_null);
	if (pg_add_s32_overflow(DatumGetInt32(old), DatumGetInt32(changes->change[CHANGE_BONUS]), &bonus))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("integer out of range")));
	changes->after_null[CHANGE_BONUS] = false;
	changes->after[CHANGE_BONUS] = Int32GetDatum(bonus);
}

/*
 * The lead's row as the decision leaves it, for scoring: the bonus of an
 * escalation counts, and so may the channel.
 */
static HeapTupleHeader
LeadAfterChanges(HeapTupleHeader lead, const LeadChanges *changes)
{
	TupleDesc	lead_desc;
	HeapTupleData lead_tuple;
	HeapTuple	changed;
	int			columns[NCHANGES];
	int			i;

	lead_desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(lead), HeapTupleHeaderGetTypMod(lead));
	lead_tuple.t_len = HeapTupleHeaderGetDatumLength(lead);
	ItemPointerSetInvalid(&lead_tuple.t_self);
	lead_tuple.t_tableOid = InvalidOid;
	lead_tuple.t_data = lead;
	for (i = 0; i < NCHANGES; i++)
	{
		columns[i] = SPI_fnumber(lead_desc, changed_columns[i]);
		if (columns[i] <= 0)
			elog(ERROR, "cadence.lead has no column \"%s\"", changed_columns[i]);
	}
	changed = heap_modify_tuple_by_cols(&lead_tuple, lead_desc, NCHANGES, columns,
										(Datum *) changes->after, (bool *) changes->after_null);
	ReleaseTupleDesc(lead_desc);
	return changed->t_data;
}

static void
RouteLead(Datum tenant, Datum lead, const char *old_tier, const char *tier, int score, Datum at,
		  bool below_exit, Datum segment, bool segment_null)
{
	Oid			argtypes[8] = {INT8OID, INT8OID, TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, BOOLOID, TEXTOID};
	Datum		args[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	MemoryContext caller = CurrentMemoryContext;
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
	MemoryContextSwitchTo(caller);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "routing a rescored lead failed: %s", SPI_result_code_string(rc));
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Score one lead again from its read (ReadLeadForScoring()), with what its
 * decision (a cadence.event_decision) changes on it, and write both;
 * returns whether its score or tier changed.  What the scoring allocates
 * goes to scratch.
 */
static bool
ScoreAndStore(Datum tenant, Datum lead, const LeadRead *read, Datum decision, MemoryContext scratch)
{
	HeapTupleHeader lead_row = read->row;
	Jsonb	   *model;
	const char *old_tier = read->tier;
	LeadChanges changes;
	LeadScore	scored;
	bool		changed;
	MemoryContext caller;

	/* the scoring's allocations go to scratch */
	caller = MemoryContextSwitchTo(scratch);
	model = ScoringModelOf(tenant);
	ReadChanges(DatumGetHeapTupleHeader(decision), lead_row, &changes);
	if (changes.any)
		lead_row = LeadAfterChanges(lead_row, &changes);

	/* the lead has at least the batch's events, so at is never NULL */
	if (read->at_null)
		elog(ERROR, "lead %lld has no events to score", (long long) DatumGetInt64(lead));
	scored = ScoreLead(model, lead_row, read->kinds, read->times, read->at, old_tier);

	changed = read->score_null || DatumGetInt32(read->score) != scored.score ||
		old_tier == NULL || strcmp(old_tier, scored.tier) != 0;
	if (changed || changes.any)
		StoreLead(tenant, lead, read, lead_row, &changes, scored.score, changed ? scored.tier : NULL,
				  TimestampTzGetDatum(read->at));
	/* below the exit line the enrolment ends; a new tier moves the lead only along a route */
	if (changed)
	{
		if (scored.below_exit ||
			((old_tier == NULL || strcmp(old_tier, scored.tier) != 0) &&
			 RouteExists(tenant, CStringGetTextDatum(scored.tier), read->segment, read->segment_null)))
			RouteLead(tenant, lead, old_tier, scored.tier, scored.score, TimestampTzGetDatum(read->at),
					  scored.below_exit, read->segment, read->segment_null);
	}
	MemoryContextSwitchTo(caller);
	return changed;
}

/*
 * Read one lead as scoring needs it by lead_sql, into the caller's memory;
 * NULL when it is not there.  The trigger has locked it.
 */
static LeadRead *
ReadLeadByStatement(Datum tenant, Datum lead)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2];
	MemoryContext caller = CurrentMemoryContext;
	SPITupleTable *table;
	HeapTuple	row;
	TupleDesc	desc;
	LeadRead   *read;
	bool		isnull;
	Datum		value;
	int			rc;

	args[0] = tenant;
	args[1] = lead;
	rc = SPI_execute_plan(KeptPlan(&lead_plan, lead_sql, 2, argtypes, 0), args, NULL, false, 1);
	MemoryContextSwitchTo(caller);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading a lead to rescore failed: %s", SPI_result_code_string(rc));
	table = SPI_tuptable;
	if (SPI_processed == 0)
	{
		SPI_freetuptable(table);
		return NULL;
	}
	row = table->vals[0];
	desc = table->tupdesc;
	read = palloc0(sizeof(LeadRead));
	read->row = (HeapTupleHeader) DatumGetPointer(datumCopy(SPI_getbinval(row, desc, LEAD_SQL_ROW, &isnull), false, -1));
	read->score = SPI_getbinval(row, desc, LEAD_SQL_SCORE, &read->score_null);
	value = SPI_getbinval(row, desc, LEAD_SQL_TIER, &isnull);
	read->tier = isnull ? NULL : TextDatumGetCString(value);
	read->segment = SPI_getbinval(row, desc, LEAD_SQL_SEGMENT, &read->segment_null);
	if (!read->segment_null)
		read->segment = datumCopy(read->segment, false, -1);
	value = SPI_getbinval(row, desc, LEAD_SQL_AT, &read->at_null);
	if (!read->at_null)
		read->at = DatumGetTimestampTz(value);
	value = SPI_getbinval(row, desc, LEAD_SQL_KINDS, &isnull);
	if (!isnull)
	{
		read->kinds = DatumGetArrayTypePCopy(value);
		read->times = DatumGetArrayTypePCopy(SPI_getbinval(row, desc, LEAD_SQL_TIMES, &isnull));
	}
	read->tid = *(ItemPointer) DatumGetPointer(SPI_getbinval(row, desc, LEAD_SQL_CTID, &isnull));
	read->written_here = TransactionIdIsCurrentTransactionId(DatumGetTransactionId(SPI_getbinval(row, desc, LEAD_SQL_XMIN,
																								 &isnull)));
	SPI_freetuptable(table);
	return read;
}

/*
 * Score one lead again, read afresh (by_key: ReadLeadForScoring(), else
 * by lead_sql), with its decision, and write both; returns whether its
 * score or tier changed.  A lead that is no longer there has no score to
 * keep.
 */
static bool
RescoreLead(Datum tenant, Datum lead, Datum decision, bool by_key, MemoryContext scratch)
{
	LeadRead   *read;

	/* read into scratch, which the caller resets lead by lead */
	MemoryContext caller = MemoryContextSwitchTo(scratch);

	read = by_key ? ReadLeadForScoring(tenant, lead) : ReadLeadByStatement(tenant, lead);
	MemoryContextSwitchTo(caller);
	if (read == NULL)
		return false;
	return ScoreAndStore(tenant, lead, read, decision, scratch);
}

/* the elements of a batch's decisions (a cadence.event_decision[]) */
static Datum *
DecisionElements(Datum decisions, int *ndecisions)
{
	ArrayType  *array = DatumGetArrayTypeP(decisions);
	Oid			decision_type = ARR_ELEMTYPE(array);
	Datum	   *elements;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(decision_type, &typlen, &typbyval, &typalign);
	deconstruct_array(array, decision_type, typlen, typbyval, typalign, &elements, NULL, ndecisions);
	return elements;
}

/*
 * The decision of lead (tenant, lead) in decisions: element i, as the
 * trigger lists leads and decisions in the same order.  Checked, since a
 * decision applied to another lead would write that lead's columns.
 */
static Datum
DecisionOf(Datum *decisions, int ndecisions, int i, Datum tenant, Datum lead)
{
	HeapTupleHeader decision;
	bool		tenant_null;
	bool		lead_null;
	Datum		decision_tenant;
	Datum		decision_lead;

	if (i >= ndecisions)
		elog(ERROR, "no event decision for lead %lld", (long long) DatumGetInt64(lead));
	decision = DatumGetHeapTupleHeader(decisions[i]);
	decision_tenant = GetAttributeByName(decision, "tenant_id", &tenant_null);
	decision_lead = GetAttributeByName(decision, "lead_id", &lead_null);
	if (tenant_null || lead_null ||
		DatumGetInt64(decision_tenant) != DatumGetInt64(tenant) ||
		DatumGetInt64(decision_lead) != DatumGetInt64(lead))
		elog(ERROR, "the event decisions are not in the order of their leads");
	return decisions[i];
}

/*
 * Score again the leads (tenant_ids[i], lead_ids[i]) of a batch, with their
 * decisions (the batch's cadence.event_decision[], in the same order), and
 * write what changes; returns the leads whose score or tier changed.
 */
static uint64
RescoreLeads(Datum *tenant_ids, Datum *lead_ids, int nleads, Datum decisions, bool by_key)
{
	int			ndecisions;
	Datum	   *elements = DecisionElements(decisions, &ndecisions);
	MemoryContext scratch;
	uint64		changed = 0;
	int			i;

	scratch = AllocSetContextCreate(CurrentMemoryContext, "cadence rescore lead", ALLOCSET_SMALL_SIZES);
	for (i = 0; i < nleads; i++)
	{
		Datum		decision = DecisionOf(elements, ndecisions, i, tenant_ids[i], lead_ids[i]);

		if (RescoreLead(tenant_ids[i], lead_ids[i], decision, by_key, scratch))
			changed++;
		MemoryContextReset(scratch);
	}
	MemoryContextDelete(scratch);
	return changed;
}

/*
 * Score again the lead of a batch of one event, with its decision (the
 * one element of decisions), and write what changes: from read (of
 * ReadLeadForScoring()) when the lead is as it was read, else (read NULL)
 * read again.  Returns whether its score or tier changed.
 */
bool
RescoreEventLead(Datum tenant, Datum lead, Datum decisions, LeadRead *read)
{
	int			ndecisions;
	Datum	   *elements;
	Datum		decision;
	MemoryContext scratch;
	bool		changed;

	if (read == NULL)
		return RescoreLeads(&tenant, &lead, 1, decisions, true) > 0;
	elements = DecisionElements(decisions, &ndecisions);
	decision = DecisionOf(elements, ndecisions, 0, tenant, lead);
	scratch = AllocSetContextCreate(CurrentMemoryContext, "cadence rescore lead", ALLOCSET_SMALL_SIZES);
	changed = ScoreAndStore(tenant, lead, read, decision, scratch);
	MemoryContextDelete(scratch);
	return changed;
}

/*
 * Score again each lead of new_events and write what decisions (the
 * batch's cadence.event_decision[], one per lead in lead order) change on
 * it; by_key: the leads are read by key (KeyReadsApply()).  The caller has
 * connected SPI and registered the trigger's transition table.  Returns
 * the leads whose score or tier changed.
 */
uint64
RescoreLeadsOfNewEvents(Datum decisions, bool by_key)
{
	SPITupleTable *leads;
	uint64		nleads;
	Datum	   *tenant_ids;
	Datum	   *lead_ids;
	uint64		i;
	int			rc;

	rc = SPI_execute_plan(KeptPlan(&batch_leads_plan, batch_leads_sql, 0, NULL, 0), NULL, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading the leads to rescore failed: %s", SPI_result_code_string(rc));
	leads = SPI_tuptable;
	nleads = SPI_processed;
	tenant_ids = palloc(sizeof(Datum) * nleads);
	lead_ids = palloc(sizeof(Datum) * nleads);
	for (i = 0; i < nleads; i++)
	{
		bool		isnull;

		tenant_ids[i] = SPI_getbinval(leads->vals[i], leads->tupdesc, 1, &isnull);
		lead_ids[i] = SPI_getbinval(leads->vals[i], leads->tupdesc, 2, &isnull);
	}
	/* the leads' values stay with this tuple table until SPI_finish */
	return RescoreLeads(tenant_ids, lead_ids, (int) nleads, decisions, by_key);
}
