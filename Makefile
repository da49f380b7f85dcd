# The two entry points the README starts with. Both install what they need.
VENV ?= .venv
PYTEST_ARGS ?=

.PHONY: setup daemons lint demo demo-cluster test test-fast bench bench-methods bench-rollout bench-cluster bench-nextgen bench-concurrency clean

setup:
	VENV=$(VENV) sh scripts/setup.sh

# The real controller daemons (Galera, RabbitMQ, Redis, HAProxy, memcached)
# the realdaemons tests run under Pacemaker; nothing of them runs on the host.
daemons:
	sh scripts/setup-daemons.sh

# ruff (lint and format, line length 120) and mypy (lax, on utils/), as
# .ci/run and the pre-commit hooks run them; shellcheck of the shipped agent
# runs in the tests.
LINT_PATHS = src tests bench demo docs/conf.py
lint: setup
	@test -x $(VENV)/bin/ruff -a -x $(VENV)/bin/mypy || { \
		echo "lint: installing the lint extra (ruff, mypy) into $(VENV)"; \
		$(VENV)/bin/pip install -q -e ".[lint]"; }
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy

demo: setup
	VENV=$(VENV) sh demo/run.sh

# Three bare controllers become a cluster by Salt alone (orch.pcmk.cluster).
demo-cluster: setup
	$(VENV)/bin/python demo/cluster.py

# Two workers (pytest-xdist), a test module at a time (--dist loadfile): the
# tests of a module share its module-scoped bed and run in order in one
# worker; session beds are started by each worker that needs one.
# WORKERS=0 runs everything in this process.
WORKERS ?= 2
test: setup daemons
	$(VENV)/bin/python -m pytest -p no:cacheprovider -n $(WORKERS) --dist loadfile $(PYTEST_ARGS)

# No live clusters: unit and offline-CIB tests only.
test-fast: setup
	$(VENV)/bin/python -m pytest -p no:cacheprovider -n $(WORKERS) --dist loadfile -m "not live and not multinode and not realdaemons" $(PYTEST_ARGS)

bench: setup
	$(VENV)/bin/python bench/converge.py --peers $(BENCH_ARGS)

# The older tables (pcmk library vs pcs, offline and live, N = 10, 50, 200).
bench-methods: setup
	$(VENV)/bin/python bench/converge.py $(BENCH_ARGS)

bench-rollout: setup
	$(VENV)/bin/python bench/rollout.py

# 3 controllers x 20 concurrent state runs on the three-node bed, then the same
# with a node killed: failed states, lost updates, duplicates, conflict retries.
bench-concurrency: setup
	$(VENV)/bin/python bench/concurrency.py

bench-cluster: setup
	$(VENV)/bin/python bench/cluster.py

# The real next-generation stack (Galera, RabbitMQ, Redis, HAProxy) brought up
# from pillar, failed over and rolled out, on the three-node bed.
bench-nextgen: setup daemons
	$(VENV)/bin/python bench/nextgen.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info

demo-down:
	$(VENV)/bin/python -m tests.support.cluster down --workdir $${DEMO_WORKDIR:-/tmp/saltext-pcmk-demo}

# The documentation site (Sphinx + furo + MyST) in docs/_build/html. Warnings
# are errors (-W, every one reported with --keep-going); -n also fails on any
# reference that does not resolve. Installs the docs extra when it is missing.
.PHONY: docs
SPHINXOPTS ?=
docs: setup
	@$(VENV)/bin/python -c "import sphinx, furo, myst_parser, towncrier" 2>/dev/null || { \
		echo "docs: installing the docs extra (Sphinx, furo, MyST, towncrier) into $(VENV)"; \
		$(VENV)/bin/pip install -q -e ".[docs]"; }
	$(VENV)/bin/sphinx-build -W --keep-going -n -b html $(SPHINXOPTS) docs docs/_build/html
