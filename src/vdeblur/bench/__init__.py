"""Measuring inference speed and memory on this machine: the pieces behind ``vdeblur bench`` (timing, the
convolution roofline, streaming throughput, peak memory in a fresh process).

Every timing is the median of several runs after a warm-up run, and every result records the load average
at the time, since the numbers mean little on a busy machine. What only the benchmark scripts need (profiling,
speed-up variants, bf16 fidelity, BENCHMARKS.md sections) lives in ``benchmarks/benchlib``.
"""
