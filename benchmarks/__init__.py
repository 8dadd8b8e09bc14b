"""Benchmark scripts; figures and commands in BENCHMARKS.md."""
