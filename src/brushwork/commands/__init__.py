"""The commands that have no subpackage of their own: ``stylize``, ``info``, ``evaluate`` and ``sheet``.
``batch``, ``serve`` and ``video`` live beside their subpackages (``batch/cli.py``, ``server/cli.py``,
``video/cli.py``). Each module has ``add_parser(commands, formatter)`` and ``run(args)``; the shared
transfer options are in :mod:`brushwork.options`, and :mod:`brushwork.cli` puts them together.
"""
