"""Benchmarks and load tests of twitchcause (run with ``make bench``)."""
