# The scheduler's background workers on a live server: the launcher and one
# worker per configured database start (and a database without the extension
# gets none that stays), an enrolment's first touch is queued with nobody
# calling cadence.tick(), the worker is woken by a commit (never before it,
# and a rolled-back enrolment leaves nothing), it wakes by itself when the
# next step falls due however long cadence.tick_interval is, senders
# listening on cadence_touches get one notification per ready channel per
# tick, a reloaded tick interval takes effect, SIGTERM ends the worker and
# the launcher starts a new one, and a failing tick is counted and retried
# while the worker keeps running.
#
# The interval starts at an hour, so that any touch that appears within the
# poll timeout (far shorter) was queued by a wake-up, not by the interval.
# Every wait is poll_query_until; assertions are on counts and states only.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('scheduler');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'cadence'
cadence.databases = 'app, no_cadence'
cadence.worker_enabled = on
cadence.tick_interval = '1h'
max_worker_processes = 16
# a crash must not hide the checks after it; the last check asserts there was none
restart_after_crash = on
timezone = 'UTC'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('postgres', 'CREATE DATABASE no_cadence');
$node->safe_psql('app', 'CREATE EXTENSION cadence');
# restarted so that the launcher finds both databases as it starts (it
# looks again only every 10 s)
$node->restart;

# One value from the worker_status row of database app.
sub app_status
{
	my ($column) = @_;
	return $node->safe_psql('app',
		"SELECT $column FROM cadence.worker_status WHERE database = 'app'");
}

# Poll until the query returns a row with a non-empty value, and return it
# ('' after the timeout).  Connection failures (the server restarting after
# a crash) count as no value yet.
sub poll_outcome
{
	my ($query) = @_;
	for (my $i = 0; $i < 10 * $PostgreSQL::Test::Utils::timeout_default; $i++)
	{
		my ($rc, $out) = $node->psql('app', $query);
		return $out if $rc == 0 && $out ne '';
		usleep(100_000);
	}
	return '';
}

# Poll until a touch exists for the lead with this external id (and step).
sub wait_for_touch
{
	my ($external_id, $step_no) = @_;
	$step_no //= 1;
	return $node->poll_query_until('app', qq{
		SELECT count(*) = 1 FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id)
		 WHERE l.external_id = '$external_id' AND t.step_no = $step_no});
}

# --- the processes ------------------------------------------------------------
ok( $node->poll_query_until('app', q{
		SELECT count(*) FILTER (WHERE backend_type = 'cadence launcher' AND application_name = 'cadence launcher') = 1
		   AND count(*) FILTER (WHERE backend_type = 'cadence worker' AND application_name = 'cadence worker'
		                          AND datname = 'app') = 1
		  FROM pg_stat_activity}),
	'one cadence launcher and one cadence worker for database app in pg_stat_activity');
ok($node->poll_query_until('app', q{SELECT ticks >= 1 FROM cadence.worker_status WHERE database = 'app'}),
	'the worker of app has ticked');
is( $node->safe_psql('app', q{
		SELECT s.installed AND s.errors = 0 AND s.pid = a.pid
		  FROM cadence.worker_status s JOIN pg_stat_activity a ON a.backend_type = 'cadence worker' AND a.datname = 'app'
		 WHERE s.database = 'app'}),
	't', 'worker_status shows the running worker of app, installed, with no errors');
ok( $node->poll_query_until('app', q{
		SELECT installed IS FALSE AND ticks = 0 FROM cadence.worker_status WHERE database = 'no_cadence'}),
	'a database without the extension is marked not installed and never ticked');

# --- cadences and leads ---------------------------------------------------------
$node->safe_psql('app', q{
	SELECT cadence.define_cadence($${"key": "welcome", "name": "Welcome emails", "steps": [
	    {"channel": "email", "timing": "immediate",
	     "message": {"subject": "Thanks, {{first_name|there}}", "body": "We got your request."}},
	    {"channel": "email", "timing": "+1 days", "message": {"subject": "Any questions?", "body": "Reply any time."}}]}$$);
	SELECT cadence.define_cadence($${"key": "catch-up", "name": "Email, then another a minute later", "steps": [
	    {"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "First."}},
	    {"channel": "email", "timing": "+1 minutes", "message": {"subject": "Hello again", "body": "Second."}}]}$$);
	SELECT cadence.define_cadence($${"key": "rep-task", "name": "A task for the rep", "steps": [
	    {"channel": "task", "timing": "immediate", "message": {"body": "Look at {{first_name|the lead}}'s trade-in."}}]}$$);
	INSERT INTO cadence.rep (name, on_duty) VALUES ('Dana Ortiz', true);
	INSERT INTO cadence.lead (external_id, first_name, email, time_zone)
	SELECT id, initcap(id), id || '@example.com', 'America/Chicago'
	  FROM unnest(ARRAY['ana', 'ben', 'cleo', 'dev', 'eve', 'finn', 'gus', 'hana', 'ines', 'jay',
	                    'kim', 'lee', 'max', 'noa', 'oli']) AS id;
});

# --- wake at commit ---------------------------------------------------------------
$node->safe_psql('app',
	q{SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id = 'ana'});
ok(wait_for_touch('ana'), 'an enrolment commit: the first touch is queued with nobody calling tick');
is( $node->safe_psql('app', q{
		SELECT t.status || ' ' || (t.created_at >= e.enrolled_at)
		  FROM cadence.touch t JOIN cadence.enrolment e USING (tenant_id, enrolment_id)
		  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
		 WHERE l.external_id = 'ana'}),
	'queued true', 'the touch is queued, by a tick at or after the enrolment');

# An enrolment left open: a tick woken meanwhile (by another lead's commit)
# cannot see it; its own commit must wake the worker again.
my $open = $node->background_psql('app');
$open->query_safe(
	q{BEGIN; SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id = 'ben'});
$node->safe_psql('app',
	q{SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id = 'cleo'});
ok(wait_for_touch('cleo'), 'another commit wakes the worker while an enrolment is still open');
is( $node->safe_psql('app', q{
		SELECT count(*) FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id) WHERE l.external_id = 'ben'}),
	'0', 'that tick did not queue anything for the uncommitted enrolment');
$open->query_safe('COMMIT');
ok(wait_for_touch('ben'), 'the open enrolment\'s commit wakes the worker and its first touch is queued');

# A rolled-back enrolment: no enrolment and no touch, even after later ticks.
$open->query_safe(
	q{BEGIN; SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id = 'dev'; ROLLBACK});
$node->safe_psql('app',
	q{SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id = 'eve'});
ok(wait_for_touch('eve'), 'a commit after the rollback is ticked');
is( $node->safe_psql('app', q{
		SELECT (SELECT count(*) FROM cadence.enrolment e WHERE e.lead_id = l.lead_id) || ' '
		    || (SELECT count(*) FROM cadence.touch t WHERE t.lead_id = l.lead_id)
		  FROM cadence.lead l WHERE l.external_id = 'dev'}),
	'0 0', 'the rolled-back enrolment left no enrolment and no touch');

# --- the next step, with nothing to wake the worker ---------------------------------
# Enrolled 57 s ago on a clock the worker reads: the second step falls due
# about 3 s from now.  Only the worker's own wake-up at that time (the
# interval is an hour) can queue it.
$node->safe_psql('app', q{
	SELECT cadence.enroll(lead_id, 'catch-up', now() - interval '57 seconds')
	  FROM cadence.lead WHERE external_id = 'finn'});
ok(wait_for_touch('finn', 1), 'the first step of an enrolment 57 s old is queued at the enrolment\'s commit');
ok(wait_for_touch('finn', 2), 'the second step is queued when it falls due, by the worker waking by itself');
is( $node->safe_psql('app', q{
		SELECT (t.planned_at = e.enrolled_at + interval '1 minute') || ' ' || (t.created_at >= t.planned_at)
		    || ' ' || t.status
		  FROM cadence.touch t JOIN cadence.enrolment e USING (tenant_id, enrolment_id)
		  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
		 WHERE l.external_id = 'finn' AND t.step_no = 2}),
	'true true queued', 'the second step is planned a minute after enrolment and was not queued before that');

# --- NOTIFY cadence_touches: once per channel with touches ready, per tick ----------------
# Nothing else is due for a day and the interval is an hour, so the commit
# below causes exactly one tick: three email touches and two tasks.
my $listener = $node->background_psql('app');
$listener->query_safe('LISTEN cadence_touches');
$node->safe_psql('app', q{
	BEGIN;
	SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id IN ('gus', 'hana', 'ines');
	SELECT cadence.enroll(lead_id, 'rep-task') FROM cadence.lead WHERE external_id IN ('jay', 'kim');
	COMMIT;
});
ok( $node->poll_query_until('app', q{
		SELECT count(*) = 5 FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id)
		 WHERE l.external_id IN ('gus', 'hana', 'ines', 'jay', 'kim') AND t.status = 'queued'}),
	'one commit enrolling five leads: five touches queued');
my $worker_pid = app_status('pid');
my $heard = '';
my $tries = 0;
# psql prints the notifications it has received after each query
while ($tries++ < 100)
{
	$heard .= $listener->query_safe('SELECT 1');
	last if $heard =~ /payload "email"/ && $heard =~ /payload "task"/;
	usleep(100_000);
}
my @notes = ($heard =~ /Asynchronous notification "cadence_touches" with payload "(\w+)" received from server process with PID $worker_pid\./g);
is(join(',', sort @notes), 'email,task',
	'the listener heard one notification from the worker per channel with ready touches (email and task), not one per touch');
$listener->quit;

# --- SIGTERM --------------------------------------------------------------------------
is($node->safe_psql('app', "SELECT pg_terminate_backend($worker_pid)"), 't', 'SIGTERM sent to the worker');
ok( $node->poll_query_until('app', qq{
		SELECT count(*) FILTER (WHERE pid = $worker_pid) = 0
		   AND count(*) FILTER (WHERE backend_type = 'cadence worker' AND datname = 'app') = 1
		  FROM pg_stat_activity}),
	'the worker ended and the launcher started a new one');
my $new_pid = app_status('pid');
isnt($new_pid, $worker_pid, 'worker_status shows the new worker\'s pid');
ok( $node->log_contains(qr/terminating background worker "cadence worker" due to administrator command/),
	'the server log shows the worker ended by the administrator');
$node->safe_psql('app',
	q{SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id = 'lee'});
ok(wait_for_touch('lee'), 'the new worker queues touches');

# --- a tick that fails --------------------------------------------------------------------
# The worker acts as cadence_worker: without EXECUTE on the tick (which a
# superuser would not need) its ticks fail, for every tenant.
my $log_offset = -s $node->logfile;
my $ticks;
$node->safe_psql('app', 'REVOKE EXECUTE ON FUNCTION cadence.tick_for_tenant(bigint, timestamptz) FROM cadence_worker');
$node->safe_psql('app',
	q{SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id = 'max'});
ok($node->poll_query_until('app', q{SELECT errors >= 1 FROM cadence.worker_status WHERE database = 'app'}),
	'a failing tick is counted in worker_status.errors');
like(app_status('last_error'), qr/^permission denied for function tick_for_tenant$/, 'worker_status.last_error says why');
is(app_status('last_error_at IS NOT NULL'), 't', 'worker_status.last_error_at is set');
$ticks = app_status('ticks');
ok($node->log_contains(qr/cadence: tick failed: permission denied for function tick_for_tenant/, $log_offset),
	'the failure is in the server log');
is( $node->safe_psql('app', q{
		SELECT count(*) FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id) WHERE l.external_id = 'max'}),
	'0', 'the failed tick queued nothing');
$node->safe_psql('app', 'GRANT EXECUTE ON FUNCTION cadence.tick_for_tenant(bigint, timestamptz) TO cadence_worker');
$node->safe_psql('app',
	q{SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id = 'noa'});
ok(wait_for_touch('noa'), 'once EXECUTE is granted again, the next commit is ticked');
ok(wait_for_touch('max'), 'and the lead enrolled while ticks failed gets its touch');
ok($node->poll_query_until('app', qq{SELECT ticks > $ticks FROM cadence.worker_status WHERE database = 'app'}),
	'worker_status counts the successful tick');
is(app_status('pid'), $new_pid, 'the same worker process kept running through the failure');

# --- one tenant that fails -----------------------------------------------------------
# A second tenant's step is edited by hand into something the tick cannot
# run: its tick is skipped and counted, and the first tenant's touches still
# go out, tick after tick.
my $errors = app_status('errors');
$node->safe_psql('app', q{
	SELECT cadence.create_tenant('Broken Motors');
	SELECT cadence.set_tenant(tenant_id, false) FROM cadence.tenant WHERE name = 'Broken Motors';
	SELECT cadence.define_cadence($${"key": "welcome", "name": "Welcome emails", "steps": [
	    {"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Welcome."}}]}$$);
	UPDATE cadence.step SET variants = '"not a list"' WHERE tenant_id = cadence.current_tenant();
	INSERT INTO cadence.lead (external_id, first_name, email, time_zone)
	VALUES ('broken-1', 'Bo', 'bo@example.com', 'America/Chicago');
	SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id = 'broken-1';
});
$node->safe_psql('app',
	q{SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id = 'oli'});
ok($node->poll_query_until('app', qq{SELECT errors > $errors FROM cadence.worker_status WHERE database = 'app'}),
	'a tick that skips a failing tenant is counted in worker_status.errors');
like(app_status('last_error'), qr/^tenant \d+: cannot get array length of a scalar \(SQLSTATE 22023\)$/,
	'worker_status.last_error names the tenant and the error');
ok(wait_for_touch('oli'), 'the other tenant\'s new enrolment is ticked meanwhile');
is( $node->safe_psql('app', q{
		SELECT count(*) FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id) WHERE l.external_id = 'broken-1'}),
	'0', 'the failing tenant queued nothing');
ok($node->log_contains(qr/cadence: tick failed for tenant \d+: cannot get array length/, $log_offset),
	'the server log names the tenant');
$node->safe_psql('app', q{
	UPDATE cadence.step SET variants = '[]' WHERE variants = '"not a list"';
	INSERT INTO cadence.lead (external_id, first_name, email, time_zone) VALUES ('pia', 'Pia', 'pia@example.com', 'America/Chicago');
	SELECT cadence.enroll(lead_id, 'welcome') FROM cadence.lead WHERE external_id = 'pia';   -- a commit wakes the worker
});
ok(wait_for_touch('broken-1'), 'once mended, the tenant is ticked again');

# --- a reloaded interval ------------------------------------------------------------
# From an hour to 100 ms: twenty more ticks could only come from the new
# interval, by the same worker under the same launcher.
$ticks = app_status('ticks');
my $launcher_pid = $node->safe_psql('app', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'cadence launcher'});
$node->safe_psql('app', q{ALTER SYSTEM SET cadence.tick_interval = '100ms'; SELECT pg_reload_conf()});
is( poll_outcome(qq{
		SELECT CASE WHEN pid IS DISTINCT FROM $new_pid THEN 'the worker was replaced'
		            WHEN ticks >= $ticks + 20 THEN 'ticking' END
		  FROM cadence.worker_status WHERE database = 'app'}),
	'ticking', 'after a reload from 1h to 100ms the same worker ticks again and again');
is( $node->safe_psql('app', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'cadence launcher'}),
	$launcher_pid, 'the launcher went through the reload');
is($node->safe_psql('app', 'SHOW cadence.tick_interval'), '100ms', 'the new interval is in effect');

# --- over the whole run -------------------------------------------------------------------
unlike(slurp_file($node->logfile), qr/was terminated by signal/, 'no server process crashed');

$node->stop;
done_testing();
