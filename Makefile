# Build with PGXS.  The install script is assembled from src/sql/*.sql, one
# file per concern, in file-name order.
EXTENSION = cadence
EXTVERSION = 0.1.0
MODULE_big = cadence
OBJS = src/cadence.o src/localtime.o src/timing.o src/render.o src/tick.o src/event.o src/event_one.o src/event_decide.o src/keyword.o src/aligned.o src/kept_plan.o src/key_read.o src/lead_write.o src/config_cache.o src/rescore.o src/score.o src/nightly.o src/fit.o src/worker.o
DATA_built = cadence--$(EXTVERSION).sql
PG_CONFIG ?= pg_config
PG_CPPFLAGS = -Isrc
PG_CFLAGS = -Werror -Wall -Wmissing-prototypes
EXTRA_CLEAN = results regression.diffs regression.out

INSTALL_SQL = $(sort $(wildcard src/sql/*.sql))

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

cadence--$(EXTVERSION).sql: $(INSTALL_SQL)
	cat $^ > $@

# The two commands of the README.
.PHONY: demo test bench
demo:
	bash demo/run.sh

test:
	bash test/run.sh

bench:
	bash bench/run.sh
