"""Benchmark build_index on synthetic data: 514 units (Indonesia's kabupaten/kota), then 1k, 10k, 100k.

Run: ``.venv/bin/python benchmarks/bench_index.py``. Prints seconds and seconds per unit for a full build
(denominate, group-mean imputation, screening, outlier treatment, min-max, arithmetic aggregation) so that
linearity is visible; the ratio column is time(n) / time(514) against n / 514.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from smartcity_analysis.index.engine import IndexWarning, build_index

N_ASPECTS, N_PER_ASPECT, N_DIMENSIONS = 12, 4, 3
SIZES = (514, 1_000, 10_000, 100_000)


def synthetic_framework() -> pd.DataFrame:
    rows = [("readiness_index", 3, "", 1.0, np.nan, "")]
    rows += [(f"dimension_{d}", 2, "readiness_index", 1.0, np.nan, "") for d in range(N_DIMENSIONS)]
    for a in range(N_ASPECTS):
        for i in range(N_PER_ASPECT):
            direction = -1.0 if (a + i) % 5 == 0 else 1.0
            rows.append((f"ind_{a}_{i}", 1, f"dimension_{a % N_DIMENSIONS}", 1.0 + i % 2, direction,
                         "population" if i == 0 else ""))
    return pd.DataFrame(rows, columns=["code", "level", "parent", "weight", "direction", "denominator"])


def synthetic_data(n_units: int, framework: pd.DataFrame, seed: int = 20210514) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = framework.loc[framework["level"] == 1, "code"]
    values = rng.lognormal(mean=2.0, sigma=0.8, size=(n_units, len(codes)))
    values[rng.random(values.shape) < 0.04] = np.nan
    data = pd.DataFrame(values, columns=codes)
    data.insert(0, "region_code", [f"{i:06d}" for i in range(n_units)])
    data["population"] = rng.integers(20_000, 5_000_000, n_units).astype(float)
    data["province"] = rng.integers(0, 38, n_units).astype(str)
    return data


def time_build(n_units: int, framework: pd.DataFrame, repeats: int) -> float:
    data = synthetic_data(n_units, framework)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IndexWarning)
            build_index(data, framework, unit="region_code", denominate=True, impute="group_mean",
                        impute_group="province", min_coverage=0.5, treat_outliers=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    framework = synthetic_framework()
    print(f"{'units':>8} {'seconds':>9} {'s/unit':>10} {'time ratio':>11} {'size ratio':>11}")
    base = None
    for n in SIZES:
        seconds = time_build(n, framework, repeats=3 if n <= 10_000 else 1)
        base = base or seconds
        print(f"{n:>8} {seconds:>9.3f} {seconds / n:>10.2e} {seconds / base:>11.1f} {n / SIZES[0]:>11.1f}")


if __name__ == "__main__":
    main()
