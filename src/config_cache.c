/*
 * config_cache.c
 *		The tenants' configuration that a backend has read for the event
 *		trigger, kept until it changes: event kinds, scoring models, routes,
 *		cadence versions' rules.
 *
 * The trigger of every event needs what the event's kind does
 * (event_one.c), the rules of the cadence its lead is on (event_decide.c),
 * the scoring model in force for its tenant, and, when the lead's tier
 * changes, whether a route may move it (rescore.c).  Read for each event,
 * the kind cost a statement, about a twelfth of all the work of an email
 * open; the rules, a join and the rules' tests in the read of the running
 * enrolment, about a twentieth; the model, two subqueries of the lead's
 * read; the routes, a statement for every change of tier (so they cost
 * when the trigger read them itself).  All of them change seldom (a tenant
 * registers a kind, defines a cadence, a model or a route; an update of
 * the extension), and a cadence version is not changed once defined but by
 * hand, so each backend keeps the built-in kinds, the versions it has read
 * and, per tenant once read, its own kinds, its model and its routes, until
 * one of those tables changes.
 *
 * A trigger on each of those tables (cadence.config_changed(), for every
 * row and for TRUNCATE, also on a logical replication subscriber) sends a
 * relation-cache invalidation for the table.  Every backend receives it
 * once the change commits (the changing backend at its next command, and
 * again if the change is rolled back); each look-up first takes in what
 * arrived, and ConfigInvalidated() marks what is kept as stale: it is
 * dropped then, never while a caller uses it (callers get copies).
 *
 * A read is kept only if no invalidation arrived while it ran (it may then
 * have seen the tables from before a change).  Under READ COMMITTED it is
 * kept across transactions; a transaction at REPEATABLE READ or
 * SERIALIZABLE keeps what it reads for itself alone, as of its snapshot
 * (ConfigState).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "cadence.h"
#include "event.h"

/*
 * Tenants a backend keeps at most; past this, it starts again (a backend
 * that serves every tenant of a large installation in turn).  A tenant's
 * own model is a few kilobytes.
 */
#define MAX_TENANTS_KEPT 1000
/* and cadence versions (each a cadence's rules, a kilobyte or so) */
#define MAX_VERSIONS_KEPT 5000

/* A kind as either table has it: what an event of that kind does. */
typedef struct KindRow
{
	char		kind[NAMEDATALEN];	/* kinds are at most 63 bytes (their CHECK) */
	bool		response;
	bool		engagement;
	bool		human_contact;
	bool		consent;		/* it grants or revokes consent */
	bool		default_exit;
	bool		default_pause;
	bool		default_hand_off;
	text	   *preferred_channel;	/* NULL: none */
} KindRow;

typedef struct KindList
{
	int			n;
	KindRow    *rows;
} KindList;

/* a route of a tenant: leads of a segment ('*': any) reaching a tier */
typedef struct RouteKey
{
	text	   *tier;
	text	   *segment;
} RouteKey;

/* a cadence version, by tenant and id */
typedef struct VersionKey
{
	int64		tenant_id;
	int64		version_id;
} VersionKey;

typedef struct CadenceVersion
{
	VersionKey	key;			/* the hash key */
	text	   *cadence_key;
	Jsonb	   *rules;
} CadenceVersion;

/* what is kept of a tenant: its own kinds (often none), its model, its routes */
typedef struct TenantConfig
{
	int64		tenant_id;		/* the hash key */
	bool		kinds_read;
	KindList	kinds;
	Jsonb	   *model;			/* NULL: not read yet */
	bool		routes_read;
	int			nroutes;
	RouteKey   *routes;
} TenantConfig;

/* the columns both kinds statements read, in this order */
#define KIND_COLUMNS(t) \
t ".kind, " t ".response, " t ".engagement, " t ".human_contact, " t ".consent_channel IS NOT NULL, " \
t ".preferred_channel, " t ".default_exit, " t ".default_pause, " t ".default_hand_off"

static const char *const builtin_kinds_sql =
"SELECT " KIND_COLUMNS("b") " FROM cadence.event_kind b";

static const char *const tenant_kinds_sql =
"SELECT " KIND_COLUMNS("c") " FROM cadence.custom_event_kind c WHERE c.tenant_id = $1";

/* the model in force: the tenant's newest version, else the built-in one (as cadence.scoring_model_for()) */
static const char *const model_sql =
"SELECT coalesce((SELECT m.compiled FROM cadence.scoring_model m"
"                  WHERE m.tenant_id = $1 ORDER BY m.version DESC LIMIT 1),"
"                (SELECT s.compiled FROM cadence.scoring_default s LIMIT 1))";

/* a cadence version's key and rules (a version changes only by hand) */
static const char *const version_sql =
"SELECT v.cadence_key, v.rules FROM cadence.cadence_version v"
" WHERE v.tenant_id = $1 AND v.cadence_version_id = $2";

static const char *const routes_sql =
"SELECT r.tier, r.segment FROM cadence.route r WHERE r.tenant_id = $1";

static SPIPlanPtr version_plan = NULL;
static SPIPlanPtr builtin_kinds_plan = NULL;
static SPIPlanPtr routes_plan = NULL;
static SPIPlanPtr tenant_kinds_plan = NULL;
static SPIPlanPtr model_plan = NULL;

/* the tables whose changes make what is kept stale */
static const char *const config_tables[] = {
	"event_kind", "custom_event_kind", "scoring_model", "scoring_default", "route", "cadence_version"
};

/*
 * What is kept, and since when.  Under READ COMMITTED each statement sees
 * what committed before it, so what one read is good until a change
 * commits: "kept" lasts across transactions, until an invalidation.  Under
 * REPEATABLE READ or SERIALIZABLE the transaction sees its snapshot only:
 * what it reads is kept for that transaction alone ("xact_kept", in its
 * memory), so that it never serves another transaction, nor this one
 * something newer than its snapshot.
 */
typedef struct ConfigState
{
	MemoryContext context;		/* NULL: nothing kept */
	bool		builtin_read;
	KindList	builtin;
	HTAB	   *tenants;
	HTAB	   *versions;
	uint64		as_of;			/* the invalidations it has taken in */
	bool		drop_at_next;	/* the last read may be stale or partial */
	MemoryContextCallback gone; /* forgets the memory when it is deleted */
} ConfigState;

static ConfigState kept;
static ConfigState xact_kept;

static Oid	config_relids[lengthof(config_tables)];
static bool callback_registered = false;

/* invalidations of those tables seen */
static uint64 invalidations = 0;

static void
ConfigInvalidated(Datum arg, Oid relid)
{
	int			i;

	/* InvalidOid: the whole relation cache is reset */
	if (relid == InvalidOid)
	{
		invalidations++;
		return;
	}
	for (i = 0; i < lengthof(config_tables); i++)
		if (relid == config_relids[i])
		{
			invalidations++;
			return;
		}
}

/* A state's memory was deleted (xact_kept's, with its transaction): nothing is kept. */
static void
StateGone(void *arg)
{
	((ConfigState *) arg)->context = NULL;
}

/*
 * Empty a state; the tables' OIDs are looked up again (a re-created
 * extension).  parent: where its memory lives.
 */
static void
StartAfresh(ConfigState *state, MemoryContext parent)
{
	Oid			namespace;
	int			i;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(ConfigInvalidated, (Datum) 0);
		callback_registered = true;
	}
	if (state->context != NULL)
		MemoryContextDelete(state->context);
	state->context = AllocSetContextCreate(parent, "cadence configuration", ALLOCSET_SMALL_SIZES);
	state->gone.func = StateGone;
	state->gone.arg = state;
	MemoryContextRegisterResetCallback(state->context, &state->gone);
	state->builtin_read = false;
	state->builtin.n = 0;
	state->builtin.rows = NULL;
	state->tenants = NULL;
	state->versions = NULL;
	state->drop_at_next = false;
	namespace = get_namespace_oid("cadence", false);
	for (i = 0; i < lengthof(config_tables); i++)
		config_relids[i] = get_relname_relid(config_tables[i], namespace);
	state->as_of = invalidations;
}

/*
 * The state for this look-up, ready: emptied if stale.  Changes that
 * committed since the last command are taken in first (a transaction that
 * already holds every lock it needs would otherwise not see them).
 */
static ConfigState *
CurrentState(void)
{
	ConfigState *state;
	MemoryContext parent;

	AcceptInvalidationMessages();
	if (IsolationUsesXactSnapshot())
	{
		/* its memory goes with the transaction (StateGone()) */
		state = &xact_kept;
		parent = TopTransactionContext;
	}
	else
	{
		state = &kept;
		parent = CacheMemoryContext;
	}
	if (state->context == NULL || state->as_of != invalidations || state->drop_at_next ||
		(state->tenants != NULL && hash_get_num_entries(state->tenants) >= MAX_TENANTS_KEPT) ||
		(state->versions != NULL && hash_get_num_entries(state->versions) >= MAX_VERSIONS_KEPT))
		StartAfresh(state, parent);
	return state;
}

/* a hash table in the state's memory */
static HTAB *
StateHash(ConfigState *state, const char *name, Size keysize, Size entrysize)
{
	HASHCTL		ctl;

	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = state->context;
	return hash_create(name, 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* the tenant's entry in state (new: nothing of it read) */
static TenantConfig *
TenantEntry(ConfigState *state, Datum tenant)
{
	int64		tenant_id = DatumGetInt64(tenant);
	TenantConfig *entry;
	bool		found;

	if (state->tenants == NULL)
		state->tenants = StateHash(state, "cadence tenants' configuration", sizeof(int64), sizeof(TenantConfig));
	entry = hash_search(state->tenants, &tenant_id, HASH_ENTER, &found);
	if (!found)
	{
		entry->kinds_read = false;
		entry->kinds.n = 0;
		entry->kinds.rows = NULL;
		entry->model = NULL;
		entry->routes_read = false;
		entry->nroutes = 0;
		entry->routes = NULL;
	}
	return entry;
}

/*
 * Run a reading statement into SPI_tuptable; the caller's memory context
 * stays current.  Until ReadDone(), an error would leave a partial entry,
 * so the state is dropped at the next look-up.
 */
static uint64
ReadConfig(ConfigState *state, SPIPlanPtr plan, Datum *args, const char *what)
{
	uint64		before = invalidations;
	MemoryContext caller = CurrentMemoryContext;
	int			rc;

	state->drop_at_next = true;
	/* not read-only: a snapshot of its own, taken after the invalidations seen */
	rc = SPI_execute_plan(plan, args, NULL, false, 0);
	MemoryContextSwitchTo(caller);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading %s failed: %s", what, SPI_result_code_string(rc));
	return before;
}

/*
 * What was read is copied into the state: keep it, unless an invalidation
 * arrived while it was read (it may have seen the tables from before a
 * change); drop_before: the state was to be dropped already.
 */
static void
ReadDone(ConfigState *state, uint64 invalidations_before, bool drop_before)
{
	SPI_freetuptable(SPI_tuptable);
	state->drop_at_next = drop_before || invalidations != invalidations_before;
}

/* Read the kinds of a kinds statement into list, in the state's memory. */
static void
ReadKinds(ConfigState *state, SPIPlanPtr plan, Datum *args, KindList *list)
{
	bool		drop_before = state->drop_at_next;
	uint64		before = ReadConfig(state, plan, args, "the event kinds");
	MemoryContext caller = MemoryContextSwitchTo(state->context);
	uint64		i;

	list->n = (int) SPI_processed;
	list->rows = palloc0(sizeof(KindRow) * Max(list->n, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		KindRow    *kind = &list->rows[i];
		bool		isnull;
		text	   *name = DatumGetTextPP(SPI_getbinval(row, desc, 1, &isnull));
		Datum		channel;

		if (VARSIZE_ANY_EXHDR(name) >= NAMEDATALEN)
			elog(ERROR, "event kind \"%s\" is longer than %d bytes", text_to_cstring(name), NAMEDATALEN - 1);
		memcpy(kind->kind, VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
		kind->response = RowFlag(row, desc, 2);
		kind->engagement = RowFlag(row, desc, 3);
		kind->human_contact = RowFlag(row, desc, 4);
		kind->consent = RowFlag(row, desc, 5);
		channel = SPI_getbinval(row, desc, 6, &isnull);
		kind->preferred_channel = isnull ? NULL : DatumGetTextPCopy(channel);
		kind->default_exit = RowFlag(row, desc, 7);
		kind->default_pause = RowFlag(row, desc, 8);
		kind->default_hand_off = RowFlag(row, desc, 9);
	}
	MemoryContextSwitchTo(caller);
	ReadDone(state, before, drop_before);
}

/* the row of a kind (text) in list, or NULL */
static const KindRow *
FindKind(const KindList *list, Datum kind)
{
	text	   *name = DatumGetTextPP(kind);
	int			len = VARSIZE_ANY_EXHDR(name);
	int			i;

	if (len >= NAMEDATALEN)
		return NULL;
	for (i = 0; i < list->n; i++)
		if (strncmp(list->rows[i].kind, VARDATA_ANY(name), len) == 0 && list->rows[i].kind[len] == '\0')
			return &list->rows[i];
	return NULL;
}

/*
 * What the kinds of an event do, for tenant: whether kind is a kind at
 * all (the tenant's own or a built-in one), and the effects of
 * applied_kind, the kind the event acts as (a tenant's own kind says all
 * of its effects; else the built-in one; else none).  The preferred
 * channel is copied into the caller's memory.  The caller has connected
 * SPI.
 */
bool
LookUpEventKind(Datum tenant, Datum kind, Datum applied_kind, EventKindEffects *effects)
{
	ConfigState *state = CurrentState();
	TenantConfig *entry = TenantEntry(state, tenant);
	const KindRow *row;
	bool		known;

	if (!state->builtin_read)
	{
		ReadKinds(state, KeptPlan(&builtin_kinds_plan, builtin_kinds_sql, 0, NULL, 0), NULL, &state->builtin);
		state->builtin_read = true;
	}
	if (!entry->kinds_read)
	{
		Oid			argtypes[1] = {INT8OID};

		ReadKinds(state, KeptPlan(&tenant_kinds_plan, tenant_kinds_sql, 1, argtypes, 0), &tenant, &entry->kinds);
		entry->kinds_read = true;
	}

	known = FindKind(&entry->kinds, kind) != NULL || FindKind(&state->builtin, kind) != NULL;
	row = FindKind(&entry->kinds, applied_kind);
	if (row == NULL)
		row = FindKind(&state->builtin, applied_kind);

	memset(effects, 0, sizeof(EventKindEffects));
	if (row != NULL)
	{
		effects->response = row->response;
		effects->engagement = row->engagement;
		effects->human_contact = row->human_contact;
		effects->consent = row->consent;
		effects->default_exit = row->default_exit;
		effects->default_pause = row->default_pause;
		effects->default_hand_off = row->default_hand_off;
		if (row->preferred_channel != NULL)
		{
			effects->has_preferred_channel = true;
			effects->preferred_channel = PointerGetDatum(DatumGetTextPCopy(PointerGetDatum(row->preferred_channel)));
		}
	}
	return known;
}

/*
 * The compiled scoring model in force for tenant (its newest version, else
 * the built-in one), copied into the caller's memory.  The caller has
 * connected SPI.
 */
Jsonb *
ScoringModelOf(Datum tenant)
{
	ConfigState *state = CurrentState();
	TenantConfig *entry = TenantEntry(state, tenant);

	if (entry->model == NULL)
	{
		Oid			argtypes[1] = {INT8OID};
		bool		drop_before = state->drop_at_next;
		uint64		before = ReadConfig(state, KeptPlan(&model_plan, model_sql, 1, argtypes, 0), &tenant,
										"the scoring model");
		bool		isnull;
		Datum		model = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext caller;

		if (isnull)
			elog(ERROR, "no scoring model for tenant %lld", (long long) DatumGetInt64(tenant));
		caller = MemoryContextSwitchTo(state->context);
		entry->model = DatumGetJsonbPCopy(model);
		MemoryContextSwitchTo(caller);
		ReadDone(state, before, drop_before);
	}
	return DatumGetJsonbPCopy(JsonbPGetDatum(entry->model));
}

void
CadenceVersionOf(Datum tenant, Datum version_id, Datum *cadence_key, Jsonb **rules)
{
	ConfigState *state = CurrentState();
	VersionKey	key;
	CadenceVersion *entry;
	bool		found;

	if (state->versions == NULL)
		state->versions = StateHash(state, "cadence versions' rules", sizeof(VersionKey), sizeof(CadenceVersion));
	memset(&key, 0, sizeof(key));
	key.tenant_id = DatumGetInt64(tenant);
	key.version_id = DatumGetInt64(version_id);
	entry = hash_search(state->versions, &key, HASH_ENTER, &found);
	/* an entry without rules was not read (an error came in between) */
	if (!found || entry->rules == NULL)
	{
		Oid			argtypes[2] = {INT8OID, INT8OID};
		Datum		args[2];
		bool		drop_before = state->drop_at_next;
		uint64		before;
		bool		isnull;
		MemoryContext caller;

		entry->cadence_key = NULL;
		entry->rules = NULL;
		args[0] = tenant;
		args[1] = version_id;
		before = ReadConfig(state, KeptPlan(&version_plan, version_sql, 2, argtypes, 0), args,
							"a cadence version");
		if (SPI_processed != 1)
			elog(ERROR, "cadence version %lld of tenant %lld is missing",
				 (long long) key.version_id, (long long) key.tenant_id);
		caller = MemoryContextSwitchTo(state->context);
		entry->cadence_key = DatumGetTextPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		entry->rules = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		MemoryContextSwitchTo(caller);
		ReadDone(state, before, drop_before);
	}
	*cadence_key = PointerGetDatum(DatumGetTextPCopy(PointerGetDatum(entry->cadence_key)));
	*rules = DatumGetJsonbPCopy(JsonbPGetDatum(entry->rules));
}

/* whether two texts are the same, byte for byte */
static bool
SameText(text *a, text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/*
 * Whether tenant has a route to a cadence for leads reaching tier, for a
 * lead of segment (segment_null: none), as cadence.route_lead() looks for
 * one: a route of the lead's segment, or of '*'.  The caller has
 * connected SPI.
 */
bool
RouteExists(Datum tenant, Datum tier, Datum segment, bool segment_null)
{
	ConfigState *state = CurrentState();
	TenantConfig *entry = TenantEntry(state, tenant);
	text	   *any = cstring_to_text("*");
	text	   *lead_segment = segment_null ? any : DatumGetTextPP(segment);
	text	   *wanted_tier = DatumGetTextPP(tier);
	int			i;

	if (!entry->routes_read)
	{
		Oid			argtypes[1] = {INT8OID};
		bool		drop_before = state->drop_at_next;
		uint64		before = ReadConfig(state, KeptPlan(&routes_plan, routes_sql, 1, argtypes, 0), &tenant,
										"the routes");
		MemoryContext caller = MemoryContextSwitchTo(state->context);

		entry->nroutes = (int) SPI_processed;
		entry->routes = palloc0(sizeof(RouteKey) * Max(entry->nroutes, 1));
		for (i = 0; i < entry->nroutes; i++)
		{
			bool		isnull;

			entry->routes[i].tier = DatumGetTextPCopy(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			entry->routes[i].segment = DatumGetTextPCopy(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		}
		MemoryContextSwitchTo(caller);
		entry->routes_read = true;
		ReadDone(state, before, drop_before);
	}
	for (i = 0; i < entry->nroutes; i++)
		if (SameText(entry->routes[i].tier, wanted_tier) &&
			(SameText(entry->routes[i].segment, lead_segment) || SameText(entry->routes[i].segment, any)))
			return true;
	return false;
}

/*
 * cadence.config_changed(): AFTER INSERT OR UPDATE OR DELETE ... FOR EACH
 * ROW, and AFTER TRUNCATE ... FOR EACH STATEMENT, on the tables of
 * config_tables (ENABLE ALWAYS).  Every backend drops what it keeps once
 * the change commits; a statement of many rows sends one invalidation.
 */
PG_FUNCTION_INFO_V1(cadence_config_changed);

Datum
cadence_config_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cadence.config_changed() was not called by the trigger manager")));
	trigdata = (TriggerData *) fcinfo->context;
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}
