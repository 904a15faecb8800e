"""The scale-out path, run: region reports rendered through joblib's Dask backend on a LocalCluster.

``docs/runner.md`` tells users to run ``render_reports``/``run_round`` inside
``joblib.parallel_config(backend="dask")`` with a ``distributed.Client``; this test does exactly that on a
two-worker ``LocalCluster`` it starts and stops, checks that the chunks ran as Dask tasks, and that the pages
are byte-identical to those of the default (loky) backend.
"""

import joblib
from distributed import Client, LocalCluster, get_task_stream

from smartcity_analysis.reports.runner import render_reports
from smartcity_analysis.synthetic.processed import write_synthetic_processed


def _pages(reports_dir):
    return {p.name: p.read_bytes() for p in sorted((reports_dir / "html").glob("*.html"))}


def test_region_reports_render_on_a_dask_cluster_as_on_loky(tmp_path):
    processed = tmp_path / "processed"
    codes = write_synthetic_processed(processed, n_regions=3)

    # processes=True: each worker is its own process, as on a real cluster; no dashboard, so no fixed port.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client, get_task_stream(client) as stream, \
            joblib.parallel_config(backend="dask"):
        on_dask = render_reports(processed, tmp_path / "dask", codes, workers=2, progress=False)

    assert on_dask.failures == ()
    assert on_dask.rendered == tuple(sorted(codes))
    assert stream.data, "no task ran on the Dask cluster"
    on_loky = render_reports(processed, tmp_path / "loky", codes, workers=2, progress=False)
    assert on_loky.failures == ()
    assert _pages(tmp_path / "dask") == _pages(tmp_path / "loky")
    assert len(_pages(tmp_path / "dask")) == len(codes)
