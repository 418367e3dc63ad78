"""Persistence: the `Store` seam and its SQLite implementation."""

from crawler.store.base import ArticleExistsError, Store

__all__ = ["ArticleExistsError", "Store"]
