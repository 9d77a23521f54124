# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test eval model clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/askfiles serve --corpus corpus --host 127.0.0.1 --port 8000

test: install
	$(PY) -m pytest

eval: install
	$(VENV)/bin/askfiles eval ../shared/eval/seed_dev_questions.jsonl --corpus corpus

# Rebuild the shipped answer model from ../shared/eval (training pool only) and print
# its cross-validated and held-out report (about 7 minutes on 2 cores; 5 once the pool's
# spaCy annotations are cached in ~/.cache/askfiles/learn).
model: install
	$(PY) -m askfiles.learn.train $(ARGS)

clean:
	rm -rf $(VENV) .askfiles corpus/.askfiles .pytest_cache
