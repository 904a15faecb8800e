"""Analytical workbook for Indonesia's smart-city readiness assessment (Gerakan Menuju Smart City).

The package mirrors the pipeline, one subpackage per stage: ``cleaning`` (01), ``index`` (02), ``profiles``
(03), ``selection`` (04, 04b) and ``reports`` (05, 06, and the runner of the whole job); ``synthetic`` makes
the bundled sample round and the data tests use. ``config`` reads the framework file that drives all of them,
``reference`` the reference tables, ``paths`` the default folders, ``cli`` the ``smartcity`` command.
See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
