"""Packaging lives in pyproject.toml; this file maps the top-level webui/ into the package.

Every folder of data files (the migrations, the web app's js/, css/, icons/ ...) is importable
as far as setuptools can tell, so each is listed as a package: then it is installed with its
files and setuptools has nothing to warn about on every install.
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

WEBUI = Path(__file__).resolve().parent / "webui"
WEBUI_PACKAGES = [
    "appliance.webui",
    *sorted(
        "appliance.webui." + ".".join(folder.relative_to(WEBUI).parts)
        for folder in WEBUI.rglob("*")
        if folder.is_dir() and not folder.name.startswith((".", "__"))
    ),
]

setup(
    packages=[
        *find_namespace_packages(include=["appliance", "appliance.*"], exclude=["*__pycache__"]),
        *WEBUI_PACKAGES,
    ],
    package_dir={"appliance.webui": "webui"},
    package_data={
        "appliance.store.migrations": ["*.sql"],
        "appliance.store.migrations.postgresql": ["*.sql"],
        **{package: ["*.html", "*.json", "*.js", "*.css", "*.svg", "*.png"] for package in WEBUI_PACKAGES},
    },
)
