"""Generator of the hostile-input corpus (tests/ingest/test_corpus.py); see corpus.cases."""

from corpus.cases import ALL_IDS, PERIOD, Case, Corpus, Expect, build_corpus

__all__ = ["ALL_IDS", "PERIOD", "Case", "Corpus", "Expect", "build_corpus"]
