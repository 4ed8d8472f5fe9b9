# Backup and restore (docs/operations.md): pg_dump of a database using
# cadence, restored with pg_restore --single-transaction into a new
# database, keeps every row of user data the extension's tables hold and
# the identity sequences, so that new rows do not reuse ids.  The default
# tenant's row is made by CREATE EXTENSION, so (as for any extension's own
# rows) its changed settings are not in the dump: docs/operations.md says to
# set them again after a restore, and this test does so.  The restored
# database works: a tick and a claim run there.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('backup');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'cadence'
cadence.worker_enabled = off
timezone = 'UTC'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
	CREATE EXTENSION cadence;
	UPDATE cadence.tenant SET name = 'Lakeside Motors', retention = '90 days', unsubscribe_url = 'https://lakeside.example/u'
	 WHERE tenant_id = 1;
	SELECT cadence.create_tenant('Northside Motors');
	SELECT cadence.define_cadence($${"key": "welcome", "name": "Welcome", "steps": [
	    {"channel": "email", "timing": "immediate", "message": {"subject": "Hi {{first_name|there}}", "body": "From {{dealership}}."}},
	    {"channel": "sms", "timing": "+1 days", "message": {"body": "Still looking?"}}]}$$);
	INSERT INTO cadence.channel_policy (channel, allowed_from, allowed_until) VALUES ('sms', '10:00', '19:00');
	INSERT INTO cadence.rep (name, on_duty) VALUES ('Dana Ortiz', true);
	INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone)
	VALUES ('L-1', 'Ann', 'ann@example.com', '+13125550101', 'America/Chicago'),
	       ('L-2', 'Ben', 'ben@example.com', '+13125550102', 'America/Chicago');
	SELECT cadence.record_consent(lead_id, 'sms', 'grant', 'web_form', '2026-03-02 15:00+00') FROM cadence.lead;
	SELECT cadence.enroll(lead_id, 'welcome', '2026-03-02 15:00+00') FROM cadence.lead;
	SELECT cadence.tick('2026-03-02 15:00+00');
	SELECT cadence.record_event(lead_id, 'email_open', '2026-03-02 15:05+00', NULL, '{}', 'esp', 'open-' || lead_id)
	  FROM cadence.lead;
});

# What the tables hold, one line per table, in a form both databases print alike.
my $contents = q{
	SELECT string_agg(line, E'\n' ORDER BY line) FROM (
	    SELECT 'tenant ' || string_agg(format('%s %s %s %s', tenant_id, name, retention, unsubscribe_url), '; ' ORDER BY tenant_id) FROM cadence.tenant WHERE tenant_id <> 1
	    UNION ALL SELECT 'channel_policy ' || string_agg(format('%s %s-%s', channel, allowed_from, allowed_until), '; ') FROM cadence.channel_policy
	    UNION ALL SELECT 'rep ' || string_agg(format('%s %s', rep_id, name), '; ' ORDER BY rep_id) FROM cadence.rep
	    UNION ALL SELECT 'lead ' || string_agg(format('%s %s', lead_id, external_id), '; ' ORDER BY lead_id) FROM cadence.lead
	    UNION ALL SELECT 'consent ' || string_agg(format('%s %s %s', consent_id, channel, action), '; ' ORDER BY consent_id) FROM cadence.consent
	    UNION ALL SELECT 'cadence ' || string_agg(format('%s %s', cadence_key, current_version), '; ') FROM cadence.cadence
	    UNION ALL SELECT 'step ' || count(*) FROM cadence.step
	    UNION ALL SELECT 'enrolment ' || string_agg(format('%s %s %s %s', enrolment_id, status, next_step_no, next_due_at), '; ' ORDER BY enrolment_id) FROM cadence.enrolment
	    UNION ALL SELECT 'touch ' || string_agg(format('%s %s %s %s', touch_id, channel, status, due_at), '; ' ORDER BY touch_id) FROM cadence.touch
	    UNION ALL SELECT 'event ' || string_agg(format('%s %s %s', event_id, kind, provider_id), '; ' ORDER BY event_id) FROM cadence.event
	) AS t (line)};
my $before = $node->safe_psql('app', $contents);

my $dump = $node->basedir . '/app.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('app'), '-f', $dump ], 'pg_dump of the database');
$node->safe_psql('postgres', 'CREATE DATABASE app_restored');
$node->command_ok([ 'pg_restore', '--single-transaction', '-d', $node->connstr('app_restored'), $dump ],
	'pg_restore --single-transaction into a new database');

is($node->safe_psql('app_restored', $contents), $before, 'every table holds the same rows after the restore');
is( $node->safe_psql('app_restored', q{SELECT name || ' ' || retention FROM cadence.tenant WHERE tenant_id = 1}),
	'default 400 days', 'the default tenant comes back with the install settings (as documented)');
$node->safe_psql('app_restored', q{
	UPDATE cadence.tenant SET name = 'Lakeside Motors', retention = '90 days', unsubscribe_url = 'https://lakeside.example/u'
	 WHERE tenant_id = 1});

# New rows get new ids, and the engine runs on the restored data.
is( $node->safe_psql('app_restored', q{
		INSERT INTO cadence.lead (external_id, first_name, email, time_zone)
		VALUES ('L-3', 'Cleo', 'cleo@example.com', 'America/Chicago') RETURNING lead_id > 2}),
	't', 'a new lead gets an id after the restored ones');
is( $node->safe_psql('app_restored', q{
		SELECT cadence.enroll(lead_id, 'welcome', '2026-03-03 15:00+00') > 2 FROM cadence.lead WHERE external_id = 'L-3'}),
	't', 'a new enrolment gets an id after the restored ones');
is($node->safe_psql('app_restored', q{SELECT cadence.tick('2026-03-03 16:00+00')}),
	'3', 'a tick on the restored data queues the new lead\'s email and the others\' texts');
is( $node->safe_psql('app_restored', q{
		SELECT c.body FROM cadence.claim_touches(ARRAY['email'], 'sender', 10, '5 minutes', '2026-03-03 16:00+00') c
		  JOIN cadence.lead l USING (tenant_id, lead_id)
		 WHERE l.external_id = 'L-3'}),
	'From Lakeside Motors.' . "\n\n" . 'You are receiving this because you contacted Lakeside Motors. To stop these emails, https://lakeside.example/u.',
	'the restored tenant\'s name and unsubscribe link are in the new email');

$node->stop;
done_testing();
