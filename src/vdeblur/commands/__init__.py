"""The ``vdeblur`` subcommands, one module each: parse the options, call the library, print.

Each module exposes ``add_arguments(parser)`` and ``run(args) -> int`` (see :mod:`vdeblur.cli`). The parts they
drive (``infer``, ``train``, ``synth``, ``serve``, ...) hold no argument parsing of their own.
"""
