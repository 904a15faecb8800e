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


def resolve_dir(value: str | Path | None, default: Path = PROCESSED_DIR) -> Path:
    """Turn a notebook's folder parameter into an absolute path.

    Parameters
    ----------
    value : str, Path or None
        The parameter as given: empty for ``default``; a relative path is taken from the project root (so a
        notebook gives the same answer from JupyterLab, papermill or the runner); an absolute path as is.
    default : Path
        The folder used when ``value`` is empty.

    Returns
    -------
    Path
        An absolute path.
    """
    if value is None or str(value).strip() == "":
        return default
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path
