"""Analytical workbook for Indonesia's smart-city readiness assessment (Gerakan Menuju Smart City).

The package mirrors the pipeline: reading and cleaning submissions (``ingest``, ``parse``, ``resolve``,
``clean``), the readiness index (``index``, ``indicators``), readiness profiles (``profiles``), ranking and
selection with its uncertainty (``selection``, ``panel``), narrative reports (``narrative``, ``plots``) and
the runner (``runner``, ``cli``). ``config`` reads the framework file that drives all of them.
"""

__version__ = "0.1.0"
