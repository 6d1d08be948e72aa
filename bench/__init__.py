"""The benchmark behind ``capexit bench`` (see ``bench.engine_bench``)."""
