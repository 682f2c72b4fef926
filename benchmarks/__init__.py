"""lashtui's benchmarks: programs, not tests. Run `python -m benchmarks --help`."""
