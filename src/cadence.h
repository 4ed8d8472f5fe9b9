/*
 * cadence.h
 *		Declarations shared between the C files of the cadence extension.
 */
#ifndef CADENCE_H
#define CADENCE_H

#include "access/htup.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "nodes/nodes.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

/* settings (cadence.c) */
extern int	cadence_tick_batch_size;

/* Weekday bit masks: bit 0 is Sunday, as in j2day(). */
#define CADENCE_ALL_WEEKDAYS 0x7F

/* local time in a lead's zone (localtime.c) */
typedef struct LocalMoment
{
	int			julian;			/* local calendar date as a Julian day */
	int64		usec_of_day;	/* microseconds since local midnight */
	int			weekday;		/* 0 = Sunday .. 6 = Saturday */
} LocalMoment;

extern pg_tz *LookupTimeZone(const char *name, const char *field);
extern LocalMoment ToLocal(TimestampTz t, pg_tz *tz);
extern TimestampTz FromLocal(int julian, int64 usec_of_day, pg_tz *tz);
extern TimestampTz NextAllowedMoment(TimestampTz t, pg_tz *tz,
									 int64 from_usec, int64 until_usec,
									 int weekday_mask);

/* statements prepared once per backend (kept_plan.c) */
extern SPIPlanPtr KeptPlan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes,
						   int cursor_options);

/* lead scores (score.c) */
typedef struct LeadScore
{
	int			score;
	const char *tier;			/* the tier after this score, hysteresis applied */
	bool		below_exit;		/* under the model's exit line */
} LeadScore;

extern LeadScore ScoreLead(Jsonb *model, HeapTupleHeader lead, ArrayType *kinds, ArrayType *times,
						   TimestampTz as_of, const char *current_tier);

/* the same scoring over rows of a query, for the nightly pass (score.c) */
typedef struct ScoringModel ScoringModel;

extern ScoringModel *ParseScoringModel(Jsonb *document);
extern void ResolveLeadColumns(ScoringModel *model, TupleDesc desc);
extern int	EngagementRuleCount(const ScoringModel *model);
extern int	EngagementRuleFor(const ScoringModel *model, const char *kind, int len);
extern void AddEventPoints(const ScoringModel *model, double *decayed, int rule,
						   TimestampTz at, TimestampTz as_of);
extern double EngagementTotal(const ScoringModel *model, const double *decayed);
extern LeadScore ScoreLeadSlot(ScoringModel *model, TupleTableSlot *slot, double engagement,
							   const char *current_tier);

/* the scoring model and routes of a tenant, as the backend keeps them (config_cache.c) */
extern Jsonb *ScoringModelOf(Datum tenant);
extern bool RouteExists(Datum tenant, Datum tier, Datum segment, bool segment_null);

/* reads by key, without statements (key_read.c) */
extern Oid	LeadTable(void);
extern bool OnlyTenantPolicy(Relation rel, Node **tenant);
extern bool KeyReadsApply(void);
extern Snapshot StartRead(void);
extern void EndRead(void);
extern void RefuseIfSnapshotKept(void);

/* a lead as scoring reads it, locked (key_read.c) */
typedef struct LeadRead
{
	ItemPointerData tid;		/* where its row is */
	bool		written_here;	/* that row version is this transaction's */
	HeapTupleHeader row;		/* its row, a cadence.lead datum */
	Datum		score;			/* int4 */
	bool		score_null;
	char	   *tier;			/* NULL: none yet */
	Datum		segment;		/* text */
	bool		segment_null;
	ArrayType  *kinds;			/* the kinds its events act as; NULL: no events */
	ArrayType  *times;			/* their times, in the same order */
	TimestampTz at;				/* the newest of them */
	bool		at_null;
} LeadRead;

extern LeadRead *ReadLeadForScoring(Datum tenant, Datum lead);

/* scoring again the leads of new events, and writing what the events change on them (rescore.c) */
extern uint64 RescoreLeadsOfNewEvents(Datum decisions, bool by_key);
extern bool RescoreEventLead(Datum tenant, Datum lead, Datum decisions, LeadRead *read);

/* the scheduler (worker.c) */
extern void CadenceWorkerInit(void);
extern void CadenceWakeWorkerAtCommit(void);

#endif							/* CADENCE_H */
