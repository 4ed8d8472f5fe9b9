/*
 * localtime.c
 *		Conversions between UTC instants and wall-clock time in a lead's own
 *		IANA time zone, and the search for the next allowed local moment.
 *
 * Every customer-facing rule (quiet hours, step windows, preferred weekdays)
 * is stated in the lead's local time, so all of them go through here.  DST
 * gaps are resolved the way PostgreSQL resolves them for timestamptz input.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "cadence.h"

PG_FUNCTION_INFO_V1(cadence_check_time_zone);

/*
 * Whether a name PostgreSQL would read as a POSIX rule rather than a zone
 * of the time zone database: "UTC-5", "GMT+3", "EST5EDT".  Such a rule is
 * easy to get backwards ("UTC-5" is five hours east of UTC) and knows no
 * local daylight-saving dates, so a lead's quiet hours would be an hour or
 * ten off; a lead's time zone may not be one.  Zone names hold no digits,
 * except the fixed offsets Etc/GMT+N and Etc/GMT-N.
 */
static bool
IsPosixRule(const char *name)
{
	const char *p;

	if (pg_strncasecmp(name, "Etc/GMT", 7) == 0 && (name[7] == '+' || name[7] == '-'))
	{
		p = name + 8;
		if (*p >= '0' && *p <= '9')
			p++;
		if (*p >= '0' && *p <= '9')
			p++;
		if (*p == '\0' && p > name + 8)
			return false;
	}
	for (p = name; *p != '\0'; p++)
		if (*p >= '0' && *p <= '9')
			return true;
	return false;
}

/*
 * Find a time zone by IANA name, or fail naming the field it came from.
 */
pg_tz *
LookupTimeZone(const char *name, const char *field)
{
	pg_tz	   *tz = NULL;

	if (name[0] != '\0')
		tz = pg_tzset(name);
	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid time zone \"%s\" in field \"%s\"", name, field),
				 errhint("Use an IANA time zone name such as \"America/Chicago\".")));
	return tz;
}

/*
 * Split an instant into the local date, time of day and weekday in tz.
 */
LocalMoment
ToLocal(TimestampTz t, pg_tz *tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	LocalMoment m;

	if (timestamp2tm(t, &tzoff, &tm, &fsec, NULL, tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));

	m.julian = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
	m.usec_of_day = ((((int64) tm.tm_hour * MINS_PER_HOUR) + tm.tm_min) * SECS_PER_MINUTE
					 + tm.tm_sec) * USECS_PER_SEC + fsec;
	m.weekday = j2day(m.julian);
	return m;
}

/*
 * The instant at which the wall clock in tz shows the given local date and
 * time of day, resolved as PostgreSQL resolves timestamptz input: a local
 * time inside a spring-forward gap is read with the offset in force before
 * the gap (02:30 becomes 03:30 daylight time), and an ambiguous fall-back
 * time as standard time (01:30 becomes 01:30 standard time).
 */
TimestampTz
FromLocal(int julian, int64 usec_of_day, pg_tz *tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	Timestamp	result;
	int64		secs;

	/* 24:00 is the next day's midnight */
	if (usec_of_day >= USECS_PER_DAY)
	{
		julian += (int) (usec_of_day / USECS_PER_DAY);
		usec_of_day %= USECS_PER_DAY;
	}

	memset(&tm, 0, sizeof(tm));
	j2date(julian, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	secs = usec_of_day / USECS_PER_SEC;
	fsec = usec_of_day % USECS_PER_SEC;
	tm.tm_hour = (int) (secs / SECS_PER_HOUR);
	tm.tm_min = (int) ((secs / SECS_PER_MINUTE) % MINS_PER_HOUR);
	tm.tm_sec = (int) (secs % SECS_PER_MINUTE);

	tzoff = DetermineTimeZoneOffset(&tm, tz);
	if (tm2timestamp(&tm, fsec, &tzoff, &result) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return result;
}

/*
 * The earliest instant at or after t whose local time of day lies in
 * [from_usec, until_usec) on a weekday in weekday_mask.  from < until is
 * guaranteed by the callers' validation; until may be 24:00.
 */
TimestampTz
NextAllowedMoment(TimestampTz t, pg_tz *tz, int64 from_usec, int64 until_usec,
				  int weekday_mask)
{
	int			day;

	if ((weekday_mask & CADENCE_ALL_WEEKDAYS) == 0)
		weekday_mask = CADENCE_ALL_WEEKDAYS;

	/* the start day plus a week always contains an allowed day */
	for (day = 0; day <= 8; day++)
	{
		LocalMoment m = ToLocal(t, tz);

		if (weekday_mask & (1 << m.weekday))
		{
			if (m.usec_of_day < from_usec)
				return FromLocal(m.julian, from_usec, tz);
			if (m.usec_of_day < until_usec)
				return t;
		}
		/* try the start of the next local day's window */
		t = FromLocal(m.julian + 1, from_usec, tz);
	}
	return t;
}

/*
 * cadence.check_time_zone(text) returns boolean
 *
 * Used by CHECK constraints: true for a zone of the time zone database,
 * otherwise an error that names the field, which a bare CHECK could not do.
 * Offset rules are refused here, where a time zone is written; where one
 * is read (LookupTimeZone) any zone PostgreSQL knows is used as it is.
 */
Datum
cadence_check_time_zone(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (IsPosixRule(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid time zone \"%s\" in field \"time_zone\": an offset rule, not a zone name", name),
				 errhint("Use the IANA name of the lead's place, such as \"America/New_York\": it knows the daylight-saving dates.")));
	(void) LookupTimeZone(name, "time_zone");
	PG_RETURN_BOOL(true);
}
