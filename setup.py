"""Packaging lives in pyproject.toml; this file maps the top-level webui/ into the package."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["appliance", "appliance.*"]), "appliance.webui"],
    package_dir={"appliance.webui": "webui"},
    package_data={
        "appliance.store": ["migrations/*.sql"],
        "appliance.webui": ["*.html", "*.json", "**/*.js", "**/*.css", "icons/*"],
    },
)
