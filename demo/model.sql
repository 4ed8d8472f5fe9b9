-- The demo's customers: a seeded, deterministic model of behaviour.
-- roll(key) is a number in [0, 1) from a hash of the lead, the touch and
-- the demo seed, so the same seed gives the same run.  The seed is written
-- into the function's body (psql variable :seed), so the planner can inline it.
--
-- What customers do, by channel, local hour and tier (hot > warm > moderate > cold):
--   calls:  answered 35% in the morning (9-11) and late afternoon (16-18), 20% otherwise,
--           times 1.3 for hot and 0.6 for cold leads; an answered call books an
--           appointment 30% of the time for hot leads, 18% warm, 10% moderate, 5% cold
--   texts:  replied 15% (hot 25%, cold 8%); 2.5% of texts get STOP back
--   emails: opened 45% (hot 55%, cold 30%) an hour later; 8% clicked
--   appointments: 70% show up two days later; 35% of shows buy the next day
--   3% of leads buy elsewhere at some point in their second month
CREATE FUNCTION pg_temp.roll(key text) RETURNS double precision
LANGUAGE sql IMMUTABLE
RETURN (abs(hashtext(key || ':' || :'seed')) % 1000000) / 1000000.0;

CREATE FUNCTION pg_temp.tier_factor(tier text, hot double precision, warm double precision,
                                    moderate double precision, cold double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE
RETURN CASE tier WHEN 'hot' THEN hot WHEN 'warm' THEN warm WHEN 'moderate' THEN moderate ELSE cold END;
