/*
 * lead_write.c
 *		Writing lead rows through the executor's own steps for an UPDATE,
 *		without a statement: the CHECK constraints that read a written
 *		column, index entries when the new version cannot stay on its
 *		page, and the foreign keys' triggers.  Logical replication applies
 *		an UPDATE in the same way.
 *
 * The nightly rescore (nightly.c) writes the scores of a tenant's leads in
 * one pass, and one event's rescore (rescore.c) writes its lead's score and
 * engagement: an UPDATE statement costs those more to start than to run.
 * A lead table with more than the extension made is left to SQL
 * (LeadTableIsPlain()): triggers of its own on UPDATE, rules, child tables,
 * stored generated columns, domains on the written columns, or row-level
 * security policies besides the tenant's.
 *
 * The CHECK constraints are parsed and planned once and kept while the
 * table's constraints stay as they are (compared by their stored text) and
 * no function changes (planning may inline one): PostgreSQL parses them
 * again for every statement, and for a statement of one lead that was
 * half of its UPDATE's cost.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "cadence.h"
#include "lead_write.h"

/* the writable columns, by LeadColumn, with the type each must have */
static const struct
{
	const char *name;
	Oid			type;
}			lead_columns[LEAD_NCOLUMNS] = {
	{"score", INT4OID},
	{"tier", TEXTOID},
	{"scored_at", TIMESTAMPTZOID},
	{"last_response_at", TIMESTAMPTZOID},
	{"last_engagement_at", TIMESTAMPTZOID},
	{"preferred_channel", TEXTOID},
	{"score_bonus", INT4OID}
};

/* A CHECK constraint of the lead table, parsed and planned. */
typedef struct KeptCheck
{
	char	   *name;
	char	   *stored;			/* its stored text (ccbin), to tell it changed */
	bool		valid;			/* not NOT VALID */
	Bitmapset  *reads;			/* the columns it reads (- FirstLowInvalidHeapAttributeNumber) */
	Expr	   *expr;			/* planned, ready for ExecInitExpr() */
} KeptCheck;

/* The lead table's checks as last met, in the backend's cache memory. */
static struct
{
	MemoryContext context;		/* NULL: none kept */
	Oid			relid;
	int			n;
	KeptCheck  *checks;
}			kept_checks;

static bool function_callback_registered = false;

/*
 * A function changed: planning may have folded or inlined it into a kept
 * check (a SQL function's body), so the checks are planned again.
 */
static void
FunctionChanged(Datum arg, int cacheid, uint32 hashvalue)
{
	if (kept_checks.context != NULL)
		MemoryContextDelete(kept_checks.context);
	kept_checks.context = NULL;
}

/* The writable columns' 0-based numbers in the lead table, by LeadColumn. */
static void
FindColumns(Relation rel, int *column)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;
	int			c;

	for (c = 0; c < LEAD_NCOLUMNS; c++)
		column[c] = -1;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		for (c = 0; c < LEAD_NCOLUMNS; c++)
			if (strcmp(NameStr(att->attname), lead_columns[c].name) == 0)
				column[c] = i;
	}
	for (c = 0; c < LEAD_NCOLUMNS; c++)
		if (column[c] < 0)
			elog(ERROR, "cadence.lead has no column \"%s\"", lead_columns[c].name);
}

bool
LeadTableIsPlain(Relation rel)
{
	TriggerDesc *triggers = rel->trigdesc;
	Node	   *tenant;
	TupleDesc	desc = RelationGetDescr(rel);
	int			column[LEAD_NCOLUMNS];
	int			i;

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relhassubclass || rel->rd_rules != NULL)
		return false;
	FindColumns(rel, column);
	for (i = 0; i < LEAD_NCOLUMNS; i++)
		if (TupleDescAttr(desc, column[i])->atttypid != lead_columns[i].type)
			return false;
	if (triggers != NULL)
		for (i = 0; i < triggers->numtriggers; i++)
			if (!triggers->triggers[i].tgisinternal && TRIGGER_FOR_UPDATE(triggers->triggers[i].tgtype))
				return false;
	if (rel->rd_att->constr != NULL && rel->rd_att->constr->has_generated_stored)
		return false;
	/* so that the rows a writer reads by the tenant's key are the rows an UPDATE could write */
	return OnlyTenantPolicy(rel, &tenant);
}

/* whether the kept checks are rel's, as its constraints now are */
static bool
KeptChecksCurrent(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	int			n = constr == NULL ? 0 : constr->num_check;
	int			i;

	if (kept_checks.context == NULL || kept_checks.relid != RelationGetRelid(rel) || kept_checks.n != n)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(kept_checks.checks[i].name, constr->check[i].ccname) != 0 ||
			strcmp(kept_checks.checks[i].stored, constr->check[i].ccbin) != 0 ||
			kept_checks.checks[i].valid != constr->check[i].ccvalid)
			return false;
	return true;
}

/* Parse and plan rel's checks, and keep them. */
static void
KeepChecks(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	MemoryContext context;
	MemoryContext caller;
	int			n = constr == NULL ? 0 : constr->num_check;
	int			i;

	if (!function_callback_registered)
	{
		CacheRegisterSyscacheCallback(PROCOID, FunctionChanged, (Datum) 0);
		function_callback_registered = true;
	}
	if (kept_checks.context != NULL)
		MemoryContextDelete(kept_checks.context);
	kept_checks.context = NULL;
	/* built in the transaction's memory, kept once whole: an error leaves nothing behind */
	context = AllocSetContextCreate(CurrentMemoryContext, "cadence lead checks", ALLOCSET_SMALL_SIZES);
	caller = MemoryContextSwitchTo(context);
	kept_checks.checks = palloc0(sizeof(KeptCheck) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		KeptCheck  *check = &kept_checks.checks[i];
		Node	   *expr = stringToNode(constr->check[i].ccbin);

		check->name = pstrdup(constr->check[i].ccname);
		check->stored = pstrdup(constr->check[i].ccbin);
		check->valid = constr->check[i].ccvalid;
		check->reads = NULL;
		pull_varattnos(expr, 1, &check->reads);
		check->expr = expression_planner((Expr *) expr);
	}
	MemoryContextSwitchTo(caller);
	MemoryContextSetParent(context, CacheMemoryContext);
	kept_checks.relid = RelationGetRelid(rel);
	kept_checks.n = n;
	kept_checks.context = context;
}

/*
 * The CHECK constraints that a write could break: those that read a
 * written column (written, as attribute numbers less
 * FirstLowInvalidHeapAttributeNumber) or the whole row, and any NOT VALID
 * one.  A valid constraint on other columns only reads values copied from
 * the row as it was, which it already accepted.  (So a lead whose time zone
 * the time zone database has since dropped keeps being rescored; an UPDATE
 * statement would fail on it.)
 */
static void
PrepareChecks(LeadWriter *writer, Bitmapset *written)
{
	int			i;

	if (!KeptChecksCurrent(writer->rel))
		KeepChecks(writer->rel);
	writer->nchecks = 0;
	writer->checks = palloc(sizeof(ExprState *) * Max(kept_checks.n, 1));
	writer->check_names = palloc(sizeof(char *) * Max(kept_checks.n, 1));
	for (i = 0; i < kept_checks.n; i++)
	{
		KeptCheck  *check = &kept_checks.checks[i];

		if (!bms_overlap(check->reads, written) && check->valid &&
			!bms_is_member(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber, check->reads))	/* the whole row */
			continue;
		/* copied: the kept ones go when the table's constraints change */
		writer->checks[writer->nchecks] = ExecInitExpr(copyObject(check->expr), NULL);
		writer->check_names[writer->nchecks] = pstrdup(check->name);
		writer->nchecks++;
	}
}

/*
 * Whether the writes leave every foreign key alone: all the table's UPDATE
 * triggers are foreign-key triggers (LeadTableIsPlain() has already refused
 * any of its own), no foreign key of the table uses a written column, and
 * no unique index (which another table's key could reference) covers one.
 */
static bool
ForeignKeysIgnoreWrites(Relation rel, Bitmapset *written)
{
	TriggerDesc *triggers = rel->trigdesc;
	ListCell   *cell;
	int			i;

	if (triggers != NULL)
		for (i = 0; i < triggers->numtriggers; i++)
			if (TRIGGER_FOR_UPDATE(triggers->triggers[i].tgtype) &&
				RI_FKey_trigger_type(triggers->triggers[i].tgfoid) == RI_TRIGGER_NONE)
				return false;
	foreach(cell, RelationGetFKeyList(rel))
	{
		ForeignKeyCacheInfo *key = (ForeignKeyCacheInfo *) lfirst(cell);

		for (i = 0; i < key->nkeys; i++)
			if (bms_is_member(key->conkey[i] - FirstLowInvalidHeapAttributeNumber, written))
				return false;
	}
	return !bms_overlap(RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_KEY), written);
}

void
OpenLeadWriter(LeadWriter *writer, Relation rel, const LeadColumn *columns, int ncolumns)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	EState	   *estate;
	int			i;

	writer->rel = rel;
	FindColumns(rel, writer->column);

	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	rte->requiredPerms = ACL_UPDATE;
	for (i = 0; i < ncolumns; i++)
		rte->updatedCols = bms_add_member(rte->updatedCols,
										  writer->column[columns[i]] + 1 - FirstLowInvalidHeapAttributeNumber);
	ExecCheckRTPerms(list_make1(rte), true);
	PreventCommandIfReadOnly("UPDATE");
	PreventCommandIfParallelMode("UPDATE");
	CheckCmdReplicaIdentity(rel, CMD_UPDATE);

	estate = CreateExecutorState();
	ExecInitRangeTable(estate, list_make1(rte));
	writer->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(writer->rri, rel, 1, NULL, 0);
	estate->es_opened_result_relations = lappend(estate->es_opened_result_relations, writer->rri);
	/* the command of the snapshot: a scan under it (the nightly pass's) does not meet the rows written again */
	estate->es_output_cid = GetCurrentCommandId(true);
	estate->es_snapshot = GetActiveSnapshot();
	ExecOpenIndices(writer->rri, false);
	writer->new_row = ExecInitExtraTupleSlot(estate, RelationGetDescr(rel), &TTSOpsVirtual);
	writer->estate = estate;
	{
		MemoryContext caller = MemoryContextSwitchTo(estate->es_query_cxt);

		PrepareChecks(writer, rte->updatedCols);
		MemoryContextSwitchTo(caller);
	}
	writer->keys_untouched = ForeignKeysIgnoreWrites(rel, rte->updatedCols);
	/* the foreign keys' checks that the writes queue run when the writer closes */
	AfterTriggerBeginQuery();
}

/* Check the new row against the CHECK constraints PrepareChecks() chose, as ExecConstraints() would. */
static void
CheckConstraints(LeadWriter *writer, TupleTableSlot *row)
{
	ExprContext *econtext;
	int			i;

	if (writer->nchecks == 0)
		return;
	econtext = GetPerTupleExprContext(writer->estate);
	econtext->ecxt_scantuple = row;
	for (i = 0; i < writer->nchecks; i++)
		if (!ExecCheck(writer->checks[i], econtext))
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("new row for relation \"%s\" violates check constraint \"%s\"",
							RelationGetRelationName(writer->rel), writer->check_names[i]),
					 errtableconstraint(writer->rel, writer->check_names[i])));
}

TM_Result
WriteLeadRow(LeadWriter *writer, ItemPointer tid, bool written_here)
{
	TupleTableSlot *row = writer->new_row;
	EState	   *estate = writer->estate;
	TM_FailureData failure;
	LockTupleMode lockmode;
	bool		update_indexes;
	List	   *recheck = NIL;
	TM_Result	result;

	ResetPerTupleExprContext(estate);
	CheckConstraints(writer, row);
	result = table_tuple_update(writer->rel, tid, row, estate->es_output_cid, estate->es_snapshot,
								InvalidSnapshot, true, &failure, &lockmode, &update_indexes);
	switch (result)
	{
		case TM_Ok:
			break;
		case TM_Updated:
		case TM_Deleted:
			/* as an UPDATE: under a snapshot kept for the transaction, a lost race fails it */
			RefuseIfSnapshotKept();
			return result;
		case TM_SelfModified:
			elog(ERROR, "a lead was written again after its writer opened");
			break;
		default:
			elog(ERROR, "unexpected result %d writing a lead", (int) result);
	}
	if (update_indexes && writer->rri->ri_NumIndices > 0)
		recheck = ExecInsertIndexTuples(writer->rri, row, estate, true, false, NULL, NIL);

	/*
	 * The foreign keys' triggers have nothing to check when no key changed,
	 * except for a row version this transaction wrote: its INSERT's check
	 * is then skipped (the version is gone when it runs), so the UPDATE's
	 * must run.  That is PostgreSQL's own rule (RI_FKey_fk_upd_check_required),
	 * applied here before the trigger machinery fetches the old row again.
	 */
	if (!writer->keys_untouched || written_here)
		ExecARUpdateTriggers(estate, writer->rri, NULL, NULL, tid, NULL, row, recheck, NULL, false);
	list_free(recheck);
	return TM_Ok;
}

void
CloseLeadWriter(LeadWriter *writer)
{
	AfterTriggerEndQuery(writer->estate);
	ExecCloseResultRelations(writer->estate);
	ExecResetTupleTable(writer->estate->es_tupleTable, false);
	FreeExecutorState(writer->estate);
	/* the commands after the writes see the rows written */
	CommandCounterIncrement();
}
