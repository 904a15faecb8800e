"""Default locations inside the project checkout.

Every stage takes its folders as parameters; these are only the defaults that make the bundled sample round
run with no arguments.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "config"
FRAMEWORK_FILE = CONFIG_DIR / "framework.yaml"
RAW_DIR = PROJECT_ROOT / "data" / "raw"
REFERENCE_DIR = RAW_DIR / "reference"
SAMPLE_SUBMISSIONS_DIR = RAW_DIR / "submissions" / "sample-2021"
PROCESSED_DIR = PROJECT_ROOT / "data" / "processed"
REPORTS_DIR = PROJECT_ROOT / "reports"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
