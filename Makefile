# Every target bootstraps .venv itself: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MANAGE := $(BIN)/python manage.py

.DEFAULT_GOAL := help
.PHONY: help run test serve worker lint docs schema messages bench bench-quick soak lock clean

help:
	@echo "make run     start Vouch on http://127.0.0.1:8000 (SQLite, DEBUG, codes printed here);"
	@echo "             writes a git-ignored .env with DEBUG=true when there is none, so"
	@echo "             .venv/bin/python manage.py <command> works as well"
	@echo "make test    run the test suite (SQLite; DATABASE_URL/REDIS_URL switch it)"
	@echo "make serve   production server (gunicorn, DEBUG off; needs SECRET_KEY, JWT_SIGNING_KEY)"
	@echo "make worker  background delivery worker: messages (TASKS_BACKEND=database or rq)"
	@echo "             and host-app events (every TASKS_BACKEND)"
	@echo "make lint    ruff and mypy"
	@echo "make docs    build the documentation site into site/ (mkdocs build --strict)"
	@echo "make bench   load test on PostgreSQL (wrk, gunicorn) beside a minimal Django floor"
	@echo "make bench-quick  SQL statements per request against bench/statements.json (no load)"
	@echo "make lock    regenerate requirements.lock (exact runtime versions for deployments)"
	@echo "make soak    fixed-rate mix for SOAK_DURATION s (default 600), then integrity and memory"
	@echo "make schema  regenerate docs/openapi.yaml from the served schema"
	@echo "make messages  update and compile the Russian translations"
	@echo "make clean   remove .venv and the tools' caches"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	@touch $@

# A local .env for development, so that manage.py commands run by hand (createsuperuser...)
# see DEBUG on as the server does, and API tokens are signed with ES256 by a development key
# of their own in .run/ (git-ignored; made once, below). Never overwrites an existing .env.
DEV_JWT_KEY := .run/jwt-dev.pem
.env:
	@printf '%s\n' '# Local development, written by make run. Production: see .env.example.' \
		'DEBUG=true' \
		'# API tokens: ES256 with a development key that make run generates (docs/integrate.md).' \
		'JWT_PRIVATE_KEY_FILE=$(CURDIR)/$(DEV_JWT_KEY)' \
		'# Webhook receivers on this machine or the local network (never in production).' \
		'WEBHOOK_ALLOW_PRIVATE_NETWORKS=true' > $@
	@echo "Wrote .env (DEBUG=true, a development key for API tokens, local webhook receivers) for local development."

$(DEV_JWT_KEY): | $(STAMP)
	DEBUG=true $(MANAGE) jwt_keygen --algorithm ES256 --out $@

run: $(STAMP) .env $(DEV_JWT_KEY)
	DEBUG=$${DEBUG:-true} $(MANAGE) migrate --noinput
	@DEBUG=$${DEBUG:-true} $(MANAGE) vouch_welcome
	@# The delivery worker runs beside the server: it sends the host app's events (webhooks),
	@# and the codes too when .env says TASKS_BACKEND=database. It stops with the server.
	DEBUG=$${DEBUG:-true} $(MANAGE) delivery_worker & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT; \
		DEBUG=$${DEBUG:-true} $(MANAGE) runserver 127.0.0.1:8000

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

serve: $(STAMP)
	DEBUG=false $(MANAGE) check --deploy --fail-level ERROR
	DEBUG=false $(MANAGE) migrate --noinput
	DEBUG=false $(MANAGE) collectstatic --noinput
	DEBUG=false PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-$(CURDIR)/.run/prometheus} \
		PROMETHEUS_WORKER_MULTIPROC_DIR=$${PROMETHEUS_WORKER_MULTIPROC_DIR:-$(CURDIR)/.run/prometheus-worker} \
		$(BIN)/gunicorn config.wsgi:application --config config/gunicorn.py \
		--bind $${BIND:-127.0.0.1:8000} --workers $${WEB_CONCURRENCY:-4} --access-logfile -

# The delivery worker: it sends the host-app events (webhooks) with every TASKS_BACKEND, and
# with TASKS_BACKEND=database takes due messages from the outbox too. With rq it first
# re-queues what a stopped worker left behind, then runs rqworker for the messages beside
# delivery_worker for the events (an asynchronous command ignores Ctrl+C: when rqworker
# stops, delivery_worker gets SIGTERM, finishes its batch and stops too). Their metrics go to
# a directory of their own, emptied here, which the web server's /metrics adds to its own
# (PROMETHEUS_WORKER_MULTIPROC_DIR).
WORKER_METRICS = $${PROMETHEUS_WORKER_MULTIPROC_DIR:-$(CURDIR)/.run/prometheus-worker}
worker: $(STAMP)
	rm -rf "$(WORKER_METRICS)"
ifeq ($(TASKS_BACKEND),rq)
	$(MANAGE) requeue_messages
	PROMETHEUS_MULTIPROC_DIR="$(WORKER_METRICS)" $(MANAGE) delivery_worker & \
	PROMETHEUS_MULTIPROC_DIR="$(WORKER_METRICS)" \
		$(MANAGE) rqworker default --with-scheduler --job-class django_tasks_rq.Job; \
	status=$$?; kill $$! 2>/dev/null; wait; exit $$status
else
	PROMETHEUS_MULTIPROC_DIR="$(WORKER_METRICS)" $(MANAGE) delivery_worker
endif

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy vouch config

# Needs wrk (apt-get install -y wrk), PostgreSQL on 127.0.0.1 (user postgres, trust) and Redis;
# BENCH_DURATION, BENCH_SCENARIOS, ...: see bench/README.md. Results: docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/python bench/run.py

# No load and no wrk: each scenario's request once, its SQL statements compared with
# bench/statements.json (exit status 1 when one is higher). Needs PostgreSQL and Redis.
bench-quick: $(STAMP)
	$(BIN)/python bench/run.py --quick

# Needs PostgreSQL and Redis on 127.0.0.1 (uses Redis db 12); SOAK_RATE, SOAK_DURATION, ...:
# see bench/README.md ("soak.py"). Exit status 1 when a check fails.
soak: $(STAMP)
	$(BIN)/python bench/soak.py

# requirements.lock: the runtime dependencies resolved in a clean virtualenv (no dev tools).
lock:
	rm -rf .run/lock && $(PYTHON) -m venv .run/lock
	.run/lock/bin/python -m pip install --quiet --upgrade pip
	.run/lock/bin/python -m pip install --quiet .
	{ echo "# The exact versions of Vouch's runtime dependencies, for deployments (pip install -r"; \
	  echo "# requirements.lock, then pip install --no-deps .) and pip-audit. Regenerate with make lock."; \
	  .run/lock/bin/python -m pip freeze --exclude-editable | grep -v '^vouch'; } > requirements.lock
	rm -rf .run/lock build

# The documentation site (docs/, mkdocs.yml): --strict fails on any dead link or anchor.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

schema: $(STAMP)
	DEBUG=true $(MANAGE) spectacular --file docs/openapi.yaml --validate

messages: $(STAMP)
	DEBUG=true $(MANAGE) makemessages -l ru --no-obsolete --ignore=.venv --ignore=tests --ignore=staticfiles
	DEBUG=true $(MANAGE) compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
