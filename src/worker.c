/*
 * worker.c
 *		The scheduler: background workers that run the engine by themselves.
 *
 * With cadence in shared_preload_libraries, a launcher worker starts one
 * worker per database (cadence.databases, or every database that allows
 * connections).  A database worker runs cadence.run_worker_tick(now()) as
 * the role cadence_worker, each tick in its own transaction, then sleeps
 * until the next thing falls due (a step, a deferred touch, a lease, an
 * alert's deadline, a move) or cadence.tick_interval passes, whichever is
 * first.  A commit that enrols a lead or records an event sets the
 * worker's latch (cadence.wake_worker(), acted on only at commit), so a new
 * hot lead does not wait for the interval.  A worker in a database without
 * the extension exits; the launcher tries that database again after
 * cadence.launcher_naptime.  Errors are logged and retried with back-off.
 *
 * Shared memory keeps one slot per database with the figures that the view
 * cadence.worker_status shows.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "cadence.h"

PG_FUNCTION_INFO_V1(cadence_wake_worker);
PG_FUNCTION_INFO_V1(cadence_worker_stats);

PGDLLEXPORT void cadence_launcher_main(Datum main_arg);
PGDLLEXPORT void cadence_worker_main(Datum main_arg);

#define MAX_DATABASES 64
#define ERROR_TEXT_LEN 200
#define MAX_BACKOFF_MS 60000

/* One database's worker, as the launcher and the view see it. */
typedef struct DatabaseSlot
{
	Oid			dboid;
	pid_t		pid;			/* 0 when no worker runs */
	Latch	   *latch;
	bool		installed;		/* false: the worker found no extension */
	TimestampTz checked_at;		/* when installed was last set */
	TimestampTz last_tick_at;
	int64		last_enqueued;
	int64		total_enqueued;
	int64		ticks;
	int64		errors;
	double		lag_seconds;
	TimestampTz last_error_at;
	char		last_error[ERROR_TEXT_LEN];
} DatabaseSlot;

typedef struct CadenceShared
{
	LWLock	   *lock;
	Latch	   *launcher_latch;
	DatabaseSlot slots[MAX_DATABASES];
} CadenceShared;

/* settings */
static bool worker_enabled = true;
static int	tick_interval_ms = 1000;
static int	launcher_naptime_s = 60;
static char *worker_databases = NULL;
static char *worker_role = NULL;

static CadenceShared *shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this backend asked for a wake-up at commit */
static bool wake_at_commit = false;
static bool callback_registered = false;

static void
CadenceShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(CadenceShared)));
	RequestNamedLWLockTranche("cadence", 1);
}

static void
CadenceShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("cadence", sizeof(CadenceShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(CadenceShared));
		shared->lock = &(GetNamedLWLockTranche("cadence"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Called from _PG_init: the settings of the scheduler, and with the
 * preload its shared memory and the launcher.
 */
void
CadenceWorkerInit(void)
{
	BackgroundWorker worker;

	DefineCustomBoolVariable("cadence.worker_enabled",
							 "Whether the background workers run the engine.",
							 "Off, the workers idle; cadence.run_worker_tick() can still be called (by pg_cron, say).",
							 &worker_enabled, true, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("cadence.tick_interval",
							"Longest wait between two ticks of a database worker.",
							"Workers also wake at once when a commit enrols a lead or records an event, and when the next step falls due.",
							&tick_interval_ms, 1000, 10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("cadence.launcher_naptime",
							"How often the launcher looks for databases that need a worker.",
							NULL, &launcher_naptime_s, 60, 1, 3600, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomStringVariable("cadence.databases",
							   "Databases the workers run in, comma-separated; empty means every database that allows connections.",
							   "A worker in a database without the extension stops and is tried again after cadence.launcher_naptime.",
							   &worker_databases, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("cadence.worker_role",
							   "Role the workers run the engine as.",
							   "It needs the privileges of cadence_app and nothing more; the extension creates cadence_worker for this.",
							   &worker_role, "cadence_worker", PGC_SIGHUP, 0, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = CadenceShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = CadenceShmemStartup;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "cadence");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "cadence_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "cadence launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "cadence launcher");
	RegisterBackgroundWorker(&worker);
}

/* ---------------------------------------------------------------------------
 * Waking a worker after commit
 */

static void
WakeAtCommitCallback(XactEvent event, void *arg)
{
	int			i;

	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		wake_at_commit = false;
	if (event != XACT_EVENT_COMMIT || !wake_at_commit)
		return;
	wake_at_commit = false;
	if (shared == NULL)
		return;
	LWLockAcquire(shared->lock, LW_SHARED);
	for (i = 0; i < MAX_DATABASES; i++)
		if (shared->slots[i].dboid == MyDatabaseId && shared->slots[i].pid != 0 && shared->slots[i].latch)
			SetLatch(shared->slots[i].latch);
	LWLockRelease(shared->lock);
}

/*
 * Ask for this database's worker to be woken when the current transaction
 * commits; nothing happens if it rolls back, or without the preload.
 */
void
CadenceWakeWorkerAtCommit(void)
{
	if (shared == NULL)
		return;
	if (!callback_registered)
	{
		RegisterXactCallback(WakeAtCommitCallback, NULL);
		callback_registered = true;
	}
	wake_at_commit = true;
}

/*
 * cadence.wake_worker() returns boolean
 *
 * Wake this database's worker when the transaction commits.  False when no
 * worker can be woken (the extension is not preloaded).
 */
Datum
cadence_wake_worker(PG_FUNCTION_ARGS)
{
	CadenceWakeWorkerAtCommit();
	PG_RETURN_BOOL(shared != NULL);
}

/* ---------------------------------------------------------------------------
 * The launcher
 */

static DatabaseSlot *
SlotFor(Oid dboid, bool create)
{
	int			i;
	DatabaseSlot *free_slot = NULL;

	for (i = 0; i < MAX_DATABASES; i++)
	{
		if (shared->slots[i].dboid == dboid)
			return &shared->slots[i];
		if (shared->slots[i].dboid == InvalidOid && free_slot == NULL)
			free_slot = &shared->slots[i];
	}
	if (create && free_slot != NULL)
	{
		memset(free_slot, 0, sizeof(DatabaseSlot));
		free_slot->dboid = dboid;
		free_slot->installed = true;
	}
	return create ? free_slot : NULL;
}

/*
 * The databases that should have a worker: those named in cadence.databases,
 * or every database that allows connections.
 */
static List *
WantedDatabases(void)
{
	List	   *result = NIL;
	List	   *names = NIL;
	char	   *copy;
	MemoryContext caller = CurrentMemoryContext;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;

	copy = pstrdup(worker_databases ? worker_databases : "");
	if (!SplitIdentifierString(copy, ',', &names))
	{
		ereport(LOG,
				(errmsg("cadence: invalid list in cadence.databases: \"%s\"", worker_databases)));
		names = NIL;
	}

	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tuple);
		bool		wanted;

		if (!db->datallowconn || db->datistemplate)
			continue;
		if (names == NIL)
			wanted = (worker_databases == NULL || worker_databases[0] == '\0');
		else
		{
			ListCell   *lc;

			wanted = false;
			foreach(lc, names)
				if (strcmp((char *) lfirst(lc), NameStr(db->datname)) == 0)
					wanted = true;
		}
		if (wanted)
		{
			/* the list outlives the transaction */
			MemoryContext in_transaction = MemoryContextSwitchTo(caller);

			result = lappend_oid(result, db->oid);
			MemoryContextSwitchTo(in_transaction);
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	list_free(names);
	pfree(copy);
	return result;
}

static void
StartDatabaseWorker(Oid dboid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "cadence");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "cadence_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "cadence worker for database %u", dboid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "cadence worker");
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = 0;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(LOG,
				(errmsg("cadence: could not start a worker for database %u", dboid),
				 errhint("You may need to increase max_worker_processes.")));
	/* a start that never reports in is retried after the naptime */
}

void
cadence_launcher_main(Datum main_arg)
{
	MemoryContext launcher_context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("cadence launcher");

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->launcher_latch = MyLatch;
	LWLockRelease(shared->lock);

	/* each round's allocations go in a context that is reset after it */
	launcher_context = AllocSetContextCreate(TopMemoryContext, "cadence launcher", ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		List	   *wanted;
		ListCell   *lc;
		TimestampTz now = GetCurrentTimestamp();

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(launcher_context);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		wanted = worker_enabled ? WantedDatabases() : NIL;
		foreach(lc, wanted)
		{
			Oid			dboid = lfirst_oid(lc);
			DatabaseSlot *slot;
			bool		start = false;

			LWLockAcquire(shared->lock, LW_EXCLUSIVE);
			slot = SlotFor(dboid, true);
			/*
			 * Start a worker where none runs: at once where the extension was
			 * found, after the naptime where it was missing (or where a start
			 * never reported in).
			 */
			if (slot != NULL &&
				((slot->pid == 0 && slot->installed) ||
				 (slot->pid <= 0 &&
				  TimestampDifferenceExceeds(slot->checked_at, now, launcher_naptime_s * 1000))))
			{
				/* claim it now so that the next round does not start a second one */
				slot->pid = -1;
				slot->checked_at = now;
				start = true;
			}
			LWLockRelease(shared->lock);
			if (start)
				StartDatabaseWorker(dboid);
		}
		list_free(wanted);
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(launcher_context);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(launcher_naptime_s, 10) * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------------------------------------------------------------------------
 * A database worker
 */

static DatabaseSlot *my_slot = NULL;

/* Leave the slot free for the launcher when this worker exits, however. */
static void
ReleaseSlot(int code, Datum arg)
{
	if (shared == NULL || my_slot == NULL)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	my_slot->pid = 0;
	my_slot->latch = NULL;
	LWLockRelease(shared->lock);
	if (shared->launcher_latch)
		SetLatch(shared->launcher_latch);
}

/*
 * Copy an error message into a buffer of ERROR_TEXT_LEN bytes, cut at a
 * character boundary (a cut inside a multibyte character would leave text
 * the server cannot read back).
 */
static void
CopyErrorText(char *dest, const char *src)
{
	int			len = pg_mbcliplen(src, strlen(src), ERROR_TEXT_LEN - 1);

	memcpy(dest, src, len);
	dest[len] = '\0';
}

/*
 * One tick in its own transaction.  Returns how long to sleep (ms) before
 * the next, or -1 when the extension is not installed here.
 */
static long
RunWorkerTick(void)
{
	long		sleep_ms = tick_interval_ms;
	bool		isnull;
	int64		enqueued = 0;
	double		lag = 0;
	TimestampTz next_due = 0;
	bool		has_next = false;
	char	   *failed;
	char		failure[ERROR_TEXT_LEN] = "";

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "cadence tick");

	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'cadence'", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look for the extension");
	if (SPI_processed == 0)
	{
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, NULL);
		return -1;
	}

	/* the engine runs with the worker role's privileges, not a superuser's */
	if (worker_role != NULL && worker_role[0] != '\0')
	{
		char	   *set_role = psprintf("SET LOCAL ROLE %s", quote_identifier(worker_role));

		if (SPI_execute(set_role, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not switch to role \"%s\"", worker_role);
	}

	if (SPI_execute("SELECT queued, lag_seconds, next_due_at, failed_tenants FROM cadence.run_worker_tick(pg_catalog.now())",
					false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "cadence.run_worker_tick() failed");
	enqueued = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	lag = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	next_due = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	has_next = !isnull;
	/* the other tenants were ticked; the ones that failed count as an error */
	failed = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	if (failed != NULL)
	{
		ereport(LOG, (errmsg("cadence: tick failed for %s", failed)));
		CopyErrorText(failure, failed);
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	my_slot->last_tick_at = GetCurrentTimestamp();
	my_slot->last_enqueued = enqueued;
	my_slot->total_enqueued += enqueued;
	my_slot->ticks++;
	my_slot->lag_seconds = lag;
	if (failure[0] != '\0')
	{
		my_slot->errors++;
		my_slot->last_error_at = my_slot->last_tick_at;
		strlcpy(my_slot->last_error, failure, ERROR_TEXT_LEN);
	}
	LWLockRelease(shared->lock);

	/* sleep until the next thing falls due, but no longer than the interval */
	if (has_next)
	{
		long		secs;
		int			usecs;

		TimestampDifference(GetCurrentTimestamp(), next_due, &secs, &usecs);
		sleep_ms = Min(sleep_ms, secs * 1000 + usecs / 1000 + 1);
	}
	return Max(sleep_ms, 1);
}

void
cadence_worker_main(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);
	MemoryContext worker_context;
	long		backoff_ms = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("cadence worker");

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	my_slot = SlotFor(dboid, true);
	if (my_slot != NULL)
	{
		my_slot->pid = MyProcPid;
		my_slot->latch = MyLatch;
		my_slot->installed = true;
	}
	LWLockRelease(shared->lock);
	if (my_slot == NULL)
	{
		ereport(LOG, (errmsg("cadence: no free slot for database %u (at most %d databases)", dboid, MAX_DATABASES)));
		proc_exit(0);
	}
	before_shmem_exit(ReleaseSlot, (Datum) 0);

	worker_context = AllocSetContextCreate(TopMemoryContext, "cadence worker", ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		long		sleep_ms = tick_interval_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		if (worker_enabled)
		{
			MemoryContext old = MemoryContextSwitchTo(worker_context);

			PG_TRY();
			{
				sleep_ms = RunWorkerTick();
				backoff_ms = 0;
			}
			PG_CATCH();
			{
				ErrorData  *edata;

				/* log it, keep it for the view, and try again later */
				MemoryContextSwitchTo(worker_context);
				edata = CopyErrorData();
				FlushErrorState();
				AbortCurrentTransaction();
				pgstat_report_activity(STATE_IDLE, NULL);
				ereport(LOG,
						(errmsg("cadence: tick failed: %s", edata->message),
						 errdetail("The worker tries again with back-off.")));
				LWLockAcquire(shared->lock, LW_EXCLUSIVE);
				my_slot->errors++;
				my_slot->last_error_at = GetCurrentTimestamp();
				CopyErrorText(my_slot->last_error, edata->message);
				LWLockRelease(shared->lock);
				FreeErrorData(edata);
				backoff_ms = backoff_ms == 0 ? tick_interval_ms : Min(backoff_ms * 2, MAX_BACKOFF_MS);
				sleep_ms = backoff_ms;
			}
			PG_END_TRY();
			MemoryContextSwitchTo(old);
			MemoryContextReset(worker_context);

			if (sleep_ms < 0)
			{
				/* no extension here: stop; the launcher tries again later */
				LWLockAcquire(shared->lock, LW_EXCLUSIVE);
				my_slot->installed = false;
				my_slot->checked_at = GetCurrentTimestamp();
				LWLockRelease(shared->lock);
				proc_exit(0);
			}
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------------------------------------------------------------------------
 * The view
 */

/*
 * cadence.worker_stats() returns setof record: one row per database slot.
 */
Datum
cadence_worker_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (shared == NULL)
		return (Datum) 0;

	LWLockAcquire(shared->lock, LW_SHARED);
	for (i = 0; i < MAX_DATABASES; i++)
	{
		DatabaseSlot *s = &shared->slots[i];
		Datum		values[11];
		bool		nulls[11] = {0};

		if (s->dboid == InvalidOid)
			continue;
		values[0] = ObjectIdGetDatum(s->dboid);
		values[1] = Int32GetDatum(s->pid > 0 ? s->pid : 0);
		nulls[1] = (s->pid <= 0);
		values[2] = BoolGetDatum(s->installed);
		values[3] = TimestampTzGetDatum(s->last_tick_at);
		nulls[3] = (s->last_tick_at == 0);
		values[4] = Int64GetDatum(s->last_enqueued);
		values[5] = Int64GetDatum(s->total_enqueued);
		values[6] = Int64GetDatum(s->ticks);
		values[7] = Int64GetDatum(s->errors);
		values[8] = CStringGetTextDatum(s->last_error);
		nulls[8] = (s->last_error[0] == '\0');
		values[9] = TimestampTzGetDatum(s->last_error_at);
		nulls[9] = (s->last_error_at == 0);
		values[10] = Float8GetDatum(s->lag_seconds);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(shared->lock);
	return (Datum) 0;
}
