/*
 * lead_write.h
 *		Writing lead rows through the executor's own steps, without a
 *		statement (lead_write.c): the nightly rescore and one event's rescore.
 */
#ifndef CADENCE_LEAD_WRITE_H
#define CADENCE_LEAD_WRITE_H

#include "postgres.h"

#include "access/tableam.h"
#include "nodes/execnodes.h"
#include "utils/relcache.h"

/* The columns a writer may change, and its state. */
typedef enum LeadColumn
{
	LEAD_SCORE,
	LEAD_TIER,
	LEAD_SCORED_AT,
	LEAD_LAST_RESPONSE_AT,
	LEAD_LAST_ENGAGEMENT_AT,
	LEAD_PREFERRED_CHANNEL,
	LEAD_SCORE_BONUS,
	LEAD_NCOLUMNS
} LeadColumn;

typedef struct LeadWriter
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *new_row;	/* the row to write, which the caller fills */
	int			column[LEAD_NCOLUMNS];	/* 0-based attribute numbers in the table */
	int			nchecks;		/* the CHECK constraints that read written columns */
	ExprState **checks;
	char	  **check_names;
	bool		keys_untouched; /* no foreign key can see the writes */
} LeadWriter;

/* whether an UPDATE of the lead table (rel) does nothing a writer would skip */
extern bool LeadTableIsPlain(Relation rel);

/*
 * Get ready to write columns (LEAD_ ... values; ncolumns of them) of rel,
 * under the active snapshot; the caller's rights are checked as for an
 * UPDATE of them.
 */
extern void OpenLeadWriter(LeadWriter *writer, Relation rel, const LeadColumn *columns, int ncolumns);

/*
 * Write writer->new_row over the row version at tid; written_here: that
 * version was written by this transaction.  TM_Updated or TM_Deleted: another
 * transaction changed the row since it was read (READ COMMITTED only).
 */
extern TM_Result WriteLeadRow(LeadWriter *writer, ItemPointer tid, bool written_here);

/* Run the writes' foreign-key checks and free the writer; later commands see the rows. */
extern void CloseLeadWriter(LeadWriter *writer);

#endif							/* CADENCE_LEAD_WRITE_H */
