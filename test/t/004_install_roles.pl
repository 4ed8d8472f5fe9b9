# The roles CREATE EXTENSION makes are cluster-wide group roles.  A role of
# one of their names that someone made beforehand with LOGIN (or another
# power) is not taken over: the install fails, names the role, and leaves
# nothing behind; once the role is a plain group role, the install reuses
# it.  A second database reuses the roles the first one made.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('roles');
$node->init;
$node->append_conf('postgresql.conf', "cadence.worker_enabled = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('postgres', 'CREATE DATABASE other');

# someone prepared cadence_app as a login role with a password they know
$node->safe_psql('postgres', q{CREATE ROLE cadence_app LOGIN PASSWORD 'known'});

my ($ret, $stdout, $stderr) = $node->psql('app', 'CREATE EXTENSION cadence');
isnt($ret, 0, 'CREATE EXTENSION fails while cadence_app can log in');
like($stderr, qr/role "cadence_app" exists and can log in or holds special powers/,
	'the error names the role');
is($node->safe_psql('app', q{SELECT count(*) FROM pg_extension WHERE extname = 'cadence'}),
	'0', 'no extension is left behind');
is($node->safe_psql('app', q{SELECT count(*) FROM pg_namespace WHERE nspname = 'cadence'}),
	'0', 'nor its schema');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = 'cadence_app'}),
	'0', 'and the login role received no membership');

$node->safe_psql('postgres', 'ALTER ROLE cadence_app NOLOGIN PASSWORD NULL');
$node->safe_psql('app', 'CREATE EXTENSION cadence');
is($node->safe_psql('app', q{SELECT extversion FROM pg_extension WHERE extname = 'cadence'}),
	'0.1.0', 'with the role a plain group role, the install reuses it');

$node->safe_psql('other', 'CREATE EXTENSION cadence');
is($node->safe_psql('other', q{SELECT count(*) FROM pg_roles WHERE rolname LIKE 'cadence\_%' AND NOT rolcanlogin}),
	'4', 'a second database reuses the four roles');

$node->stop;
done_testing();
