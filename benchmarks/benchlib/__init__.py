"""What only the benchmark scripts (and their tests) need: profiling, speed-up variants, bf16 fidelity and
writing BENCHMARKS.md sections.

Not part of the installed package: ``vdeblur bench`` needs only ``vdeblur.bench``. The scripts in
``benchmarks/`` import it as ``benchlib`` (their folder is first on ``sys.path`` when run as
``python benchmarks/<script>.py``); the tests find it through ``pythonpath`` in pyproject.toml's pytest section.
"""
