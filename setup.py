"""saltext-pcmk: hand services to Pacemaker from Salt."""

from setuptools import find_namespace_packages, setup

setup(
    name="saltext.pcmk",
    version="0.1.0",
    description="Salt extension: Pacemaker CIB states, a Pacemaker service provider and orchestration",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    package_dir={"": "src"},
    packages=find_namespace_packages(where="src", include=["saltext.*"]),
    package_data={"saltext.pcmk": ["agents/*"]},
    include_package_data=True,
    install_requires=["salt>=3008.0", "lxml>=4.9"],
    extras_require={
        "tests": ["pytest>=7.0", "pytest-salt-factories>=1.0.0rc29"],
        # make docs: the Sphinx site in docs/_build/html and the changelog tool.
        "docs": ["sphinx>=7.2", "furo>=2024.1", "myst-parser>=3.0", "towncrier>=23.10"],
    },
    entry_points={
        # New-style Salt loader entry point: Salt looks for modules/, states/,
        # runners/ ... below the package itself.
        "salt.loader": ["saltext.pcmk = saltext.pcmk"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: System :: Clustering",
    ],
)
