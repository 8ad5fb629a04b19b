"""What tests and benchmarks share: the test bed, inputs, registries, fault proxies."""
