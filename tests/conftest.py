"""Shared fixtures: the seed corpus engine is built once per test session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED_CORPUS = ROOT / "corpus"
SHARED_EVAL = ROOT.parent / "shared" / "eval"
SEED_QUESTIONS = SHARED_EVAL / "seed_dev_questions.jsonl"


def seed_questions() -> list[dict]:
    """The seed questions, or [] where ../shared/eval is not beside the clone."""
    if not SEED_QUESTIONS.exists():
        return []
    return [json.loads(line) for line in SEED_QUESTIONS.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def seed_engine():
    """The answer engine over the seed corpus (spaCy annotation once per session)."""
    from askfiles.engine import Engine

    return Engine.from_folder(SEED_CORPUS, {"poll_seconds": 0})
