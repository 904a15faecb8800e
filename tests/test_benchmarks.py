"""The benchmark command still runs: its smoke mode (the smallest size of each stage) produces the table.

No timing is asserted: the machine is shared; only that every stage was measured and the table was written.
"""

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_benchmark_smoke_writes_the_stage_table(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_scale

    out = tmp_path / "performance.md"
    out.write_text("# Performance\n\nhand-written text stays\n", encoding="utf-8")
    text = bench_scale.main(["--smoke", "--out", str(out)])

    written = out.read_text(encoding="utf-8")
    assert written.startswith("# Performance\n\nhand-written text stays\n")
    assert bench_scale.START in written and bench_scale.END in written and text in written
    for stage, sizes in bench_scale.SMOKE_SIZES.items():
        for size in sizes:
            assert f"| {stage} | {size:,} |" in text
    assert "| ratio | measured | goal |" in text
    assert "Machine: " in text
    # written twice: the block is replaced, not appended
    bench_scale.write_doc(text, out)
    assert out.read_text(encoding="utf-8").count(bench_scale.START) == 1
    sys.modules.pop("bench_scale", None)
