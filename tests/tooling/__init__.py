"""Tests of the test bed, the CI entry point and the benchmarks' own machinery."""
