/*
 * key_read.c
 *		The rows one event's trigger locks and reads by their key, without
 *		a statement.
 *
 * One event (record_event(), a webhook's INSERT) locks its lead's unsent
 * touches, reads and locks its running enrolment, locks its lead and reads
 * it with its events; a batch of up to a thousand reads each lead it
 * scores in the same way (rescore.c).  Each of these was a statement of one
 * index look-up, and for so little work PostgreSQL spends most of a
 * statement's time starting and ending its executor.  Here each is an
 * index scan and a row lock, done as the statement's plan did them:
 *
 *	- the snapshot SPI would take for the statement: the command counter
 *	  advanced first, so that the rows this command wrote are seen; a new
 *	  snapshot under READ COMMITTED, the transaction's under REPEATABLE READ;
 *	- the lock SELECT ... FOR NO KEY UPDATE takes: under READ COMMITTED it
 *	  waits for a transaction holding the row and locks the row's newest
 *	  version (a row deleted meanwhile is skipped), whose columns are then
 *	  checked again as the statement's condition would be (an enrolment
 *	  that stopped meanwhile is not running); under REPEATABLE READ a row
 *	  changed or deleted since the snapshot is a serialization failure;
 *	- the role's privileges the statement needed: SELECT on the columns it
 *	  read, and to lock rows, UPDATE on the table or one of its columns.
 *
 * Row-level security is not applied row by row: every row read here is of
 * the event's own tenant, which the event table's policy let in, and the
 * tenant policy on each table gives exactly those rows.  Where that cannot
 * be shown (KeyReadsApply(): a policy of a table's own, the tenant policy
 * changed, an index that cannot serve), the trigger reads with statements,
 * which apply every policy.  (Policies that an extension adds through
 * row_security_policy_hook are not in the relation cache's list, and are
 * not seen here.)
 *
 * The rest of the event's work (its writes above all) stays in statements:
 * they fire the tables' triggers and check their constraints.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "parser/parse_relation.h"
#include "rewrite/rowsecurity.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "cadence.h"
#include "event.h"

/*
 * The tables one event reads by key, each through an index whose first two
 * columns are (tenant_id, lead_id), with the columns it reads (NULL: the
 * whole row), for which the role needs SELECT as a statement would.  The
 * conditions on status are those of the batch's statements (event.c).
 */
typedef enum KeyTable
{
	KEY_EVENT,
	KEY_TOUCH,
	KEY_ENROLMENT,
	KEY_LEAD,
	NKEYTABLES
} KeyTable;

static const char *const event_columns[] = {"tenant_id", "lead_id", "applied_kind", "occurred_at", NULL};
static const char *const touch_columns[] = {"tenant_id", "lead_id", "touch_id", "status", NULL};
static const char *const enrolment_columns[] = {"tenant_id", "lead_id", "enrolment_id", "status", "enrolled_at",
												"exit_reason", "cadence_version_id", NULL};

static const struct
{
	const char *table;
	const char *index;
	const char *const *columns;
}			key_tables[NKEYTABLES] = {
	{"event", "event_lead", event_columns},
	{"touch", "touch_lead", touch_columns},
	{"enrolment", "enrolment_lead", enrolment_columns},
	{"lead", "lead_pkey", NULL}
};

/* A scan of one of those tables for the rows of one lead. */
typedef struct LeadScan
{
	Relation	table;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
} LeadScan;

/*
 * What the backend keeps between events: the tables' and indexes' OIDs,
 * and KeyReadsApply()'s answer for one role and setting of row_security.
 * Kept until any relation or role changes (a relation-cache or role
 * invalidation): a policy, an index or an owner changed, or a role's
 * memberships or BYPASSRLS, can change the answer.
 */
static struct
{
	bool		valid;
	uint64		as_of;			/* the invalidations seen when kept */
	Oid			tables[NKEYTABLES];
	Oid			indexes[NKEYTABLES];
	bool		answered;
	Oid			role;
	bool		row_security;
	bool		applies;
}			kept;

static uint64 invalidations = 0;
static bool callbacks_registered = false;

static void
RelationChanged(Datum arg, Oid relid)
{
	invalidations++;
}

static void
CatalogChanged(Datum arg, int cacheid, uint32 hashvalue)
{
	invalidations++;
}

/* the relation cadence.name's OID; InvalidOid when there is none */
static Oid
CadenceRelation(const char *name)
{
	return get_relname_relid(name, get_namespace_oid("cadence", false));
}

/* The tables' and indexes' OIDs, kept; looked up again after an invalidation (a re-created extension). */
static void
KeepRelations(void)
{
	uint64		as_of;
	int			i;

	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(RelationChanged, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, CatalogChanged, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, CatalogChanged, (Datum) 0);
		/* a function's volatility is part of the tenant policy's test */
		CacheRegisterSyscacheCallback(PROCOID, CatalogChanged, (Datum) 0);
		callbacks_registered = true;
	}
	/* changes committed since the last command count for this event */
	AcceptInvalidationMessages();
	if (kept.valid && kept.as_of == invalidations)
		return;
	kept.valid = false;
	as_of = invalidations;
	for (i = 0; i < NKEYTABLES; i++)
	{
		kept.tables[i] = CadenceRelation(key_tables[i].table);
		if (!OidIsValid(kept.tables[i]))
			elog(ERROR, "relation \"cadence.%s\" does not exist", key_tables[i].table);
		/* an index renamed or dropped: the trigger reads with statements (KeyReadsApply()) */
		kept.indexes[i] = CadenceRelation(key_tables[i].index);
	}
	kept.answered = false;
	kept.as_of = as_of;
	kept.valid = true;
}

/* the lead table's OID */
Oid
LeadTable(void)
{
	KeepRelations();
	return kept.tables[KEY_LEAD];
}

/* the number of rel's column name */
static AttrNumber
ColumnOf(Relation rel, const char *name)
{
	AttrNumber	attnum = attnameAttNum(rel, name, false);

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "relation \"%s\" has no column \"%s\"", RelationGetRelationName(rel), name);
	return attnum;
}

/*
 * Whether rel's row-level security, for the current role, is at most the
 * extension's tenant policy: no policy applies, or only one for every role
 * whose condition is "tenant_id = a value that does not depend on the row",
 * and no other.  *tenant is then that value's expression (NULL when no
 * policy applies), for KeyReadsApply() to compare across tables.  With
 * row_security off, a statement would raise an error: not plain either.
 */
bool
OnlyTenantPolicy(Relation rel, Node **tenant)
{
	RowSecurityPolicy *policy;
	OpExpr	   *condition;
	Node	   *column;
	ArrayType  *roles;

	*tenant = NULL;
	if (check_enable_rls(RelationGetRelid(rel), InvalidOid, true) != RLS_ENABLED)
		return true;
	if (!row_security || rel->rd_rsdesc == NULL || list_length(rel->rd_rsdesc->policies) != 1)
		return false;
	policy = (RowSecurityPolicy *) linitial(rel->rd_rsdesc->policies);
	if (strcmp(policy->policy_name, "tenant_isolation") != 0 || policy->polcmd != '*' ||
		!policy->permissive || policy->with_check_qual != NULL || policy->qual == NULL || policy->hassublinks)
		return false;
	roles = policy->roles;
	if (ARR_NDIM(roles) != 1 || ArrayGetNItems(ARR_NDIM(roles), ARR_DIMS(roles)) != 1 ||
		((Oid *) ARR_DATA_PTR(roles))[0] != ACL_ID_PUBLIC)
		return false;
	if (!IsA(policy->qual, OpExpr))
		return false;
	condition = (OpExpr *) policy->qual;
	if (list_length(condition->args) != 2 || get_opcode(condition->opno) != F_INT8EQ)
		return false;
	column = linitial(condition->args);
	if (!IsA(column, Var) || ((Var *) column)->varlevelsup != 0 ||
		((Var *) column)->varattno != ColumnOf(rel, "tenant_id"))
		return false;
	*tenant = lsecond(condition->args);
	return !contain_vars_of_level(*tenant, 0) && !contain_volatile_functions(*tenant);
}

/*
 * Whether index (of table) can serve a look-up by key: ready and valid for
 * this transaction, as the planner would use it, and a btree whose first two
 * columns are table's tenant_id and lead_id, compared as integers.
 */
static bool
IndexUsable(Relation index, Relation table)
{
	Form_pg_index form = index->rd_index;
	int2vector *columns = &form->indkey;
	int			i;

	if (!form->indisvalid || !form->indisready || !form->indislive || form->indrelid != RelationGetRelid(table))
		return false;
	if (form->indcheckxmin &&
		!TransactionIdPrecedes(HeapTupleHeaderGetXmin(index->rd_indextuple->t_data), TransactionXmin))
		return false;
	/* a partial index would miss rows */
	if (RelationGetIndexPredicate(index) != NIL)
		return false;
	if (index->rd_rel->relam != BTREE_AM_OID || IndexRelationGetNumberOfKeyAttributes(index) < 2 ||
		columns->values[0] != ColumnOf(table, "tenant_id") || columns->values[1] != ColumnOf(table, "lead_id"))
		return false;
	for (i = 0; i < 2; i++)
		if (index->rd_opfamily[i] != INTEGER_BTREE_FAM_OID ||
			TupleDescAttr(RelationGetDescr(index), i)->atttypid != INT8OID)
			return false;
	return true;
}

/*
 * Whether one event's rows may be read by key, finding what statements
 * would: each table's index can serve the look-up, and row-level security
 * applies to none of the tables or to all of them, each time only as the
 * tenant policy with the same tenant value.  The event itself passed the
 * event table's policy, so its tenant is that value, and the rows of its
 * tenant are the rows the policies give.  Otherwise the trigger reads with
 * statements.
 */
bool
KeyReadsApply(void)
{
	Node	   *tenants[NKEYTABLES];
	uint64		as_of;
	bool		applies = true;
	bool		lasting = true;
	int			i;

	/*
	 * The tables are locked first, in the modes the reads take them, as a
	 * statement locks its tables before it is planned: a policy or an index
	 * changed by a transaction that commits while this waits is taken in
	 * with the lock.
	 */
	do
	{
		KeepRelations();
		as_of = invalidations;
		for (i = 0; i < NKEYTABLES; i++)
			LockRelationOid(kept.tables[i], i == KEY_EVENT ? AccessShareLock : RowShareLock);
	} while (invalidations != as_of);
	if (kept.answered && kept.role == GetUserId() && kept.row_security == row_security)
		return kept.applies;
	for (i = 0; i < NKEYTABLES && applies; i++)
	{
		Relation	table;
		Relation	index;

		if (!OidIsValid(kept.indexes[i]))
		{
			applies = false;
			break;
		}
		table = table_open(kept.tables[i], NoLock);
		index = index_open(kept.indexes[i], AccessShareLock);
		applies = IndexUsable(index, table) && OnlyTenantPolicy(table, &tenants[i]);
		/* an index new to older snapshots becomes usable later: not an answer to keep */
		if (index->rd_index->indcheckxmin)
			lasting = false;
		index_close(index, NoLock);
		table_close(table, NoLock);
		if (!applies)
			break;
		/* the policies' values, copied out of the relation cache entries */
		if (tenants[i] != NULL)
			tenants[i] = copyObject(tenants[i]);
		applies = (tenants[i] == NULL) == (tenants[0] == NULL) &&
			(tenants[i] == NULL || equal(tenants[i], tenants[0]));
	}
	/* kept only if nothing changed while it was worked out */
	if (lasting && invalidations == as_of)
	{
		kept.answered = true;
		kept.role = GetUserId();
		kept.row_security = row_security;
		kept.applies = applies;
	}
	return applies;
}

/*
 * cadence.event_reads_by_key(): KeyReadsApply() for the current role, in
 * the current transaction (which then holds the locks a trigger would).
 */
PG_FUNCTION_INFO_V1(cadence_event_reads_by_key);

Datum
cadence_event_reads_by_key(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(KeyReadsApply());
}

/*
 * Refuse, as a statement would, a role without SELECT on the columns read
 * (columns, NULL for the whole row) and, to lock rows, without UPDATE on
 * the table or one of its columns.
 */
static void
RequirePrivileges(Relation rel, const char *const *columns, bool lock_rows)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			role = GetUserId();
	bool		may_read = pg_class_aclcheck(relid, role, ACL_SELECT) == ACLCHECK_OK;

	if (!may_read && columns == NULL)
		may_read = pg_attribute_aclcheck_all(relid, role, ACL_SELECT, ACLMASK_ALL) == ACLCHECK_OK;
	else if (!may_read)
	{
		int			i;

		may_read = true;
		for (i = 0; columns[i] != NULL && may_read; i++)
			may_read = pg_attribute_aclcheck(relid, ColumnOf(rel, columns[i]), role, ACL_SELECT) == ACLCHECK_OK;
	}
	if (!may_read ||
		(lock_rows && pg_class_aclcheck(relid, role, ACL_UPDATE) != ACLCHECK_OK &&
		 pg_attribute_aclcheck_all(relid, role, ACL_UPDATE, ACLMASK_ANY) != ACLCHECK_OK))
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, RelationGetRelationName(rel));
}

/*
 * The snapshot of a statement run now through SPI, made the active one:
 * the command counter advanced, then a new snapshot (READ COMMITTED) or the
 * transaction's (REPEATABLE READ) with the new command id.  EndRead()
 * drops it.
 */
Snapshot
StartRead(void)
{
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	return GetActiveSnapshot();
}

void
EndRead(void)
{
	PopActiveSnapshot();
}

/*
 * Start a scan of one of the tables (which) for the rows of (tenant, lead);
 * lock_rows: the rows will be locked.  KeyReadsApply() has found its index
 * usable.
 */
static void
BeginLeadScan(LeadScan *ls, KeyTable which, bool lock_rows, Snapshot snapshot, Datum tenant, Datum lead)
{
	ScanKeyData keys[2];

	KeepRelations();
	ls->table = table_open(kept.tables[which], lock_rows ? RowShareLock : AccessShareLock);
	RequirePrivileges(ls->table, key_tables[which].columns, lock_rows);
	ls->index = index_open(kept.indexes[which], AccessShareLock);
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ, tenant);
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_INT8EQ, lead);
	ls->slot = table_slot_create(ls->table, NULL);
	ls->scan = index_beginscan(ls->table, ls->index, snapshot, 2, 0);
	index_rescan(ls->scan, keys, 2, NULL, 0);
}

/* End the scan; the locks on the table and index are kept until the transaction ends. */
static void
EndLeadScan(LeadScan *ls)
{
	index_endscan(ls->scan);
	ExecDropSingleTupleTableSlot(ls->slot);
	index_close(ls->index, NoLock);
	table_close(ls->table, NoLock);
}

/*
 * A row changed by another transaction since the snapshot: under a snapshot
 * kept for the transaction (REPEATABLE READ, SERIALIZABLE), the error a
 * statement raises.
 */
void
RefuseIfSnapshotKept(void)
{
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update")));
}

/*
 * Lock the row at tid as FOR NO KEY UPDATE would (ExecLockRows()), into
 * slot: under READ COMMITTED its newest version; false when there is no
 * row to return (gone, or changed by this very command).  The caller tests
 * the version locked again, as the statement's condition would be.
 */
static bool
LockRow(Relation rel, ItemPointer tid, Snapshot snapshot, TupleTableSlot *slot)
{
	TM_FailureData failure;
	TM_Result	result;
	int			flags = TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS;

	if (!IsolationUsesXactSnapshot())
		flags |= TUPLE_LOCK_FLAG_FIND_LAST_VERSION;
	result = table_tuple_lock(rel, tid, snapshot, slot, GetCurrentCommandId(true), LockTupleNoKeyExclusive,
							  LockWaitBlock, flags, &failure);
	switch (result)
	{
		case TM_Ok:
			return true;
		case TM_SelfModified:
			return false;
		case TM_Updated:
		case TM_Deleted:
			RefuseIfSnapshotKept();
			if (result == TM_Deleted)
				return false;
			elog(ERROR, "locking a row of \"%s\" found it updated", RelationGetRelationName(rel));
			break;
		default:
			elog(ERROR, "locking a row of \"%s\" failed (%d)", RelationGetRelationName(rel), (int) result);
	}
	return false;
}

/* whether text datum t is s */
static bool
TextIs(Datum t, const char *s)
{
	text	   *value = DatumGetTextPP(t);
	size_t		len = strlen(s);

	return VARSIZE_ANY_EXHDR(value) == len && memcmp(VARDATA_ANY(value), s, len) == 0;
}

/* a touch that is not sent yet: queued, claimed by a sender, or held (as lock_touches_sql in event.c) */
static bool
TouchUnsent(TupleTableSlot *slot, AttrNumber status_column)
{
	bool		isnull;
	Datum		status = slot_getattr(slot, status_column, &isnull);

	return !isnull && (TextIs(status, "queued") || TextIs(status, "claimed") || TextIs(status, "held"));
}

/* an enrolment that is running: active or paused (as lock_enrolments_sql in event.c) */
static bool
EnrolmentRunning(TupleTableSlot *slot, AttrNumber status_column)
{
	bool		isnull;
	Datum		status = slot_getattr(slot, status_column, &isnull);

	return !isnull && (TextIs(status, "active") || TextIs(status, "paused"));
}

/* a touch to lock: its id, the order of locks, and where it is */
typedef struct TouchToLock
{
	int64		touch_id;
	ItemPointerData tid;
} TouchToLock;

static int
TouchOrder(const void *a, const void *b)
{
	int64		x = ((const TouchToLock *) a)->touch_id;
	int64		y = ((const TouchToLock *) b)->touch_id;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Lock the unsent touches of (tenant, lead), in the order of their ids, as
 * every path that locks several touches does.
 */
void
LockUnsentTouches(Datum tenant, Datum lead)
{
	Snapshot	snapshot = StartRead();
	LeadScan	ls;
	AttrNumber	status_column;
	AttrNumber	id_column;
	TouchToLock *touches = NULL;
	int			ntouches = 0;
	int			capacity = 0;
	int			i;

	BeginLeadScan(&ls, KEY_TOUCH, true, snapshot, tenant, lead);
	status_column = ColumnOf(ls.table, "status");
	id_column = ColumnOf(ls.table, "touch_id");
	while (index_getnext_slot(ls.scan, ForwardScanDirection, ls.slot))
	{
		bool		isnull;

		if (!TouchUnsent(ls.slot, status_column))
			continue;
		if (ntouches == capacity)
		{
			capacity = capacity == 0 ? 4 : capacity * 2;
			touches = touches == NULL ? palloc(sizeof(TouchToLock) * capacity)
				: repalloc(touches, sizeof(TouchToLock) * capacity);
		}
		touches[ntouches].touch_id = DatumGetInt64(slot_getattr(ls.slot, id_column, &isnull));
		touches[ntouches].tid = ls.slot->tts_tid;
		ntouches++;
	}
	if (ntouches > 1)
		qsort(touches, ntouches, sizeof(TouchToLock), TouchOrder);
	/* a touch sent meanwhile stays locked, as the statement left it */
	for (i = 0; i < ntouches; i++)
		(void) LockRow(ls.table, &touches[i].tid, snapshot, ls.slot);
	EndLeadScan(&ls);
	EndRead();
}

/*
 * The running (active or paused) enrolment of (tenant, lead), locked, into
 * *running; false when the snapshot shows none, or the one it showed has
 * stopped by the time it is locked.  A lead has at most one such enrolment
 * (enrolment_one_active); its enrolments are read through enrolment_lead,
 * which holds them all.
 */
bool
ReadRunningEnrolment(Datum tenant, Datum lead, RunningEnrolment *running)
{
	Snapshot	snapshot = StartRead();
	LeadScan	ls;
	AttrNumber	status_column;
	bool		found = false;

	BeginLeadScan(&ls, KEY_ENROLMENT, true, snapshot, tenant, lead);
	status_column = ColumnOf(ls.table, "status");
	while (index_getnext_slot(ls.scan, ForwardScanDirection, ls.slot))
	{
		bool		isnull;
		ItemPointerData tid = ls.slot->tts_tid;

		if (!EnrolmentRunning(ls.slot, status_column))
			continue;
		/* its newest version, as the statement's condition would test it again */
		if (!LockRow(ls.table, &tid, snapshot, ls.slot) || !EnrolmentRunning(ls.slot, status_column))
			break;
		/* copied out of the row (int8 and timestamptz are references where Datums are 4 bytes) */
		running->enrolment_id = Int64GetDatum(DatumGetInt64(slot_getattr(ls.slot, ColumnOf(ls.table, "enrolment_id"),
																		 &isnull)));
		running->status = datumCopy(slot_getattr(ls.slot, status_column, &isnull), false, -1);
		running->enrolled_at = TimestampTzGetDatum(DatumGetTimestampTz(slot_getattr(ls.slot,
																				   ColumnOf(ls.table, "enrolled_at"),
																				   &isnull)));
		running->exit_reason = slot_getattr(ls.slot, ColumnOf(ls.table, "exit_reason"), &running->exit_reason_null);
		if (!running->exit_reason_null)
			running->exit_reason = datumCopy(running->exit_reason, false, -1);
		running->version_id = Int64GetDatum(DatumGetInt64(slot_getattr(ls.slot, ColumnOf(ls.table, "cadence_version_id"),
																	   &isnull)));
		found = true;
		break;
	}
	EndLeadScan(&ls);
	EndRead();
	return found;
}

/*
 * The kinds the events of (tenant, lead) act as and their times, in
 * event_lead's order, and the newest time, into read; read with a
 * snapshot of its own, taken once the lead is locked, so that the events
 * of a transaction the lock waited for are counted.
 */
static void
ReadLeadEvents(Datum tenant, Datum lead, LeadRead *read)
{
	Snapshot	snapshot = StartRead();
	LeadScan	ls;
	AttrNumber	kind_column;
	AttrNumber	time_column;
	ArrayBuildState *kinds = NULL;
	ArrayBuildState *times = NULL;
	MemoryContext caller = CurrentMemoryContext;

	BeginLeadScan(&ls, KEY_EVENT, false, snapshot, tenant, lead);
	kind_column = ColumnOf(ls.table, "applied_kind");
	time_column = ColumnOf(ls.table, "occurred_at");
	read->kinds = read->times = NULL;
	read->at_null = true;
	while (index_getnext_slot(ls.scan, ForwardScanDirection, ls.slot))
	{
		bool		kind_null;
		bool		time_null;
		Datum		kind = slot_getattr(ls.slot, kind_column, &kind_null);
		Datum		at = slot_getattr(ls.slot, time_column, &time_null);

		kinds = accumArrayResult(kinds, kind, kind_null, TEXTOID, caller);
		times = accumArrayResult(times, at, time_null, TIMESTAMPTZOID, caller);
		if (!time_null && (read->at_null || DatumGetTimestampTz(at) > read->at))
		{
			read->at = DatumGetTimestampTz(at);
			read->at_null = false;
		}
	}
	if (kinds != NULL)
	{
		read->kinds = DatumGetArrayTypeP(makeArrayResult(kinds, caller));
		read->times = DatumGetArrayTypeP(makeArrayResult(times, caller));
	}
	EndLeadScan(&ls);
	EndRead();
}

/*
 * Lock lead (tenant, lead) and read it as scoring needs it: its row as it
 * is once locked, and its events (ReadLeadEvents()); NULL when the lead is
 * not there.  Allocated in the caller's memory context.
 */
LeadRead *
ReadLeadForScoring(Datum tenant, Datum lead)
{
	Snapshot	snapshot = StartRead();
	LeadScan	ls;
	LeadRead   *read = NULL;

	BeginLeadScan(&ls, KEY_LEAD, true, snapshot, tenant, lead);
	if (index_getnext_slot(ls.scan, ForwardScanDirection, ls.slot))
	{
		ItemPointerData tid = ls.slot->tts_tid;

		if (LockRow(ls.table, &tid, snapshot, ls.slot))
		{
			bool		should_free;
			bool		tier_null;
			HeapTuple	row = ExecFetchSlotHeapTuple(ls.slot, false, &should_free);
			Datum		tier;

			read = palloc0(sizeof(LeadRead));
			read->tid = ls.slot->tts_tid;
			read->written_here = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(row->t_data));
			read->row = DatumGetHeapTupleHeader(heap_copy_tuple_as_datum(row, RelationGetDescr(ls.table)));
			read->score = slot_getattr(ls.slot, ColumnOf(ls.table, "score"), &read->score_null);
			tier = slot_getattr(ls.slot, ColumnOf(ls.table, "tier"), &tier_null);
			read->tier = tier_null ? NULL : TextDatumGetCString(tier);
			read->segment = slot_getattr(ls.slot, ColumnOf(ls.table, "segment"), &read->segment_null);
			if (!read->segment_null)
				read->segment = datumCopy(read->segment, false, -1);
			if (should_free)
				heap_freetuple(row);
		}
	}
	EndLeadScan(&ls);
	EndRead();
	if (read != NULL)
		ReadLeadEvents(tenant, lead, read);
	return read;
}
