/*
 * cadence.c
 *		Module entry point: the module magic block and the settings every
 *		part of the extension shares.
 *
 * The settings live under the reserved prefix "cadence".  The current tenant
 * is a plain string setting so that applications can scope a transaction with
 * SET LOCAL (or cadence.set_tenant) and row-level security policies can read
 * it with current_setting('cadence.tenant_id', true); an empty value means
 * the default tenant.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "cadence.h"

PG_MODULE_MAGIC;

/* Current tenant as text; read by SQL, never by C. */
static char *cadence_tenant_id = NULL;

/* How many enrolments one tick statement advances at most. */
int			cadence_tick_batch_size = 10000;

void		_PG_init(void);

/*
 * Define the settings and reserve the prefix, so that a typo such as
 * "cadence.tenantid" is reported instead of silently creating a placeholder.
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("cadence.tenant_id",
							   "Tenant that cadence functions and row-level security act for.",
							   "Empty means the default tenant (1). Set it per transaction with cadence.set_tenant().",
							   &cadence_tenant_id,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("cadence.tick_batch_size",
							"Enrolments advanced by one statement of cadence.tick().",
							"A tick repeats its statement until nothing is due, so this bounds memory per statement, not work per tick.",
							&cadence_tick_batch_size,
							10000, 1, 1000000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	CadenceWorkerInit();

	MarkGUCPrefixReserved("cadence");
}
