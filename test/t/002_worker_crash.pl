# The scheduler through crashes: kill -9 of the database worker in the middle
# of a long tick, kill -9 of a client backend in the middle of its own tick
# (as pg_cron would run it) with an uncommitted enrolment, and an immediate
# shutdown of the server in the middle of the worker's tick.  After each, the
# server recovers, the launcher starts a new worker, and once things settle
# every step of every committed enrolment has exactly one touch: none lost,
# none duplicated; the uncommitted enrolment left nothing.
#
# Each round commits 3,000 enrolments whose three steps are all due, so a
# tick queues 9,000 touches and takes seconds: long enough to be caught in
# the middle (the worker holds its row lock on cadence.touch while it
# inserts).  The interval is an hour, so the worker ticks only when woken
# (cadence.wake_worker() at commit) or when it starts.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $enrolments_per_round = 3000;
my $steps = 3;

my $node = PostgreSQL::Test::Cluster->new('crashes');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'cadence'
cadence.databases = 'app'
cadence.worker_enabled = on
cadence.tick_interval = '1h'
max_worker_processes = 16
restart_after_crash = on
timezone = 'UTC'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION cadence');
# restarted so that the launcher finds the database as it starts (it looks
# again only every 10 s)
$node->restart;
$node->safe_psql('app', q{
	SELECT cadence.define_cadence($${"key": "three-emails", "name": "Three emails a minute apart", "steps": [
	    {"channel": "email", "timing": "immediate",
	     "message": {"subject": "Thanks, {{first_name|there}}", "body": "We got your request, {{first_name|there}}."}},
	    {"channel": "email", "timing": "+1 minutes", "message": {"subject": "Photos", "body": "Here are the photos."}},
	    {"channel": "email", "timing": "+2 minutes", "message": {"subject": "Pricing", "body": "Here is the price."}}]}$$)});

# The running worker of app (its pid), once there is one.
sub worker_pid
{
	$node->poll_query_until('app',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'cadence worker' AND datname = 'app'})
	  or die 'no cadence worker for app';
	return $node->safe_psql('app',
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'cadence worker' AND datname = 'app'});
}

# Commit a round of leads, each enrolled ten minutes ago so that all three
# steps are due.  Inserted directly: nothing wakes the worker.
sub commit_round
{
	my ($round) = @_;
	$node->safe_psql('app', qq{
		INSERT INTO cadence.lead (external_id, first_name, email, time_zone)
		SELECT '$round-' || i, 'Lead', '$round-' || i || '\@example.com', 'America/Chicago'
		  FROM generate_series(1, $enrolments_per_round) AS i;
		INSERT INTO cadence.enrolment (tenant_id, lead_id, cadence_version_id, enrolled_at, next_step_no, next_due_at)
		SELECT 1, l.lead_id, v.cadence_version_id, now() - interval '10 minutes', 1, now() - interval '10 minutes'
		  FROM cadence.lead l CROSS JOIN cadence.cadence_version v
		 WHERE l.external_id LIKE '$round-%' AND v.cadence_key = 'three-emails'});
}

# Poll until the backend with this pid (or the worker, without one) is in the
# middle of a tick: it holds the lock it takes to insert touches.
sub wait_mid_tick
{
	my ($pid) = @_;
	my $who = defined $pid ? "a.pid = $pid" : q{a.backend_type = 'cadence worker' AND a.datname = 'app'};
	return $node->poll_query_until('app', qq{
		SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		 WHERE $who AND l.relation = 'cadence.touch'::regclass AND l.mode = 'RowExclusiveLock' AND l.granted});
}

# Wait until every step of the round's enrolments has been ticked, then
# return "lost duplicated touches": steps without a touch, steps with more
# than one, and the round's touches in all.
sub settle_round
{
	my ($round) = @_;
	$node->poll_query_until('app', qq{
		SELECT count(*) = 0 FROM cadence.enrolment e JOIN cadence.lead l USING (tenant_id, lead_id)
		 WHERE l.external_id LIKE '$round-%' AND e.next_due_at IS NOT NULL});
	return $node->safe_psql('app', qq{
		SELECT count(*) FILTER (WHERE n = 0) || ' ' || count(*) FILTER (WHERE n > 1) || ' ' || sum(n)
		  FROM (SELECT (SELECT count(*) FROM cadence.touch t
		                 WHERE t.tenant_id = e.tenant_id AND t.enrolment_id = e.enrolment_id AND t.step_no = s.step_no) AS n
		          FROM cadence.enrolment e JOIN cadence.lead l USING (tenant_id, lead_id)
		         CROSS JOIN generate_series(1, $steps) AS s (step_no)
		         WHERE l.external_id LIKE '$round-%') AS per_step});
}

my $expected = $enrolments_per_round * $steps;

# --- 1. kill -9 of the worker in the middle of its tick -------------------------------
my $pid = worker_pid();
my $log_offset = -s $node->logfile;
commit_round('kill-worker');
$node->safe_psql('app', 'SELECT cadence.wake_worker()');
ok(wait_mid_tick(), 'the worker is in the middle of ticking 3,000 due enrolments');
kill 'KILL', $pid;
my $new_pid = worker_pid();
isnt($new_pid, $pid, 'after kill -9 of the worker the server recovered and a new worker runs');
ok($node->log_contains(qr/background worker "cadence worker" \(PID $pid\) was terminated by signal 9/, $log_offset),
	'the server log shows the worker killed');
is(settle_round('kill-worker'), "0 0 $expected", 'every step has exactly one touch: none lost, none duplicated');

# --- 2. kill -9 of a client backend in the middle of its own tick -------------------------
# The client ticks the way pg_cron would, in a transaction that has also
# enrolled leads of its own; the worker sleeps (nothing woke it).
commit_round('kill-client');
my $client = $node->background_psql('app', on_error_stop => 0);
my $client_pid = $client->query_safe('SELECT pg_backend_pid()');
$client->query_safe(q{
	BEGIN;
	INSERT INTO cadence.lead (external_id, first_name, email, time_zone)
	SELECT 'uncommitted-' || i, 'Lead', 'uncommitted-' || i || '@example.com', 'America/Chicago'
	  FROM generate_series(1, 50) AS i;
	SELECT count(cadence.enroll(lead_id, 'three-emails')) FROM cadence.lead WHERE external_id LIKE 'uncommitted-%'});
$client->query_until(qr/ticking/, "\\echo ticking\nSELECT * FROM cadence.run_worker_tick();\n");
ok(wait_mid_tick($client_pid), 'a client backend is in the middle of its tick, with uncommitted enrolments');
$pid = worker_pid();
kill 'KILL', $client_pid;
$new_pid = worker_pid();
isnt($new_pid, $pid, 'after kill -9 of the client the server recovered and a new worker runs');
eval { $client->quit };
is(settle_round('kill-client'), "0 0 $expected",
	'the worker redid the killed tick: every step has exactly one touch');
is( $node->safe_psql('app', q{
		SELECT (SELECT count(*) FROM cadence.lead WHERE external_id LIKE 'uncommitted-%') || ' '
		    || (SELECT count(*) FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id)
		         WHERE l.external_id LIKE 'uncommitted-%')}),
	'0 0', 'the killed transaction left no leads and no touches');

# --- 3. immediate shutdown in the middle of the worker's tick, then a start ------------------
commit_round('crash-restart');
$log_offset = -s $node->logfile;
$node->safe_psql('app', 'SELECT cadence.wake_worker()');
ok(wait_mid_tick(), 'the worker is in the middle of its tick');
$node->stop('immediate');
$node->start;
ok($node->log_contains(qr/database system was not properly shut down; automatic recovery in progress/, $log_offset),
	'the server started with crash recovery');
is(settle_round('crash-restart'), "0 0 $expected",
	'after the crash restart every step has exactly one touch');

# --- over all rounds -------------------------------------------------------------------------
is( $node->safe_psql('app', q{
		SELECT count(*) || ' ' || count(DISTINCT (enrolment_id, step_no)) || ' ' || count(*) FILTER (WHERE status <> 'queued')
		  FROM cadence.touch}),
	3 * $expected . ' ' . 3 * $expected . ' 0',
	'in all: one queued touch per step of the 9,000 committed enrolments');
is($node->safe_psql('app', q{SELECT errors FROM cadence.worker_status WHERE database = 'app'}),
	'0', 'the worker counted no failed tick since the last start');

$node->stop;
done_testing();
