"""Simulated parts for the tests and the benchmarks, in the manner of `aiohttp.test_utils`: a
local news site (`news_site`), a verifying webhook receiver (`webhook_receiver`), a throwaway
PostgreSQL server (`postgres`), and the crawler run as an operator runs it, with a config for
local servers (`crawler_process`).

Nothing in the crawler itself imports this package.
"""
