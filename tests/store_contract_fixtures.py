"""The fixtures of the `Store` contract suites (tests/test_store_contract*.py): `backend`, each
test run once on SQLite and once on a real PostgreSQL, and `store`, opened on it at the
current schema. A suite imports both by name."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from crawler.store.base import Store
from tests.store_backends import BACKENDS, Backend, make_backend


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from make_backend(request, tmp_path)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    s = backend.store()
    await s.migrate()
    await s.open()
    yield s
    await s.close()
