"""Measuring inference speed and memory on this machine: the pieces behind ``vdeblur bench`` and
``benchmarks/speed.py``.

Every timing is the median of several runs after a warm-up run, and every result records the load average
at the time, since the numbers mean little on a busy machine.
"""
