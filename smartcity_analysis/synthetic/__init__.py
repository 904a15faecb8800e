"""Synthetic data: the bundled sample round's generator and the small processed folders tests use.

- :mod:`~smartcity_analysis.synthetic.sample_round`: the entry point, its parameters and what it promises;
- :mod:`~smartcity_analysis.synthetic.population`, :mod:`~smartcity_analysis.synthetic.plan`,
  :mod:`~smartcity_analysis.synthetic.cells`: who takes part, which files carry which rows, how cells are typed;
- :mod:`~smartcity_analysis.synthetic.processed`: a synthetic processed folder for report tests and benchmarks.
"""

from smartcity_analysis.synthetic.processed import write_synthetic_processed
from smartcity_analysis.synthetic.sample_round import SampleParameters, SampleRound, generate_sample_round

__all__ = ["SampleParameters", "SampleRound", "generate_sample_round", "write_synthetic_processed"]
